import WebSocket from 'ws';

/**
 * A deliberately thin realtime-socket client: one socket per session, timestamps taken as a frame
 * arrives, frames recognised by their JSON prefix (the server serialises `type` first) so the
 * client spends as little CPU as possible next to the server it measures.
 */
const STARTED = '{"type":"session.started"';
const DELTA = '{"type":"agent.delta"';
const DONE = '{"type":"agent.done"';
const ERROR = '{"type":"error"';

export interface TurnTiming {
  /** `user.message` sent → first `agent.delta` received (ms). */
  firstDeltaMs: number;
  /** `user.message` sent → `agent.done` received (ms). */
  doneMs: number;
  deltas: number;
}

/** A request the server has not answered in this long fails the benchmark instead of hanging it. */
const REQUEST_TIMEOUT_MS = 60_000;

interface Waiter {
  kind: 'start' | 'turn';
  timer: NodeJS.Timeout;
  sentAt: number;
  firstAt?: number;
  deltas: number;
  resolve: (v: TurnTiming) => void;
  reject: (err: Error) => void;
}

export class BenchSession {
  private readonly ws: WebSocket;
  private waiter: Waiter | undefined;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer) => this.onFrame(data, performance.now()));
    ws.on('close', (code) => this.fail(new Error(`socket closed (${code})`)));
    ws.on('error', (err) => this.fail(err));
  }

  static connect(wsUrl: string): Promise<BenchSession> {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new BenchSession(ws)));
      ws.once('error', reject);
    });
  }

  /** Sends `session.start`; resolves with the ms until `session.started`. */
  async start(agent: string): Promise<number> {
    const t = await this.expect('start', JSON.stringify({ type: 'session.start', agent, mode: 'text' }));
    return t.doneMs;
  }

  /** One turn: sends `user.message`, resolves on `agent.done`. */
  turn(text: string): Promise<TurnTiming> {
    return this.expect('turn', JSON.stringify({ type: 'user.message', text }));
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }

  private expect(kind: Waiter['kind'], frame: string): Promise<TurnTiming> {
    if (this.waiter) return Promise.reject(new Error('a request is already in flight on this session'));
    return new Promise<TurnTiming>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`no answer to ${kind} in ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
      this.waiter = { kind, timer, sentAt: performance.now(), deltas: 0, resolve, reject };
      this.ws.send(frame);
    });
  }

  private onFrame(data: Buffer, at: number): void {
    const w = this.waiter;
    if (!w) return;
    const s = data.toString('utf8', 0, 26);
    if (w.kind === 'turn' && s.startsWith(DELTA)) {
      w.firstAt ??= at;
      w.deltas++;
    } else if (w.kind === 'turn' && s.startsWith(DONE)) {
      this.waiter = undefined;
      clearTimeout(w.timer);
      if (w.firstAt === undefined) w.reject(new Error('agent.done without any agent.delta'));
      else w.resolve({ firstDeltaMs: w.firstAt - w.sentAt, doneMs: at - w.sentAt, deltas: w.deltas });
    } else if (w.kind === 'start' && s.startsWith(STARTED)) {
      this.waiter = undefined;
      clearTimeout(w.timer);
      w.resolve({ firstDeltaMs: at - w.sentAt, doneMs: at - w.sentAt, deltas: 0 });
    } else if (s.startsWith(ERROR)) {
      this.fail(new Error(`server error: ${data.toString()}`));
    }
  }

  private fail(err: Error): void {
    const w = this.waiter;
    this.waiter = undefined;
    if (!w) return;
    clearTimeout(w.timer);
    w.reject(err);
  }
}
