import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { frameText, requestId, startFakeServer, Watch, type FakeServer, type Refusal } from './server.ts';

/**
 * A fake of Deepgram's live transcription WebSocket (`/v1/listen`, Nova models), speaking the
 * documented protocol: `Authorization: Token <key>` on the upgrade (HTTP 401 `INVALID_AUTH`
 * otherwise), raw `linear16` audio as binary frames, `Results` messages with `start`/`duration` in
 * seconds of audio received, `is_final`, `speech_final`, `from_finalize`, and the text-frame
 * controls `KeepAlive` (no reply), `Finalize` (flush: a `from_finalize: true` result when audio
 * was buffered, nothing otherwise) and `CloseStream` (flush, `Metadata`, close 1000).
 * https://developers.deepgram.com/reference/speech-to-text-api/listen-streaming
 * https://developers.deepgram.com/docs/finalize https://developers.deepgram.com/docs/close-stream
 *
 * What it "hears" is scripted per utterance, an utterance being the audio between two flushes.
 */
export interface DeepgramStep {
  /** Emitted once this much of the utterance's audio has arrived. */
  atMs: number;
  text: string;
  /** An `is_final` segment (the next segment starts after it); an interim hypothesis otherwise. */
  final?: boolean;
}

export interface DeepgramUtteranceScript {
  steps?: DeepgramStep[];
  /** The transcript of the flushed segment (the words after the last final step). */
  finalize?: string;
  confidence?: number;
}

export interface DeepgramFakeOptions {
  /** The key it accepts. Default `deepgram-test-key`. */
  apiKey?: string;
  utterances?: DeepgramUtteranceScript[];
}

export interface DeepgramConnectionRecord {
  url: URL;
  headers: IncomingMessage['headers'];
  sampleRate: number;
  audioBytes: number;
  /** Control message types in the order received (`KeepAlive`, `Finalize`, `CloseStream`…). */
  controls: string[];
  /** Every message sent to the client. */
  sent: Record<string, unknown>[];
  closed: boolean;
}

interface Connection {
  ws: WebSocket;
  record: DeepgramConnectionRecord;
  /** Byte offsets: start of the current utterance and of its unfinalized segment. */
  utteranceStart: number;
  segmentStart: number;
  fired: number;
}

const MODEL_INFO = { name: 'general-nova-3', version: '2025-04-17.21547', arch: 'nova-3' };

export class DeepgramFake {
  readonly connections: DeepgramConnectionRecord[] = [];
  /** Every upgrade request, accepted or refused. */
  upgradeAttempts = 0;
  readonly watch = new Watch();
  private readonly apiKey: string;
  private readonly scripts: DeepgramUtteranceScript[];
  private utteranceIndex = 0;
  private refusals: (number | 'hold')[] = [];
  private stalled = false;
  private readonly live = new Set<Connection>();

  /** Set by `start()`, before any request can arrive. */
  private server!: FakeServer;

  private constructor(opts: DeepgramFakeOptions) {
    this.apiKey = opts.apiKey ?? 'deepgram-test-key';
    this.scripts = opts.utterances ?? [];
  }

  static async start(opts: DeepgramFakeOptions = {}): Promise<DeepgramFake> {
    const fake = new DeepgramFake(opts);
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

  /** Refuses the next upgrades with these HTTP statuses (429 concurrency limit, 5xx…), in order; `'hold'` never answers. */
  refuseUpgrades(...statuses: (number | 'hold')[]): void {
    this.refusals.push(...statuses);
  }

  /** While stalled it records what arrives and answers nothing. */
  stall(stalled = true): void {
    this.stalled = stalled;
  }

  /** Drops every connection without a close frame (the client sees 1006). */
  dropConnections(): void {
    this.server.dropSockets();
  }

  /** Closes every connection with this close frame, e.g. 1011 `NET-0001`. */
  closeConnections(code: number, reason: string): void {
    for (const c of this.live) c.ws.close(code, reason);
  }

  until(check: (fake: this) => boolean, what: string): Promise<void> {
    return this.watch.until(() => check(this), what);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private refusal(req: IncomingMessage): Refusal | 'hold' | undefined {
    this.upgradeAttempts++;
    const url = new URL(req.url ?? '/', 'ws://fake');
    const error = (status: number, code: string, msg: string): Refusal => ({
      status,
      body: { err_code: code, err_msg: msg, request_id: requestId() },
      headers: { 'dg-error': msg },
    });
    if (url.pathname !== '/v1/listen') return error(404, 'NOT_FOUND', `no route ${url.pathname}`);
    if (req.headers.authorization !== `Token ${this.apiKey}`) return error(401, 'INVALID_AUTH', 'Invalid credentials.');
    const status = this.refusals.shift();
    this.watch.changed();
    if (status === 'hold') return 'hold';
    if (status === 429) return error(429, 'TOO_MANY_REQUESTS', 'Too many requests. Please try again later');
    if (status !== undefined) return error(status, 'INTERNAL_SERVER_ERROR', 'fake: refused as told');
    const rate = Number(url.searchParams.get('sample_rate'));
    if (url.searchParams.get('encoding') !== 'linear16' || !(rate > 0)) {
      return error(400, 'Bad Request', 'raw audio needs encoding=linear16 and a sample_rate');
    }
    if ((url.searchParams.get('channels') ?? '1') !== '1') return error(400, 'Bad Request', 'this fake takes mono audio only');
    return undefined;
  }

  private connected(ws: WebSocket, req: IncomingMessage): void {
    const url = new URL(req.url ?? '/', 'ws://fake');
    const record: DeepgramConnectionRecord = {
      url,
      headers: req.headers,
      sampleRate: Number(url.searchParams.get('sample_rate')),
      audioBytes: 0,
      controls: [],
      sent: [],
      closed: false,
    };
    const c: Connection = { ws, record, utteranceStart: 0, segmentStart: 0, fired: 0 };
    this.connections.push(record);
    this.live.add(c);
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.audio(c, (data as Buffer).byteLength);
      else this.control(c, frameText(data));
      this.watch.changed();
    });
    ws.on('close', () => {
      record.closed = true;
      this.live.delete(c);
      this.watch.changed();
    });
    this.watch.changed();
  }

