import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { frameText, requestId, startFakeServer, tick, toneBytes, Watch, type FakeServer, type Refusal } from './server.ts';

/**
 * A fake of Cartesia's TTS WebSocket (`/tts/websocket`), speaking the documented protocol: the key
 * as `Authorization: Bearer`, `X-API-Key` or `?api_key=` and a `Cartesia-Version` header or
 * `?cartesia_version=` on the upgrade (HTTP 401 / 400 otherwise); generation requests per
 * `context_id` answered with `chunk` messages (base64 `pcm_s16le` at the requested rate, a tone
 * whose length is proportional to the text), then `done`; `continue: true` keeps a context open for
 * more input; `{context_id, cancel: true}` stops a context; errors are
 * `{"type":"error","done":true,"status_code","error_code","title","message"}`.
 * https://docs.cartesia.ai/api-reference/tts/websocket https://docs.cartesia.ai/use-the-api/api-errors
 */
export interface CartesiaFakeOptions {
  /** The key it accepts. Default `cartesia-test-key`. */
  apiKey?: string;
  /** Speech generated per character of transcript. Default 20 ms. */
  msPerChar?: number;
  /** Audio per `chunk` message. Default 40 ms. */
  chunkMs?: number;
  /** Pause between chunks; 0 yields to the event loop only. Default 0. */
  chunkGapMs?: number;
}

export interface CartesiaConnectionRecord {
  url: URL;
  headers: IncomingHttpHeaders;
  /** Every message received, parsed. */
  received: Record<string, unknown>[];
  closed: boolean;
}

export interface CartesiaContextRecord {
  contextId: string;
  requests: Record<string, unknown>[];
  samplesSent: number;
  cancelled: boolean;
  done: boolean;
}

export interface CartesiaErrorEvent {
  status_code: number;
  error_code: string;
  title: string;
  message: string;
}

interface Context {
  record: CartesiaContextRecord;
  chain: Promise<void>;
}

const RATES = [8_000, 16_000, 22_050, 24_000, 44_100, 48_000];

export class CartesiaFake {
  readonly connections: CartesiaConnectionRecord[] = [];
  readonly contexts: CartesiaContextRecord[] = [];
  readonly watch = new Watch();
  upgradeAttempts = 0;
  /** Set by `start()`, before any request can arrive. */
  private server!: FakeServer;
  private readonly opts: CartesiaFakeOptions;
  private refusals: number[] = [];
  private errors: CartesiaErrorEvent[] = [];
  private stalled = false;

  private constructor(opts: CartesiaFakeOptions) {
    this.opts = opts;
  }

  static async start(opts: CartesiaFakeOptions = {}): Promise<CartesiaFake> {
    const fake = new CartesiaFake(opts);
    fake.server = await startFakeServer({
      upgrade: (req) => fake.refusal(req),
      connection: (ws, req) => fake.connected(ws, req),
    });
    return fake;
  }

  /** `ws://127.0.0.1:<port>`: the adapter's `baseUrl`. */
  get url(): string {
    return this.server.wsUrl;
  }

  /** Refuses the next upgrades with these HTTP statuses, in order. */
  refuseUpgrades(...statuses: number[]): void {
    this.refusals.push(...statuses);
  }

  /** Answers the next generation requests with these error events, in order. */
  failNext(...errors: CartesiaErrorEvent[]): void {
    this.errors.push(...errors);
  }

  /** While stalled, requests are recorded and nothing is generated. */
  stall(stalled = true): void {
    this.stalled = stalled;
  }

  /** Drops every connection without a close frame (the client sees 1006). */
  dropConnections(): void {
    this.server.dropSockets();
  }

