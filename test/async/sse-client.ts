import type { Json } from '../helpers/api.ts';

export interface SseEvent {
  event: string;
  data: Json;
  id?: string;
}

/**
 * A Server-Sent Events reader over fetch: collects every event of `GET …/events` and lets a test
 * wait for the next one of a kind. Waiting is event-driven; only the deadline uses a timer.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  private readonly waiters = new Set<() => void>();
  private cursor = 0;
  private ended = false;
  /** Resolves when the server closes the stream. */
  readonly closed: Promise<void>;

  private readonly res: Response;
  private readonly controller: AbortController;

  private constructor(res: Response, controller: AbortController) {
    this.res = res;
    this.controller = controller;
    this.status = res.status;
    this.closed = this.read();
  }

  static async connect(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const controller = new AbortController();
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
    return new SseClient(res, controller);
  }

  /** The next event of `type` (after the ones already returned by `next`) that satisfies `predicate`. */
  async next(type: string, predicate: (data: Json) => boolean = () => true, timeoutMs = 8000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (; this.cursor < this.events.length; this.cursor++) {
        const e = this.events[this.cursor]!;
        if (e.event === type && predicate(e.data)) {
          this.cursor++;
          return e;
        }
      }
      if (this.ended) throw new Error(`SSE stream closed before a matching "${type}" event (got ${this.describe()})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching "${type}" SSE event in ${timeoutMs} ms (got ${this.describe()})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(done);
      });
    }
  }

  all(type: string): SseEvent[] {
    return this.events.filter((e) => e.event === type);
  }

  close(): void {
    this.controller.abort();
  }

  private describe(): string {
    return this.events.map((e) => `${e.event}:${JSON.stringify(e.data).slice(0, 80)}`).join(', ') || 'none';
  }

  private wake(): void {
    for (const w of [...this.waiters]) {
      this.waiters.delete(w);
      w();
    }
  }

  private async read(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of this.res.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          this.parse(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
        this.wake();
      }
    } catch {
      // aborted by close(), or the connection dropped
    } finally {
      this.ended = true;
      this.wake();
    }
  }

  private parse(block: string): void {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
    if (data.length === 0) return;
    const text = data.join('\n');
    let parsed: Json = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep the text
    }
    this.events.push({ event, data: parsed, ...(id ? { id } : {}) });
  }
}
