import WebSocket from 'ws';

export interface ServerMsg {
  type: string;
  [key: string]: unknown;
}

/** A realtime-socket client for tests: records every message and waits for the ones asked for. */
export class RealtimeClient {
  readonly messages: ServerMsg[] = [];
  readonly ws: WebSocket;
  closeCode: number | undefined;
  private cursor = 0;
  private waiters: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.messages.push(JSON.parse((data as Buffer).toString('utf8')) as ServerMsg);
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
  }

  static connect(baseUrl: string, opts: { token?: string; headers?: Record<string, string> } = {}): Promise<RealtimeClient> {
    const url = new URL('/v1/realtime', baseUrl.replace(/^http/, 'ws'));
    if (opts.token) url.searchParams.set('token', opts.token);
    const ws = new WebSocket(url, { headers: opts.headers ?? {} });
    const client = new RealtimeClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  send(m: object | string): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  /** Starts a text session and returns `session.started`. */
  async start(agent: string, extra: object = {}): Promise<ServerMsg> {
    this.send({ type: 'session.start', agent, mode: 'text', ...extra });
    return this.next('session.started');
  }

  /** The next message of this type after the last one returned (earlier others are skipped). */
  async next(type: string, timeoutMs = 10_000): Promise<ServerMsg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.messages.length) {
        const m = this.messages[this.cursor++]!;
        if (m.type === type) return m;
      }
      if (this.closeCode !== undefined) throw new Error(`socket closed (${this.closeCode}) while waiting for ${type}; got ${JSON.stringify(this.messages)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${type}; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Everything of one type received so far. */
  all(type: string): ServerMsg[] {
    return this.messages.filter((m) => m.type === type);
  }

  async closed(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.closeCode === undefined) {
      if (Date.now() > deadline) throw new Error('socket did not close');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.closeCode;
  }

  close(): void {
    this.ws.close();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
