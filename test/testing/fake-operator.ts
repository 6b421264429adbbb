import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { parseForm } from '../../src/channels/twilio/form.ts';

/**
 * A stand-in for Operator's voice side, small enough to read: it answers the voice webhook with
 * TwiML and speaks the server half of Media Streams. The simulator is the code under test.
 */
export const PUBLIC = 'https://operator.example.com';
export const STREAM_URL = 'wss://operator.example.com/twilio/media-stream';
export const TOKEN = 'test-auth-token';
export const CONNECT = `<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="${STREAM_URL}"><Parameter name="conversationId" value="conv-1"/></Stream></Connect></Response>`;

export interface Hook {
  path: string;
  form: Record<string, string | string[]>;
  signature: string | undefined;
}

/** A Media Streams message as the simulator sent it. */
export interface Msg {
  event: string;
  streamSid?: string;
  sequenceNumber?: string;
  media?: { track: string; chunk: string; timestamp: string; payload: string };
  mark?: { name: string };
  start?: { customParameters: Record<string, string> };
  dtmf?: { track: string; digit: string };
}

export class FakeStream {
  readonly messages: Msg[] = [];
  readonly arrivals: number[] = [];
  readonly closed: Promise<[number, Buffer]>;
  readonly ws: WebSocket;
  readonly signature: string | undefined;
  readonly path: string;
  constructor(ws: WebSocket, signature: string | undefined, path: string) {
    this.ws = ws;
    this.signature = signature;
    this.path = path;
    this.closed = once(ws, 'close') as Promise<[number, Buffer]>;
    ws.on('message', (data) => {
      this.messages.push(JSON.parse((data as Buffer).toString()) as Msg);
      this.arrivals.push(performance.now());
    });
  }
  get streamSid(): string {
    return this.messages.find((m) => m.event === 'start')!.streamSid!;
  }
  of(event: string): Msg[] {
    return this.messages.filter((m) => m.event === event);
  }
  /** Resolves once `count` messages match (event-driven; the timeout is only a failure deadline). */
  async waitFor(pred: (m: Msg) => boolean, count = 1, timeoutMs = 3000): Promise<Msg[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.filter(pred).length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.messages.filter(pred).length} of ${count} messages: ${JSON.stringify(this.messages.slice(-3))}`);
      await once(this.ws, 'message');
    }
    return this.messages.filter(pred);
  }
  send(msg: object): void {
    this.ws.send(JSON.stringify({ streamSid: this.streamSid, ...msg }));
  }
  media(bytes: Uint8Array): void {
    this.send({ event: 'media', media: { payload: Buffer.from(bytes).toString('base64') } });
  }
}

export interface FakeServer {
  url: string;
  hooks: Hook[];
  streams: FakeStream[];
  answer: (hook: Hook) => { status?: number; body: string; type?: string };
  nextStream(): Promise<FakeStream>;
  close(): Promise<void>;
}

export async function startFakeServer(): Promise<FakeServer> {
  const http: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const sig = req.headers['x-twilio-signature'];
      const hook = { path: req.url ?? '', form: parseForm(Buffer.concat(chunks).toString()), signature: typeof sig === 'string' ? sig : undefined };
      fake.hooks.push(hook);
      if (hook.path.endsWith('/status')) return void res.writeHead(204).end();
      const a = fake.answer(hook);
      res.writeHead(a.status ?? 200, { 'content-type': a.type ?? 'text/xml' }).end(a.body);
    });
  });
  const wss = new WebSocketServer({ server: http, path: '/twilio/media-stream' });
  const waiting: ((s: FakeStream) => void)[] = [];
  wss.on('connection', (ws, req) => {
    const sig = req.headers['x-twilio-signature'];
    const s = new FakeStream(ws, typeof sig === 'string' ? sig : undefined, req.url ?? '');
    fake.streams.push(s);
    waiting.shift()?.(s);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const fake: FakeServer = {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    hooks: [],
    streams: [],
    answer: () => ({ body: CONNECT }),
    nextStream: () => new Promise((resolve) => waiting.push(resolve)),
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
  return fake;
}
