import type { Clock, TimerHandle } from '../core/clock.ts';
import { BYTES_PER_MS, mulawDecode } from './twilio-call-audio.ts';

/**
 * The phone's loudspeaker: what the server sends is buffered and played in order at 8,000 bytes
 * per second, starting the moment it arrives if nothing is playing (protocols.md §1.4–§1.6).
 * Because playback is deterministic, each segment's start time is known on arrival; what has been
 * "played" is simply what lies before now. A mark is echoed once all audio sent before it has
 * played; `clear` cuts the segment playing now, drops the rest and echoes every pending mark at
 * once. One timer, armed for the next mark, is the playout clock.
 */
export interface PlayedSegment {
  /** Clock time (monotonic ms) at which this audio started to play. */
  startMs: number;
  /** PCM16 at 8 kHz, cut at `clear` or at the present for a segment still playing. */
  pcm: Int16Array;
}

export interface PlayoutOptions {
  clock: Clock;
  /** Called when a mark's audio has played, or at `clear`, in the order the marks came. */
  onMarkPlayed: (name: string, cleared: boolean) => void;
}

interface Segment {
  startMs: number;
  bytes: Uint8Array;
}

interface PendingMark {
  name: string;
  dueMs: number;
}

export class Playout {
  private readonly options: PlayoutOptions;
  private segments: Segment[] = [];
  private marks: PendingMark[] = [];
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(options: PlayoutOptions) {
    this.options = options;
  }

  private get now(): number {
    return this.options.clock.monotonic();
  }

  /** When everything received so far will have played. */
  get endsAtMs(): number {
    const last = this.segments.at(-1);
    return Math.max(this.now, last ? last.startMs + last.bytes.length / BYTES_PER_MS : 0);
  }

  /** Received audio not yet played, in ms. */
  get bufferedMs(): number {
    return this.endsAtMs - this.now;
  }

  /** Marks received whose audio has not finished playing. */
  get pendingMarks(): string[] {
    return this.marks.map((m) => m.name);
  }

  push(mulaw: Uint8Array): void {
    if (this.closed || mulaw.length === 0) return;
    this.segments.push({ startMs: this.endsAtMs, bytes: mulaw });
  }

  mark(name: string): void {
    if (this.closed) return;
    const dueMs = this.endsAtMs;
    if (dueMs <= this.now && this.marks.length === 0) {
      this.options.onMarkPlayed(name, false);
      return;
    }
    this.marks.push({ name, dueMs });
    this.arm();
  }

  /** Drops unplayed audio; returns how many ms were dropped and which marks were echoed. */
  clear(): { droppedMs: number; marks: string[] } {
    const now = this.now;
    const droppedMs = this.bufferedMs;
    this.segments = this.segments.flatMap((s) => {
      if (s.startMs >= now) return [];
      const playedBytes = Math.floor((now - s.startMs) * BYTES_PER_MS);
      return [playedBytes < s.bytes.length ? { startMs: s.startMs, bytes: s.bytes.subarray(0, playedBytes) } : s];
    });
    const marks = this.marks.map((m) => m.name);
    this.marks = [];
    this.timer?.cancel();
    this.timer = undefined;
    for (const name of marks) this.options.onMarkPlayed(name, true);
    return { droppedMs, marks };
  }

  /** Audio played up to now, segment by segment. */
  played(): PlayedSegment[] {
    const now = this.now;
    return this.segments
      .filter((s) => s.startMs < now)
      .map((s) => ({ startMs: s.startMs, pcm: mulawDecode(s.bytes.subarray(0, Math.floor((now - s.startMs) * BYTES_PER_MS))) }));
  }

  /** The call ended: nothing more plays and no mark is echoed. */
  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    const now = this.now;
    this.segments = this.segments.filter((s) => s.startMs < now);
    const cut = this.segments.at(-1);
    if (cut) cut.bytes = cut.bytes.subarray(0, Math.floor((now - cut.startMs) * BYTES_PER_MS));
    this.marks = [];
  }

  private arm(): void {
    if (this.timer || !this.marks[0]) return;
    this.timer = this.options.clock.setTimeout(() => this.fire(), this.marks[0].dueMs - this.now);
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.now;
    while (this.marks[0] && this.marks[0].dueMs <= now) this.options.onMarkPlayed(this.marks.shift()!.name, false);
    this.arm();
  }
}
