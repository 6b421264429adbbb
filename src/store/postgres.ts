import pg from 'pg';
import { PostgresDialect } from 'kysely';

const INT8_OID = 20;

/**
 * A `pg` pool for Kysely. `bigint` (int8) columns hold epoch milliseconds and counts, all far below
 * 2^53, so they parse to JS numbers; the override is per pool, not pg's process-wide registry.
 */
export function openPostgresPool(databaseUrl: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    types: { getTypeParser: typeParser as pg.CustomTypesConfig['getTypeParser'] },
  });
  // An idle client losing its connection (server restart) emits 'error' on the pool; unhandled,
  // that would crash the process. The pool drops the client; the next query reports the failure.
  pool.on('error', () => {});
  return pool;
}

function typeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (oid === INT8_OID && format !== 'binary') return (value) => Number(value);
  return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
}

export function postgresDialect(pool: pg.Pool): PostgresDialect {
  return new PostgresDialect({ pool });
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}
