import type { Clock, TimerHandle } from '../../core/clock.ts';
import { errorMessage } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { Store } from '../index.ts';
import type { JobRecord } from '../jobs.ts';
import {
  DEFAULT_STOP_TIMEOUT_MS,
  checkConcurrency,
  checkJob,
  retryDelayMs,
  type JobHandler,
  type JobRequest,
  type QueueLogger,
  type QueuedJob,
  type WorkQueue,
} from './types.ts';

export interface EmbeddedQueueOptions {
  clock: Clock;
  logger?: QueueLogger;
  /** Safety poll for jobs written by someone else (e.g. `store.jobs` inside a transaction); 1000. */
  pollMs?: number;
  /** Longest `stop()` waits for running handlers, in real milliseconds; 10 000. */
  stopTimeoutMs?: number;
}

interface Registration {
  name: string;
  handler: JobHandler;
  concurrency: number;
  /** Handlers running plus slots reserved by a claim in flight. */
  running: number;
}

type State = 'idle' | 'started' | 'stopped';

/**
 * The single-node queue over the store's `jobs` table (SQLite by default; it works on Postgres
 * too, but only one node may run it: `start()` takes back every job left 'active').
 *
 * - `send` inserts the row (one group commit: durable when resolved). When the job is due and
 *   its handler has a free slot, the row is inserted already claimed and the handler starts as
 *   soon as the commit returns: no second commit, no timer.
 * - The dispatcher claims due jobs up to each handler's concurrency (attempts + 1, state
 *   'active'), runs them, deletes the row on success, or puts it back with run_at = now +
 *   backoff · 2^(attempt-1), or marks it 'failed' after maxAttempts.
 * - Between jobs it sleeps on `clock.setTimeout` until the next run_at (at most `pollMs`), and
 *   wakes at once (a microtask) on `send` and when a slot frees. With a fake clock, advancing
 *   time fires delayed jobs.
 */
export function createEmbeddedQueue(store: Store, opts: EmbeddedQueueOptions): EmbeddedWorkQueue {
  return new EmbeddedQueue(store, opts);
}

export interface EmbeddedWorkQueue extends WorkQueue {
  readonly kind: 'embedded';
  /**
   * Resolves once nothing is in flight: no handler running, no outcome being written, no dispatch
   * pass (so the timer for the next job is set). For tests that then advance a fake clock.
   */
  settled(): Promise<void>;
}

class EmbeddedQueue implements EmbeddedWorkQueue {
  readonly kind = 'embedded' as const;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #logger: QueueLogger | undefined;
  readonly #pollMs: number;
  readonly #stopTimeoutMs: number;
  readonly #handlers = new Map<string, Registration>();
  /** Handler runs and their completion writes; `stop()` waits for them. */
  readonly #inflight = new Set<Promise<void>>();
  #state: State = 'idle';
  #timer: TimerHandle | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #wakeQueued = false;
  #pumping = false;
  #again = false;

  constructor(store: Store, opts: EmbeddedQueueOptions) {
    this.#store = store;
    this.#clock = opts.clock;
    this.#logger = opts.logger;
    this.#pollMs = opts.pollMs ?? 1000;
    this.#stopTimeoutMs = opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  }

  async send(request: JobRequest): Promise<string> {
    const job = checkJob(request, this.#clock);
    const now = this.#clock.now();
    const id = newId('job', now);
    const row = { id, ...job, createdAt: now };
    const reg = this.#state === 'started' ? this.#handlers.get(job.name) : undefined;
    if (reg !== undefined && job.runAt <= now && reg.running < reg.concurrency) {
      // Fast path: stored already claimed, run as soon as it is durable.
      reg.running++;
      const insert = this.#store.jobs.insert({ ...row, state: 'active', attempts: 1 });
      this.#track(
        insert.then(
          () => this.#execute(reg, { id, name: job.name, data: job.data, attempt: 1 }, job.maxAttempts, job.backoffMs),
          () => this.#release(reg),
        ),
      );
      await insert;
      return id;
    }
    await this.#store.jobs.insert(row);
    this.#wake();
    return id;
  }

  work(name: string, handler: JobHandler, opts: { concurrency?: number } = {}): void {
    if (this.#handlers.has(name)) throw new Error(`a handler for '${name}' is already registered`);
    this.#handlers.set(name, { name, handler, concurrency: checkConcurrency(opts.concurrency), running: 0 });
    this.#wake();
  }

  async start(): Promise<void> {
    if (this.#state === 'started') return;
    // One node: a job still 'active' was interrupted by a crash (or a stop that timed out).
    const recovered = await this.#store.jobs.recoverActive();
    if (recovered > 0) this.#logger?.warn({ jobs: recovered }, 'queued jobs interrupted by a restart run again');
    this.#state = 'started';
    this.#wake();
  }

  async stop(): Promise<void> {
    if (this.#state !== 'started') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopped';
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    let timeout: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timeout = setTimeout(() => resolve('timeout'), this.#stopTimeoutMs);
    });
    const drained = (async () => {
      while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
      return 'drained' as const;
    })();
    const outcome = await Promise.race([drained, timedOut]);
    clearTimeout(timeout);
    if (outcome === 'timeout') {
      // Left 'active' in the table: the next start() runs them again.
      this.#logger?.warn({ running: this.#inflight.size }, 'queue stopped with handlers still running');
    }
  }

  async settled(): Promise<void> {
    for (;;) {
      while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
      await new Promise((resolve) => setImmediate(resolve));
      if (this.#inflight.size === 0 && !this.#wakeQueued && this.#immediate === undefined) return;
    }
  }

  #track(p: Promise<void>): void {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
  }

  #release(reg: Registration): void {
    reg.running--;
    this.#wake();
  }

  /** Runs one claimed job and records its outcome; never rejects. */
  async #execute(reg: Registration, job: QueuedJob, maxAttempts: number, backoffMs: number): Promise<void> {
    let error: unknown;
    let failed = false;
    try {
      await reg.handler(job);
    } catch (err) {
      failed = true;
      error = err;
    }
    try {
      if (!failed) {
        // The slot frees at once: the next claim can join this delete's group commit.
        const done = this.#store.jobs.complete(job.id);
        this.#release(reg);
        await done;
        return;
      }
      const message = errorMessage(error);
      const last = job.attempt >= maxAttempts;
      this.#logger?.warn(
        { jobId: job.id, job: job.name, attempt: job.attempt, maxAttempts, err: message },
        last ? 'job failed for the last time' : 'job failed; it will be retried',
      );
      if (last) await this.#store.jobs.fail(job.id, message);
      else await this.#store.jobs.retry(job.id, this.#clock.now() + retryDelayMs(backoffMs, job.attempt), message);
      this.#release(reg);
    } catch (err) {
      // The row stays 'active' and runs again after a restart.
      this.#logger?.warn({ jobId: job.id, job: job.name, err: errorMessage(err) }, 'could not record the outcome of a job');
      if (!failed) return;
      this.#release(reg);
    }
  }

