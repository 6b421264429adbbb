import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { errorMessage } from '../../core/errors.ts';
import type { StoreDialect } from '../executor.ts';
import { init } from './0001_init.ts';
import { asyncConversations } from './0002_async.ts';
import { memory } from './0003_memory.ts';
import { asyncReliability } from './0004_async_reliability.ts';

/**
 * Every migration, by name. Names sort in the order they run (`NNNN_what`); a released migration
 * is never edited, only followed by a new one. Applied names are recorded in `kysely_migration`.
 */
export function migrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    '0001_init': init(dialect),
    '0002_async': asyncConversations(dialect),
    '0003_memory': memory(dialect),
    '0004_async_reliability': asyncReliability(dialect),
  };
}

export interface MigrationResult {
  /** Names of the migrations this call applied, in order (empty when already up to date). */
  applied: string[];
}

/**
 * Brings the schema up to date. Safe to run from several processes at once: on Postgres Kysely's
 * migrator holds a session advisory lock (`pg_advisory_lock`) around reading the applied list and
 * running the rest in one transaction, so a second process waits, then finds nothing to do; on
 * SQLite the transaction starts with BEGIN IMMEDIATE (the file's write lock), which serialises
 * the same way.
 */
export async function migrateToLatest(db: Kysely<unknown>, dialect: StoreDialect): Promise<MigrationResult> {
  const migrator = new Migrator({
    db,
    provider: inCode(migrations(dialect)),
    // Kysely checks for its bookkeeping tables in every schema of the database; naming the schema
    // in use keeps two Operator schemas in one Postgres database (tests, tenants) apart.
    ...(dialect === 'postgres' ? { migrationTableSchema: await currentSchema(db) } : {}),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName;
    const reason = errorMessage(error);
    throw new Error(failed === undefined ? reason : `migration ${failed} failed: ${reason}`, { cause: error });
  }
  return { applied: results.filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}

async function currentSchema(db: Kysely<unknown>): Promise<string> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  const schema = rows[0]?.schema;
  if (!schema) throw new Error('no current schema: the search_path names no existing schema');
  return schema;
}

function inCode(all: Record<string, Migration>): MigrationProvider {
  return { getMigrations: () => Promise.resolve(all) };
}
