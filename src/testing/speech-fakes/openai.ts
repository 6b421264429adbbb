import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, startFakeServer, tick, toneBytes, Watch, type FakeServer } from './server.ts';

/**
 * A fake of OpenAI's audio endpoints, speaking the documented HTTP API with Bearer auth:
 * - `POST /v1/audio/speech` (JSON `{model, input, voice, response_format: "pcm"}`) streams raw
 *   PCM16 LE mono 24 kHz, a tone whose length is proportional to the text, in odd-sized chunks
 *   with a pause between them (as a real stream splits samples across chunks).
 * - `POST /v1/audio/transcriptions` (multipart `file`, `model`, `response_format`) parses the
 *   upload and answers the next scripted transcript as `{"text": …}` (or plain text).
 * Errors are `{"error": {message, type, param, code}}` with the status OpenAI uses.
 * https://platform.openai.com/docs/api-reference/audio https://platform.openai.com/docs/guides/error-codes
 */
export interface OpenAiSpeechFakeOptions {
  /** The key it accepts. Default `openai-test-key`. */
  apiKey?: string;
  /** Answers of the transcription endpoint, in order; `""` once they run out. */
  transcripts?: string[];
  /** Speech generated per character of input. Default 20 ms. */
  msPerChar?: number;
  /** Bytes per streamed chunk. Default 4801: odd, so chunks end mid-sample. */
  chunkBytes?: number;
  /** Pause between chunks; 0 yields to the event loop only. Default 0. */
  chunkGapMs?: number;
}

export interface SpeechRequestRecord {
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  bytesSent: number;
  /** The client closed the connection before the body ended. */
  aborted: boolean;
  finished: boolean;
}

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  samples: number;
}

export interface TranscriptionRecord {
  headers: IncomingHttpHeaders;
  fields: Record<string, string>;
  file: { name: string; type: string; bytes: number };
  wav: WavInfo | undefined;
  /** The client closed the connection before the answer. */
  aborted: boolean;
}

/** A failure to inject into the next request (either endpoint). */
export type OpenAiFault = { status: number } | { stall: 'headers' | 'body' };

export const OPENAI_PCM_RATE = 24_000;

