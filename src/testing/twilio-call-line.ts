import type { Clock, TimerHandle } from '../core/clock.ts';
import { FRAME_BYTES, FRAME_MS, LineNoise, MULAW_SILENCE } from './twilio-call-audio.ts';

/**
 * The caller's side of the line: one 160-byte μ-law frame every 20 ms, in real time, whether the
 * caller speaks or not (a phone line never goes quiet on the wire; it carries silence). Frame n
 * covers [20n, 20n + 20) ms of the stream and leaves when that interval has passed, scheduled
 * against the start time rather than by chaining intervals, so timer lateness never accumulates;
 * after a stall the frames that fell due leave together, as after network jitter.
 *
 * DTMF digits ride the same clock: a digit leaves just before the first frame due at or after its
 * time. This class owns the only caller-side timer.
 */
export interface OutgoingFrame {
  /** 1-based, as Twilio's `media.chunk`. */
  chunk: number;
  /** Milliseconds from the start of the stream, as Twilio's `media.timestamp`. */
  timestampMs: number;
  payload: Uint8Array;
}

export interface CallerLineOptions {
  clock: Clock;
  sendFrame: (frame: OutgoingFrame) => void;
  sendDigit: (digit: string) => void;
  /** Peak PCM16 level of white noise added to every frame; default 0 (digital silence). */
  noise?: number;
  noiseSeed?: number;
}

interface Pending {
  /** The line time (ms) by which this is on the wire. */
  untilMs: number;
  resolve: (atMs: number) => void;
}

interface Digit {
  digit: string;
  dueMs: number;
  resolve: (atMs: number) => void;
}

export class CallerLine {
  private readonly options: CallerLineOptions;
  private readonly noise: LineNoise;
  private queue = new Uint8Array(0);
  /** Bytes of `queue` already consumed by earlier frames, kept to date utterance ends. */
  private queuedTotal = 0;
  private sentBytes = 0;
  private utterances: Pending[] = [];
  private digits: Digit[] = [];
  private startMs = 0;
  private sent = 0;
  private timer: TimerHandle | undefined;
  private running = false;
  private stopped = false;

  constructor(options: CallerLineOptions) {
    this.options = options;
    this.noise = new LineNoise(options.noise ?? 0, options.noiseSeed);
  }

  /** Frames sent so far. */
  get framesSent(): number {
    return this.sent;
  }

  /** The clock's monotonic time at which the stream's time 0 lies. */
  get startedAtMs(): number {
    return this.startMs;
  }

  /** Audio queued and not yet on the wire, in ms. */
  get queuedMs(): number {
    return (this.queue.length / FRAME_BYTES) * FRAME_MS;
  }

  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.startMs = this.options.clock.monotonic();
    this.schedule();
  }

  /**
   * Queues μ-law audio after whatever is still queued. Resolves with the clock time at which the
   * frame carrying its last byte was sent — when the caller stopped speaking — or when the line
   * stopped first.
   */
  speak(mulaw: Uint8Array): Promise<number> {
    if (this.stopped) return Promise.resolve(this.options.clock.monotonic());
    const next = new Uint8Array(this.queue.length + mulaw.length);
    next.set(this.queue);
    next.set(mulaw, this.queue.length);
    this.queue = next;
    this.queuedTotal += mulaw.length;
    return new Promise((resolve) => this.utterances.push({ untilMs: this.queuedTotal, resolve }));
  }

  /** Sends `digits` one every `gapMs`, starting with the next frame. Resolves when the last is sent. */
  press(digits: string, gapMs: number): Promise<number> {
    if (this.stopped) return Promise.resolve(this.options.clock.monotonic());
    const at = this.running ? this.options.clock.monotonic() : this.startMs;
    const last = this.digits.at(-1)?.dueMs ?? -Infinity;
    const first = Math.max(at, last + gapMs);
    return new Promise((resolve) => {
      [...digits].forEach((digit, i) => {
        const done = i === digits.length - 1 ? resolve : () => undefined;
        this.digits.push({ digit, dueMs: first + i * gapMs, resolve: done });
      });
      if (digits.length === 0) resolve(at);
    });
  }

  /** Stops the clock for good; pending and later `speak`/`press` promises resolve at once. */
  stop(): void {
    this.running = false;
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    const now = this.options.clock.monotonic();
    for (const p of [...this.utterances, ...this.digits]) p.resolve(now);
    this.utterances = [];
    this.digits = [];
    this.queue = new Uint8Array(0);
  }

  private schedule(): void {
    const dueAt = this.startMs + (this.sent + 1) * FRAME_MS;
    this.timer = this.options.clock.setTimeout(() => this.tick(), Math.max(0, dueAt - this.options.clock.monotonic()));
  }

  private tick(): void {
    if (!this.running) return;
    const now = this.options.clock.monotonic();
    const due = Math.floor((now - this.startMs) / FRAME_MS);
    while (this.running && this.sent < due) this.sendFrame(now);
    if (this.running) this.schedule();
  }

  private sendFrame(now: number): void {
    const frameEndMs = this.startMs + (this.sent + 1) * FRAME_MS;
    while (this.digits[0] && this.digits[0].dueMs <= frameEndMs) {
      const d = this.digits.shift()!;
      this.options.sendDigit(d.digit);
      d.resolve(now);
    }
    const payload = new Uint8Array(FRAME_BYTES).fill(MULAW_SILENCE);
    const take = Math.min(FRAME_BYTES, this.queue.length);
    payload.set(this.queue.subarray(0, take));
    this.queue = this.queue.subarray(take);
    this.sentBytes += take;
    this.noise.addTo(payload);
    this.sent++;
    this.options.sendFrame({ chunk: this.sent, timestampMs: (this.sent - 1) * FRAME_MS, payload });
    while (this.utterances[0] && this.utterances[0].untilMs <= this.sentBytes) this.utterances.shift()!.resolve(now);
  }
}
