import type { Clock, TimerHandle } from '../../core/clock.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Endpointer } from '../turn-taking/endpointing.ts';
import type { SpeechDetector } from '../vad/detector.ts';
import { rmsDbfs } from '../codec.ts';
import { normaliseTranscript } from '../transcript.ts';
import { PIPELINE_RATE, type SttEngine, type SttStream } from '../types.ts';

/** How soon to look again at a turn's end while the VAD weighs a possible onset. */
const MAYBE_SPEECH_RECHECK_MS = 40;

/** How far back audio is kept for a stream that opens late (VAD lag under load + minimum speech + pre-roll). */
const RECENT_MS = 2000;

/**
 * The VAD dates an onset at its first speech-like window, but soft onsets ("h" of "hold on", the
 * "s" of "sorry" with the line's 4 kHz cut) score low for a window or three: 48-100 ms late with
 * Silero on espeak-ng speech through μ-law. Audible audio running without a break into the VAD's
 * onset moves it back, by at most ONSET_REACH_MS. Audible: ONSET_ABOVE_FLOOR_DB over the quietest
 * recent frame (the line's noise floor) and above ONSET_MIN_DBFS. Barge-in counts its minimum
 * speech from the onset, so this is what keeps it within budget for such words.
 */
const ONSET_REACH_MS = 160;
const ONSET_ABOVE_FLOOR_DB = 15;
const ONSET_MIN_DBFS = -55;

/** Something that scores speech probability per window (Silero, or the energy fallback); results in call order. */
export interface VadScorer {
  process(pcm: Int16Array): Promise<number[]>;
}

export interface ListenerEvents {
  speechStart(atMs: number): void;
  speechEnd(atMs: number): void;
  /** Running transcript of the caller's turn (partials included). */
  transcript(text: string, final: boolean): void;
  /** The caller finished their turn. `speechEndAt` is when their last word ended (monotonic ms). */
  utterance(text: string, times: { speechEndAt: number; endOfTurnAt: number; sttFinalAt: number }): void;
  sttError(message: string): void;
}

export interface ListenerOptions {
  vad: VadScorer;
  detector: SpeechDetector;
  endpointer: Endpointer;
  stt: SttEngine;
  clock: Clock;
  events: ListenerEvents;
  /** Audio kept from before the VAD's onset and given to the STT (the onset is confirmed late). */
  preRollMs?: number;
}

/**
 * The caller's side of the call: PCM (16 kHz) → VAD → speech segments → STT → end-of-turn.
 * Each speech segment is one STT utterance, finished as soon as the VAD says the segment ended,
 * so recognition overlaps the endpointing silence; segments join until the endpointer decides
 * the caller's turn is over.
 */
export class Listener {
  private readonly o: ListenerOptions;
  /** Recent audio with its stream start time (ms), kept until a stream opens. */
  private readonly recent: { atMs: number; pcm: Int16Array }[] = [];
  /** Level of each recent chunk (dBFS), by stream time: for the onset and the noise floor. */
  private readonly levels: { atMs: number; db: number }[] = [];
  private stream: SttStream | undefined;
  private finals: string[] = [];
  private partial = '';
  private pendingFinals = 0;
  private streamMs = 0;
  private lastSpeechEndAt: number | undefined;
  private lastFinalAt: number | undefined;
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(opts: ListenerOptions) {
    this.o = opts;
  }

  /** The caller is speaking (VAD), or a turn is still being decided. */
  get busy(): boolean {
    return this.stream !== undefined || this.finals.length > 0 || this.pendingFinals > 0;
  }

  push(pcm: Int16Array): void {
    if (this.closed) return;
    const atMs = this.streamMs;
    this.streamMs += (pcm.length * 1000) / PIPELINE_RATE;
    if (this.stream) this.stream.write(pcm);
    else this.keepRecent(atMs, pcm);
    this.levels.push({ atMs, db: Math.max(-120, rmsDbfs(pcm)) });
    while (this.levels.length > 1 && this.streamMs - this.levels[0]!.atMs > RECENT_MS) this.levels.shift();
    this.o.vad.process(pcm).then(
      (probs) => this.onWindows(probs),
      (err: unknown) => this.o.events.sttError(`voice activity detection failed: ${errorMessage(err)}`),
    );
  }

  private onWindows(probs: number[]): void {
    if (this.closed) return;
    for (const prob of probs) {
      for (const e of this.o.detector.push(prob)) {
        if (e.type === 'speech.start') {
          const onset = this.audibleOnset(e.atMs);
          this.onSpeechStart(this.toMono(onset), onset);
        }
        else this.onSpeechEnd(this.toMono(e.atMs));
      }
    }
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.stream?.cancel();
    this.stream = undefined;
  }

