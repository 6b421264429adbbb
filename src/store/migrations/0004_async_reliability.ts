import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../executor.ts';

/**
 * Async reliability across nodes (issue 3, "Reliability"):
 * - `outbound.claim_owner` / `claim_until`: the node sending a record and until when (an atomic
 *   claim, so two nodes never send one record at once; an expired claim may be taken over).
 * - `items.answered_turn`: the turn that answered a customer message (or proactive event). Pending
 *   messages are those without one, whatever their id: ids from two nodes' clocks interleave, so
 *   "newer than the last answered id" could miss a message committed late with an older id.
 *   Messages at or before the old `conversations.answered_through` are marked answered.
 * - One open async conversation per (customer, agent, channel) on SMS and email: a partial unique
 *   index, so two nodes accepting a new customer's first texts at once open one conversation. Chat
 *   is left out: its messages name their conversation, and a customer may hold several chats.
 *   Duplicates left by earlier versions are ended (reason `superseded`), the newest kept open.
 */
export function asyncReliability(_dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      // SQLite adds one column per ALTER TABLE.
      await db.schema.alterTable('outbound').addColumn('claim_owner', 'text').execute();
      await db.schema.alterTable('outbound').addColumn('claim_until', 'bigint').execute();
      await db.schema.alterTable('items').addColumn('answered_turn', 'text').execute();

      await sql`
        update items set answered_turn = ${BACKFILLED}
        where ((role = 'user' and type = 'message') or (role = 'system' and type = 'event'))
          and exists (
            select 1 from conversations c
            where c.id = items.conversation_id and c.answered_through is not null and items.id <= c.answered_through
          )`.execute(db);

      const now = Date.now();
      await sql`
        update conversations
        set status = 'ended', ended_reason = 'superseded', ended_at = ${now}, updated_at = ${now}
        where ${OPEN_ASYNC} and customer_id is not null
          and exists (
            select 1 from conversations n
            where n.customer_id = conversations.customer_id and n.agent = conversations.agent
              and n.channel = conversations.channel and n.mode = 'async' and n.status <> 'ended'
              and n.channel <> 'chat' and n.id > conversations.id
          )`.execute(db);
      await db.schema
        .createIndex(ONE_OPEN_ASYNC_INDEX)
        .unique()
        .on('conversations')
        .columns(['customer_id', 'agent', 'channel'])
        .where(OPEN_ASYNC)
        .execute();
    },

    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex(ONE_OPEN_ASYNC_INDEX).execute();
      await db.schema.alterTable('items').dropColumn('answered_turn').execute();
      await db.schema.alterTable('outbound').dropColumn('claim_until').execute();
      await db.schema.alterTable('outbound').dropColumn('claim_owner').execute();
    },
  };
}

/** The partial unique index behind "one open async conversation per customer, agent and channel". */
export const ONE_OPEN_ASYNC_INDEX = 'conversations_one_open_async';

/** `answered_turn` of the messages an earlier version had answered (by `answered_through`). */
const BACKFILLED = 'answered_through';

const OPEN_ASYNC = sql<boolean>`mode = 'async' and status <> 'ended' and channel <> 'chat'`;
