import type { Db, Executor, StoreDialect } from './executor.ts';
import type { JobRow } from './schema.ts';

export type JobState = 'created' | 'active' | 'failed';

/** A row of the embedded work queue (`queue/embedded.ts`); with pg-boss, jobs live in its schema. */
export interface JobRecord {
  id: string;
  name: string;
  data: Record<string, unknown>;
  state: JobState;
  runAt: number;
  /** Attempts started so far: a claim counts one. */
  attempts: number;
  maxAttempts: number;
  backoffMs: number;
  lastError?: string;
  createdAt: number;
}

export type NewJob = Omit<JobRecord, 'lastError' | 'state' | 'attempts'> & { state?: 'created' | 'active'; attempts?: number };

/**
 * The embedded queue's table. Use a `WorkQueue` to send and run jobs; inserting here directly
 * (e.g. inside `store.transaction`, atomically with other writes) is picked up by the embedded
 * dispatcher at its next poll.
 */
export interface JobRepository {
  insert(job: NewJob): Promise<void>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Oldest first; for tests and inspection. */
  list(filter?: { name?: string; state?: JobState }): Promise<JobRecord[]>;
  /** Names (among `names`) with jobs due at `nowMs`. A read: no write, no commit. */
  dueNames(names: string[], nowMs: number): Promise<string[]>;
  /** Atomically marks up to `limit` due jobs of `name` active (attempts + 1) and returns them. */
  claimDue(name: string, nowMs: number, limit: number): Promise<JobRecord[]>;
  /** The earliest run time of a waiting job among `names`. */
  nextRunAt(names: string[]): Promise<number | undefined>;
  /** Done: the row goes. */
  complete(id: string): Promise<void>;
  /** Back to waiting until `runAt`. */
  retry(id: string, runAtMs: number, error: string): Promise<void>;
  /** Attempts exhausted: kept as 'failed' with the error. */
  fail(id: string, error: string): Promise<void>;
  /**
   * After a restart (one node: whatever is 'active' was interrupted): back to 'created', due now;
   * a job interrupted on its last attempt is marked failed instead (a job that kills the process
   * must not kill it forever). Returns how many went back.
   */
  recoverActive(): Promise<number>;
}

export function jobRepository(ex: Executor): JobRepository {
  return { ...reads(ex), ...writes(ex) };
}

function reads(ex: Executor): Pick<JobRepository, 'get' | 'list' | 'dueNames' | 'nextRunAt'> {
  return {
    get: (id) =>
      ex.run('jobs.get', async () => {
        const row = await ex.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
        return row && rowToJob(row);
      }),

    list: (filter = {}) =>
      ex.run('jobs.list', async () => {
        let q = ex.db.selectFrom('jobs').selectAll();
        if (filter.name !== undefined) q = q.where('name', '=', filter.name);
        if (filter.state !== undefined) q = q.where('state', '=', filter.state);
        return (await q.orderBy('id', 'asc').execute()).map(rowToJob);
      }),

    dueNames: (names, nowMs) =>
      ex.run('jobs.dueNames', async () => {
        if (names.length === 0) return [];
        const rows = await ex.db
          .selectFrom('jobs')
          .select('name')
          .distinct()
          .where('state', '=', 'created')
          .where('run_at', '<=', nowMs)
          .where('name', 'in', names)
          .execute();
        return rows.map((r) => r.name);
      }),

    nextRunAt: (names) =>
      ex.run('jobs.nextRunAt', async () => {
        if (names.length === 0) return undefined;
        const row = await ex.db
          .selectFrom('jobs')
          .select((eb) => eb.fn.min('run_at').as('next'))
          .where('state', '=', 'created')
          .where('name', 'in', names)
          .executeTakeFirst();
        return row?.next === null || row?.next === undefined ? undefined : Number(row.next);
      }),
  };
}

function writes(ex: Executor): Omit<JobRepository, 'get' | 'list' | 'dueNames' | 'nextRunAt'> {
  return {
    insert: (job) =>
      ex.run('jobs.insert', async () => {
        await ex.write((db) =>
          db
            .insertInto('jobs')
            .values({
              id: job.id,
              name: job.name,
              data: JSON.stringify(job.data),
              state: job.state ?? 'created',
              run_at: job.runAt,
              attempts: job.attempts ?? 0,
              max_attempts: job.maxAttempts,
              backoff_ms: job.backoffMs,
              last_error: null,
              locked_until: null,
              created_at: job.createdAt,
            })
            .execute(),
        );
      }),

    claimDue: (name, nowMs, limit) => ex.run('jobs.claimDue', () => ex.atomic((db) => claim(db, ex.dialect, name, nowMs, limit))),

    complete: (id) =>
      ex.run('jobs.complete', async () => {
        await ex.write((db) => db.deleteFrom('jobs').where('id', '=', id).execute());
      }),

    retry: (id, runAtMs, error) =>
      ex.run('jobs.retry', async () => {
        await ex.write((db) =>
          db.updateTable('jobs').set({ state: 'created', run_at: runAtMs, last_error: error }).where('id', '=', id).execute(),
        );
      }),

    fail: (id, error) =>
      ex.run('jobs.fail', async () => {
        await ex.write((db) => db.updateTable('jobs').set({ state: 'failed', last_error: error }).where('id', '=', id).execute());
      }),

    recoverActive: () =>
      ex.run('jobs.recoverActive', () =>
        ex.atomic(async (db) => {
          await db
            .updateTable('jobs')
            .set({ state: 'failed', last_error: 'interrupted by a restart on its last attempt' })
            .where('state', '=', 'active')
            .whereRef('attempts', '>=', 'max_attempts')
            .execute();
          // Their run_at is already past (they were claimed when due): they run at once.
          const result = await db
            .updateTable('jobs')
            .set({ state: 'created', last_error: 'interrupted by a restart' })
            .where('state', '=', 'active')
            .executeTakeFirst();
          return Number(result.numUpdatedRows);
        }),
      ),
  };
}

async function claim(db: Db, dialect: StoreDialect, name: string, nowMs: number, limit: number): Promise<JobRecord[]> {
  let q = db
    .selectFrom('jobs')
    .select('id')
    .where('state', '=', 'created')
    .where('name', '=', name)
    .where('run_at', '<=', nowMs)
    .orderBy('run_at', 'asc')
    .orderBy('id', 'asc')
    .limit(limit);
  // Postgres: concurrent claimers skip each other's rows instead of all taking the same
  // ones (SQLite's write lock serialises claims anyway).
  if (dialect === 'postgres') q = q.forUpdate().skipLocked();
  const due = await q.execute();
  if (due.length === 0) return [];
  // Re-checking the state makes a concurrent claim of the same rows take none of them.
  const rows = await db
    .updateTable('jobs')
    .set((eb) => ({ state: 'active', attempts: eb('attempts', '+', 1) }))
    .where('id', 'in', due.map((r) => r.id))
    .where('state', '=', 'created')
    .returningAll()
    .execute();
  return rows.map(rowToJob).sort((a, b) => a.runAt - b.runAt || (a.id < b.id ? -1 : 1));
}

function rowToJob(r: JobRow): JobRecord {
  const j: JobRecord = {
    id: r.id,
    name: r.name,
    data: JSON.parse(r.data) as Record<string, unknown>,
    state: r.state as JobState,
    runAt: Number(r.run_at),
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    backoffMs: Number(r.backoff_ms),
    createdAt: Number(r.created_at),
  };
  if (r.last_error !== null) j.lastError = r.last_error;
  return j;
}
