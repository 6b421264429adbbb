import { sql, type Kysely } from 'kysely';
import { guard } from './errors.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { Database } from './schema.ts';

export type StoreDialect = 'sqlite' | 'postgres';
export type Db = Kysely<Database>;
export type WriteOp<T> = (db: Db) => Promise<T>;

/**
 * How repositories reach the database. Reads use `db`; writes go through `write` or `atomic`, so
 * the same repository code runs at top level (SQLite: group commit; Postgres: the pool) and
 * inside `store.transaction()` (the transaction's connection).
 */
export interface Executor {
  readonly dialect: StoreDialect;
  readonly db: Db;
  /** Runs one repository operation: database errors become `storage_error`s. */
  run<T>(operation: string, fn: () => Promise<T>): Promise<T>;
  /** A write whose statements need not commit together (each single statement is atomic). */
  write<T>(op: WriteOp<T>): Promise<T>;
  /** A write whose statements commit together or not at all. */
  atomic<T>(op: WriteOp<T>): Promise<T>;
}

export function postgresExecutor(db: Db, lifecycle: Lifecycle): Executor {
  return {
    dialect: 'postgres',
    db,
    run: (operation, fn) => lifecycle.run(operation, fn),
    write: (op) => op(db),
    atomic: (op) => db.transaction().execute(op),
  };
}

/**
 * Inside a transaction every write runs in a savepoint on the transaction's connection, so a
 * failed write (a duplicate, a retried race) leaves the transaction usable on both dialects.
 */
export function transactionExecutor(trx: Db, dialect: StoreDialect): Executor {
  return {
    dialect,
    db: trx,
    run: guard,
    write: (op) => inSavepoint(trx, op),
    atomic: (op) => inSavepoint(trx, op),
  };
}

let savepoints = 0;

/**
 * Runs `op` so that its failure undoes only its own statements and leaves the surrounding
 * transaction usable (Postgres aborts a whole transaction on an error otherwise).
 */
export async function inSavepoint<T>(db: Db, op: WriteOp<T>): Promise<T> {
  const name = sql.id(`op_${(savepoints = (savepoints + 1) % 1_000_000)}`);
  await sql`savepoint ${name}`.execute(db);
  let result: T;
  try {
    result = await op(db);
  } catch (err) {
    await sql`rollback to savepoint ${name}`.execute(db);
    await sql`release savepoint ${name}`.execute(db);
    throw err;
  }
  await sql`release savepoint ${name}`.execute(db);
  return result;
}
