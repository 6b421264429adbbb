import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { MULAW_SILENCE, mulawEncode } from '../../src/testing/twilio-call-audio.ts';
import { CallerLine, type OutgoingFrame } from '../../src/testing/twilio-call-line.ts';
import { Playout } from '../../src/testing/twilio-call-playout.ts';

function line(clock: FakeClock, noise?: number) {
  const frames: (OutgoingFrame & { atMs: number })[] = [];
  const digits: { digit: string; atMs: number; afterFrame: number }[] = [];
  const l = new CallerLine({
    clock,
    sendFrame: (f) => frames.push({ ...f, atMs: clock.monotonic() }),
    sendDigit: (digit) => digits.push({ digit, atMs: clock.monotonic(), afterFrame: frames.length }),
    ...(noise !== undefined ? { noise } : {}),
  });
  return { l, frames, digits };
}

describe('CallerLine (the caller side of the media clock)', () => {
  it('sends one 160-byte frame per 20 ms, chunk +1 and timestamp +20, silence when nothing is queued', () => {
    const clock = new FakeClock();
    const { l, frames } = line(clock);
    l.start();
    clock.advance(19);
    expect(frames).toHaveLength(0);
    clock.advance(1);
    expect(frames).toHaveLength(1);
    clock.advance(980);
    expect(frames).toHaveLength(50);
    expect(frames.map((f) => f.chunk)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(frames.map((f) => f.timestampMs)).toEqual(Array.from({ length: 50 }, (_, i) => i * 20));
    expect(frames.map((f) => f.atMs)).toEqual(Array.from({ length: 50 }, (_, i) => (i + 1) * 20));
    expect(frames.every((f) => f.payload.length === 160 && f.payload.every((b) => b === MULAW_SILENCE))).toBe(true);
  });

  it('does not drift: a late timer sends the frames that fell due, each with its own timestamp', () => {
    const clock = new FakeClock();
    const { l, frames } = line(clock);
    l.start();
    // The timer armed at 20 ms fires 75 ms late, as when the event loop is blocked.
    const realSetTimeout = clock.setTimeout.bind(clock);
    let stalled = false;
    clock.setTimeout = (fn, ms) => realSetTimeout(fn, stalled ? ms : ((stalled = true), ms + 75));
    clock.advance(20);
    expect(frames).toHaveLength(1);
    clock.advance(94);
    expect(frames).toHaveLength(1);
    clock.advance(1);
    expect(frames.map((f) => f.timestampMs)).toEqual([0, 20, 40, 60, 80]);
    clock.setTimeout = realSetTimeout;
    clock.advance(5);
    expect(frames).toHaveLength(6);
    expect(frames.at(-1)!.atMs).toBe(120);
  });

  it('plays queued audio back to back, pads the last frame with silence, and dates the end of speech', async () => {
    const clock = new FakeClock();
    const { l, frames } = line(clock);
    l.start();
    clock.advance(40);
    const first = l.speak(new Uint8Array(200).fill(0x10));
    const second = l.speak(new Uint8Array(100).fill(0x20));
    clock.advance(60);
    expect(await first).toBe(80);
    expect(await second).toBe(80);
    const spoken = frames.slice(2);
    expect([...spoken[0]!.payload]).toEqual(Array(160).fill(0x10));
    expect([...spoken[1]!.payload]).toEqual([...Array(40).fill(0x10), ...Array(100).fill(0x20), ...Array(20).fill(MULAW_SILENCE)]);
    expect(spoken[2]!.payload.every((b) => b === MULAW_SILENCE)).toBe(true);
    expect(l.queuedMs).toBe(0);
  });

  it('sends DTMF on the same clock, one digit per gap, between frames', async () => {
    const clock = new FakeClock();
    const { l, digits } = line(clock);
    l.start();
    clock.advance(10);
    const done = l.press('12#', 100);
    clock.advance(400);
    expect(digits.map((d) => d.digit)).toEqual(['1', '2', '#']);
    expect(digits.map((d) => d.atMs)).toEqual([20, 120, 220]);
    expect(digits.map((d) => d.afterFrame)).toEqual([0, 5, 10]);
    expect(await done).toBe(220);
  });

  it('adds seeded noise when asked, and resolves pending promises when stopped', async () => {
    const clock = new FakeClock();
    const { l, frames } = line(clock, 300);
    l.start();
    clock.advance(20);
    expect(frames[0]!.payload.some((b) => b !== MULAW_SILENCE)).toBe(true);
    const speech = l.speak(new Uint8Array(8000));
    l.stop();
    expect(await speech).toBe(20);
    clock.advance(100);
    expect(frames).toHaveLength(1);
    expect(clock.pending()).toBe(0);
  });
});

function playout(clock: FakeClock) {
  const echoed: { name: string; cleared: boolean; atMs: number }[] = [];
  const p = new Playout({ clock, onMarkPlayed: (name, cleared) => echoed.push({ name, cleared, atMs: clock.monotonic() }) });
  return { p, echoed };
}

const ms = (n: number) => new Uint8Array(n * 8).fill(mulawEncode(Int16Array.of(8000))[0]!);

describe('Playout (the caller side of the playout clock)', () => {
  it('echoes a mark only once the audio sent before it has played at 8,000 bytes/s', () => {
    const clock = new FakeClock();
    const { p, echoed } = playout(clock);
    p.push(ms(300));
    p.mark('a');
    p.push(ms(200));
    p.mark('b');
    expect(p.bufferedMs).toBe(500);
    clock.advance(299);
    expect(echoed).toEqual([]);
    clock.advance(1);
    expect(echoed).toEqual([{ name: 'a', cleared: false, atMs: 300 }]);
    clock.advance(200);
    expect(echoed.map((e) => [e.name, e.atMs])).toEqual([['a', 300], ['b', 500]]);
    expect(p.played().map((s) => [s.startMs, s.pcm.length])).toEqual([[0, 2400], [300, 1600]]);
    expect(clock.pending()).toBe(0);
  });

  it('echoes a mark at once when nothing is playing', () => {
    const clock = new FakeClock();
    const { p, echoed } = playout(clock);
    p.mark('first');
    expect(echoed).toEqual([{ name: 'first', cleared: false, atMs: 0 }]);
  });

  it('starts audio that arrives after a gap when it arrives', () => {
    const clock = new FakeClock();
    const { p } = playout(clock);
    p.push(ms(100));
    clock.advance(250);
    p.push(ms(100));
    clock.advance(1000);
    expect(p.played().map((s) => s.startMs)).toEqual([0, 250]);
  });

  it('on clear, cuts what is playing, drops the rest and echoes every pending mark at once; later marks echo immediately', () => {
    const clock = new FakeClock();
    const { p, echoed } = playout(clock);
    p.push(ms(1000));
    p.mark('a');
    p.push(ms(1000));
    p.mark('b');
    clock.advance(400);
    expect(p.clear()).toEqual({ droppedMs: 1600, marks: ['a', 'b'] });
    expect(echoed).toEqual([
      { name: 'a', cleared: true, atMs: 400 },
      { name: 'b', cleared: true, atMs: 400 },
    ]);
    expect(p.bufferedMs).toBe(0);
    clock.advance(1000);
    expect(p.played().map((s) => s.pcm.length)).toEqual([3200]);
    p.mark('after-clear');
    expect(echoed.at(-1)).toEqual({ name: 'after-clear', cleared: false, atMs: 1400 });
    expect(clock.pending()).toBe(0);
  });

  it('stops at close: nothing more plays and pending marks are never echoed', () => {
    const clock = new FakeClock();
    const { p, echoed } = playout(clock);
    p.push(ms(500));
    p.mark('never');
    clock.advance(100);
    p.close();
    clock.advance(1000);
    expect(echoed).toEqual([]);
    expect(p.played()[0]!.pcm.length).toBe(800);
  });
});
