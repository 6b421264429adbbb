import type { Clock } from '../../core/clock.ts';
import { invalidRequest } from '../errors.ts';

/**
 * Durable work (DESIGN.md, "Scale-out on PostgreSQL + pg-boss"): turns, sends and inactivity
 * timers. Two implementations of one interface: `embedded` (one node, the store's `jobs` table)
 * and `pg-boss` (several nodes on one Postgres). Delivery is at-least-once in both: a handler
 * must tolerate running again for a job it already did (crash after the work, before the ack).
 */
export interface JobRequest {
  name: string;
  data: Record<string, unknown>;
  /** Epoch ms; now when absent. */
  runAt?: number;
  /** Runs in all, first included; 5 when absent. */
  maxAttempts?: number;
  /** Delay before the first retry, doubled for each later one; 1000 when absent. */
  backoffMs?: number;
}

export interface QueuedJob {
  id: string;
  name: string;
  data: Record<string, unknown>;
  /** 1 for the first run. */
  attempt: number;
}

export type JobHandler = (job: QueuedJob) => Promise<void>;

export interface WorkQueue {
  readonly kind: 'embedded' | 'pg-boss';
  /** Durable once resolved; resolves to the job's id. */
  send(job: JobRequest): Promise<string>;
  /**
   * Runs `handler` for the jobs of `name`, at most `concurrency` at once on this node (1 when
   * absent). A throwing handler is retried with backoff until maxAttempts, then the job is marked
   * failed (kept, with its last error). One handler per name.
   */
  work(name: string, handler: JobHandler, opts?: { concurrency?: number }): void;
  start(): Promise<void>;
  /** Stops claiming; waits for running handlers (up to a timeout). */
  stop(): Promise<void>;
}

export interface QueueLogger {
  warn(obj: object, msg: string): void;
}

export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_BACKOFF_MS = 1000;
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

export interface CheckedJob {
  name: string;
  data: Record<string, unknown>;
  runAt: number;
  maxAttempts: number;
  backoffMs: number;
}

/** Validates a request and fills in the defaults (bad input changes nothing: DESIGN.md rule 8). */
export function checkJob(job: JobRequest, clock: Clock): CheckedJob {
  if (typeof job.name !== 'string' || job.name === '') throw invalidRequest('invalid_job', 'a job needs a name');
  const maxAttempts = job.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const backoffMs = job.backoffMs ?? DEFAULT_BACKOFF_MS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw invalidRequest('invalid_job', `maxAttempts must be a positive integer, got ${maxAttempts}`);
  }
  if (!Number.isFinite(backoffMs) || backoffMs < 0) {
    throw invalidRequest('invalid_job', `backoffMs must be a non-negative number, got ${backoffMs}`);
  }
  const runAt = job.runAt ?? clock.now();
  if (!Number.isFinite(runAt)) throw invalidRequest('invalid_job', `runAt must be epoch milliseconds, got ${runAt}`);
  return { name: job.name, data: job.data ?? {}, runAt: Math.round(runAt), maxAttempts, backoffMs: Math.round(backoffMs) };
}

export function checkConcurrency(concurrency: number | undefined): number {
  const n = concurrency ?? 1;
  if (!Number.isInteger(n) || n < 1) throw invalidRequest('invalid_concurrency', `concurrency must be a positive integer, got ${n}`);
  return n;
}

/** Delay before the retry that follows failed attempt `attempt` (1-based): backoff · 2^(attempt-1). */
export function retryDelayMs(backoffMs: number, attempt: number): number {
  return backoffMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30);
}
