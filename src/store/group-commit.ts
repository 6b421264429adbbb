import { sql } from 'kysely';
import { OperatorError } from '../core/errors.ts';
import type { Db, Executor, WriteOp } from './executor.ts';
import type { Lifecycle } from './lifecycle.ts';

interface Pending {
  op: WriteOp<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit for SQLite. `node:sqlite` is synchronous and every autocommit pays one fsync of
 * the WAL (`synchronous=FULL`, ~0.18 ms here), which would cap appends at a few thousand a second
 * and block the event loop for each. Instead, every write issued during one macrotask is queued,
 * and at `setImmediate` the whole queue runs in one `BEGIN IMMEDIATE … COMMIT`: one fsync for the
 * batch.
 *
 * The constraints this rests on:
 * - A write's promise settles only after COMMIT returned, so an acknowledged write is on disk.
 *   If BEGIN or COMMIT fails, every write of the batch is rejected: none of them is durable.
 * - Each write runs inside its own SAVEPOINT: one that fails (a constraint, a thrown error) is
 *   rolled back alone and rejected; the rest of the batch still commits. Per-item idempotency
 *   therefore holds inside a batch: a later duplicate sees the earlier row, uncommitted but in
 *   the same transaction.
 * - Ops run one after the other on the single connection, in arrival order, while the batch
 *   holds it (Kysely's connection mutex): an op must only use the `db` it is given and must not
 *   await unrelated I/O, or it stalls every other reader and writer of the store.
 * - Batches commit in order; a batch only starts in a later macrotask than the writes it holds.
 */
export class GroupCommit {
  readonly #db: Db;
  readonly #serialise: <T>(fn: () => Promise<T>) => Promise<T>;
  #queue: Pending[] = [];
  #scheduled = false;
  #running = false;
  #closed = false;

  /** `serialise` runs a batch exclusively among this process's stores on the same file. */
  constructor(db: Db, serialise: <T>(fn: () => Promise<T>) => Promise<T>) {
    this.#db = db;
    this.#serialise = serialise;
  }

  run<T>(op: WriteOp<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new OperatorError('server', 'storage_error', 'the store is closed'));
    return this.#enqueue(op);
  }

  /** Stops accepting writes and resolves once every queued write has committed or failed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#enqueue(() => Promise.resolve());
  }

  #enqueue<T>(op: WriteOp<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ op, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#running = true;
      const batch = this.#queue;
      this.#queue = [];
      void this.#commit(batch).finally(() => {
        this.#running = false;
        if (this.#queue.length > 0) this.#schedule();
      });
    });
  }

  async #commit(batch: Pending[]): Promise<void> {
    let outcomes: Outcome[];
    try {
      outcomes = await this.#serialise(() => this.#transact(batch));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.value);
      else p.reject(o.error);
    });
  }

  #transact(batch: Pending[]): Promise<Outcome[]> {
    return this.#db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const results: Outcome[] = [];
        for (const { op } of batch) results.push(await runInSavepoint(conn, op));
        await sql`commit`.execute(conn);
        return results;
      } catch (err) {
        await sql`rollback`.execute(conn).catch(() => {});
        throw err;
      }
    });
  }
}

/** The op's own failure is its outcome; a failure to manage the savepoint fails the batch. */
async function runInSavepoint(conn: Db, op: WriteOp<unknown>): Promise<Outcome> {
  await sql`savepoint batch_op`.execute(conn);
  let outcome: Outcome;
  try {
    outcome = { ok: true, value: await op(conn) };
  } catch (error) {
    outcome = { ok: false, error };
    await sql`rollback to savepoint batch_op`.execute(conn);
  }
  await sql`release savepoint batch_op`.execute(conn);
  return outcome;
}

/** SQLite at top level: every write, single or atomic, is one savepoint of the next group commit. */
export function sqliteExecutor(db: Db, queue: GroupCommit, lifecycle: Lifecycle): Executor {
  return {
    dialect: 'sqlite',
    db,
    run: (operation, fn) => lifecycle.run(operation, fn),
    write: (op) => queue.run(op),
    atomic: (op) => queue.run(op),
  };
}
