import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../executor.ts';

/**
 * Customer memory (issue 5): one summary per ended conversation. It hangs off its conversation
 * (and its customer) ON DELETE CASCADE, so erasing a customer or purging a conversation erases it.
 */
export function memory(dialect: StoreDialect): Migration {
  const idType = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;

  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('summaries')
        .addColumn('conversation_id', idType, (c) => c.primaryKey().references('conversations.id').onDelete('cascade'))
        .addColumn('customer_id', idType, (c) => c.notNull().references('customers.id').onDelete('cascade'))
        .addColumn('agent', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('open_items', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      // Recall reads a customer's newest summaries.
      await db.schema.createIndex('summaries_customer').on('summaries').columns(['customer_id', 'created_at']).execute();
      // Retention purges ended conversations by age.
      await db.schema
        .createIndex('conversations_ended')
        .on('conversations')
        .columns(['status', 'ended_at'])
        .execute();
    },

    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('conversations_ended').execute();
      await db.schema.dropTable('summaries').execute();
    },
  };
}
