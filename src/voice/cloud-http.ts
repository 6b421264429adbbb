import type { Clock, TimerHandle } from '../core/clock.ts';
import { httpStatusError, networkError, timeoutError, vendorDetail, type SpeechSource } from './cloud-errors.ts';

export interface SpeechCallOptions {
  source: SpeechSource;
  clock: Clock;
  /** Longest wait for each step: the response headers, each body chunk. */
  timeoutMs: number;
  /** The caller's abort: the call ends quietly (steps return `undefined`), never with an error. */
  signal?: AbortSignal;
}

/**
 * One HTTP request to a speech vendor: every wait runs under a deadline on the injected clock, the
 * caller's abort closes the connection (which is how an HTTP vendor learns we stopped listening),
 * and failures come out classified. Call `end()` when done (in a `finally`).
 */
export class SpeechHttpCall {
  private readonly controller = new AbortController();
  private timer: TimerHandle | undefined;
  private timedOut = false;
  private readonly onAbort = () => this.controller.abort();
  private readonly opts: SpeechCallOptions;

  constructor(opts: SpeechCallOptions) {
    this.opts = opts;
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Whether the caller aborted. */
  get aborted(): boolean {
    return this.opts.signal?.aborted === true;
  }

  /** Sends the request: the response when 2xx, `undefined` when the caller aborted; throws otherwise. */
  async send(url: string, init: RequestInit): Promise<Response | undefined> {
    const res = await this.step('answer', () => fetch(url, { ...init, signal: this.controller.signal }));
    if (!res || res.ok) return res;
    let body: string | undefined;
    try {
      body = await this.step('send its error', () => res.text());
    } catch {
      body = undefined;
    }
    throw httpStatusError(this.opts.source, res.status, body === undefined ? undefined : vendorDetail(body));
  }

  /** Awaits one step under the deadline; `undefined` when the caller aborted. */
  async step<T>(waitingFor: string, run: () => Promise<T>): Promise<T | undefined> {
    if (this.aborted) return undefined;
    this.timer = this.opts.clock.setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, this.opts.timeoutMs);
    try {
      return await run();
    } catch (err) {
      if (this.aborted) return undefined;
      if (this.timedOut) throw timeoutError(this.opts.source, waitingFor, this.opts.timeoutMs);
      throw networkError(this.opts.source, err);
    } finally {
      this.timer.cancel();
    }
  }

  /** Releases the deadline and the caller's signal, and closes the connection if still open. */
  end(): void {
    this.timer?.cancel();
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.controller.abort();
  }
}

/**
 * An OpenAI API endpoint under `baseUrl`. Both `https://api.openai.com` and the SDKs' style
 * `https://api.openai.com/v1` are accepted, so a base copied from a model config works too.
 */
export function openAiEndpoint(baseUrl: string | undefined, path: string): string {
  const base = (baseUrl ?? 'https://api.openai.com').replace(/\/+$/, '').replace(/\/v1$/, '');
  return `${base}/v1${path}`;
}
