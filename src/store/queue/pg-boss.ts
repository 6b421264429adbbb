import PgBoss from 'pg-boss';
import type { Clock } from '../../core/clock.ts';
import { systemClock } from '../../core/clock.ts';
import { errorMessage } from '../../core/errors.ts';
import {
  DEFAULT_STOP_TIMEOUT_MS,
  checkConcurrency,
  checkJob,
  type JobHandler,
  type JobRequest,
  type QueueLogger,
  type QueuedJob,
  type WorkQueue,
} from './types.ts';

export interface PgBossQueueOptions {
  databaseUrl: string;
  /** Postgres schema of pg-boss's tables; 'pgboss'. */
  schema?: string;
  logger?: QueueLogger;
  /** Only `now()` is used: the default `runAt`. pg-boss schedules by the database's clock. */
  clock?: Clock;
  /**
   * How long a claimed job may stay active before pg-boss takes it back (and retries it if it has
   * attempts left); it also bounds a handler's run time. 60 s.
   */
  expireInSeconds?: number;
  /** How often a node runs pg-boss maintenance (expiry, archiving); cluster-wide once per interval. 10 s. */
  maintenanceIntervalSeconds?: number;
  /** Idle poll of each worker; pg-boss 10 allows no less than 0.5 s. */
  pollingIntervalSeconds?: number;
  /** Longest `stop()` waits for running handlers, in real milliseconds; 10 000. */
  stopTimeoutMs?: number;
}

/**
 * The multi-node queue: pg-boss 10 (the last line for Node 20, see reference B5) in its own schema
 * of the shared Postgres. Several nodes, each with its own queue object, share the jobs: pg-boss
 * claims with `FOR UPDATE SKIP LOCKED`, so a job runs on one node at a time.
 *
 * Mapping: `runAt` → `startAfter`; `maxAttempts` → `retryLimit = maxAttempts - 1`; `backoffMs` →
 * `retryDelay` in whole seconds (rounded up: pg-boss's unit) with `retryBackoff`, which pg-boss
 * computes as delay·2^(retry) with up to 100 % jitter. Concurrency = that many pg-boss workers
 * (v10 has no local concurrency option).
 *
 * A node that dies mid-job: the job stays 'active' until `expireInSeconds` after it started; the
 * next maintenance run (every `maintenanceIntervalSeconds`, whichever node gets there) fails it
 * into 'retry', due after its retry delay; an idle worker picks it up within a poll. Worst case
 * with the defaults: 60 + 10 + retry delay (backoff to 2 × backoff, rounded up to seconds) +
 * 0.5 s, about 72 s for a 1 s backoff. A job on its last attempt is failed, not retried.
 *
 * Latency: a worker that finishes a job fetches again at once; `send` wakes this node's idle
 * workers at once; other nodes' workers see it within `pollingIntervalSeconds`.
 */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export function createPgBossQueue(opts: PgBossQueueOptions): WorkQueue {
  return new PgBossQueue(opts);
}

interface Registration {
  name: string;
  handler: JobHandler;
  concurrency: number;
  workerIds: string[];
}

class PgBossQueue implements WorkQueue {
  readonly kind = 'pg-boss' as const;
  readonly #boss: PgBoss;
  readonly #clock: Clock;
  readonly #logger: QueueLogger | undefined;
  readonly #expireInSeconds: number;
  readonly #pollingIntervalSeconds: number;
  readonly #stopTimeoutMs: number;
  readonly #handlers = new Map<string, Registration>();
  readonly #queues = new Map<string, Promise<void>>();
  #state: 'idle' | 'starting' | 'started' | 'stopped' = 'idle';
  #starting: Promise<void> | undefined;