  private audio(c: Connection, bytes: number): void {
    c.record.audioBytes += bytes;
    const steps = this.script().steps ?? [];
    const heardMs = this.ms(c, c.record.audioBytes - c.utteranceStart);
    while (c.fired < steps.length && steps[c.fired]!.atMs <= heardMs) {
      const step = steps[c.fired++]!;
      this.result(c, step.text, { isFinal: step.final === true, fromFinalize: false });
    }
  }

  private control(c: Connection, text: string): void {
    let type = '(unparseable)';
    try {
      const msg = JSON.parse(text) as { type?: unknown };
      type = typeof msg.type === 'string' ? msg.type : '(no type)';
    } catch {
      // recorded as unparseable
    }
    c.record.controls.push(type);
    if (type === 'Finalize') this.flush(c, true);
    if (type === 'CloseStream') {
      this.flush(c, false);
      const durationSec = this.ms(c, c.record.audioBytes) / 1000;
      this.send(c, {
        type: 'Metadata', transaction_key: 'deprecated', request_id: requestId(), sha256: '0'.repeat(64),
        created: new Date().toISOString(), duration: durationSec, channels: 1,
      });
      c.ws.close(1000);
    }
  }

  /** Finalizes the buffered audio (if any) and moves on to the next scripted utterance. */
  private flush(c: Connection, fromFinalize: boolean): void {
    if (c.record.audioBytes === c.utteranceStart) return;
    if (c.record.audioBytes > c.segmentStart) {
      this.result(c, this.script().finalize ?? '', { isFinal: true, fromFinalize });
    }
    this.utteranceIndex++;
    c.utteranceStart = c.record.audioBytes;
    c.segmentStart = c.record.audioBytes;
    c.fired = 0;
  }

  private result(c: Connection, transcript: string, kind: { isFinal: boolean; fromFinalize: boolean }): void {
    const start = this.ms(c, c.segmentStart) / 1000;
    const duration = this.ms(c, c.record.audioBytes - c.segmentStart) / 1000;
    if (kind.isFinal) c.segmentStart = c.record.audioBytes;
    const confidence = this.script().confidence ?? 0.98;
    this.send(c, {
      type: 'Results',
      channel_index: [0, 1],
      duration,
      start,
      is_final: kind.isFinal,
      speech_final: kind.fromFinalize,
      from_finalize: kind.fromFinalize,
      channel: { alternatives: [{ transcript, confidence, words: words(transcript, start, duration, confidence) }] },
      metadata: { request_id: requestId(), model_info: MODEL_INFO, model_uuid: '1dbdfb4d-85b2-4659-9831-16b3c76229aa' },
    });
  }

  private send(c: Connection, msg: Record<string, unknown>): void {
    if (this.stalled || c.ws.readyState !== c.ws.OPEN) return;
    c.record.sent.push(msg);
    c.ws.send(JSON.stringify(msg));
  }

  private script(): DeepgramUtteranceScript {
    return this.scripts[this.utteranceIndex] ?? {};
  }

  private ms(c: Connection, bytes: number): number {
    return (bytes / 2 / c.record.sampleRate) * 1000;
  }
}

function words(transcript: string, start: number, duration: number, confidence: number): Record<string, unknown>[] {
  const list = transcript.split(/\s+/).filter((w) => w !== '');
  const each = list.length ? duration / list.length : 0;
  return list.map((w, i) => ({
    word: w.toLowerCase().replace(/[^\p{L}\p{N}']/gu, ''),
    start: start + i * each,
    end: start + (i + 1) * each,
    confidence,
    punctuated_word: w,
  }));
}
