import { systemClock, type Clock, type TimerHandle } from '../../core/clock.ts';
import { OperatorError } from '../../core/errors.ts';
import { PIPELINE_RATE, type SttEngine, type SttResult, type SttStartOptions, type SttStream } from '../types.ts';
import { DeepgramSocket, type DeepgramListener, type DeepgramResult } from './deepgram-socket.ts';

/**
 * Deepgram streaming speech-to-text (Nova models) over one WebSocket per call.
 *
 * - The socket opens at the first `start()` (or `connect()`) and stays open between utterances,
 *   kept alive with `KeepAlive`; it is reopened when an utterance asks for another sample rate.
 * - Partials are the utterance's `is_final` segments so far plus the current interim hypothesis.
 * - `finish()` sends `Finalize` and resolves on the result marked `from_finalize: true`. Deepgram
 *   sends that only when it still had audio buffered, so `finish()` resolves at once when the
 *   finals already cover all the audio, and otherwise after `finalizeTimeoutMs` at the latest, with
 *   what it has (finals plus the last interim).
 * - Results are matched to utterances by their audio timestamps (`start`, `duration`), so a late
 *   result of an earlier utterance never leaks into the next one.
 * - A lost connection fails the utterance in flight (`stt_unavailable`, retryable); the next
 *   utterance opens a new connection. An auth failure (`stt_auth_failed`) is not retried: every
 *   later utterance of the call fails with it.
 *
 * Protocol: https://developers.deepgram.com/reference/speech-to-text-api/listen-streaming,
 * https://developers.deepgram.com/docs/finalize, https://developers.deepgram.com/docs/audio-keep-alive
 */
export interface DeepgramSttOptions {
  apiKey: string;
  /** Default `wss://api.deepgram.com` (`https://` works too). */
  baseUrl?: string;
  /** Default `nova-3`. */
  model?: string;
  /** BCP-47 tag, e.g. `en-US`; Deepgram's default (`en`) when absent. */
  language?: string;
  /** Rate of the connection `connect()` opens; `start()` uses the utterance's rate. Default 16 kHz. */
  sampleRate?: number;
  /** Longest wait for the finalized result after `finish()`. Default 1500 ms. */
  finalizeTimeoutMs?: number;
  /** Idle interval between `KeepAlive` messages. Default 4000 ms (Deepgram times out after 10 s). */
  keepAliveMs?: number;
  /** Longest wait for the WebSocket handshake. Default 5000 ms. */
  connectTimeoutMs?: number;
  clock?: Clock;
}

/** Tolerance when comparing Deepgram's timestamps with ours: one 20 ms frame. */
const EPS_SEC = 0.02;

export class DeepgramStt implements SttEngine {
  readonly name = 'deepgram';
  private socket: DeepgramSocket | undefined;
  private closed = false;
  private readonly clock: Clock;
  private readonly opts: DeepgramSttOptions;

  constructor(opts: DeepgramSttOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
  }

  /** Opens the call's connection ahead of the first utterance; rejects with the classified failure. */
  connect(): Promise<void> {
    return this.socketFor(this.opts.sampleRate ?? PIPELINE_RATE).ready;
  }

  start(opts: SttStartOptions): SttStream {
    return new DeepgramUtterance(this.socketFor(opts.sampleRate), opts.onPartial, this.opts.finalizeTimeoutMs ?? 1_500, this.clock);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.socket?.close();
  }

  private socketFor(sampleRate: number): DeepgramSocket {
    const current = this.socket;
    if (current && (this.closed || current.failure?.kind === 'auth')) return current;
    if (current && !current.failure && current.sampleRate === sampleRate) return current;
    if (current && !current.failure) void current.close();
    this.socket = DeepgramSocket.connect({
      url: this.url(sampleRate),
      apiKey: this.opts.apiKey,
      sampleRate,
      clock: this.clock,
      connectTimeoutMs: this.opts.connectTimeoutMs ?? 5_000,
      keepAliveMs: this.opts.keepAliveMs ?? 4_000,
    });
    return this.socket;
  }

  private url(sampleRate: number): string {
    // An `https://` base (as for Deepgram's REST API) means the same host over `wss://`.
    const base = (this.opts.baseUrl ?? 'wss://api.deepgram.com').replace(/^http/, 'ws').replace(/\/+$/, '');
    const query = new URLSearchParams({
      model: this.opts.model ?? 'nova-3',
      encoding: 'linear16',
      sample_rate: String(sampleRate),
      channels: '1',
      interim_results: 'true',
      punctuate: 'true',
    });
    if (this.opts.language) query.set('language', this.opts.language);
    return `${base}/v1/listen?${query.toString()}`;
  }
}

