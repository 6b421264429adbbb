import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/testing/fake-clock.ts';
import { rmsDbfs } from '../../../src/voice/codec.ts';
import { Listener, type ListenerEvents, type VadScorer } from '../../../src/voice/pipeline/listener.ts';
import { ScriptedStt } from '../../../src/voice/scripted.ts';
import { Endpointer } from '../../../src/voice/turn-taking/endpointing.ts';
import { SpeechDetector } from '../../../src/voice/vad/detector.ts';

const FRAME = 320; // 20 ms at 16 kHz
const WINDOW = 512; // 32 ms, as Silero

/** A VAD that hears only loud windows (≥ −30 dBFS) as speech: soft onsets score low, as Silero's do. */
class LoudnessVad implements VadScorer {
  private queue = new Int16Array(0);
  process(pcm: Int16Array): Promise<number[]> {
    const joined = new Int16Array(this.queue.length + pcm.length);
    joined.set(this.queue);
    joined.set(pcm, this.queue.length);
    const out: number[] = [];
    let at = 0;
    for (; at + WINDOW <= joined.length; at += WINDOW) out.push(rmsDbfs(joined.subarray(at, at + WINDOW)) >= -30 ? 0.9 : 0.05);
    this.queue = joined.slice(at);
    return Promise.resolve(out);
  }
}

/** A frame of a sine at `dbfs` (RMS), or digital silence. */
function frame(dbfs: number | undefined): Int16Array {
  const out = new Int16Array(FRAME);
  if (dbfs === undefined) return out;
  const amplitude = Math.SQRT2 * 32768 * 10 ** (dbfs / 20);
  for (let i = 0; i < FRAME; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / 16_000));
  return out;
}

/** Feeds frames in real time and returns the stream times (ms, from the first frame) of speech starts. */
async function speechStarts(frames: (number | undefined)[]): Promise<number[]> {
  const clock = new FakeClock();
  const began = clock.monotonic();
  const starts: number[] = [];
  const events: ListenerEvents = {
    speechStart: (atMs) => starts.push(Math.round(atMs - began)),
    speechEnd: () => undefined,
    transcript: () => undefined,
    utterance: () => undefined,
    sttError: (message) => {
      throw new Error(message);
    },
  };
  const listener = new Listener({
    vad: new LoudnessVad(),
    detector: new SpeechDetector({ windowMs: 32, minSpeechMs: 96 }),
    endpointer: new Endpointer(),
    stt: new ScriptedStt({ transcripts: ['hello'], clock }),
    clock,
    events,
  });
  for (const level of frames) {
    clock.advance(20);
    listener.push(frame(level));
    await Promise.resolve();
  }
  listener.close();
  return starts;
}

const silence = (n: number): undefined[] => new Array<undefined>(n).fill(undefined);
const level = (db: number, n: number): number[] => new Array<number>(n).fill(db);

describe('Listener onset', () => {
  it('dates speech from the soft sound that leads into it (the "h" of "hold on")', async () => {
    // 400 ms of digital silence, 80 ms at −42 dBFS, then speech: the VAD's onset is the window at 480 ms.
    const starts = await speechStarts([...silence(20), ...level(-42, 4), ...level(-15, 20), ...silence(30)]);
    expect(starts).toEqual([400]);
  });

  it('keeps the VAD onset when the sound before it is the line noise', async () => {
    const starts = await speechStarts([...level(-42, 24), ...level(-15, 20), ...silence(30)]);
    expect(starts).toHaveLength(1);
    expect(starts[0]).toBeGreaterThanOrEqual(470);
  });

  it('reaches back at most 160 ms', async () => {
    const starts = await speechStarts([...silence(10), ...level(-42, 20), ...level(-15, 20), ...silence(30)]);
    expect(starts).toHaveLength(1);
    const vadOnset = 576; // the window 576-608 ms holds the first 8 ms of speech and is loud enough
    expect(starts[0]).toBe(420); // the earliest 20 ms chunk within 160 ms of the VAD's onset
    expect(vadOnset - starts[0]!).toBeLessThanOrEqual(160);
  });
});
