import { sleep } from './fleet.ts';
import { RATE } from './voice-audio.ts';
import type { PlacedCall } from './voice-calls.ts';

/**
 * Pacing of the agent's audio as the caller's line receives it.
 *
 * The server paces each answer in real time a few frames ahead (src/voice/pipeline/playout.ts:
 * `leadFrames` = 3): when the answer's audio starts it sends frames 0–2 at once, then one frame on
 * each 20 ms tick, so frame n is due at anchor + max(0, n − 2) × 20 ms. Lateness of frame n =
 * its arrival − that schedule, with the anchor placed where the answer's most punctual frame puts
 * it (min over the answer of arrival − max(0, m − 2) × 20 ms): a first frame that was itself
 * delayed does not make the rest look early, and every lateness is ≥ 0. A frame later than 40 ms
 * by this measure reached the phone after its play time (the lead is spent): an audible gap.
 */
export const LEAD_FRAMES = 3;
export const FRAME_MS = 20;

/** Lateness (ms) of each frame of one answer, given the arrival times of all its frames in order. */
export function answerLateness(arrivals: readonly number[]): number[] {
  const due = (n: number): number => Math.max(0, n - (LEAD_FRAMES - 1)) * FRAME_MS;
  let anchor = Number.POSITIVE_INFINITY;
  for (let n = 0; n < arrivals.length; n++) anchor = Math.min(anchor, arrivals[n]! - due(n));
  return arrivals.map((a, n) => a - due(n) - anchor);
}

/**
 * A caller that keeps the conversation going: says its line, waits for the agent's answer to
 * start and then to end (no agent frame for `quietMs`), pauses, and says it again. Records the
 * arrival time of every agent frame (compactly: the stream's own list is trimmed as it goes);
 * the marks and clears the stream recorded split them into the runs the server paced.
 */
export class Talker {
  readonly frames: number[] = [];
  /** When each of the caller's utterances ended (monotonic ms). */
  readonly speechEnds: number[] = [];
  readonly errors: string[] = [];
  private stopped = false;
  private done: Promise<void> = Promise.resolve();
  private readonly c: PlacedCall;

  constructor(c: PlacedCall) {
    this.c = c;
    c.call.on('media', (m) => {
      this.frames.push(m.atMs);
      const media = c.call.stream?.media;
      if (media && media.length > 500) media.splice(0, media.length - 100);
    });
  }

  start(pcm: Int16Array, pauseMs: readonly [number, number], quietMs = 300): void {
    this.done = this.loop(pcm, pauseMs, quietMs).catch((err: unknown) => {
      this.errors.push(err instanceof Error ? err.message : String(err));
    });
  }

  /** Stops after the current exchange (its answer ends). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  /** Lateness of every frame that arrived in [fromMs, toMs), answer by answer, and where in its answer each frame later than `limitMs` was. */
  lateness(fromMs: number, toMs: number, limitMs = 20): { lateness: number[]; answers: number; latePositions: number[] } {
    const out: number[] = [];
    const latePositions: number[] = [];
    let answers = 0;
    const firstSpeechEnd = this.speechEnds[0] ?? Number.POSITIVE_INFINITY;
    for (const arrivals of paceGroups(this.frames, this.c.call.stream?.marks ?? [], this.c.call.stream?.clears ?? [])) {
      // The greeting (before the caller first spoke) and answers wholly outside the window are not counted.
      if (arrivals[0]! < firstSpeechEnd || !arrivals.some((t) => t >= fromMs && t < toMs)) continue;
      answers++;
      const late = answerLateness(arrivals);
      arrivals.forEach((t, n) => {
        if (t < fromMs || t >= toMs) return;
        out.push(late[n]!);
        if (late[n]! > limitMs) latePositions.push(n);
      });
    }
    return { lateness: out, answers, latePositions };
  }

  private async loop(pcm: Int16Array, pauseMs: readonly [number, number], quietMs: number): Promise<void> {
    const call = this.c.call;
    while (!this.stopped && !call.isOver) {
      const end = await call.say({ pcm, sampleRate: RATE });
      this.speechEnds.push(end);
      await call.waitForAudio(end, 30_000);
      while (performance.now() - (this.frames.at(-1) ?? 0) < quietMs) await sleep(50);
      await sleep(pauseMs[0] + Math.random() * (pauseMs[1] - pauseMs[0]));
    }
  }
}

/**
 * Splits a call's agent frames (arrival times, in order) into the runs the server paced as one:
 * the server names each mark `<epoch>:<frames sent>` and starts a new epoch at every new turn and
 * every pause (barge-in), and a `clear` ends the epoch that was playing. A frame belongs to the
 * epoch of the next mark before any clear; the last frames of an epoch cut by a clear (no mark
 * after them) belong to the epoch of the mark before them.
 */
export function paceGroups(frames: readonly number[], marks: readonly { name: string; receivedAtMs: number }[], clears: readonly { atMs: number }[]): number[][] {
  type Event = { at: number; kind: 0 | 1 | 2; epoch?: string };
  // Same socket, same stamping loop: time order is arrival order (a mark follows its frame).
  const events: Event[] = [
    ...frames.map((at): Event => ({ at, kind: 0 })),
    ...marks.map((m): Event => ({ at: m.receivedAtMs, kind: 1, epoch: m.name.split(':')[0]! })),
    ...clears.map((c): Event => ({ at: c.atMs, kind: 2 })),
  ].sort((a, b) => a.at - b.at || a.kind - b.kind);
  const epochOf: string[] = new Array<string>(events.length);
  let next: string | undefined;
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.kind === 1) next = e.epoch;
    else if (e.kind === 2) next = undefined;
    else if (next !== undefined) epochOf[i] = next;
  }
  let last = 'start';
  let clearsSeen = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.kind === 1) last = e.epoch!;
    else if (e.kind === 2) last = `after-clear-${++clearsSeen}`;
    else epochOf[i] ??= last;
  }
  const groups = new Map<string, number[]>();
  events.forEach((e, i) => {
    if (e.kind !== 0) return;
    const g = groups.get(epochOf[i]!);
    if (g) g.push(e.at);
    else groups.set(epochOf[i]!, [e.at]);
  });
  return [...groups.values()];
}
