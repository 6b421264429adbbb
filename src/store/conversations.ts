import type { Channel, Conversation, ConversationStatus, EndedReason } from '../core/conversation.ts';
import { checkLimit, decodeCursor, encodeCursor } from './cursor.ts';
import type { Executor } from './executor.ts';
import { conversationToRow, rowToConversation } from './rows.ts';
import type { ConversationRow } from './schema.ts';

export interface ConversationListQuery {
  customerId?: string;
  status?: ConversationStatus;
  channel?: Channel;
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** 1 to 100; 20 when absent. */
  limit?: number;
}

export interface Page<T> {
  data: T[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

/** Fields that change after creation; null clears an optional field. */
export interface ConversationPatch {
  status?: ConversationStatus;
  endedReason?: EndedReason | null;
  endedAt?: number | null;
  context?: Record<string, unknown>;
  nodeId?: string | null;
}

export interface EndResult {
  conversation: Conversation;
  /** True when this call ended it; false when it had already ended (first reason and time kept). */
  ended: boolean;
}

export interface ConversationRepository {
  create(conversation: Conversation): Promise<Conversation>;
  get(id: string): Promise<Conversation | undefined>;
  /** Newest first. */
  list(query: ConversationListQuery): Promise<Page<Conversation>>;
  update(id: string, patch: ConversationPatch, updatedAt: number): Promise<Conversation | undefined>;
  /** Ends the conversation unless it has already ended; undefined for an unknown id. */
  end(id: string, reason: EndedReason, atMs: number): Promise<EndResult | undefined>;
  /**
   * Ends every live realtime conversation run by `nodeId`: after a crash nobody holds their
   * sockets any more. Async conversations survive a restart and are left alone. Returns the count.
   */
  endOrphaned(nodeId: string, reason: EndedReason, atMs: number): Promise<number>;
  /** Deletes the conversation and its items; false for an unknown id. */
  delete(id: string): Promise<boolean>;
}

export function conversationRepository(ex: Executor): ConversationRepository {
  return {
    create: (conversation) =>
      ex.run('conversations.create', async () => {
        const row = await ex.write((db) =>
          db.insertInto('conversations').values(conversationToRow(conversation)).returningAll().executeTakeFirstOrThrow(),
        );
        return rowToConversation(row);
      }),

    get: (id) =>
      ex.run('conversations.get', async () => {
        const row = await ex.db.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirst();
        return row && rowToConversation(row);
      }),

    list: (query) => ex.run('conversations.list', () => list(ex, query)),

    update: (id, patch, updatedAt) =>
      ex.run('conversations.update', async () => {
        const row = await ex.write((db) =>
          db
            .updateTable('conversations')
            .set(patchToRow(patch, updatedAt))
            .where('id', '=', id)
            .returningAll()
            .executeTakeFirst(),
        );
        return row && rowToConversation(row);
      }),

    end: (id, reason, atMs) =>
      ex.run('conversations.end', async () => {
        const row = await ex.write((db) =>
          db
            .updateTable('conversations')
            .set({ status: 'ended', ended_reason: reason, ended_at: atMs, updated_at: atMs })
            .where('id', '=', id)
            .where('status', '<>', 'ended')
            .returningAll()
            .executeTakeFirst(),
        );
        if (row) return { conversation: rowToConversation(row), ended: true };
        const current = await ex.db.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirst();
        return current && { conversation: rowToConversation(current), ended: false };
      }),

    endOrphaned: (nodeId, reason, atMs) =>
      ex.run('conversations.endOrphaned', async () => {
        const result = await ex.write((db) =>
          db
            .updateTable('conversations')
            .set({ status: 'ended', ended_reason: reason, ended_at: atMs, updated_at: atMs })
            .where('node_id', '=', nodeId)
            .where('mode', '=', 'realtime')
            .where('status', '<>', 'ended')
            .executeTakeFirst(),
        );
        return Number(result.numUpdatedRows);
      }),

    delete: (id) =>
      ex.run('conversations.delete', async () => {
        const result = await ex.write((db) => db.deleteFrom('conversations').where('id', '=', id).executeTakeFirst());
        return result.numDeletedRows > 0n;
      }),
  };
}

async function list(ex: Executor, query: ConversationListQuery): Promise<Page<Conversation>> {
  const limit = checkLimit(query.limit ?? 20);
  let q = ex.db.selectFrom('conversations').selectAll();
  if (query.customerId !== undefined) q = q.where('customer_id', '=', query.customerId);
  if (query.status !== undefined) q = q.where('status', '=', query.status);
  if (query.channel !== undefined) q = q.where('channel', '=', query.channel);
  if (query.cursor !== undefined) q = q.where('id', '<', decodeCursor(query.cursor, 'conv'));
  const rows = await q
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  return {
    data: page.map(rowToConversation),
    nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null,
  };
}

function patchToRow(patch: ConversationPatch, updatedAt: number): Partial<ConversationRow> {
  const row: Partial<ConversationRow> = { updated_at: updatedAt };
  if (patch.status !== undefined) row.status = patch.status;
  if (patch.endedReason !== undefined) row.ended_reason = patch.endedReason;
  if (patch.endedAt !== undefined) row.ended_at = patch.endedAt;
  if (patch.context !== undefined) row.context = JSON.stringify(patch.context);
  if (patch.nodeId !== undefined) row.node_id = patch.nodeId;
  return row;
}
