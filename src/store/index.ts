import { resolve } from 'node:path';
import { Kysely, sql } from 'kysely';
import { OperatorError } from '../core/errors.ts';
import { conversationRepository, type ConversationRepository } from './conversations.ts';
import { customerRepository, type CustomerRepository } from './customers.ts';
import { guard, storageError } from './errors.ts';
import { postgresExecutor, transactionExecutor, type Executor, type StoreDialect } from './executor.ts';
import { withFileLock } from './file-lock.ts';
import { GroupCommit, sqliteExecutor } from './group-commit.ts';
import { attachmentRepository, type AttachmentRepository } from './attachments.ts';
import { itemRepository, type ItemRepository } from './items.ts';
import { jobRepository, type JobRepository } from './jobs.ts';
import { memoryRepository, type MemoryRepository } from './memory.ts';
import { optOutRepository, type OptOutRepository } from './opt-outs.ts';
import { outboundRepository, type OutboundRepository } from './outbound.ts';
import { threadRepository, type ThreadRepository } from './threads.ts';
import { Lifecycle } from './lifecycle.ts';
import { migrateToLatest, type MigrationResult } from './migrations/index.ts';
import { isPostgresUrl, openPostgresPool, postgresDialect } from './postgres.ts';
import type { Database } from './schema.ts';
import { NodeSqliteDialect, SQLITE_FILE, asKyselySqlite, openSqliteFile } from './sqlite.ts';

export type { AttachmentContent, AttachmentRepository, NewAttachment, StoredAttachment } from './attachments.ts';
export type {
  ConversationListQuery,
  ConversationPatch,
  ConversationRepository,
  EndResult,
  OpenAsyncQuery,
  Page,
} from './conversations.ts';
export type { CustomerRepository } from './customers.ts';
export { identifiersOf, normaliseIdentifier } from './customers.ts';
export type { StoreDialect } from './executor.ts';
export type { AppendResult, ItemListQuery, ItemRepository } from './items.ts';
export type { JobRecord, JobRepository, JobState, NewJob } from './jobs.ts';
export type { MemoryRepository, RecallWindow } from './memory.ts';
export { searchWords } from './memory.ts';
export type { MigrationResult } from './migrations/index.ts';
export type { OptOutRepository } from './opt-outs.ts';
export type { NewOutbound, OutboundCreateResult, OutboundPatch, OutboundRecord, OutboundRepository } from './outbound.ts';
export { createEmbeddedQueue, createPgBossQueue } from './queue/index.ts';
export type { EmbeddedQueueOptions, EmbeddedWorkQueue, JobHandler, JobRequest, PgBossQueueOptions, QueueLogger, QueuedJob, WorkQueue } from './queue/index.ts';
export type { ThreadRepository } from './threads.ts';
export { SQLITE_FILE } from './sqlite.ts';

export interface Repositories {
  readonly conversations: ConversationRepository;
  readonly items: ItemRepository;
  readonly customers: CustomerRepository;
  readonly threads: ThreadRepository;
  readonly outbound: OutboundRepository;
  readonly optOuts: OptOutRepository;
  readonly attachments: AttachmentRepository;
  /** Conversation summaries and the customer's past messages (customer memory). */
  readonly memory: MemoryRepository;
  /** The embedded work queue's table (see `createEmbeddedQueue`). */
  readonly jobs: JobRepository;
}

export interface Store extends Repositories {
  readonly dialect: StoreDialect;
  /** This process's node id: realtime conversations it runs carry it (see `endOrphaned`). */
  readonly nodeId: string;
  /** Applies the migrations not yet applied; safe to call from several processes at once. */
  migrate(): Promise<MigrationResult>;
  /**
   * Runs `fn` atomically: its writes commit together, or not at all if it throws (the error is
   * passed through). Use only the repositories it is given. On SQLite the transaction holds the
   * only connection, so `fn` must not wait on anything but the store.
   */
  transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T>;
  /** Waits for queued writes, then closes the database. */
  close(): Promise<void>;
}

