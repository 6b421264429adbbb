import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import { systemClock, type Clock } from '../../core/clock.ts';
import type { OperatorError } from '../../core/errors.ts';
import { Pcm16Assembler } from '../cloud-audio.ts';
import { closedError, engineClosedError, timeoutError, vendorError, type SpeechSource } from '../cloud-errors.ts';
import { closeSocket, frameText, openSocket } from '../cloud-socket.ts';
import { PIPELINE_RATE, type TtsEngine, type TtsOptions } from '../types.ts';

/**
 * Cartesia streaming text-to-speech over one WebSocket per call (`/tts/websocket`), each sentence
 * a context of its own: `{model_id, transcript, voice: {mode: "id", id}, output_format: {container:
 * "raw", encoding: "pcm_s16le", sample_rate}, context_id, continue: false}` in; `chunk` (base64
 * PCM), `done` and `error` messages out, tagged with the `context_id`. Abort sends
 * `{context_id, cancel: true}` and ends the iterator quietly; anything still arriving for that
 * context is dropped. Auth is `Authorization: Bearer <key>` with a `Cartesia-Version` header.
 * https://docs.cartesia.ai/api-reference/tts/websocket https://docs.cartesia.ai/use-the-api/api-conventions
 * https://docs.cartesia.ai/use-the-api/api-errors
 */
export interface CartesiaTtsOptions {
  apiKey: string;
  /** Default `wss://api.cartesia.ai` (`https://` works too). */
  baseUrl?: string;
  /** `Cartesia-Version` date. Default `2026-03-01`. */
  version?: string;
  /** Default `sonic-2`. */
  model?: string;
  /** Voice id; `TtsOptions.voice` overrides it. Default: the voice of Cartesia's quickstart. */
  voice?: string;
  /** Default `en`. */
  language?: string;
  /** Output rate (Cartesia renders at the rate asked for). Default 16 kHz, the pipeline's. */
  sampleRate?: number;
  /** Longest wait for the first chunk of a sentence and between two chunks. Default 5000 ms. */
  chunkTimeoutMs?: number;
  /** Longest wait for the WebSocket handshake. Default 5000 ms. */
  connectTimeoutMs?: number;
  clock?: Clock;
}

const CARTESIA: SpeechSource = { side: 'tts', vendor: 'Cartesia' };
/** "Katie", the voice of https://docs.cartesia.ai/get-started/realtime-text-to-speech-quickstart */
const DEFAULT_VOICE = 'f786b574-daa5-4673-aa0c-cbe3e8534c02';
const CLOSE_WAIT_MS = 1_000;

type ContextEvent =
  | { kind: 'chunk'; bytes: Buffer }
  | { kind: 'done' }
  | { kind: 'error'; error: OperatorError }
  | { kind: 'aborted' }
  | { kind: 'timeout' };

/** What one context has received and not yet consumed; `next` waits at most `timeoutMs`. */
class Inbox {
  private readonly items: ContextEvent[] = [];
  private waiter: ((e: ContextEvent) => void) | undefined;

  push(event: ContextEvent): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) waiter(event);
    else this.items.push(event);
  }

  next(clock: Clock, timeoutMs: number): Promise<ContextEvent> {
    const item = this.items.shift();
    if (item) return Promise.resolve(item);
    return new Promise((resolve) => {
      const timer = clock.setTimeout(() => this.push({ kind: 'timeout' }), timeoutMs);
      this.waiter = (e) => {
        timer.cancel();
        resolve(e);
      };
    });
  }
}

/** The call's socket: routes messages to contexts by `context_id`; a lost socket fails them all. */
class CartesiaSocket {
  failure: OperatorError | undefined;
  private readonly contexts = new Map<string, Inbox>();
  private readonly ws: WebSocket;
  private readonly clock: Clock;

  constructor(ws: WebSocket, clock: Clock) {
    this.ws = ws;
    this.clock = clock;
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.received(frameText(data));
    });
    ws.on('close', (code, reason) => this.fail(closedError(CARTESIA, code, reason.toString('utf8'))));
  }

  begin(contextId: string, request: Record<string, unknown>): Inbox {
    const inbox = new Inbox();
    this.contexts.set(contextId, inbox);
    this.ws.send(JSON.stringify(request));
    return inbox;
  }

  /** Stops routing a context; `cancel` also tells Cartesia to stop generating it. */
  end(contextId: string, cancel: boolean): void {
    this.contexts.delete(contextId);
    if (cancel && !this.failure && this.ws.readyState === this.ws.OPEN) {
      this.ws.send(JSON.stringify({ context_id: contextId, cancel: true }));
    }
  }

  async close(): Promise<void> {
    this.fail(engineClosedError(CARTESIA));
    await closeSocket(this.ws, this.clock, CLOSE_WAIT_MS);
  }

  private received(text: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    const inbox = typeof msg.context_id === 'string' ? this.contexts.get(msg.context_id) : undefined;
    if (msg.type === 'chunk' && typeof msg.data === 'string') inbox?.push({ kind: 'chunk', bytes: Buffer.from(msg.data, 'base64') });
    else if (msg.type === 'done') inbox?.push({ kind: 'done' });
    else if (msg.type === 'error') this.errorMessage(msg, inbox);
    // `timestamps`, `flush_done`, `phoneme_timestamps`: nothing the pipeline uses.
  }

  /** `{"type":"error","status_code","error_code","title","message",…}`; without a known context it fails them all. */
  private errorMessage(msg: Record<string, unknown>, inbox: Inbox | undefined): void {
    const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    const message = [text(msg.title), text(msg.message) ?? text(msg.error)].filter((t) => t !== undefined).join(': ');
    const status = typeof msg.status_code === 'number' ? msg.status_code : undefined;
    const code = text(msg.error_code);
    const error = vendorError(CARTESIA, status, { ...(message ? { message } : {}), ...(code ? { code } : {}) });
    for (const target of inbox ? [inbox] : [...this.contexts.values()]) target.push({ kind: 'error', error });
  }

  private fail(err: OperatorError): void {
    if (this.failure) return;
    this.failure = err;
    for (const inbox of this.contexts.values()) inbox.push({ kind: 'error', error: err });
    this.contexts.clear();
  }
}

