/**
 * Speech segments from per-window speech probabilities: a hysteresis state machine, pure and
 * clock-free. Time is stream time, counted from the windows pushed (window n spans
 * [n·windowMs, (n+1)·windowMs)), so replaying the same audio gives the same events at any speed.
 *
 *   silence ──p ≥ threshold──▶ maybe-speech ──voiced minSpeechMs──▶ speech ──silent minSilenceMs──▶ silence
 *      ▲                          │ silent longer than onsetGapMs (a blip)
 *      └──────────────────────────┘
 *
 * A candidate is bridged across silent gaps shorter than `onsetGapMs` (by default minSilenceMs,
 * as a confirmed segment is): a stop consonant's closure and an unvoiced sound the 4 kHz phone band
 * strips leave Silero silent for up to ~220 ms inside a word ("ac·tu·ally" through μ-law), and
 * restarting the onset there dated "actually" 324 ms late at some window phases, delaying the
 * barge-in by as much. The gap does not count as voiced: speech is confirmed once `minSpeechMs`
 * of non-silent windows are in, so clicks around a gap are still a blip.
 *
 * Between `negThreshold` and `threshold` a window continues whatever run it is in (the model's
 * reference iterator does the same), so a probability hovering near 0.5 does not chatter.
 * speech.end is the VAD's view only; deciding that the caller's turn is over is turn-taking's job.
 */
import { OperatorError } from '../../core/errors.ts';

export type DetectorState = 'silence' | 'maybe-speech' | 'speech';

export type DetectorEvent =
  /** Speech confirmed: `atMs` is the start of its first window, `confirmedAtMs` when it had lasted minSpeechMs. */
  | { type: 'speech.start'; atMs: number; confirmedAtMs: number }
  /** Speech over: `atMs` is the end of its last speech window (not when the silence was confirmed). */
  | { type: 'speech.end'; atMs: number; speechMs: number };

export interface SpeechDetectorOptions {
  /** Duration of one window (32 for Silero at 8 or 16 kHz). */
  windowMs: number;
  /** A window at or above this starts (or keeps) speech. Default 0.5. */
  threshold?: number;
  /** A window below this is silence. Default `threshold - 0.15`. */
  negThreshold?: number;
  /** Speech must last this long, without a silent window, before it counts. Default 250. */
  minSpeechMs?: number;
  /** Silence this long ends a speech segment. Default 300. */
  minSilenceMs?: number;
  /** A silent gap up to this long inside a not yet confirmed onset does not restart it. Default minSilenceMs. */
  onsetGapMs?: number;
}

function invalid(message: string): OperatorError {
  return new OperatorError('invalid_request', 'vad_options_invalid', `vad_options_invalid: ${message}`);
}

export class SpeechDetector {
  readonly windowMs: number;
  readonly threshold: number;
  readonly negThreshold: number;
  readonly minSpeechMs: number;
  readonly minSilenceMs: number;
  readonly onsetGapMs: number;
  private current: DetectorState = 'silence';
  /** Windows pushed so far. */
  private windows = 0;
  /** First window of the current (candidate) speech segment. */
  private onsetWindow = 0;
  /** Windows from the onset to the last window that was not silence. */
  private speechWindows = 0;
  /** Windows since the last confirmed speech (in speech: the trailing silent run). */
  private silentWindows = 0;
  /** In maybe-speech: the non-silent windows since the onset, and the current silent gap. */
  private voicedWindows = 0;
  private gapWindows = 0;

  constructor(opts: SpeechDetectorOptions) {
    this.windowMs = opts.windowMs;
    this.threshold = opts.threshold ?? 0.5;
    this.negThreshold = opts.negThreshold ?? Math.max(0, this.threshold - 0.15);
    this.minSpeechMs = opts.minSpeechMs ?? 250;
    this.minSilenceMs = opts.minSilenceMs ?? 300;
    this.onsetGapMs = opts.onsetGapMs ?? this.minSilenceMs;
    if (!(this.windowMs > 0)) throw invalid(`windowMs must be positive, got ${this.windowMs}`);
    if (!(this.threshold > 0 && this.threshold <= 1)) throw invalid(`threshold must be in (0, 1], got ${this.threshold}`);
    if (!(this.negThreshold >= 0 && this.negThreshold <= this.threshold)) {
      throw invalid(`negThreshold must be in [0, threshold=${this.threshold}], got ${this.negThreshold}`);
    }
    if (!(this.minSpeechMs >= 0 && this.minSilenceMs >= 0 && this.onsetGapMs >= 0)) throw invalid('minSpeechMs, minSilenceMs and onsetGapMs must be >= 0');
  }

  get state(): DetectorState {
    return this.current;
  }

  /** Stream time: the end of the last window pushed. */
  get nowMs(): number {
    return this.windows * this.windowMs;
  }

  /** The current run of silence: since the last speech window, including blips that never became speech. */
  get silenceMs(): number {
    return this.silentWindows * this.windowMs;
  }

  /** The current run of speech, from its onset to its last speech window; 0 in silence. */
  get speechMs(): number {
    return this.current === 'silence' ? 0 : this.speechWindows * this.windowMs;
  }

  /** Feeds the next window's speech probability. */
  push(probability: number): DetectorEvent[] {
    const window = this.windows++;
    const speechLike = probability >= this.threshold;
    const silent = probability < this.negThreshold;
    switch (this.current) {
      case 'silence':
        this.silentWindows++;
        if (speechLike) this.beginCandidate(window);
        return this.confirmIfLongEnough();
      case 'maybe-speech':
        this.silentWindows++;
        if (silent) {
          this.gapWindows++;
          if (this.gapWindows * this.windowMs >= this.onsetGapMs) this.current = 'silence';
          return [];
        }
        this.gapWindows = 0;
        this.voicedWindows++;
        this.speechWindows = window - this.onsetWindow + 1;
        return this.confirmIfLongEnough();
      case 'speech':
        return this.continueSpeech(window, speechLike, silent);
    }
  }

  /** Back to the start of a stream. */
  reset(): void {
    this.current = 'silence';
    this.windows = 0;
    this.onsetWindow = 0;
    this.speechWindows = 0;
    this.silentWindows = 0;
    this.voicedWindows = 0;
    this.gapWindows = 0;
  }

  private beginCandidate(window: number): void {
    this.current = 'maybe-speech';
    this.onsetWindow = window;
    this.speechWindows = 1;
    this.voicedWindows = 1;
    this.gapWindows = 0;
  }

  private confirmIfLongEnough(): DetectorEvent[] {
    if (this.current !== 'maybe-speech' || this.voicedWindows * this.windowMs < this.minSpeechMs) return [];
    this.current = 'speech';
    this.silentWindows = 0;
    return [{ type: 'speech.start', atMs: this.onsetWindow * this.windowMs, confirmedAtMs: this.nowMs }];
  }

  private continueSpeech(window: number, speechLike: boolean, silent: boolean): DetectorEvent[] {
    if (speechLike || (!silent && this.silentWindows === 0)) {
      this.silentWindows = 0;
      this.speechWindows = window - this.onsetWindow + 1;
      return [];
    }
    this.silentWindows++;
    if (this.silentWindows * this.windowMs < this.minSilenceMs) return [];
    this.current = 'silence';
    const endMs = (this.onsetWindow + this.speechWindows) * this.windowMs;
    return [{ type: 'speech.end', atMs: endMs, speechMs: this.speechWindows * this.windowMs }];
  }
}
