import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../executor.ts';

/**
 * Conversations, their items, customers and their identifiers. Portable SQL: text, bigint (epoch
 * ms), integer (0/1 booleans), JSON as text.
 */
export function init(dialect: StoreDialect): Migration {
  // Cursors and item order compare ids as strings; in Postgres a locale collation could order them
  // differently from their bytes, so ids are compared bytewise ("C"), as SQLite does by default.
  const idType = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;

  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('customers')
        .addColumn('id', idType, (c) => c.primaryKey())
        .addColumn('name', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('customer_identifiers')
        .addColumn('customer_id', idType, (c) => c.notNull().references('customers.id').onDelete('cascade'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('customer_identifiers_pkey', ['type', 'value'])
        .execute();
      await db.schema
        .createIndex('customer_identifiers_customer')
        .on('customer_identifiers')
        .column('customer_id')
        .execute();

      await db.schema
        .createTable('conversations')
        .addColumn('id', idType, (c) => c.primaryKey())
        .addColumn('agent', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('ended_reason', 'text')
        .addColumn('customer_id', idType, (c) => c.references('customers.id').onDelete('cascade'))
        .addColumn('context', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .execute();
      // Lists page newest-first by id (ids sort by creation time), so the indexes end with id.
      await db.schema
        .createIndex('conversations_customer')
        .on('conversations')
        .columns(['customer_id', 'id'])
        .execute();
      await db.schema.createIndex('conversations_status').on('conversations').columns(['status', 'id']).execute();
      // Crash recovery (`endOrphaned`) looks for the live conversations of one node.
      await db.schema
        .createIndex('conversations_live_node')
        .on('conversations')
        .column('node_id')
        .where(sql.ref('status'), '<>', sql.lit('ended'))
        .execute();

      await db.schema
        .createTable('items')
        .addColumn('id', idType, (c) => c.primaryKey())
        .addColumn('conversation_id', idType, (c) =>
          c.notNull().references('conversations.id').onDelete('cascade'),
        )
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('interrupted', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('turn_id', 'text')
        .addColumn('tool_call_id', 'text')
        .addColumn('tool_name', 'text')
        .addColumn('data', 'text')
        .addColumn('attachments', 'text')
        .addColumn('external_id', 'text')
        .addColumn('metrics', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        // Idempotent appends (DESIGN.md rule 4); NULL external ids never collide.
        .addUniqueConstraint('items_external_id', ['conversation_id', 'external_id'])
        .execute();
      await db.schema.createIndex('items_conversation').on('items').columns(['conversation_id', 'id']).execute();
    },

    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('items').execute();
      await db.schema.dropTable('conversations').execute();
      await db.schema.dropTable('customer_identifiers').execute();
      await db.schema.dropTable('customers').execute();
    },
  };
}