export class CartesiaTts implements TtsEngine {
  readonly name = 'cartesia';
  readonly sampleRate: number;
  private readonly opts: CartesiaTtsOptions;
  private readonly clock: Clock;
  private socket: CartesiaSocket | undefined;
  private opening: Promise<CartesiaSocket> | undefined;
  /** A refused key is not retried within the call. */
  private authFailure: OperatorError | undefined;
  private closed = false;

  constructor(opts: CartesiaTtsOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.sampleRate = opts.sampleRate ?? PIPELINE_RATE;
  }

  /** Opens the call's socket ahead of the first sentence, as Cartesia recommends. */
  async connect(): Promise<void> {
    await this.connection();
  }

  async *synthesize(text: string, opts: TtsOptions): AsyncIterable<Int16Array> {
    if (opts.signal.aborted || text.trim() === '') return;
    const socket = await untilAborted(this.connection(), opts.signal);
    if (!socket) return;
    const contextId = randomUUID();
    const inbox = socket.begin(contextId, this.request(text, contextId, opts.voice));
    const wake = () => inbox.push({ kind: 'aborted' });
    opts.signal.addEventListener('abort', wake, { once: true });
    const timeoutMs = this.opts.chunkTimeoutMs ?? 5_000;
    const pcm = new Pcm16Assembler();
    let ended = false; // Cartesia ended the context itself (done or error)
    try {
      for (;;) {
        const event = await inbox.next(this.clock, timeoutMs);
        if (opts.signal.aborted) return;
        if (event.kind === 'timeout') throw timeoutError(CARTESIA, 'send audio', timeoutMs);
        if (event.kind === 'error') {
          ended = true;
          throw event.error;
        }
        if (event.kind === 'done') {
          ended = true;
          return;
        }
        if (event.kind === 'chunk') {
          const samples = pcm.push(event.bytes);
          if (samples.length > 0) yield samples;
        }
      }
    } finally {
      opts.signal.removeEventListener('abort', wake);
      socket.end(contextId, !ended);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const socket = this.socket ?? (await this.opening?.catch(() => undefined));
    await socket?.close();
  }

  private async connection(): Promise<CartesiaSocket> {
    if (this.authFailure) throw this.authFailure;
    if (this.closed) throw engineClosedError(CARTESIA);
    if (this.socket && !this.socket.failure) return this.socket;
    this.opening ??= this.open().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async open(): Promise<CartesiaSocket> {
    // An `https://` base (as for Cartesia's REST API) means the same host over `wss://`.
    const base = (this.opts.baseUrl ?? 'wss://api.cartesia.ai').replace(/^http/, 'ws').replace(/\/+$/, '');
    let ws: WebSocket;
    try {
      ws = await openSocket({
        url: `${base}/tts/websocket`,
        headers: { Authorization: `Bearer ${this.opts.apiKey}`, 'Cartesia-Version': this.opts.version ?? '2026-03-01' },
        source: CARTESIA,
        clock: this.clock,
        timeoutMs: this.opts.connectTimeoutMs ?? 5_000,
      });
    } catch (err) {
      if ((err as OperatorError).kind === 'auth') this.authFailure = err as OperatorError;
      throw err;
    }
    this.socket = new CartesiaSocket(ws, this.clock);
    if (this.closed) void this.socket.close();
    return this.socket;
  }

  private request(transcript: string, contextId: string, voice: string | undefined): Record<string, unknown> {
    return {
      model_id: this.opts.model ?? 'sonic-2',
      transcript,
      voice: { mode: 'id', id: voice ?? this.opts.voice ?? DEFAULT_VOICE },
      output_format: { container: 'raw', encoding: 'pcm_s16le', sample_rate: this.sampleRate },
      language: this.opts.language ?? 'en',
      context_id: contextId,
      continue: false,
    };
  }
}

/** The promise's value, or `undefined` as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  let onAbort = (): void => undefined;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}
