/** Voice activity detection: speech probability per fixed window of caller audio. */

export type VadEngineName = 'silero' | 'energy';

/** The sample rates the VAD engines accept (Silero's model is trained for these two). */
export type VadSampleRate = 8000 | 16_000;

/**
 * One stream's voice activity detector. Feed it audio of any length; it answers with the speech
 * probability (0..1) of each window completed by that audio, in stream order. One instance per
 * call: it carries the stream's state from window to window.
 */
export interface Vad {
  readonly engine: VadEngineName;
  readonly sampleRate: VadSampleRate;
  /** Samples per window (512 at 16 kHz, 256 at 8 kHz: 32 ms either way). */
  readonly windowSamples: number;
  readonly windowMs: number;
  /**
   * Buffers `pcm` and resolves with the probabilities of the windows it completes (often none, for
   * a 20 ms frame). Calls may overlap; each resolves in call order with its own windows. `pcm` is
   * copied before this returns.
   */
  process(pcm: Int16Array): Promise<number[]>;
  /** Forgets the stream so far (buffered audio and model state); pending `process()` calls resolve with what they had. */
  reset(): void;
  /** Releases the engine. `process()` after this throws. */
  close(): Promise<void>;
}

/** Windows of 32 ms at each supported rate. */
export const VAD_WINDOW_SAMPLES: Readonly<Record<VadSampleRate, number>> = { 8000: 256, 16_000: 512 };