  /** Schedules a dispatch pass in a microtask (coalesced). */
  #wake(): void {
    if (this.#state !== 'started' || this.#wakeQueued) return;
    this.#wakeQueued = true;
    queueMicrotask(() => {
      this.#wakeQueued = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#state !== 'started') return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    // Tracked like a handler, so that `stop()` also waits for a claim in flight.
    this.#track(this.#pumpLoop());
  }

  async #pumpLoop(): Promise<void> {
    try {
      do {
        this.#again = false;
        await this.#dispatchDue();
        await this.#arm();
      } while (this.#again && this.#state === 'started');
    } catch (err) {
      this.#logger?.warn({ err: errorMessage(err) }, 'the job dispatcher failed; it tries again at the next poll');
      this.#sleep(this.#pollMs);
    } finally {
      this.#pumping = false;
    }
  }

  /** Claims and starts what is due, for every handler with a free slot. */
  async #dispatchDue(): Promise<void> {
    const now = this.#clock.now();
    const free = [...this.#handlers.values()].filter((r) => r.running < r.concurrency);
    if (free.length === 0) return;
    // A read first: claiming is a write (a commit), worth paying only when something is due.
    const due = new Set(await this.#store.jobs.dueNames(free.map((r) => r.name), now));
    await Promise.all(free.filter((r) => due.has(r.name)).map((r) => this.#claim(r, now)));
  }

  async #claim(reg: Registration, now: number): Promise<void> {
    const slots = reg.concurrency - reg.running;
    if (slots <= 0 || this.#state !== 'started') return;
    reg.running += slots; // reserved while the claim is in flight, so `send` cannot overfill
    let jobs: JobRecord[];
    try {
      jobs = await this.#store.jobs.claimDue(reg.name, now, slots);
    } finally {
      reg.running -= slots;
    }
    for (const j of jobs) {
      reg.running++;
      const job: QueuedJob = { id: j.id, name: j.name, data: j.data, attempt: j.attempts };
      this.#track(this.#execute(reg, job, j.maxAttempts, j.backoffMs));
    }
  }

  /** Sleeps until the next job is due (at most `pollMs`), or not at all when one is due already. */
  async #arm(): Promise<void> {
    const names = [...this.#handlers.values()].filter((r) => r.running < r.concurrency).map((r) => r.name);
    const next = await this.#store.jobs.nextRunAt(names);
    if (this.#state !== 'started') return;
    const delay = next === undefined ? this.#pollMs : Math.min(this.#pollMs, next - this.#clock.now());
    if (delay <= 0) {
      // Due meanwhile: go round again on the event loop (I/O first), without a timer.
      this.#timer?.cancel();
      this.#timer = undefined;
      this.#immediate ??= setImmediate(() => {
        this.#immediate = undefined;
        this.#pump();
      });
      return;
    }
    this.#sleep(delay);
  }

  #sleep(delayMs: number): void {
    this.#timer?.cancel();
    if (this.#state !== 'started') return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, delayMs);
  }
}
