/**
 * Silero VAD v5 run by onnxruntime-node. The model is recurrent: each 32 ms window is scored with
 * the state left by the previous one, plus the previous window's last samples as context (64 at
 * 16 kHz, 32 at 8 kHz), exactly as the model's reference iterator feeds it.
 */
import { createRequire } from 'node:module';
import type * as OrtModule from 'onnxruntime-node';
import { OperatorError, errorMessage } from '../../core/errors.ts';
import { VAD_WINDOW_SAMPLES, type Vad, type VadSampleRate } from './types.ts';
import { WindowQueue } from './window-queue.ts';

type Ort = typeof OrtModule;
type Session = OrtModule.InferenceSession;
type Tensor = OrtModule.Tensor;

/**
 * Where the model comes from: an npm package, so installs stay offline-friendly and pinned. The
 * file is byte-identical to `silero_vad_v5.onnx` in `@ricky0123/vad-web`, which would also pull in
 * onnxruntime-web (145 MB) that we do not use.
 */
export const SILERO_MODEL = {
  package: '@ericedouard/vad-node-realtime',
  file: 'dist/silero_vad_v5.onnx',
  version: 'v5',
} as const;

const CONTEXT_SAMPLES: Readonly<Record<VadSampleRate, number>> = { 8000: 32, 16_000: 64 };
/** State carried between windows: [2, batch 1, 128]. */
const STATE_SIZE = 2 * 1 * 128;

/**
 * Hundreds of calls share a few cores: one thread per session, no spinning pool. The arena, memory
 * patterns and pre-packed weights only pay off for large tensors; without them a session takes
 * ~8.8 MB instead of ~10.1 MB, at the same speed (measured on the v5 model).
 */
const SESSION_OPTIONS: OrtModule.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  enableCpuMemArena: false,
  enableMemPattern: false,
  extra: { session: { disable_prepacking: '1' } },
  // Errors only: a warning per session would repeat for every call.
  logSeverityLevel: 3,
};

export interface SileroVadOptions {
  sampleRate: VadSampleRate;
  /** Another Silero v5-compatible model file (same inputs and outputs); the packaged v5 by default. */
  modelPath?: string;
}

/** Absolute path of the packaged model, whatever the working directory. */
export function sileroModelPath(): string {
  return createRequire(import.meta.url).resolve(`${SILERO_MODEL.package}/${SILERO_MODEL.file}`);
}

let ortLoading: Promise<Ort> | undefined;

/** Loads onnxruntime-node once per thread; a failure (no native binary for this platform) is remembered. */
export function loadOnnxRuntime(): Promise<Ort> {
  ortLoading ??= import('onnxruntime-node').catch((err: unknown) => {
    throw new OperatorError(
      'server',
      'vad_unavailable',
      `vad_unavailable: onnxruntime-node could not be loaded (${errorMessage(err)}); reinstall with \`npm ci\` on a supported platform (linux/macOS/windows, x64/arm64)`,
      { cause: err, retryable: false },
    );
  });
  return ortLoading;
}

function assertSileroModel(session: Session, path: string): void {
  const inputs = [...session.inputNames].sort().join(',');
  const outputs = [...session.outputNames].sort().join(',');
  if (inputs !== 'input,sr,state' || outputs !== 'output,stateN') {
    throw new OperatorError(
      'server',
      'vad_model_invalid',
      `vad_model_invalid: ${path} has inputs [${inputs}] and outputs [${outputs}]; a Silero v5 model takes [input,sr,state] and returns [output,stateN]`,
      { retryable: false },
    );
  }
}

/**
 * One stream's Silero VAD, with its own inference session (sessions hold the recurrent state's
 * buffers and are not shared). Inference runs on the calling thread: onnxruntime-node's `run()`
 * is synchronous under its promise, ~0.2 ms per window, with one intra-op thread.
 */
