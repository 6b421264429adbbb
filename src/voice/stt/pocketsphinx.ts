/**
 * Embedded, offline speech recognition: CMU pocketsphinx (the Debian en-us model) in-process
 * through koffi. One decoder per call (~95 MB, ~250 ms to create: create it when the call starts),
 * one utterance at a time. The decoding runs on libuv's thread pool (see pocketsphinx-native.ts).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { errorMessage, OperatorError } from '../../core/errors.ts';
import { PIPELINE_RATE, type SttEngine, type SttResult, type SttStartOptions, type SttStream } from '../types.ts';
import {
  POCKETSPHINX_INSTALL,
  loadPocketsphinx,
  missingModelFiles,
  resolveModel,
  type PocketsphinxModelOptions,
  type PocketsphinxNative,
} from './pocketsphinx-native.ts';

export interface PocketsphinxOptions extends PocketsphinxModelOptions {
  /** Rate of the audio the streams get; the en-us model is trained at 16 kHz. */
  sampleRate?: number;
  /**
   * Extra decoder arguments (`-name value`), e.g. `{ fwdflat: 'no' }`: the final transcript comes
   * ~30 ms after `finish()` instead of ~150 ms (its second pass is skipped), at some accuracy cost
   * (word error 0.42 -> 0.51 on our synthetic set).
   */
  decoderArgs?: Record<string, string>;
  /** Audio past this much in one utterance is ignored. Default 60 s. */
  maxUtteranceMs?: number;
  /**
   * What the audio went through. 'phone' (a phone call: 8 kHz μ-law, upsampled to 16 kHz) loads
   * {@link PHONE_MLLR}, which moves the model's means to where speech without the 4-8 kHz band
   * sits. Default 'wide': the model as it is (on real wideband speech the transform does not help).
   */
  band?: 'wide' | 'phone';
}

/**
 * MLLR transform of the Debian en-us model for telephone-band audio: one global class, 5 KB,
 * built by scripts/phone-adaptation/build.sh from real read speech and espeak-ng voices, all
 * passed through 8 kHz μ-law. Word error on phone-band audio, voices and sentences not trained on,
 * domain language model: 0.455 -> 0.192 (wer.ts's four voices; the same audio wideband, without
 * it: 0.219) and 0.562 -> 0.393 (three more voices). On real human speech (13 recordings,
 * leave-one-out, general model): 0.402 -> 0.321 phone-band, while wideband goes 0.286 -> 0.304:
 * it is for phone audio only. It does not fit another acoustic model (`hmm`).
 */
export const PHONE_MLLR = fileURLToPath(new URL('../../../assets/pocketsphinx/en-us-phone.mllr', import.meta.url));

/** Audio is handed to the decoder in batches of this much (or whatever piled up meanwhile). */
const BATCH_MS = 100;
/** The most audio one native call takes. */
const MAX_CALL_MS = 1_000;
/**
 * pocketsphinx normalises the cepstrum by a running mean that it updates only at the end of an
 * utterance; until then it uses the model's training mean, and the first utterance of a call
 * suffers. So once the call's first 1.5 s of audio are in, the decoder ends the utterance (which
 * updates the mean from the caller's audio) and decodes those 1.5 s again: 0.2-0.4 s of pool-thread
 * CPU, once per call, while the caller is still talking. Measured on 10 synthetic sentences, each
 * on a fresh decoder: word error 0.75 without, 0.40 with (1.0 s: 0.64, 2.0 s: 0.55).
 */
const PRIME_MS = 1_500;

/** A pocketsphinx decoder for one call. */
export class PocketsphinxStt implements SttEngine {
  readonly name = 'pocketsphinx';
  readonly sampleRate: number;
  private readonly native: PocketsphinxNative;
  private readonly decoder: bigint;
  private readonly maxUtteranceSamples: number;
  /** Native calls on the decoder, one at a time, in order. */
  private chain: Promise<unknown> = Promise.resolve();
  private active: PocketsphinxStream | undefined;
  private closed: Promise<void> | undefined;
  /** @internal Whether the cepstral mean has been learnt from this call's audio (see PRIME_MS). */
  cmnPrimed = false;

  private constructor(native: PocketsphinxNative, decoder: bigint, sampleRate: number, maxUtteranceMs: number) {
    this.native = native;
    this.decoder = decoder;
    this.sampleRate = sampleRate;
    this.maxUtteranceSamples = Math.round((maxUtteranceMs * sampleRate) / 1000);
  }