  /** Stream time (from the samples) → monotonic time: audio arrives in real time, so now ↔ streamMs. */
  private toMono(streamAtMs: number): number {
    return this.o.clock.monotonic() - (this.streamMs - streamAtMs);
  }

  /** Where the audible run leading into the VAD's onset at `streamAtMs` began (see ONSET_REACH_MS). */
  private audibleOnset(streamAtMs: number): number {
    let floor = Infinity;
    for (const level of this.levels) floor = Math.min(floor, level.db);
    const audible = Math.max(ONSET_MIN_DBFS, floor + ONSET_ABOVE_FLOOR_DB);
    let onset = streamAtMs;
    for (let i = this.levels.length - 1; i >= 0; i--) {
      const level = this.levels[i]!;
      if (level.atMs >= onset) continue;
      if (level.db < audible || streamAtMs - level.atMs > ONSET_REACH_MS) break;
      onset = level.atMs;
    }
    return onset;
  }

  /**
   * The VAD scores audio asynchronously and confirms an onset only after its minimum speech, so by
   * the time a stream opens the speech began a while ago — how long depends on load. Audio is kept
   * by stream time, enough to reach back to the onset plus the pre-roll however late it is known.
   */
  private keepRecent(atMs: number, pcm: Int16Array): void {
    this.recent.push({ atMs, pcm });
    while (this.recent.length > 1 && this.streamMs - this.recent[0]!.atMs > RECENT_MS) this.recent.shift();
  }

  private onSpeechStart(atMs: number, streamAtMs: number): void {
    this.timer?.cancel();
    this.o.endpointer.onSpeechStart(atMs);
    if (!this.stream) {
      this.stream = this.o.stt.start({
        sampleRate: PIPELINE_RATE,
        onPartial: (text) => {
          this.partial = text;
          this.o.endpointer.onTranscript(text, false, this.o.clock.monotonic());
          this.o.events.transcript(this.joined(text), false);
        },
      });
      const from = streamAtMs - (this.o.preRollMs ?? 250);
      for (const chunk of this.recent) {
        const endMs = chunk.atMs + (chunk.pcm.length * 1000) / PIPELINE_RATE;
        if (endMs > from) this.stream.write(chunk.pcm);
      }
      this.recent.length = 0;
    }
    this.o.events.speechStart(atMs);
  }

  private onSpeechEnd(atMs: number): void {
    this.lastSpeechEndAt = atMs;
    this.o.endpointer.onSpeechEnd(atMs);
    this.o.events.speechEnd(atMs);
    const stream = this.stream;
    this.stream = undefined;
    if (!stream) return;
    const index = this.finals.length;
    this.finals.push('');
    this.pendingFinals++;
    stream
      .finish()
      .then((r) => {
        this.finals[index] = normaliseTranscript(r.text.trim());
      })
      .catch((err: unknown) => this.o.events.sttError(errorMessage(err)))
      .finally(() => {
        this.pendingFinals--;
        this.lastFinalAt = this.o.clock.monotonic();
        this.partial = '';
        if (this.closed) return;
        this.o.endpointer.onTranscript(this.finals[index] ?? '', true, this.o.clock.monotonic());
        const text = this.joined('');
        if (text) this.o.events.transcript(text, true);
        this.decide();
      });
    this.decide();
  }

  private joined(partial: string): string {
    return [...this.finals, partial].filter((t) => t !== '').join(' ');
  }

  /** Ends the turn when the endpointer says so and every segment's transcript is in; else waits. */
  private decide(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.closed || this.stream || this.pendingFinals > 0) return;
    const now = this.o.clock.monotonic();
    // Speech the VAD has heard but not yet confirmed (it needs its minimum speech): the caller may be
    // going on after a pause, so the turn is not over yet — look again shortly.
    if (this.o.detector.state === 'maybe-speech') {
      this.timer = this.o.clock.setTimeout(() => this.decide(), MAYBE_SPEECH_RECHECK_MS);
      return;
    }
    const verdict = this.o.endpointer.poll(now);
    if (!verdict.endOfTurn) {
      const deadline = this.o.endpointer.decisionDeadline();
      if (deadline !== undefined) this.timer = this.o.clock.setTimeout(() => this.decide(), Math.max(1, deadline - now));
      return;
    }
    const text = this.joined('');
    const speechEndAt = this.lastSpeechEndAt ?? now;
    this.finals = [];
    this.partial = '';
    this.o.endpointer.reset();
    if (text) this.o.events.utterance(text, { speechEndAt, endOfTurnAt: now, sttFinalAt: this.lastFinalAt ?? now });
  }
}
