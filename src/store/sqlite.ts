import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type SqliteDatabase,
  type SqliteStatement,
} from 'kysely';

export const SQLITE_FILE = 'operator.db';

/**
 * Opens `<dataDir>/operator.db`, creating the folder. WAL + `synchronous=FULL`: a COMMIT returns
 * only once the WAL is fsynced, which is what "acknowledged = durable" (DESIGN.md rule 4) needs.
 * `busy_timeout` covers a second process (e.g. `operator migrate`) holding the write lock; the
 * wait is synchronous, so it blocks this thread for at most that long.
 */
export function openSqliteFile(dataDir: string): DatabaseSync {
  mkdirSync(dataDir, { recursive: true });
  const db = new DatabaseSync(join(dataDir, SQLITE_FILE));
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = FULL');
    db.exec('PRAGMA foreign_keys = ON');
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** The better-sqlite3-shaped database Kysely's SQLite driver expects, over `node:sqlite`. */
export function asKyselySqlite(db: DatabaseSync): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => db.close(),
    prepare(sql) {
      let stmt = cache.get(sql);
      if (stmt === undefined) {
        if (cache.size >= 500) cache.clear();
        stmt = statement(db.prepare(sql));
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}

function statement(stmt: StatementSync): SqliteStatement {
  const bind = (params: ReadonlyArray<unknown>) => params as SQLInputValue[];
  return {
    // A statement returns rows iff it has result columns (SELECT, RETURNING, some PRAGMAs).
    reader: stmt.columns().length > 0,
    all: (params) => stmt.all(...bind(params)),
    run: (params) => stmt.run(...bind(params)),
    iterate: (params) => stmt.iterate(...bind(params)),
  };
}

/**
 * Kysely's SQLite dialect with two changes: transactions start with `BEGIN IMMEDIATE`, so a write
 * transaction takes the file's write lock up front instead of failing with SQLITE_BUSY when it
 * upgrades from reading while another process writes; and DDL runs in transactions (SQLite
 * supports it), so a migration is all or nothing and two processes migrating serialise.
 */
export class NodeSqliteDialect extends SqliteDialect {
  readonly #database: SqliteDatabase;

  constructor(database: SqliteDatabase) {
    super({ database });
    this.#database = database;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database });
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}
