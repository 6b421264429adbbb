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
   * attempts left). 60 s: a handler must finish well within it.
   */
  expireInSeconds?: number;
  /** How often maintenance (expiry, archiving) runs, cluster-wide; pg-boss's minimum is 1. 10 s. */
  maintenanceIntervalSeconds?: number;
  /** Idle poll of each worker loop; 0.5 s (pg-boss 10's own minimum for its workers). */
  pollingIntervalSeconds?: number;
  /** Longest `stop()` waits for running handlers, in real milliseconds; 10 000. */
  stopTimeoutMs?: number;
}

type BossJob = PgBoss.JobWithMetadata<Record<string, unknown>>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * The multi-node queue: pg-boss 10 (the last line for Node 20, reference B5) in its own schema of
 * the shared Postgres. Each node has its own queue object; pg-boss claims with `FOR UPDATE SKIP
 * LOCKED`, so a job runs on one node at a time.
 *
 * Mapping: `runAt` → `startAfter`; `maxAttempts` → `retryLimit = maxAttempts - 1`; `backoffMs` →
 * `retryDelay` in whole seconds (pg-boss's unit, rounded up; 0 retries at once) with
 * `retryBackoff`, which pg-boss computes as delay·2^retry with up to 100 % jitter; `attempt` =
 * `retryCount + 1`. Queues are created on first use (policy 'standard').
 *
 * Workers: `concurrency` fetch loops per name over `boss.fetch` (batch 1) rather than
 * `boss.work`, whose v10 worker neither awaits `complete`/`fail` (a database error there becomes
 * an unhandled rejection) nor fetches again before its polling interval. Here the outcome is
 * awaited, a busy loop fetches again at once, `send` wakes this node's idle loops at once, and
 * other nodes' idle loops see a job within `pollingIntervalSeconds`.
 *
 * A node that dies mid-job: the job stays 'active' until `expireInSeconds` after it started; the
 * next maintenance run (every `maintenanceIntervalSeconds`, on whichever node gets there) fails it
 * into 'retry', due after its retry delay; an idle loop anywhere picks it up within a poll. Worst
 * case with the defaults: 60 + 10 + retry delay (1 to 2 × backoff, rounded up to seconds) + 0.5 s,
 * about 72 s for a 1 s backoff. A job on its last attempt is failed, not retried.
 */
export function createPgBossQueue(opts: PgBossQueueOptions): WorkQueue {
  return new PgBossQueue(opts);
}

interface Registration {
  name: string;
  handler: JobHandler;
  concurrency: number;
  loops: Promise<void>[];
  /** Resolvers of the loops sleeping between polls. */
  idle: Set<() => void>;
}

class PgBossQueue implements WorkQueue {
  readonly kind = 'pg-boss' as const;
  readonly #boss: PgBoss;
  readonly #clock: Clock;
  readonly #logger: QueueLogger | undefined;
  readonly #expireInSeconds: number;
  readonly #pollMs: number;
  readonly #stopTimeoutMs: number;
  readonly #handlers = new Map<string, Registration>();
  readonly #queues = new Map<string, Promise<void>>();
  /** Jobs being handled on this node: id → queue name. */
  readonly #active = new Map<string, string>();
  #state: 'idle' | 'starting' | 'started' | 'stopped' = 'idle';
  #starting: Promise<void> | undefined;

  constructor(opts: PgBossQueueOptions) {
    this.#clock = opts.clock ?? systemClock;
    this.#logger = opts.logger;
    this.#expireInSeconds = opts.expireInSeconds ?? 60;
    this.#pollMs = (opts.pollingIntervalSeconds ?? 0.5) * 1000;
    this.#stopTimeoutMs = opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    this.#boss = new PgBoss({
      connectionString: opts.databaseUrl,
      schema: opts.schema ?? 'pgboss',
      application_name: 'operator-queue',
      // No cron: Operator's timers are delayed jobs, and the timekeeper would add a poll of its own.
      schedule: false,
      maintenanceIntervalSeconds: opts.maintenanceIntervalSeconds ?? 10,
      expireInSeconds: this.#expireInSeconds,
    });
    // Unhandled, an 'error' event would throw; pg-boss reports failed maintenance here.
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
    if (job.runAt <= this.#clock.now()) this.#wake(job.name);
    return id;
  }

  work(name: string, handler: JobHandler, opts: { concurrency?: number } = {}): void {
    if (this.#handlers.has(name)) throw new Error(`a handler for '${name}' is already registered`);
    const reg: Registration = { name, handler, concurrency: checkConcurrency(opts.concurrency), loops: [], idle: new Set() };
    this.#handlers.set(name, reg);
    if (this.#state === 'started') void this.#startLoops(reg);
  }

  async start(): Promise<void> {
    await this.#ensureStarted();
    await Promise.all([...this.#handlers.values()].filter((r) => r.loops.length === 0).map((r) => this.#startLoops(r)));
  }

  async stop(): Promise<void> {
    const wasRunning = this.#state === 'started' || this.#state === 'starting';
    this.#state = 'stopped';
    if (!wasRunning) return;
    await this.#starting?.catch(() => {});
    for (const name of this.#handlers.keys()) this.#wake(name);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.#stopTimeoutMs)));
    const loops = [...this.#handlers.values()].flatMap((r) => r.loops);
    const late = await Promise.race([Promise.all(loops).then(() => false), timedOut]);
    clearTimeout(timer);
    if (late && this.#active.size > 0) {
      // Hand them back now rather than after expiry: they are retried (another node, or a restart).
      this.#logger?.warn({ running: this.#active.size }, 'queue stopped with handlers still running');
      for (const [id, name] of this.#active) {
        await this.#boss.fail(name, id, { message: 'shut down while active' }).catch(() => {});
      }
    }
    await this.#boss.stop({ graceful: false, wait: true, close: true });
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

  async #startLoops(reg: Registration): Promise<void> {
    try {
      await this.#ensureQueue(reg.name);
    } catch (err) {
      this.#logger?.warn({ job: reg.name, err: errorMessage(err) }, 'could not create a job queue; retrying');
      await sleep(1000);
      if (this.#state === 'started') await this.#startLoops(reg);
      return;
    }
    while (this.#state === 'started' && reg.loops.length < reg.concurrency) reg.loops.push(this.#loop(reg));
  }

  /** One worker: fetch a job, run it, record the outcome; sleep a poll when there is none. */
  async #loop(reg: Registration): Promise<void> {
    while (this.#state === 'started') {
      // pg-boss's fetch reports no error: a failed fetch looks like an empty queue.
      const [job] = await this.#boss.fetch<Record<string, unknown>>(reg.name, { batchSize: 1, includeMetadata: true });
      if (job === undefined) {
        await this.#idle(reg);
        continue;
      }
      await this.#run(reg, job); // even when stopping: it is claimed, and stop() waits for it
    }
  }

  #idle(reg: Registration): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        reg.idle.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.#pollMs);
      reg.idle.add(done);
    });
  }

  #wake(name: string): void {
    for (const done of [...(this.#handlers.get(name)?.idle ?? [])]) done();
  }

  async #run(reg: Registration, j: BossJob): Promise<void> {
    const job: QueuedJob = { id: j.id, name: j.name, data: j.data ?? {}, attempt: j.retryCount + 1 };
    const maxAttempts = j.retryLimit + 1;
    this.#active.set(j.id, j.name);
    let failure: { message: string } | undefined;
    try {
      await reg.handler(job);
    } catch (err) {
      failure = { message: errorMessage(err) };
      this.#logger?.warn(
        { jobId: job.id, job: job.name, attempt: job.attempt, maxAttempts, err: failure.message },
        job.attempt >= maxAttempts ? 'job failed for the last time' : 'job failed; it will be retried',
      );
    }
    try {
      // pg-boss schedules the retry (or marks it failed, keeping `failure` as its output).
      if (failure === undefined) await this.#boss.complete(j.name, j.id);
      else await this.#boss.fail(j.name, j.id, failure);
    } catch (err) {
      this.#logger?.warn({ jobId: job.id, job: job.name, err: errorMessage(err) }, 'could not record the outcome of a job');
    } finally {
      this.#active.delete(j.id);
    }
  }
}
