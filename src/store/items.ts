import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import type { Item, ItemRole } from '../core/conversation.ts';
import { invalidRequest } from './errors.ts';
import type { Db, Executor } from './executor.ts';
import { itemToRow, rowToItem } from './rows.ts';
import type { Database } from './schema.ts';

export interface AppendResult {
  /** The stored item: the new one, or for a duplicate `externalId` the one stored first. */
  item: Item;
  /** False when an item with the same `externalId` already existed in the conversation. */
  created: boolean;
}

export interface ItemListQuery {
  /** Only items after this one (exclusive). */
  afterId?: string;
  /** At most this many; all when absent. */
  limit?: number;
}

export interface ItemRepository {
  /**
   * Stores an item; resolves once it is durable (DESIGN.md rule 4: accept, persist, then act).
   * Idempotent on (conversationId, externalId) when `externalId` is set.
   */
  append(item: Item): Promise<AppendResult>;
  /** Oldest first (item ids sort by creation time). */
  list(conversationId: string, query?: ItemListQuery): Promise<Item[]>;
  get(id: string): Promise<Item | undefined>;
  /** The conversation's items after `afterId` (all when undefined), oldest first, optionally of one role. */
  listAfter(conversationId: string, afterId: string | undefined, filter?: { role?: ItemRole }): Promise<Item[]>;
  /**
   * Async conversations: the customer messages (and proactive-outreach events: system events) no
   * committed turn has answered yet, oldest first, whatever their ids (see `markAnswered`).
   */
  listAwaitingAnswer(conversationId: string): Promise<Item[]>;
  /**
   * Records that turn `turnId` answered these items; items already answered (by another turn) are
   * left alone. Returns how many this call marked.
   */
  markAnswered(ids: readonly string[], turnId: string): Promise<number>;
}

export function itemRepository(ex: Executor): ItemRepository {
  return {
    append: (item) => ex.run('items.append', () => ex.write((db) => append(db, item))),

    list: (conversationId, query = {}) =>
      ex.run('items.list', async () => {
        let q = ex.db.selectFrom('items').selectAll().where('conversation_id', '=', conversationId);
        if (query.afterId !== undefined) q = q.where('id', '>', query.afterId);
        if (query.limit !== undefined) {
          if (!Number.isInteger(query.limit) || query.limit < 1) {
            throw invalidRequest('invalid_limit', `limit must be a positive integer, got ${query.limit}`);
          }
          q = q.limit(query.limit);
        }
        const rows = await q.orderBy('id', 'asc').execute();
        return rows.map(rowToItem);
      }),

    get: (id) =>
      ex.run('items.get', async () => {
        const row = await ex.db.selectFrom('items').selectAll().where('id', '=', id).executeTakeFirst();
        return row && rowToItem(row);
      }),

    listAfter: (conversationId, afterId, filter = {}) =>
      ex.run('items.listAfter', async () => {
        let q = ex.db.selectFrom('items').selectAll().where('conversation_id', '=', conversationId);
        if (afterId !== undefined) q = q.where('id', '>', afterId);
        if (filter.role !== undefined) q = q.where('role', '=', filter.role);
        const rows = await q.orderBy('id', 'asc').execute();
        return rows.map(rowToItem);
      }),

    listAwaitingAnswer: (conversationId) =>
      ex.run('items.listAwaitingAnswer', async () => {
        const rows = await ex.db
          .selectFrom('items')
          .selectAll()
          .where('conversation_id', '=', conversationId)
          .where('answered_turn', 'is', null)
          .where((eb) => awaitsAnswer(eb))
          .orderBy('id', 'asc')
          .execute();
        return rows.map(rowToItem);
      }),

    markAnswered: (ids, turnId) =>
      ex.run('items.markAnswered', async () => {
        if (ids.length === 0) return 0;
        const result = await ex.write((db) =>
          db
            .updateTable('items')
            .set({ answered_turn: turnId })
            .where('id', 'in', [...ids])
            .where('answered_turn', 'is', null)
            .executeTakeFirst(),
        );
        return Number(result.numUpdatedRows);
      }),
  };
}

/** An item a turn answers: a customer message, or a system event (proactive outreach). */
function awaitsAnswer(eb: ExpressionBuilder<Database, 'items'>): Expression<SqlBool> {
  return eb.or([
    eb.and([eb('role', '=', 'user'), eb('type', '=', 'message')]),
    eb.and([eb('role', '=', 'system'), eb('type', '=', 'event')]),
  ]);
}

async function append(db: Db, item: Item): Promise<AppendResult> {
  const row = itemToRow(item);
  if (row.external_id === null) {
    const inserted = await db.insertInto('items').values(row).returningAll().executeTakeFirstOrThrow();
    return { item: rowToItem(inserted), created: true };
  }
  // ON CONFLICT DO NOTHING rather than catching the error: a failed statement would abort a
  // surrounding Postgres transaction, and a concurrent duplicate waits for the first to commit.
  const inserted = await db
    .insertInto('items')
    .values(row)
    .onConflict((oc) => oc.columns(['conversation_id', 'external_id']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { item: rowToItem(inserted), created: true };
  const existing = await db
    .selectFrom('items')
    .selectAll()
    .where('conversation_id', '=', row.conversation_id)
    .where('external_id', '=', row.external_id)
    .executeTakeFirstOrThrow();
  return { item: rowToItem(existing), created: false };
}