  /** Loads the model into a new decoder. Throws `stt_unavailable` (with the fix) when it cannot. */
  static async create(opts: PocketsphinxOptions = {}): Promise<PocketsphinxStt> {
    const sampleRate = opts.sampleRate ?? PIPELINE_RATE;
    if (sampleRate !== PIPELINE_RATE) {
      throw new OperatorError('invalid_request', 'stt_sample_rate', `pocketsphinx's en-us model runs at ${PIPELINE_RATE} Hz, not ${sampleRate}`);
    }
    const model = resolveModel(opts);
    const missing = missingModelFiles(model);
    if (missing.length > 0) {
      throw new OperatorError('server', 'stt_unavailable', `pocketsphinx model files missing: ${missing.join(', ')}; install them with "${POCKETSPHINX_INSTALL}"`);
    }
    const phone = opts.band === 'phone';
    if (phone && !existsSync(PHONE_MLLR)) {
      throw new OperatorError('server', 'stt_unavailable', `pocketsphinx's phone-band transform ${PHONE_MLLR} is missing; rebuild it with scripts/phone-adaptation/build.sh`);
    }
    const native = await loadPocketsphinx();
    const args = ['-hmm', model.hmm, '-lm', model.lm, '-dict', model.dict, '-samprate', String(sampleRate)];
    if (phone) args.push('-mllr', PHONE_MLLR);
    for (const [name, value] of Object.entries(opts.decoderArgs ?? {})) args.push(`-${name.replace(/^-/, '')}`, value);
    const decoder = await native.createDecoder(args);
    return new PocketsphinxStt(native, decoder, sampleRate, opts.maxUtteranceMs ?? 60_000);
  }

  /** Opens an utterance. One at a time: an utterance still open is cancelled. */
  start(opts: SttStartOptions): SttStream {
    if (this.closed) throw new OperatorError('invalid_request', 'stt_closed', 'this pocketsphinx engine is closed');
    if (opts.sampleRate !== this.sampleRate) {
      throw new OperatorError('invalid_request', 'stt_sample_rate', `pocketsphinx was created for ${this.sampleRate} Hz audio, not ${opts.sampleRate}`);
    }
    this.active?.cancel(); // only open utterances are active: one being finished keeps its place in the queue
    const stream = new PocketsphinxStream(this, opts.onPartial, this.maxUtteranceSamples);
    this.active = stream;
    return stream;
  }

  /** Frees the decoder once its pending work is done (an open utterance is cancelled). */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.active?.cancel();
      await this.run(() => this.native.free(this.decoder)).catch(() => undefined);
    })();
    return this.closed;
  }

  /** @internal Queues a native call on the decoder behind every earlier one. */
  run<T>(op: (native: PocketsphinxNative, decoder: bigint) => Promise<T> | T): Promise<T> {
    const next = this.chain.then(() => op(this.native, this.decoder));
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** @internal */
  released(stream: PocketsphinxStream): void {
    if (this.active === stream) this.active = undefined;
  }

  /** @internal */
  get batchSamples(): number {
    return (this.sampleRate * BATCH_MS) / 1000;
  }

  /** @internal */
  get primeSamples(): number {
    return (this.sampleRate * PRIME_MS) / 1000;
  }

  /** @internal */
  get maxCallSamples(): number {
    return (this.sampleRate * MAX_CALL_MS) / 1000;
  }
}

type StreamState = 'open' | 'finishing' | 'done' | 'cancelled';

/** One utterance on a {@link PocketsphinxStt}'s decoder. */
class PocketsphinxStream implements SttStream {
  private readonly engine: PocketsphinxStt;
  private readonly onPartial: ((text: string) => void) | undefined;
  private readonly maxSamples: number;
  private state: StreamState = 'open';
  private pending: Int16Array[] = [];
  private pendingSamples = 0;
  private receivedSamples = 0;
  /** What has been decoded, kept until the engine's cepstral mean is primed. */
  private heard: Int16Array[] = [];
  private heardSamples = 0;
  private scheduled = false;
  private started = false;
  private partial = '';
  private failure: Error | undefined;
  private result: Promise<SttResult> | undefined;

  constructor(engine: PocketsphinxStt, onPartial: ((text: string) => void) | undefined, maxSamples: number) {
    this.engine = engine;
    this.onPartial = onPartial;
    this.maxSamples = maxSamples;
  }

  write(pcm: Int16Array): void {
    if (this.state !== 'open' || pcm.length === 0) return;
    const room = this.maxSamples - this.receivedSamples;
    if (room <= 0) return;
    // A copy: the decoding is asynchronous and the caller may reuse its buffer.
    const copy = pcm.slice(0, Math.min(pcm.length, room));
    this.receivedSamples += copy.length;
    this.pending.push(copy);
    this.pendingSamples += copy.length;
    if (this.pendingSamples >= this.engine.batchSamples && !this.scheduled) {
      this.scheduled = true;
      void this.engine.run((native, decoder) => this.decodePending(native, decoder)).catch((err: unknown) => {
        this.failure ??= asError(err);
      });
    }
  }

