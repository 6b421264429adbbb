import type { Clock, TimerHandle } from '../../core/clock.ts';

/** Where paced frames go: the carrier's socket (through the main thread). */
export interface PlayoutSink {
  frame(data: Uint8Array): void;
  mark(name: string): void;
  /** Drop everything the transport has buffered (Twilio `clear`, realtime `audio.clear`). */
  clear(): void;
}

export interface PlayoutOptions {
  clock: Clock;
  sink: PlayoutSink;
  frameMs?: number;
  /** Frames sent ahead of real time: enough to ride out jitter, few enough that `clear` is prompt. */
  leadFrames?: number;
  /** A mark every this many frames, so the heard position is known to within that much audio. */
  markEveryFrames?: number;
  /**
   * A transport that never echoes marks (a browser client that ignores them) would leave the
   * turn waiting forever: after the audio's play time plus this grace, it counts as heard.
   */
  markGraceMs?: number;
  /** Called when the heard position advances (frames of the current stream). */
  onHeard?: (frames: number) => void;
}

/**
 * Paces one stream of 20 ms frames out in real time, a few frames ahead, and learns from the
 * echoed marks how much of it the caller has heard (protocols.md §1.6). `pause()` flushes the
 * transport and rewinds to the heard position, so `resume()` replays exactly what was cut.
 * Time comes from the injected clock; the tick is drift-free (scheduled against an anchor).
 */
export class Playout {
  private readonly o: Required<Omit<PlayoutOptions, 'onHeard'>> & Pick<PlayoutOptions, 'onHeard'>;
  private frames: Uint8Array[] = [];
  /** Frame indexes after which a mark must follow (segment ends). */
  private readonly boundaries = new Set<number>();
  private sent = 0;
  private heardFrames = 0;
  /** Incremented by every reset/pause: marks of an older epoch (echoed by `clear`) are ignored. */
  private epoch = 0;
  private anchorMs = 0;
  private anchorFrame = 0;
  private timer: TimerHandle | undefined;
  private paused = false;
  private lastMarkAckMs = 0;

  constructor(opts: PlayoutOptions) {
    this.o = { frameMs: 20, leadFrames: 3, markEveryFrames: 5, markGraceMs: 2000, ...opts };
  }

  /** Frames confirmed played. */
  get heard(): number {
    return this.heardFrames;
  }

  get total(): number {
    return this.frames.length;
  }

  get sentFrames(): number {
    return this.sent;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Audio is queued or still playing at the caller. */
  get active(): boolean {
    return this.heardFrames < this.frames.length;
  }

  /** Everything queued has been heard (or its play time and grace have passed). */
  get drained(): boolean {
    return !this.active;
  }

  push(frames: readonly Uint8Array[]): void {
    if (frames.length === 0) return;
    const wasIdle = this.sent === this.frames.length;
    this.frames.push(...frames);
    if (this.paused) return;
    if (wasIdle) this.anchor();
    this.pump();
  }

  /** Marks the end of a segment (sentence): a mark follows its last frame, whatever the spacing. */
  endSegment(): number {
    if (this.frames.length > 0) this.boundaries.add(this.frames.length);
    return this.frames.length;
  }

  /** The transport echoed a mark. */
  markPlayed(name: string): void {
    const [epoch, frame] = name.split(':').map(Number);
    if (epoch !== this.epoch || frame === undefined || !Number.isInteger(frame)) return;
    this.lastMarkAckMs = this.o.clock.monotonic();
    this.advanceHeard(Math.min(frame, this.sent));
  }

  /** Stops sending, flushes the transport, and rewinds to what was heard. */
  pause(): number {
    if (this.paused) return this.heardFrames;
    this.paused = true;
    this.stopTimer();
    this.epoch++;
    if (this.sent > this.heardFrames) this.o.sink.clear();
    this.sent = this.heardFrames;
    return this.heardFrames;
  }

  /** Continues from the heard position (a false interruption). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.sent < this.frames.length) {
      this.anchor();
      this.pump();
    }
  }

  /** Drops the stream (new turn, barge-in committed, end of call). Clears the transport if audio is pending there. */
  reset(): void {
    this.stopTimer();
    if (this.sent > this.heardFrames && !this.paused) this.o.sink.clear();
    this.epoch++;
    this.frames = [];
    this.boundaries.clear();
    this.sent = 0;
    this.heardFrames = 0;
    this.paused = false;
  }

  close(): void {
    this.stopTimer();
  }

  private anchor(): void {
    this.anchorMs = this.o.clock.monotonic();
    this.anchorFrame = this.sent;
    this.lastMarkAckMs = this.anchorMs;
  }

  private pump(): void {
    const now = this.o.clock.monotonic();
    const due = this.anchorFrame + this.o.leadFrames + Math.floor((now - this.anchorMs) / this.o.frameMs);
    const until = Math.min(due, this.frames.length);
    for (; this.sent < until; ) {
      this.o.sink.frame(this.frames[this.sent]!);
      this.sent++;
      if (this.sent % this.o.markEveryFrames === 0 || this.boundaries.has(this.sent) || this.sent === this.frames.length) {
        this.o.sink.mark(`${this.epoch}:${this.sent}`);
      }
    }
    this.checkGrace(now);
    this.schedule();
  }

  /** Without mark echoes, audio counts as heard once its play time and the grace have passed. */
  private checkGrace(now: number): void {
    if (now - this.lastMarkAckMs < this.o.markGraceMs) return;
    const played = this.anchorFrame + Math.floor((now - this.anchorMs - this.o.markGraceMs) / this.o.frameMs);
    if (played > this.heardFrames) this.advanceHeard(Math.min(played, this.sent));
  }

  private advanceHeard(frame: number): void {
    if (frame <= this.heardFrames) return;
    this.heardFrames = frame;
    this.o.onHeard?.(frame);
  }

  private schedule(): void {
    this.stopTimer();
    if (this.paused || !this.active) return;
    const now = this.o.clock.monotonic();
    const nextTick = this.anchorMs + (Math.floor((now - this.anchorMs) / this.o.frameMs) + 1) * this.o.frameMs;
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, nextTick - now);
  }

  private stopTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