  until(check: (fake: this) => boolean, what: string): Promise<void> {
    return this.watch.until(() => check(this), what);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private refusal(req: IncomingMessage): Refusal | undefined {
    this.upgradeAttempts++;
    const url = new URL(req.url ?? '/', 'ws://fake');
    const key = this.opts.apiKey ?? 'cartesia-test-key';
    const error = (status: number, code: string, title: string, message: string): Refusal => ({
      status,
      body: { error_code: code, title, message, request_id: requestId() },
    });
    if (url.pathname !== '/tts/websocket') return error(404, 'not_found', 'Not found', `no route ${url.pathname}`);
    const given = req.headers.authorization?.replace(/^Bearer /, '') ?? req.headers['x-api-key'] ?? url.searchParams.get('api_key');
    if (given !== key) return error(401, 'unauthorized', 'Unauthorized', 'Invalid API key.');
    if (!req.headers['cartesia-version'] && !url.searchParams.get('cartesia_version')) {
      return error(400, 'missing_version', 'Missing version', 'Send a Cartesia-Version header or cartesia_version query parameter.');
    }
    const status = this.refusals.shift();
    if (status === 429) return error(429, 'concurrency_limited', 'Too many concurrent requests', "You have exceeded your plan's concurrency limit.");
    if (status !== undefined) return error(status, 'internal_error', 'Internal error', 'fake: refused as told');
    return undefined;
  }

  private connected(ws: WebSocket, req: IncomingMessage): void {
    const record: CartesiaConnectionRecord = { url: new URL(req.url ?? '/', 'ws://fake'), headers: req.headers, received: [], closed: false };
    this.connections.push(record);
    const contexts = new Map<string, Context>();
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.message(ws, record, contexts, frameText(data));
      this.watch.changed();
    });
    ws.on('close', () => {
      record.closed = true;
      this.watch.changed();
    });
    this.watch.changed();
  }

  private message(ws: WebSocket, record: CartesiaConnectionRecord, contexts: Map<string, Context>, text: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.sendError(ws, undefined, { status_code: 400, error_code: 'invalid_json', title: 'Invalid JSON', message: 'Message is not JSON.' });
      return;
    }
    record.received.push(msg);
    const contextId = typeof msg.context_id === 'string' ? msg.context_id : undefined;
    const ctx = contextId === undefined ? undefined : contexts.get(contextId);
    if (msg.cancel === true) {
      if (ctx) ctx.record.cancelled = true;
      return;
    }
    const problem = requestProblem(msg);
    const injected = problem ? undefined : this.errors.shift();
    if (problem || injected || contextId === undefined) {
      const error = injected ?? { status_code: 400, error_code: 'invalid_request', title: 'Invalid request', message: problem ?? 'context_id is required' };
      this.sendError(ws, contextId, error);
      return;
    }
    const context = ctx ?? this.newContext(contexts, contextId);
    context.record.requests.push(msg);
    if (this.stalled) return;
    context.chain = context.chain.then(() => this.generate(ws, context, msg));
  }

  private newContext(contexts: Map<string, Context>, contextId: string): Context {
    const record: CartesiaContextRecord = { contextId, requests: [], samplesSent: 0, cancelled: false, done: false };
    this.contexts.push(record);
    const context: Context = { record, chain: Promise.resolve() };
    contexts.set(contextId, context);
    return context;
  }

  private async generate(ws: WebSocket, context: Context, msg: Record<string, unknown>): Promise<void> {
    const rate = (msg.output_format as { sample_rate: number }).sample_rate;
    const total = Math.round(((msg.transcript as string).length * (this.opts.msPerChar ?? 20) * rate) / 1000);
    const perChunk = Math.round(((this.opts.chunkMs ?? 40) * rate) / 1000);
    const { record } = context;
    for (let at = 0; at < total; at += perChunk) {
      if (record.cancelled || ws.readyState !== ws.OPEN) return;
      const samples = Math.min(perChunk, total - at);
      const data = toneBytes(samples, rate, record.samplesSent).toString('base64');
      ws.send(JSON.stringify({ type: 'chunk', data, done: false, status_code: 206, step_time: 11.2, context_id: record.contextId }));
      record.samplesSent += samples;
      this.watch.changed();
      await tick(this.opts.chunkGapMs ?? 0);
    }
    if (record.cancelled || ws.readyState !== ws.OPEN || msg.continue === true) return;
    ws.send(JSON.stringify({ type: 'done', done: true, status_code: 206, context_id: record.contextId }));
    record.done = true;
    this.watch.changed();
  }

  private sendError(ws: WebSocket, contextId: string | undefined, e: CartesiaErrorEvent): void {
    ws.send(JSON.stringify({ type: 'error', done: true, ...e, request_id: requestId(), ...(contextId ? { context_id: contextId } : {}) }));
  }
}

function requestProblem(msg: Record<string, unknown>): string | undefined {
  const voice = msg.voice as { mode?: unknown; id?: unknown } | undefined;
  const format = msg.output_format as { container?: unknown; encoding?: unknown; sample_rate?: unknown } | undefined;
  if (typeof msg.model_id !== 'string' || msg.model_id === '') return 'model_id is required';
  if (typeof msg.transcript !== 'string') return 'transcript is required';
  if (voice?.mode !== 'id' || typeof voice.id !== 'string' || voice.id === '') return 'voice must be {"mode": "id", "id": "<voice id>"}';
  if (format?.container !== 'raw') return 'this fake only produces output_format.container "raw"';
  if (format.encoding !== 'pcm_s16le') return 'this fake only produces output_format.encoding "pcm_s16le"';
  if (!RATES.includes(format.sample_rate as number)) return `output_format.sample_rate must be one of ${RATES.join(', ')}`;
  return undefined;
}