  finish(): Promise<SttResult> {
    if (this.state === 'cancelled') return Promise.resolve({ text: '' });
    this.result ??= this.conclude();
    return this.result;
  }

  cancel(): void {
    if (this.state === 'done' || this.state === 'cancelled') return;
    const wasFinishing = this.state === 'finishing';
    this.state = 'cancelled';
    this.dropPending();
    if (wasFinishing) return; // the queued end of utterance resets the decoder
    this.engine.released(this);
    void this.engine
      .run(async (native, decoder) => {
        if (this.started) await native.endUtterance(decoder);
      })
      .catch(() => undefined);
  }

  private async conclude(): Promise<SttResult> {
    this.state = 'finishing';
    this.engine.released(this);
    try {
      return await this.engine.run(async (native, decoder) => {
        await this.decodePending(native, decoder).catch((err: unknown) => {
          this.failure ??= asError(err);
        });
        if (this.started) await native.endUtterance(decoder); // also resets the decoder after a failure
        if (this.failure !== undefined) throw this.failure;
        // No confidence: ps_get_prob is the lattice posterior of the whole sentence (1e-3..1e-6
        // for sentences it got right), not a 0..1 score comparable with cloud engines'.
        return { text: this.started ? native.hypothesis(decoder).trim() : '' };
      });
    } catch (err) {
      throw asError(err);
    } finally {
      if (this.state === 'finishing') this.state = 'done';
    }
  }

  /** Runs on the decoder's queue: feeds everything written so far, then reports a changed hypothesis. */
  private async decodePending(native: PocketsphinxNative, decoder: bigint): Promise<void> {
    this.scheduled = false;
    if (this.state === 'cancelled' || this.pendingSamples === 0) return;
    if (!this.started) {
      native.startUtterance(decoder);
      this.started = true;
    }
    for (let batch = this.take(); batch.length > 0; batch = this.take()) {
      await native.process(decoder, batch);
      if (this.isCancelled()) return;
      if (!this.engine.cmnPrimed) await this.primeWith(batch, native, decoder);
    }
    if (!this.isOpen()) return;
    const hypothesis = native.hypothesis(decoder).trim();
    if (hypothesis !== this.partial && hypothesis !== '') {
      this.partial = hypothesis;
      try {
        this.onPartial?.(hypothesis);
      } catch {
        // The listener's failure is not the recognition's: the utterance goes on.
      }
    }
  }

  /** Keeps `batch`; once PRIME_MS of audio is in, restarts the utterance with the mean learnt from it. */
  private async primeWith(batch: Int16Array, native: PocketsphinxNative, decoder: bigint): Promise<void> {
    this.heard.push(batch);
    this.heardSamples += batch.length;
    if (this.heardSamples < this.engine.primeSamples) return;
    const heard = concat(this.heard, this.heardSamples);
    this.heard = [];
    this.engine.cmnPrimed = true;
    await native.endUtterance(decoder);
    native.startUtterance(decoder);
    await native.process(decoder, heard);
  }

  /** Up to one native call's worth of the pending audio, as one array. */
  private take(): Int16Array {
    // Until primed, batches end exactly at the priming point, so that where the mean is learnt (and
    // so the transcript) does not depend on how the writes and the decoding happened to interleave.
    const toPrime = this.engine.cmnPrimed ? Infinity : this.engine.primeSamples - this.heardSamples;
    const size = Math.min(this.pendingSamples, this.engine.maxCallSamples, toPrime);
    const out = new Int16Array(size);
    let at = 0;
    while (at < size) {
      const head = this.pending[0]!;
      const n = Math.min(head.length, size - at);
      out.set(head.subarray(0, n), at);
      at += n;
      if (n === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(n);
    }
    this.pendingSamples -= size;
    return out;
  }

  /** State checks that TypeScript does not narrow across an await. */
  private isCancelled(): boolean {
    return this.state === 'cancelled';
  }

  private isOpen(): boolean {
    return this.state === 'open';
  }

  private dropPending(): void {
    this.pending = [];
    this.pendingSamples = 0;
    this.heard = [];
  }
}

function concat(parts: readonly Int16Array[], total: number): Int16Array {
  const out = new Int16Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function asError(err: unknown): OperatorError {
  return err instanceof OperatorError ? err : new OperatorError('server', 'stt_failed', `pocketsphinx failed: ${errorMessage(err)}`, { cause: err });
}
