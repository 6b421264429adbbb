import { sql, type Kysely, type Migration, type RawBuilder } from 'kysely';
import type { StoreDialect } from '../executor.ts';

/**
 * Async conversations (issue 3): activity, progress and the turn lease on conversations; email
 * thread keys; outbound delivery records; opt-outs; stored attachments; the embedded work queue.
 * Portable SQL as in 0001 (ids compared bytewise on Postgres).
 */
export function asyncConversations(dialect: StoreDialect): Migration {
  const idType = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  const blobType = dialect === 'postgres' ? sql`bytea` : sql`blob`;

  return {
    async up(db: Kysely<unknown>) {
      await conversationColumns(db, idType);
      await threadsAndOutbound(db, idType);
      await optOutsAttachmentsJobs(db, idType, blobType);
    },

    async down(db: Kysely<unknown>) {
      for (const table of ['jobs', 'attachments', 'opt_outs', 'outbound', 'conversation_threads']) {
        await db.schema.dropTable(table).execute();
      }
      await db.schema.dropIndex('conversations_open_async').execute();
      for (const column of ['lease_until', 'lease_owner', 'answered_through', 'last_activity_at']) {
        await db.schema.alterTable('conversations').dropColumn(column).execute();
      }
    },
  };
}

type Type = RawBuilder<unknown>;

async function conversationColumns(db: Kysely<unknown>, idType: Type): Promise<void> {
  // SQLite adds one column per ALTER TABLE.
  const columns = [
    ['last_activity_at', sql`bigint`],
    ['answered_through', idType],
    ['lease_owner', sql`text`],
    ['lease_until', sql`bigint`],
  ] as const;
  for (const [name, type] of columns) await db.schema.alterTable('conversations').addColumn(name, type).execute();
  // Inbound messages look up the customer's open async conversation with this agent on this channel.
  await db.schema
    .createIndex('conversations_open_async')
    .on('conversations')
    .columns(['customer_id', 'agent', 'channel', 'status'])
    .execute();
}

async function threadsAndOutbound(db: Kysely<unknown>, idType: Type): Promise<void> {
  await db.schema
    .createTable('conversation_threads')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('conversation_id', idType, (c) => c.notNull().references('conversations.id').onDelete('cascade'))
    .execute();
  await db.schema
    .createIndex('conversation_threads_conversation')
    .on('conversation_threads')
    .column('conversation_id')
    .execute();

  await db.schema
    .createTable('outbound')
    .addColumn('id', idType, (c) => c.primaryKey())
    .addColumn('conversation_id', idType, (c) => c.notNull().references('conversations.id').onDelete('cascade'))
    .addColumn('item_id', idType, (c) => c.notNull().references('items.id').onDelete('cascade'))
    .addColumn('part', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('to_address', 'text', (c) => c.notNull())
    .addColumn('from_address', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('provider_id', 'text')
    .addColumn('last_error', 'text')
    .addColumn('next_attempt_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    // The idempotency key of a send (DESIGN.md rule 4): one record per part of an agent message.
    .addUniqueConstraint('outbound_item_part', ['item_id', 'part'])
    .execute();
  await db.schema.createIndex('outbound_provider').on('outbound').column('provider_id').execute();
  await db.schema.createIndex('outbound_due').on('outbound').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('outbound_conversation').on('outbound').columns(['conversation_id', 'id']).execute();
}

async function optOutsAttachmentsJobs(db: Kysely<unknown>, idType: Type, blobType: Type): Promise<void> {

  await db.schema
    .createTable('opt_outs')
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('opt_outs_pkey', ['channel', 'address'])
    .execute();

  await db.schema
    .createTable('attachments')
    .addColumn('id', idType, (c) => c.primaryKey())
    .addColumn('item_id', idType, (c) => c.references('items.id').onDelete('cascade'))
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('filename', 'text')
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('data', blobType, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('attachments_item').on('attachments').column('item_id').execute();

  await db.schema
    .createTable('jobs')
    .addColumn('id', idType, (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('run_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('backoff_ms', 'integer', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('locked_until', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jobs_due').on('jobs').columns(['state', 'run_at']).execute();
}