export class SileroVad implements Vad {
  readonly engine = 'silero' as const;
  readonly sampleRate: VadSampleRate;
  readonly windowSamples: number;
  readonly windowMs: number;
  private readonly session: Session;
  private readonly queue: WindowQueue;
  /** Context followed by the window: the `input` tensor's memory, rewritten for every window. */
  private readonly input: Float32Array;
  private readonly inputTensor: Tensor;
  private readonly rateTensor: Tensor;
  private readonly initialState: Tensor;
  private state: Tensor;
  /** Complete windows already promised to an earlier, still running `process()` call. */
  private claimed = 0;
  private tail: Promise<unknown> = Promise.resolve();
  /** Bumped by reset() and close(): runs started before it drop their results. */
  private generation = 0;
  private closed = false;

  private constructor(ort: Ort, session: Session, sampleRate: VadSampleRate) {
    this.session = session;
    this.sampleRate = sampleRate;
    this.windowSamples = VAD_WINDOW_SAMPLES[sampleRate];
    this.windowMs = (this.windowSamples * 1000) / sampleRate;
    this.queue = new WindowQueue(this.windowSamples);
    this.input = new Float32Array(CONTEXT_SAMPLES[sampleRate] + this.windowSamples);
    this.inputTensor = new ort.Tensor('float32', this.input, [1, this.input.length]);
    this.rateTensor = new ort.Tensor('int64', BigInt64Array.of(BigInt(sampleRate)), []);
    this.initialState = new ort.Tensor('float32', new Float32Array(STATE_SIZE), [2, 1, 128]);
    this.state = this.initialState;
  }

  /**
   * Loads the model into a new session: ~30 ms on an idle 2-core machine (the first one also loads
   * onnxruntime, ~65 ms), spent synchronously on the calling thread's event loop.
   */
  static async create(opts: SileroVadOptions = { sampleRate: 16_000 }): Promise<SileroVad> {
    const { sampleRate } = opts;
    if (sampleRate !== 8000 && sampleRate !== 16_000) {
      throw new OperatorError('invalid_request', 'audio_rate_invalid', `audio_rate_invalid: Silero VAD runs at 8000 or 16000 Hz, got ${String(sampleRate)}; resample first`);
    }
    const ort = await loadOnnxRuntime();
    const path = opts.modelPath ?? sileroModelPath();
    let session: Session;
    try {
      session = await ort.InferenceSession.create(path, SESSION_OPTIONS);
    } catch (err) {
      throw new OperatorError('server', 'vad_unavailable', `vad_unavailable: could not load the Silero model ${path}: ${errorMessage(err)}`, { cause: err, retryable: false });
    }
    assertSileroModel(session, path);
    return new SileroVad(ort, session, sampleRate);
  }

  process(pcm: Int16Array): Promise<number[]> {
    if (this.closed) {
      return Promise.reject(new OperatorError('application', 'vad_closed', 'vad_closed: this SileroVad was closed; create another for a new stream'));
    }
    this.queue.append(pcm);
    const windows = this.queue.windows - this.claimed;
    this.claimed += windows;
    const generation = this.generation;
    const run = this.tail.then(() => this.runWindows(windows, generation));
    this.tail = run.catch(() => undefined);
    return run;
  }

  reset(): void {
    this.generation++;
    this.queue.clear();
    this.claimed = 0;
    this.input.fill(0);
    this.state = this.initialState;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    await this.tail;
    await this.session.release();
  }

  private async runWindows(count: number, generation: number): Promise<number[]> {
    const probabilities: number[] = [];
    const context = this.input.length - this.windowSamples;
    for (let i = 0; i < count && generation === this.generation; i++) {
      // The new context is the tail of the window just scored.
      this.input.copyWithin(0, this.windowSamples, this.input.length);
      this.queue.takeInto(this.input, context);
      this.claimed--;
      let out: OrtModule.InferenceSession.OnnxValueMapType;
      try {
        out = await this.session.run({ input: this.inputTensor, state: this.state, sr: this.rateTensor });
      } catch (err) {
        // The windows still claimed would never run: start the stream afresh, as after a gap.
        if (generation === this.generation) this.reset();
        throw new OperatorError('server', 'vad_failed', `vad_failed: Silero inference failed: ${errorMessage(err)}`, { cause: err });
      }
      if (generation !== this.generation) break;
      this.state = out['stateN']!;
      probabilities.push((out['output']!.data as Float32Array)[0]!);
    }
    return probabilities;
  }
}
