import { Worker, type ResourceLimits } from 'node:worker_threads';
import { OperatorError, errorMessage } from '../core/errors.ts';

export interface PoolOptions {
  /** Workers kept started and idle, ready to take a conversation. */
  size: number;
  /** Conversations (leased workers) at once; `acquire` refuses with `at_capacity` beyond it. */
  maxWorkers?: number;
  /** The worker's entry module. */
  script: URL;
  workerData: unknown;
  resourceLimits: ResourceLimits;
  /** Spawn timeout: a worker that does not report ready in time is discarded. */
  readyTimeoutMs?: number;
  onError?: (err: unknown) => void;
}

/** A started worker, handed to exactly one conversation and terminated after it. */
export interface WorkerLease {
  worker: Worker;
  /** Milliseconds the acquire waited (0 when a warm worker was ready). */
  waitedMs: number;
}

/**
 * A prewarmed pool of worker threads. Spawning costs ~60 ms (DESIGN.md), so `size` workers are
 * started ahead and the pool refills in the background after each `acquire()`. Workers are never
 * reused across conversations: isolation is the point, and a fresh one is cheap once prewarmed.
 */
export class WorkerPool {
  private readonly opts: PoolOptions;
  private readonly ready: Worker[] = [];
  private spawning = 0;
  private leased = 0;
  /** The exit handler of each leased worker (it gives the lease back if the worker dies). */
  private readonly leases = new Map<Worker, () => void>();
  /** The exit handler of each idle worker; removed when it is leased, so reuse adds none. */
  private readonly idleExit = new Map<Worker, () => void>();
  private closed = false;

  constructor(opts: PoolOptions) {
    this.opts = opts;
  }

  /** Starts filling the pool; resolves when it is full (or failed to fill). */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.opts.size }, () => this.spawnIntoPool()));
  }

  get idle(): number {
    return this.ready.length;
  }

  async acquire(): Promise<WorkerLease> {
    if (this.closed) throw new OperatorError('server', 'shutting_down', 'The server is shutting down');
    const started = performance.now();
    const max = this.opts.maxWorkers ?? Infinity;
    if (this.leased >= max) {
      throw new OperatorError('rate_limit', 'at_capacity', `This node runs its maximum of ${max} conversations at once; try again shortly`);
    }
    const warm = this.ready.shift();
    if (warm) {
      const idle = this.idleExit.get(warm);
      if (idle) warm.off('exit', idle);
      this.idleExit.delete(warm);
    }
    this.leased++;
    let worker: Worker;
    try {
      worker = warm ?? (await this.spawn());
    } catch (err) {
      this.leased--;
      throw err;
    }
    const onExit = (): void => {
      this.leases.delete(worker);
      this.leased--;
      this.refill();
    };
    worker.once('exit', onExit);
    this.leases.set(worker, onExit);
    this.refill();
    return { worker, waitedMs: performance.now() - started };
  }

  /**
   * Gives back a worker whose async activation finished cleanly (its session closed): it waits in
   * the pool for the next activation when there is room, else it is stopped. Spawning costs
   * ~200 ms of CPU, so reusing is what lets one node answer more than a few messages a second.
   * Live (real-time) conversations never come back: their worker ends with them.
   */
  release(worker: Worker): void {
    const onExit = this.leases.get(worker);
    if (!onExit) return; // it died meanwhile: its exit handler already gave the lease back
    worker.off('exit', onExit);
    this.leases.delete(worker);
    this.leased--;
    if (!this.closed && this.ready.length < this.opts.size) this.addIdle(worker);
    else void worker.terminate();
  }

  private addIdle(w: Worker): void {
    // An idle worker that dies (it should not) must not be handed out.
    const onExit = (): void => {
      this.idleExit.delete(w);
      const i = this.ready.indexOf(w);
      if (i >= 0) this.ready.splice(i, 1);
    };
    w.once('exit', onExit);
    this.idleExit.set(w, onExit);
    this.ready.push(w);
  }

  async close(): Promise<void> {
    this.closed = true;
    const idle = this.ready.splice(0);
    await Promise.all(idle.map((w) => w.terminate()));
  }

  /** Leased workers (live conversations and async activations running now). */
  get busy(): number {
    return this.leased;
  }

  private refill(): void {
    while (!this.closed && this.ready.length + this.spawning < this.opts.size) {
      void this.spawnIntoPool();
    }
  }

  private async spawnIntoPool(): Promise<void> {
    this.spawning++;
    try {
      const w = await this.spawn();
      if (this.closed) {
        await w.terminate();
        return;
      }
      this.addIdle(w);
    } catch (err) {
      this.opts.onError?.(err);
    } finally {
      this.spawning--;
    }
  }

  private spawn(): Promise<Worker> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(this.opts.script, {
        workerData: this.opts.workerData,
        resourceLimits: this.opts.resourceLimits,
        stdout: false,
        stderr: false,
      });
      const timer = setTimeout(() => {
        cleanup();
        void worker.terminate();
        reject(new OperatorError('server', 'worker_start_timeout', 'A conversation worker did not start in time'));
      }, this.opts.readyTimeoutMs ?? 10_000);
      const onMessage = (m: unknown): void => {
        if ((m as { t?: string } | null)?.t === 'ready') {
          cleanup();
          resolve(worker);
        }
      };
      const onError = (err: unknown): void => {
        cleanup();
        reject(new OperatorError('server', 'worker_start_failed', `A conversation worker failed to start: ${errorMessage(err)}`));
      };
      const onExit = (code: number): void => onError(new Error(`exited with code ${code}`));
      const cleanup = (): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }
}
