import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

/**
 * The real HTTP/WebSocket server under every speech-vendor fake: 127.0.0.1, an ephemeral port,
 * upgrades accepted or refused with a real HTTP status (as the vendors do for a bad key or too
 * many connections).
 */
export interface Refusal {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface FakeServerHandlers {
  request?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Returns a refusal, `'hold'` to leave the handshake unanswered (a stalled vendor), or undefined to accept. */
  upgrade?: (req: IncomingMessage) => Refusal | 'hold' | undefined;
  connection?: (ws: WebSocket, req: IncomingMessage) => void;
}

export interface FakeServer {
  /** `http://127.0.0.1:<port>` */
  httpUrl: string;
  /** `ws://127.0.0.1:<port>` */
  wsUrl: string;
  /** Drops every open WebSocket at the TCP level: clients see close code 1006, no close frame. */
  dropSockets(): void;
  close(): Promise<void>;
}

export async function startFakeServer(handlers: FakeServerHandlers): Promise<FakeServer> {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const held = new Set<Duplex>();
  const server = createServer((req, res) => {
    if (handlers.request) handlers.request(req, res);
    else sendJson(res, 404, { error: 'not found' });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refusal = handlers.upgrade?.(req);
    if (refusal === 'hold') {
      held.add(socket);
      socket.on('close', () => held.delete(socket));
      return;
    }
    if (refusal) {
      refuseUpgrade(socket, refusal);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => handlers.connection?.(ws, req));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    dropSockets: () => {
      for (const ws of wss.clients) ws.terminate();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const ws of wss.clients) ws.terminate();
        for (const socket of held) socket.destroy();
        wss.close();
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function refuseUpgrade(socket: Duplex, refusal: Refusal): void {
  const body = typeof refusal.body === 'string' ? refusal.body : JSON.stringify(refusal.body);
  const headers: Record<string, string> = {
    'Content-Type': typeof refusal.body === 'string' ? 'text/plain' : 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...refusal.headers,
  };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
  socket.end(`HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ''}\r\n${lines.join('\r\n')}\r\n\r\n${body}`);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export function requestId(): string {
  return randomUUID();
}

interface Waiter {
  check: () => boolean;
  resolve: () => void;
}

/**
 * Lets a test await something a fake records ("the Finalize arrived", "the request was aborted")
 * instead of sleeping: fakes call `changed()` whenever their record changes.
 */
export class Watch {
  private waiters: Waiter[] = [];

  changed(): void {
    const ready = this.waiters.filter((w) => w.check());
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  /** Resolves when `check()` holds; rejects after `timeoutMs` (a guard against a hung test, not a delay). */
  until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`speech fake: timed out waiting for ${what}`));
      }, timeoutMs);
      const waiter: Waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }
}

/** A deterministic 440 Hz tone as PCM16 LE bytes: what the TTS fakes "speak". */
export function toneBytes(samples: number, sampleRate: number, startSample = 0): Buffer {
  const out = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    const t = (startSample + i) / sampleRate;
    out.writeInt16LE(Math.round(8_000 * Math.sin(2 * Math.PI * 440 * t)), i * 2);
  }
  return out;
}

/** A text frame's payload. */
export function frameText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

/** Lets other I/O run between two writes, so a client can act (abort, cancel) mid-stream. */
export function tick(gapMs: number): Promise<void> {
  return new Promise((resolve) => (gapMs > 0 ? setTimeout(resolve, gapMs) : setImmediate(resolve)));
}
