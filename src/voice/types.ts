/**
 * The voice pipeline's engine boundaries. Audio inside the pipeline is PCM16 mono (`Int16Array`);
 * the pipeline runs at {@link PIPELINE_RATE}. Carriers' codecs (μ-law 8 kHz, browser PCM16 at any
 * rate) are converted at the edge of the pipeline (voice/codec.ts).
 */

/** Sample rate of everything between the carrier codec and the engines. */
export const PIPELINE_RATE = 16_000;

/** One utterance's final transcript. */
export interface SttResult {
  text: string;
  /** 0..1 when the engine reports one. */
  confidence?: number;
}

/**
 * One open utterance: the pipeline writes the caller's audio while the caller speaks (with a short
 * pre-roll from before the VAD's onset), then asks for the final transcript at end of speech.
 */
export interface SttStream {
  /** Caller audio at the rate given to {@link SttEngine.start}. Never blocks; engines buffer. */
  write(pcm: Int16Array): void;
  /** End of the utterance: resolves with its final transcript (empty text when nothing was recognised). */
  finish(): Promise<SttResult>;
  /** Drops the utterance; `finish()` is not called after this. */
  cancel(): void;
}

export interface SttStartOptions {
  sampleRate: number;
  /** The running hypothesis, as it changes (streaming engines). */
  onPartial?: (text: string) => void;
}

/** A speech-to-text engine for one call (it may hold a connection or a decoder for the call's life). */
export interface SttEngine {
  readonly name: string;
  start(opts: SttStartOptions): SttStream;
  close(): Promise<void>;
}

export interface TtsOptions {
  signal: AbortSignal;
  /** Engine-specific voice name; the engine's default when absent. */
  voice?: string;
}

/** A text-to-speech engine for one call. */
export interface TtsEngine {
  readonly name: string;
  /** Rate of the PCM it yields. */
  readonly sampleRate: number;
  /**
   * Streams the speech of one piece of text (a sentence or so) as it is produced. Stops promptly,
   * without throwing, when `signal` aborts. Throws an `OperatorError` (kind `connectivity` /
   * `server` / `auth`…) when the engine fails.
   */
  synthesize(text: string, opts: TtsOptions): AsyncIterable<Int16Array>;
  close(): Promise<void>;
}

/** Availability of an engine on this machine, for `operator doctor` and the start log. */
export interface EngineStatus {
  kind: 'stt' | 'tts' | 'vad';
  engine: string;
  available: boolean;
  /** Why not, or what it found (paths, versions). */
  detail: string;
}
