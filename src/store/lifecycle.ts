import { OperatorError } from '../core/errors.ts';
import { guard } from './errors.ts';

/**
 * Tracks the operations in flight so that `close()` lets them finish before the database goes:
 * `pg`'s pool never settles a checkout still queued when `end()` is called, and a SQLite handle
 * closed under a queued write would lose it. After close, operations are refused.
 */
export class Lifecycle {
  #closed = false;
  readonly #inflight = new Set<Promise<unknown>>();

  /** Runs a repository operation: refused once closed, tracked, database errors classified. */
  run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return this.track(operation, () => guard(operation, fn));
  }

  /** Like `run`, but errors pass through as thrown (the caller classifies them). */
  track<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new OperatorError('server', 'storage_error', `${operation} failed: the store is closed`));
    }
    const p = fn();
    this.#inflight.add(p);
    const forget = () => void this.#inflight.delete(p);
    p.then(forget, forget);
    return p;
  }

  /** Refuses new operations, then waits for those in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }
}