export interface StoreOptions {
  /** `postgres://…` selects PostgreSQL; absent, the embedded SQLite file is used. */
  databaseUrl?: string;
  /** Folder of the embedded store (`<dataDir>/operator.db`). */
  dataDir: string;
  nodeId: string;
}

export async function openStore(options: StoreOptions): Promise<Store> {
  const { databaseUrl } = options;
  if (databaseUrl !== undefined && databaseUrl !== '') {
    if (!isPostgresUrl(databaseUrl)) {
      throw new OperatorError('invalid_request', 'config_invalid', 'DATABASE_URL must start with postgres:// or postgresql://');
    }
    return openPostgres(databaseUrl, options.nodeId);
  }
  return openSqlite(options.dataDir, options.nodeId);
}

function repositories(ex: Executor): Repositories {
  return {
    conversations: conversationRepository(ex),
    items: itemRepository(ex),
    customers: customerRepository(ex),
    threads: threadRepository(ex),
    outbound: outboundRepository(ex),
    optOuts: optOutRepository(ex),
    attachments: attachmentRepository(ex),
    memory: memoryRepository(ex),
    jobs: jobRepository(ex),
  };
}

async function openSqlite(dataDir: string, nodeId: string): Promise<Store> {
  const database = await guard('openStore', () => Promise.resolve(openSqliteFile(dataDir)));
  const db = new Kysely<Database>({ dialect: new NodeSqliteDialect(asKyselySqlite(database)) });
  const file = resolve(dataDir, SQLITE_FILE);
  const exclusive = <T>(fn: () => Promise<T>) => withFileLock(file, fn);
  const queue = new GroupCommit(db, exclusive);
  const lifecycle = new Lifecycle();
  return makeStore({
    dialect: 'sqlite',
    nodeId,
    lifecycle,
    executor: sqliteExecutor(db, queue, lifecycle),
    migrate: () => exclusive(() => migrateToLatest(db as Kysely<unknown>, 'sqlite')),
    // A transaction is one more op of the group commit: it runs inside its own savepoint.
    transaction: (fn) => queue.run((conn) => fn(repositories(transactionExecutor(conn, 'sqlite')))),
    close: async () => {
      await queue.close();
      await db.destroy();
    },
  });
}

async function openPostgres(databaseUrl: string, nodeId: string): Promise<Store> {
  const db = new Kysely<Database>({ dialect: postgresDialect(openPostgresPool(databaseUrl)) });
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => {});
    throw storageError('openStore', err);
  }
  const lifecycle = new Lifecycle();
  return makeStore({
    dialect: 'postgres',
    nodeId,
    lifecycle,
    executor: postgresExecutor(db, lifecycle),
    migrate: () => migrateToLatest(db as Kysely<unknown>, 'postgres'),
    transaction: (fn) => db.transaction().execute((trx) => fn(repositories(transactionExecutor(trx, 'postgres')))),
    close: () => db.destroy(),
  });
}

interface StoreParts {
  dialect: StoreDialect;
  nodeId: string;
  lifecycle: Lifecycle;
  executor: Executor;
  migrate(): Promise<MigrationResult>;
  transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

function makeStore(parts: StoreParts): Store {
  const { lifecycle } = parts;
  let closing: Promise<void> | undefined;
  return {
    ...repositories(parts.executor),
    dialect: parts.dialect,
    nodeId: parts.nodeId,
    migrate: () => lifecycle.run('migrate', () => parts.migrate()),
    transaction: <T>(fn: (tx: Repositories) => Promise<T>) =>
      lifecycle.track('transaction', async () => {
        // Errors of `fn` pass through as thrown; those of BEGIN/COMMIT are storage errors.
        let thrown: { error: unknown } | undefined;
        try {
          return await parts.transaction(async (tx) => {
            try {
              return await fn(tx);
            } catch (error) {
              thrown = { error };
              throw error;
            }
          });
        } catch (err) {
          if (thrown !== undefined && thrown.error === err) throw err;
          throw storageError('transaction', err);
        }
      }),
    close: () =>
      (closing ??= guard('close', async () => {
        await lifecycle.close();
        await parts.close();
      })),
  };
}