class DeepgramUtterance implements SttStream, DeepgramListener {
  private readonly startSec: number;
  private endSec = Number.POSITIVE_INFINITY;
  private readonly finals: { text: string; confidence?: number }[] = [];
  private interim = '';
  /** End of the audio the `is_final` results cover so far. */
  private finalThroughSec: number;
  private written = 0;
  private state: 'open' | 'finishing' | 'done' = 'open';
  private failure: OperatorError | undefined;
  private pending: { resolve: (r: SttResult) => void; reject: (e: OperatorError) => void } | undefined;
  private timer: TimerHandle | undefined;
  private lastPartial = '';
  private readonly socket: DeepgramSocket;
  private readonly onPartial: ((text: string) => void) | undefined;
  private readonly finalizeTimeoutMs: number;
  private readonly clock: Clock;

  constructor(socket: DeepgramSocket, onPartial: ((text: string) => void) | undefined, finalizeTimeoutMs: number, clock: Clock) {
    this.socket = socket;
    this.onPartial = onPartial;
    this.finalizeTimeoutMs = finalizeTimeoutMs;
    this.clock = clock;
    this.startSec = socket.sentSamples / socket.sampleRate;
    this.finalThroughSec = this.startSec;
    this.failure = socket.failure;
    if (!this.failure) socket.attach(this);
  }

  write(pcm: Int16Array): void {
    if (this.state !== 'open' || this.failure) return;
    this.socket.sendAudio(pcm);
    this.written += pcm.length;
  }

  finish(): Promise<SttResult> {
    if (this.state !== 'open') {
      return Promise.reject(new OperatorError('application', 'stt_stream_ended', 'stt_stream_ended: finish() after finish() or cancel()'));
    }
    this.endSec = this.socket.sentSamples / this.socket.sampleRate;
    if (this.failure) {
      this.end();
      return Promise.reject(this.failure);
    }
    if (this.written === 0 || (this.interim === '' && this.finalThroughSec >= this.endSec - EPS_SEC)) {
      this.end();
      return Promise.resolve(this.result());
    }
    this.state = 'finishing';
    this.socket.sendControl('Finalize');
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.timer = this.clock.setTimeout(() => this.settle(), this.finalizeTimeoutMs);
    });
  }

  cancel(): void {
    if (this.state === 'done') return;
    this.endSec = this.socket.sentSamples / this.socket.sampleRate;
    // Flush Deepgram's buffer so the dropped audio is not decoded together with the next utterance's.
    if (this.written > 0 && !this.failure && this.state === 'open') this.socket.sendControl('Finalize');
    this.settle();
  }

  onResult(r: DeepgramResult): void {
    if (this.state === 'done' || !this.covers(r)) return;
    if (r.isFinal) {
      if (r.transcript) this.finals.push({ text: r.transcript, ...(r.confidence === undefined ? {} : { confidence: r.confidence }) });
      this.interim = '';
      this.finalThroughSec = Math.max(this.finalThroughSec, r.endSec);
    } else {
      this.interim = r.transcript;
    }
    this.emitPartial();
    if (r.fromFinalize && this.state === 'finishing') this.settle();
  }

  onFailure(err: OperatorError): void {
    if (this.state === 'done') return;
    this.failure = err;
    if (this.state === 'finishing') {
      const pending = this.pending;
      this.end();
      pending?.reject(err);
    }
  }

  /** Whether a result's audio lies in this utterance (a zero-length result belongs where it ends). */
  private covers(r: DeepgramResult): boolean {
    if (r.endSec - r.startSec < EPS_SEC) return r.endSec > this.startSec + EPS_SEC && r.endSec <= this.endSec + EPS_SEC;
    return Math.min(r.endSec, this.endSec) - Math.max(r.startSec, this.startSec) > EPS_SEC;
  }

  private settle(): void {
    const pending = this.pending;
    this.end();
    pending?.resolve(this.result());
  }

  private end(): void {
    this.state = 'done';
    this.pending = undefined;
    this.timer?.cancel();
    this.socket.detach(this);
  }

  private text(): string {
    return [...this.finals.map((f) => f.text), this.interim].filter((t) => t !== '').join(' ');
  }

  private result(): SttResult {
    const scored = this.finals.filter((f) => f.confidence !== undefined);
    if (scored.length === 0) return { text: this.text() };
    const confidence = scored.reduce((sum, f) => sum + f.confidence!, 0) / scored.length;
    return { text: this.text(), confidence };
  }

  private emitPartial(): void {
    const text = this.text();
    if (text === '' || text === this.lastPartial || !this.onPartial) return;
    this.lastPartial = text;
    try {
      this.onPartial(text);
    } catch {
      // A listener's bug must not break the socket's message loop; the final result still arrives.
    }
  }
}
