/**
 * The fallback VAD when onnxruntime cannot load: frame energy against a fixed level. It cannot tell
 * speech from other loud sound (music, traffic), so it is a degraded mode, not an alternative.
 */
import { OperatorError } from '../../core/errors.ts';
import { VAD_WINDOW_SAMPLES, type Vad, type VadSampleRate } from './types.ts';
import { WindowQueue } from './window-queue.ts';

export interface EnergyVadOptions {
  sampleRate: VadSampleRate;
  /** RMS level (dBFS) at which a window scores 0.5. Phone speech sits around -30..-20 dBFS. */
  thresholdDb?: number;
}

const DEFAULT_THRESHOLD_DB = -40;
/** The score is ~0.12 this many dB below the threshold and ~0.88 as many above. */
const SOFTNESS_DB = 3;

/** Scores each 32 ms window by its RMS level: a logistic curve centred on `thresholdDb`. */
export class EnergyVad implements Vad {
  readonly engine = 'energy' as const;
  readonly sampleRate: VadSampleRate;
  readonly windowSamples: number;
  readonly windowMs: number;
  readonly thresholdDb: number;
  private readonly queue: WindowQueue;
  private readonly window: Float32Array;
  private closed = false;

  constructor(opts: EnergyVadOptions) {
    if (opts.sampleRate !== 8000 && opts.sampleRate !== 16_000) {
      throw new OperatorError('invalid_request', 'audio_rate_invalid', `audio_rate_invalid: the VAD runs at 8000 or 16000 Hz, got ${String(opts.sampleRate)}; resample first`);
    }
    this.sampleRate = opts.sampleRate;
    this.windowSamples = VAD_WINDOW_SAMPLES[opts.sampleRate];
    this.windowMs = (this.windowSamples * 1000) / opts.sampleRate;
    this.thresholdDb = opts.thresholdDb ?? DEFAULT_THRESHOLD_DB;
    this.queue = new WindowQueue(this.windowSamples);
    this.window = new Float32Array(this.windowSamples);
  }

  process(pcm: Int16Array): Promise<number[]> {
    if (this.closed) {
      return Promise.reject(new OperatorError('application', 'vad_closed', 'vad_closed: this EnergyVad was closed; create another for a new stream'));
    }
    this.queue.append(pcm);
    const probabilities: number[] = [];
    while (this.queue.windows > 0) {
      this.queue.takeInto(this.window, 0);
      probabilities.push(this.score(this.window));
    }
    return Promise.resolve(probabilities);
  }

  reset(): void {
    this.queue.clear();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private score(window: Float32Array): number {
    let sum = 0;
    for (let i = 0; i < window.length; i++) sum += window[i]! * window[i]!;
    const db = 10 * Math.log10(sum / window.length);
    if (db === -Infinity) return 0;
    return 1 / (1 + Math.exp(-(db - this.thresholdDb) / (SOFTNESS_DB / 2)));
  }
}
