/**
 * Embedded, offline speech: espeak-ng, spoken by the process's speech host (espeak-host.ts) and
 * streamed back over this call's port as the host produces it.
 */
import type { MessagePort } from 'node:worker_threads';
import { OperatorError } from '../../core/errors.ts';
import type { TtsEngine, TtsOptions } from '../types.ts';
import {
  ESPEAK_DEFAULT_VOICE,
  ESPEAK_DEFAULT_WPM,
  ESPEAK_RATE,
  requestProblem,
  type FromHost,
  type SynthRequest,
} from './espeak-protocol.ts';

export interface EspeakTtsOptions {
  /** An espeak-ng voice (`espeak-ng --voices`): `en-us` by default; `en-us+m3` etc. pick a variant. */
  voice?: string;
  /** Words per minute, 80..450 (default 175). */
  rate?: number;
}

/** One request's audio on its way from the host. */
class Reception {
  private readonly chunks: Int16Array[] = [];
  private waiting: (() => void) | undefined;
  private ended = false;
  private failure: OperatorError | undefined;
  readonly stop = new Int32Array(new SharedArrayBuffer(4));

  push(pcm: Int16Array): void {
    if (this.ended) return;
    this.chunks.push(pcm);
    this.wake();
  }

  end(failure?: OperatorError): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = failure;
    this.wake();
  }

  /** Tells the host to stop (it sees the flag between two pieces of audio) and ends the reception. */
  cancel(): void {
    Atomics.store(this.stop, 0, 1);
    this.chunks.length = 0;
    this.end();
  }

  /** The next chunk, or undefined at the end; throws the host's error. */
  async next(): Promise<Int16Array | undefined> {
    while (this.chunks.length === 0 && !this.ended) await new Promise<void>((resolve) => (this.waiting = resolve));
    const chunk = this.chunks.shift();
    if (chunk) return chunk;
    if (this.failure) throw this.failure;
    return undefined;
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}

/** espeak-ng for one call, through a port from `EspeakHost.connect()`. */
export class EspeakTts implements TtsEngine {
  readonly name = 'espeak-ng';
  readonly sampleRate = ESPEAK_RATE;
  private readonly port: MessagePort;
  private readonly voice: string;
  private readonly wpm: number;
  private readonly receptions = new Map<number, Reception>();
  private nextId = 1;
  private closed = false;

  constructor(port: MessagePort, opts: EspeakTtsOptions = {}) {
    this.voice = opts.voice ?? ESPEAK_DEFAULT_VOICE;
    this.wpm = opts.rate ?? ESPEAK_DEFAULT_WPM;
    const problem = requestProblem('', this.voice, this.wpm);
    if (problem) throw new OperatorError('invalid_request', problem.code, problem.message);
    this.port = port;
    port.on('message', (m: FromHost) => this.receive(m));
    port.on('close', () => this.hostGone());
    port.unref(); // referenced only while a request is in flight
  }

  async *synthesize(text: string, opts: TtsOptions): AsyncIterable<Int16Array> {
    const voice = opts.voice ?? this.voice;
    const problem = requestProblem(text, voice, this.wpm);
    if (problem) throw new OperatorError('invalid_request', problem.code, problem.message);
    if (this.closed) throw new OperatorError('server', 'tts_failed', 'this espeak-ng engine is closed');
    if (opts.signal.aborted || text.trim() === '') return;
    const id = this.nextId++;
    const reception = new Reception();
    this.receptions.set(id, reception);
    if (this.receptions.size === 1) this.port.ref();
    const request: SynthRequest = { t: 'synth', id, text, voice, wpm: this.wpm, stop: reception.stop };
    this.port.postMessage(request);
    const onAbort = (): void => reception.cancel();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (let chunk = await reception.next(); chunk; chunk = await reception.next()) {
        yield chunk;
        if (opts.signal.aborted) return;
      }
    } finally {
      opts.signal.removeEventListener('abort', onAbort);
      reception.cancel(); // no-op once ended; stops the host when the consumer left early
      this.receptions.delete(id);
      if (this.receptions.size === 0 && !this.closed) this.port.unref();
    }
  }

  /** Ends every request in flight and lets go of the port (the host forgets this client). */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const reception of this.receptions.values()) reception.cancel();
      this.port.close();
    }
    return Promise.resolve();
  }

  private receive(m: FromHost): void {
    const reception = this.receptions.get(m.id);
    if (!reception) return;
    if (m.t === 'chunk') reception.push(m.pcm);
    else if (m.t === 'end') reception.end();
    else reception.end(new OperatorError(m.kind, m.code, m.message));
  }

  private hostGone(): void {
    if (this.closed) return;
    this.closed = true;
    const failure = new OperatorError('server', 'tts_failed', 'the espeak-ng speech host went away');
    for (const reception of this.receptions.values()) reception.end(failure);
  }
}
