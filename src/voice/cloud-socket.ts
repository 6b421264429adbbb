import WebSocket, { type RawData } from 'ws';
import type { Clock } from '../core/clock.ts';
import { httpStatusError, networkError, timeoutError, vendorDetail, type SpeechSource } from './cloud-errors.ts';

export interface OpenSocketOptions {
  url: string;
  headers: Record<string, string>;
  source: SpeechSource;
  clock: Clock;
  timeoutMs: number;
}

/**
 * Opens a WebSocket to a speech vendor and resolves once it is open. A refused upgrade (401, 429,
 * 5xx…) rejects with the vendor's status and error body classified; so do network failures and a
 * handshake that takes longer than `timeoutMs`. The socket keeps an `error` listener for its whole
 * life (a socket error is always followed by `close`, which is where owners handle it).
 */
export function openSocket(opts: OpenSocketOptions): Promise<WebSocket> {
  const { source } = opts;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(opts.url, { headers: opts.headers, perMessageDeflate: false });
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      if (err) {
        ws.terminate();
        reject(err);
      } else {
        resolve(ws);
      }
    };
    const timer = opts.clock.setTimeout(() => settle(timeoutError(source, 'accept the connection', opts.timeoutMs)), opts.timeoutMs);
    ws.on('error', (err) => settle(networkError(source, err)));
    ws.once('open', () => settle());
    ws.once('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => settle(httpStatusError(source, status)));
      res.on('end', () => settle(httpStatusError(source, status, vendorDetail(Buffer.concat(chunks).toString('utf8')))));
    });
  });
}

/** A text frame's payload (ws hands over a Buffer, or fragments / an ArrayBuffer on request). */
export function frameText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

/** Closes politely and waits for the close handshake, up to `waitMs`; then drops the connection. */
export function closeSocket(ws: WebSocket, clock: Clock, waitMs: number, code = 1000): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => {
      ws.terminate();
      resolve();
    }, waitMs);
    ws.once('close', () => {
      timer.cancel();
      resolve();
    });
    if (ws.readyState === WebSocket.OPEN) ws.close(code);
  });
}
