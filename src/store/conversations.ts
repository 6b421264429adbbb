import type { Channel, Conversation, ConversationStatus, EndedReason } from '../core/conversation.ts';
import { checkLimit, decodeCursor, encodeCursor } from './cursor.ts';
import { OperatorError } from '../core/errors.ts';
import { invalidRequest, isUniqueViolation } from './errors.ts';
import { ONE_OPEN_ASYNC_INDEX } from './migrations/0004_async_reliability.ts';
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
  lastActivityAt?: number | null;
  answeredThrough?: string | null;
}

export interface OpenAsyncQuery {
  customerId: string;
  agent: string;
  channel: Channel;
}

export interface EndResult {
  conversation: Conversation;
  /** True when this call ended it; false when it had already ended (first reason and time kept). */
  ended: boolean;
}

export interface ConversationRepository {
  /**
   * Fails with `conflict`/`conversation_open` when it would be the customer's second open async
   * conversation with this agent on this SMS or email channel (cluster-wide: a unique index), so
   * the caller can find the open one and use it.
   */
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
  /**
   * Retention: deletes the conversations (of `agent`, when given) that ended before `beforeMs`,
   * with everything hanging off them (items, summaries, deliveries, attachments). Returns the count.
   */
  purgeEndedBefore(beforeMs: number, agent?: string): Promise<number>;
  /** The customer's newest async conversation with this agent on this channel that has not ended. */
  findOpenAsync(query: OpenAsyncQuery): Promise<Conversation | undefined>;
  /**
   * Takes the conversation's turn lease (DESIGN.md rule 5: one writer) for `owner` until `untilMs`,
   * atomically across processes: granted when nobody holds it, when the holder's lease has expired
   * (`lease_until <= nowMs`), or when `owner` holds it already (the lease is then extended to
   * `untilMs`). False when someone else holds it, or for an unknown id.
   */
  acquireLease(id: string, owner: string, untilMs: number, nowMs: number): Promise<boolean>;
  /** Gives the lease back if `owner` holds it; otherwise does nothing. */
  releaseLease(id: string, owner: string): Promise<void>;
  /**
   * Crash recovery: ids of async conversations, not ended, with an item awaiting an answer (a user
   * message, or a system event: proactive outreach) that no committed turn has answered
   * (`items.listAwaitingAnswer`). Oldest conversation first.
   */
  listNeedingTurn(limit: number): Promise<string[]>;
}

export function conversationRepository(ex: Executor): ConversationRepository {
  return {
    create: (conversation) => ex.run('conversations.create', () => create(ex, conversation)),

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

    purgeEndedBefore: (beforeMs, agent) =>
      ex.run('conversations.purgeEndedBefore', async () => {
        const result = await ex.write((db) => {
          let q = db.deleteFrom('conversations').where('status', '=', 'ended').where('ended_at', '<', beforeMs);
          if (agent !== undefined) q = q.where('agent', '=', agent);
          return q.executeTakeFirst();
        });
        return Number(result.numDeletedRows);
      }),

    ...asyncMethods(ex),
  };
}

type AsyncMethods = Pick<ConversationRepository, 'findOpenAsync' | 'acquireLease' | 'releaseLease' | 'listNeedingTurn'>;

function asyncMethods(ex: Executor): AsyncMethods {
  return {
    findOpenAsync: ({ customerId, agent, channel }) =>
      ex.run('conversations.findOpenAsync', async () => {
        const row = await ex.db
          .selectFrom('conversations')
          .selectAll()
          .where('customer_id', '=', customerId)
          .where('agent', '=', agent)
          .where('channel', '=', channel)
          .where('status', '<>', 'ended')
          .where('mode', '=', 'async')
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst();
        return row && rowToConversation(row);
      }),

    acquireLease: (id, owner, untilMs, nowMs) =>
      ex.run('conversations.acquireLease', async () => {
        // One conditional UPDATE: the row lock (Postgres) or the write lock (SQLite) makes the
        // check and the take one step, so two contenders cannot both win.
        const result = await ex.write((db) =>
          db
            .updateTable('conversations')
            .set({ lease_owner: owner, lease_until: untilMs })
            .where('id', '=', id)
            .where((eb) =>
              eb.or([eb('lease_owner', 'is', null), eb('lease_until', '<=', nowMs), eb('lease_owner', '=', owner)]),
            )
            .executeTakeFirst(),
        );
        return result.numUpdatedRows > 0n;
      }),

    releaseLease: (id, owner) =>
      ex.run('conversations.releaseLease', async () => {
        await ex.write((db) =>
          db
            .updateTable('conversations')
            .set({ lease_owner: null, lease_until: null })
            .where('id', '=', id)
            .where('lease_owner', '=', owner)
            .execute(),
        );
      }),

    listNeedingTurn: (limit) =>
      ex.run('conversations.listNeedingTurn', async () => {
        if (!Number.isInteger(limit) || limit < 1) {
          throw invalidRequest('invalid_limit', `limit must be a positive integer, got ${limit}`);
        }
        const rows = await ex.db
          .selectFrom('conversations as c')
          .select('c.id')
          .where('c.mode', '=', 'async')
          .where('c.status', '<>', 'ended')
          .where((eb) =>
            eb.exists(
              eb
                .selectFrom('items as i')
                .select('i.id')
                .whereRef('i.conversation_id', '=', 'c.id')
                .where((eb) =>
                  eb.or([
                    eb.and([eb('i.role', '=', 'user'), eb('i.type', '=', 'message')]),
                    eb.and([eb('i.role', '=', 'system'), eb('i.type', '=', 'event')]),
                  ]),
                )
                .where('i.answered_turn', 'is', null),
            ),
          )
          .orderBy('c.id', 'asc')
          .limit(limit)
          .execute();
        return rows.map((r) => r.id);
      }),
  };
}

async function create(ex: Executor, conversation: Conversation): Promise<Conversation> {
  try {
    const row = await ex.write((db) =>
      db.insertInto('conversations').values(conversationToRow(conversation)).returningAll().executeTakeFirstOrThrow(),
    );
    return rowToConversation(row);
  } catch (err) {
    if (!isOpenAsyncConflict(err)) throw err;
    throw new OperatorError(
      'conflict', 'conversation_open',
      `The customer already has an open ${conversation.channel} conversation with agent "${conversation.agent}"`,
      { cause: err },
    );
  }
}

/** The unique index of 0004 refused the row: another open async conversation exists (maybe just created elsewhere). */
function isOpenAsyncConflict(err: unknown): boolean {
  if (!isUniqueViolation(err)) return false;
  const e = err as { constraint?: unknown; message?: unknown };
  if (e.constraint === ONE_OPEN_ASYNC_INDEX) return true; // Postgres names the index
  // SQLite names the columns: "UNIQUE constraint failed: conversations.customer_id, conversations.agent, …"
  return typeof e.message === 'string' && e.message.includes('conversations.customer_id');
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
  if (patch.lastActivityAt !== undefined) row.last_activity_at = patch.lastActivityAt;
  if (patch.answeredThrough !== undefined) row.answered_through = patch.answeredThrough;
  return row;
}