const ERRORS: Record<number, { message: string; type: string; code: string | null }> = {
  400: { message: 'Invalid request.', type: 'invalid_request_error', code: null },
  401: { message: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.', type: 'invalid_request_error', code: 'invalid_api_key' },
  404: { message: 'Invalid URL', type: 'invalid_request_error', code: null },
  429: { message: 'Rate limit reached for requests. Please try again in 20ms.', type: 'requests', code: 'rate_limit_exceeded' },
  500: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', code: null },
  503: { message: 'The engine is currently overloaded, please try again later.', type: 'server_error', code: null },
};

function sendError(res: ServerResponse, status: number, message?: string): void {
  const e = ERRORS[status] ?? ERRORS[500]!;
  sendJson(res, status, { error: { message: message ?? e.message, type: e.type, param: null, code: e.code } });
}

export class OpenAiSpeechFake {
  readonly speechRequests: SpeechRequestRecord[] = [];
  readonly transcriptions: TranscriptionRecord[] = [];
  readonly watch = new Watch();
  private readonly faults: OpenAiFault[] = [];
  private transcriptIndex = 0;

  /** Set by `start()`, before any request can arrive. */
  private server!: FakeServer;
  private readonly opts: OpenAiSpeechFakeOptions;

  private constructor(opts: OpenAiSpeechFakeOptions) {
    this.opts = opts;
  }

  static async start(opts: OpenAiSpeechFakeOptions = {}): Promise<OpenAiSpeechFake> {
    const fake = new OpenAiSpeechFake(opts);
    fake.server = await startFakeServer({ request: (req, res) => void fake.handle(req, res) });
    return fake;
  }

  /** `http://127.0.0.1:<port>`: the adapters' `baseUrl`. */
  get url(): string {
    return this.server.httpUrl;
  }

  /** The next requests fail as told, in order: an HTTP status, or a stall before the headers or mid-body. */
  inject(...faults: OpenAiFault[]): void {
    this.faults.push(...faults);
  }

  until(check: (fake: this) => boolean, what: string): Promise<void> {
    return this.watch.until(() => check(this), what);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const route = `${req.method} ${req.url}`;
    if (route !== 'POST /v1/audio/speech' && route !== 'POST /v1/audio/transcriptions') {
      sendError(res, 404, `Invalid URL (${route})`);
      return;
    }
    if (req.headers.authorization !== `Bearer ${this.opts.apiKey ?? 'openai-test-key'}`) {
      sendError(res, 401);
      return;
    }
    const fault = this.faults.shift();
    if (fault && 'status' in fault) {
      sendError(res, fault.status);
      return;
    }
    if (route === 'POST /v1/audio/speech') await this.speech(req, res, body, fault);
    else await this.transcription(req, res, body, fault);
  }

  private async speech(req: IncomingMessage, res: ServerResponse, raw: Buffer, fault: OpenAiFault | undefined): Promise<void> {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      sendError(res, 400, 'We could not parse the JSON body of your request.');
      return;
    }
    const problem = speechProblem(body);
    if (problem) {
      sendError(res, 400, problem);
      return;
    }
    const record: SpeechRequestRecord = { headers: req.headers, body, bytesSent: 0, aborted: false, finished: false };
    this.speechRequests.push(record);
    res.on('close', () => {
      record.aborted = !res.writableFinished;
      this.watch.changed();
    });
    this.watch.changed();
    if (fault && 'stall' in fault && fault.stall === 'headers') return;
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    const samples = Math.max(1, Math.round(((body.input as string).length * (this.opts.msPerChar ?? 20) * OPENAI_PCM_RATE) / 1000));
    const audio = toneBytes(samples, OPENAI_PCM_RATE);
    const size = this.opts.chunkBytes ?? 4801;
    for (let at = 0; at < audio.length && !res.destroyed; at += size) {
      res.write(audio.subarray(at, at + size));
      record.bytesSent += Math.min(size, audio.length - at);
      this.watch.changed();
      if (fault) return; // stall mid-body: the connection stays open, silent
      await tick(this.opts.chunkGapMs ?? 0);
    }
    if (res.destroyed) return;
    record.finished = true;
    res.end();
  }

  private async transcription(req: IncomingMessage, res: ServerResponse, raw: Buffer, fault: OpenAiFault | undefined): Promise<void> {
    let form: FormData;
    try {
      form = await new Response(new Uint8Array(raw), { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
    } catch {
      sendError(res, 400, 'Could not parse multipart form');
      return;
    }
    const file = form.get('file');
    const model = form.get('model');
    if (!(file instanceof File) || typeof model !== 'string' || model === '') {
      sendError(res, 400, !(file instanceof File) ? "Missing required parameter: 'file'." : "Missing required parameter: 'model'.");
      return;
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    const fields: Record<string, string> = {};
    for (const [k, v] of form) if (typeof v === 'string') fields[k] = v;
    const wav = parseWav(bytes);
    const record: TranscriptionRecord = { headers: req.headers, fields, file: { name: file.name, type: file.type, bytes: bytes.byteLength }, wav, aborted: false };
    this.transcriptions.push(record);
    res.on('close', () => {
      record.aborted = !res.writableFinished;
      this.watch.changed();
    });
    this.watch.changed();
    if (fault) return; // stalled: never answers
    const text = this.opts.transcripts?.[this.transcriptIndex++] ?? '';
    if (fields.response_format === 'text') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(text);
      return;
    }
    sendJson(res, 200, { text, usage: { type: 'duration', seconds: Math.ceil(durationSec(wav)) } });
  }
}

function speechProblem(body: Record<string, unknown>): string | undefined {
  if (typeof body.model !== 'string' || body.model === '') return "Missing required parameter: 'model'.";
  if (typeof body.input !== 'string' || body.input === '') return "Missing required parameter: 'input'.";
  if (body.input.length > 4096) return "'input' is too long: at most 4096 characters.";
  if (typeof body.voice !== 'string' || body.voice === '') return "Missing required parameter: 'voice'.";
  if (body.response_format !== 'pcm') return 'this fake only produces response_format "pcm"';
  return undefined;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** RIFF/WAVE: the `fmt ` and `data` chunks, wherever they are. */
export function parseWav(bytes: Uint8Array): WavInfo | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return undefined;
  let fmt: Omit<WavInfo, 'samples'> | undefined;
  for (let at = 12; at + 8 <= bytes.byteLength; ) {
    const size = view.getUint32(at + 4, true);
    if (tag(at) === 'fmt ') {
      fmt = { channels: view.getUint16(at + 10, true), sampleRate: view.getUint32(at + 12, true), bitsPerSample: view.getUint16(at + 22, true) };
    } else if (tag(at) === 'data' && fmt) {
      return { ...fmt, samples: size / (fmt.channels * (fmt.bitsPerSample / 8)) };
    }
    at += 8 + size + (size % 2);
  }
  return undefined;
}

function durationSec(wav: WavInfo | undefined): number {
  return wav ? wav.samples / wav.sampleRate : 0;
}