  constructor(opts: PgBossQueueOptions) {
    this.#clock = opts.clock ?? systemClock;
    this.#logger = opts.logger;
    this.#expireInSeconds = opts.expireInSeconds ?? 60;
    this.#pollingIntervalSeconds = opts.pollingIntervalSeconds ?? 0.5;
    this.#stopTimeoutMs = opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    this.#boss = new PgBoss({
      connectionString: opts.databaseUrl,
      schema: opts.schema ?? 'pgboss',
      application_name: 'operator-queue',
      // No cron: Operator's timers are delayed jobs, and the timekeeper adds a poll of its own.
      schedule: false,
      maintenanceIntervalSeconds: opts.maintenanceIntervalSeconds ?? 10,
      expireInSeconds: this.#expireInSeconds,
    });
    // Unhandled, an 'error' event would throw; pg-boss reports failed polls and maintenance here.
    this.#boss.on('error', (err: Error) => this.#logger?.warn({ err: errorMessage(err) }, 'pg-boss reported an error'));
  }

  async send(request: JobRequest): Promise<string> {
    const job = checkJob(request, this.#clock);
    await this.#ensureStarted();
    await this.#ensureQueue(job.name);
    const retryDelay = Math.ceil(job.backoffMs / 1000);
    const id = await this.#boss.send(job.name, job.data, {
      startAfter: new Date(job.runAt),
      retryLimit: job.maxAttempts - 1,
      retryDelay,
      retryBackoff: retryDelay > 0,
      expireInSeconds: this.#expireInSeconds,
    });
    if (id === null) throw new Error(`pg-boss did not accept a job for queue '${job.name}'`);
    // Wake this node's idle workers at once instead of at their next poll.
    if (job.runAt <= this.#clock.now()) this.#notify(job.name);
    return id;
  }

  work(name: string, handler: JobHandler, opts: { concurrency?: number } = {}): void {
    if (this.#handlers.has(name)) throw new Error(`a handler for '${name}' is already registered`);
    const reg: Registration = { name, handler, concurrency: checkConcurrency(opts.concurrency), workerIds: [] };
    this.#handlers.set(name, reg);
    if (this.#state === 'started') void this.#startWorkers(reg);
  }

  async start(): Promise<void> {
    await this.#ensureStarted();
    await Promise.all([...this.#handlers.values()].filter((r) => r.workerIds.length === 0).map((r) => this.#startWorkers(r)));
  }

  async stop(): Promise<void> {
    const wasRunning = this.#state === 'started' || this.#state === 'starting';
    this.#state = 'stopped';
    if (!wasRunning) return;
    await this.#starting?.catch(() => {});
    // Graceful: workers stop fetching, running handlers get up to the timeout, then whatever is
    // still active is failed (so it is retried) and the pool closes.
    await this.#boss.stop({ graceful: true, wait: true, close: true, timeout: this.#stopTimeoutMs });
  }

  #ensureStarted(): Promise<void> {
    if (this.#state === 'stopped') return Promise.reject(new Error('the queue is stopped'));
    this.#starting ??= (async () => {
      this.#state = 'starting';
      await this.#boss.start();
      if (this.#state === 'starting') this.#state = 'started';
    })();
    return this.#starting;
  }

  /** pg-boss 10 drops a job sent to a queue that does not exist: create each once (idempotent). */
  #ensureQueue(name: string): Promise<void> {
    let p = this.#queues.get(name);
    if (p === undefined) {
      p = this.#createQueue(name);
      this.#queues.set(name, p);
      p.catch(() => this.#queues.delete(name));
    }
    return p;
  }

  /**
   * Two nodes creating the same queue at once can deadlock inside pg-boss's `create_queue` (it
   * attaches a partition to the job table): the loser is rolled back, and on retry finds the
   * queue there.
   */
  async #createQueue(name: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        if ((await this.#boss.getQueue(name)) !== null) return;
        await this.#boss.createQueue(name, { name, policy: 'standard', expireInSeconds: this.#expireInSeconds });
        return;
      } catch (err) {
        if (attempt >= 5) throw err;
        await sleep(50 * attempt + Math.random() * 50);
      }
    }
  }

  async #startWorkers(reg: Registration): Promise<void> {
    try {
      await this.#ensureQueue(reg.name);
      while (reg.workerIds.length < reg.concurrency) {
        if (this.#state !== 'started') return;
        const worker: { id?: string } = {};
        worker.id = await this.#boss.work<Record<string, unknown>>(
          reg.name,
          { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: this.#pollingIntervalSeconds },
          (jobs) => this.#run(reg, jobs, () => worker.id),
        );
        reg.workerIds.push(worker.id);
      }
    } catch (err) {
      this.#logger?.warn({ job: reg.name, err: errorMessage(err) }, 'could not start the workers of a job queue; retrying');
      await sleep(1000);
      if (this.#state === 'started') await this.#startWorkers(reg);
    }
  }

  async #run(reg: Registration, jobs: PgBoss.JobWithMetadata<Record<string, unknown>>[], workerId: () => string | undefined) {
    try {
      for (const j of jobs) {
        const job: QueuedJob = { id: j.id, name: j.name, data: j.data ?? {}, attempt: j.retryCount + 1 };
        try {
          await reg.handler(job);
        } catch (err) {
          const last = job.attempt >= j.retryLimit + 1;
          this.#logger?.warn(
            { jobId: job.id, job: job.name, attempt: job.attempt, maxAttempts: j.retryLimit + 1, err: errorMessage(err) },
            last ? 'job failed for the last time' : 'job failed; it will be retried',
          );
          throw err; // pg-boss records the failure and schedules the retry
        }
      }
    } finally {
      // Fetch the next job straight away rather than after the polling interval.
      const id = workerId();
      if (id !== undefined && this.#state === 'started') this.#boss.notifyWorker(id);
    }
  }

  #notify(name: string): void {
    for (const id of this.#handlers.get(name)?.workerIds ?? []) this.#boss.notifyWorker(id);
  }
}
