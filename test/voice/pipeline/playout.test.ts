import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/testing/fake-clock.ts';
import { Playout } from '../../../src/voice/pipeline/playout.ts';

function frames(n: number, tag = 1): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => new Uint8Array([tag, i]));
}

function rig(opts: { markGraceMs?: number } = {}) {
  const clock = new FakeClock();
  const sent: string[] = [];
  const heard: number[] = [];
  const playout = new Playout({
    clock,
    sink: { frame: (f) => sent.push(`f${f[1]}`), mark: (n) => sent.push(`m${n}`), clear: () => sent.push('clear') },
    onHeard: (n) => heard.push(n),
    ...opts,
  });
  return { clock, sent, heard, playout };
}

describe('Playout', () => {
  it('sends the lead at once, then one frame per 20 ms, with a mark every 5 frames and at the end', () => {
    const { clock, sent, playout } = rig();
    playout.push(frames(12));
    expect(sent).toEqual(['f0', 'f1', 'f2']);
    clock.advance(20);
    expect(sent.filter((s) => s.startsWith('f'))).toHaveLength(4);
    clock.advance(60);
    expect(sent.slice(3)).toEqual(['f3', 'f4', 'm0:5', 'f5', 'f6']);
    clock.advance(200);
    expect(sent.filter((s) => s.startsWith('f'))).toHaveLength(12);
    expect(sent.at(-1)).toBe('m0:12');
  });

  it('counts audio as heard only from echoed marks of the current epoch', () => {
    const { clock, playout } = rig();
    playout.push(frames(10));
    clock.advance(200);
    playout.markPlayed('0:5');
    expect(playout.heard).toBe(5);
    playout.markPlayed('7:10');
    playout.markPlayed('garbage');
    expect(playout.heard).toBe(5);
    playout.markPlayed('0:10');
    expect(playout.drained).toBe(true);
  });

  it('pause clears the transport, ignores the marks the clear echoes, and resume replays from the heard position', () => {
    const { clock, sent, playout } = rig();
    playout.push(frames(20));
    clock.advance(100);
    playout.markPlayed('0:5');
    sent.length = 0;
    expect(playout.pause()).toBe(5);
    expect(sent).toEqual(['clear']);
    playout.markPlayed('0:10'); // echoed by the clear: not heard
    expect(playout.heard).toBe(5);
    clock.advance(500);
    expect(sent).toEqual(['clear']);
    playout.resume();
    expect(sent.slice(1, 4)).toEqual(['f5', 'f6', 'f7']);
  });

  it('resets: a new stream starts at frame 0 and stale marks are ignored', () => {
    const { clock, sent, playout } = rig();
    playout.push(frames(10));
    clock.advance(40);
    playout.reset();
    expect(sent.at(-1)).toBe('clear');
    playout.push(frames(3, 2));
    playout.markPlayed('0:3');
    expect(playout.heard).toBe(0);
    playout.markPlayed('1:3');
    expect(playout.heard).toBe(3);
  });

  it('without any mark echo, audio counts as heard after its play time plus the grace', () => {
    const { clock, playout } = rig({ markGraceMs: 1000 });
    playout.push(frames(10)); // 200 ms of audio
    clock.advance(900);
    expect(playout.heard).toBe(0);
    clock.advance(400);
    expect(playout.drained).toBe(true);
  });

  it('a segment end gets its own mark even between the regular ones', () => {
    const { clock, sent, playout } = rig();
    playout.push(frames(2));
    playout.endSegment();
    playout.push(frames(6));
    clock.advance(300);
    expect(sent).toContain('m0:2');
    expect(sent).toContain('m0:5');
    expect(sent).toContain('m0:8');
  });
});
