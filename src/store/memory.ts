import type { Channel, Conversation, Item } from '../core/conversation.ts';
import type { ConversationSummary, MemoryHit, RecalledSummary } from '../core/memory.ts';
import { invalidRequest } from './errors.ts';
import type { Executor } from './executor.ts';
import { rowToConversation, rowToItem } from './rows.ts';

export interface RecallWindow {
  /** Only conversations from this time on (epoch ms). */
  sinceMs: number;
  /** At most this many results. */
  limit: number;
  /** Leave this conversation out (the one being started). */
  excludeConversationId?: string;
}

export interface MemoryRepository {
  /** Stores the summary of a conversation; a second save for the same conversation replaces the first. */
  saveSummary(summary: ConversationSummary): Promise<void>;
  getSummary(conversationId: string): Promise<ConversationSummary | undefined>;
  /** Summaries of the customer's ended conversations made since `sinceMs`, newest first. */
  recall(customerId: string, window: RecallWindow): Promise<RecalledSummary[]>;
  /**
   * Customer and agent messages of the customer's conversations created since `sinceMs` that
   * contain words of `query` (case-insensitive), most matching words first, then newest first.
   */
  search(customerId: string, query: string, window: RecallWindow): Promise<MemoryHit[]>;
  /** The customer's conversation with a customer message most recently active since `sinceMs`. */
  latestConversation(customerId: string, window: Omit<RecallWindow, 'limit'>): Promise<Conversation | undefined>;
  /** The last `limit` customer/agent messages of a conversation, oldest first. */
  lastMessages(conversationId: string, limit: number): Promise<Item[]>;
}

/** Words shorter than this, and these, say nothing about what to look for. */
const MIN_WORD = 3;
const STOP = new Set(['the', 'and', 'for', 'you', 'your', 'with', 'what', 'was', 'were', 'did', 'about', 'that', 'this', 'have', 'had', 'from', 'last', 'time', 'our', 'my', 'me', 'we', 'are', 'is']);
const MAX_WORDS = 8;
/** Candidates read from the database before ranking. */
const CANDIDATES = 200;

export function searchWords(query: string): string[] {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words.filter((w) => w.length >= MIN_WORD && !STOP.has(w)))].slice(0, MAX_WORDS);
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw invalidRequest('invalid_limit', `limit must be a positive integer, got ${limit}`);
}

export function memoryRepository(ex: Executor): MemoryRepository {
  return {
    saveSummary: (s) =>
      ex.run('memory.saveSummary', async () => {
        const row = {
          conversation_id: s.conversationId,
          customer_id: s.customerId,
          agent: s.agent,
          channel: s.channel,
          text: s.text,
          open_items: JSON.stringify(s.openItems),
          created_at: s.createdAt,
        };
        await ex.write((db) =>
          db
            .insertInto('summaries')
            .values(row)
            .onConflict((oc) => oc.column('conversation_id').doUpdateSet({ text: row.text, open_items: row.open_items, created_at: row.created_at }))
            .execute(),
        );
      }),

    getSummary: (conversationId) =>
      ex.run('memory.getSummary', async () => {
        const r = await ex.db.selectFrom('summaries').selectAll().where('conversation_id', '=', conversationId).executeTakeFirst();
        return r && toSummary(r);
      }),

    recall: (customerId, w) =>
      ex.run('memory.recall', async () => {
        checkLimit(w.limit);
        let q = ex.db
          .selectFrom('summaries as s')
          .innerJoin('conversations as c', 'c.id', 's.conversation_id')
          .selectAll('s')
          .select(['c.ended_at', 'c.ended_reason'])
          .where('s.customer_id', '=', customerId)
          .where('c.status', '=', 'ended')
          .where('s.created_at', '>=', w.sinceMs);
        if (w.excludeConversationId !== undefined) q = q.where('s.conversation_id', '<>', w.excludeConversationId);
        const rows = await q.orderBy('s.created_at', 'desc').orderBy('s.conversation_id', 'desc').limit(w.limit).execute();
        return rows.map((r): RecalledSummary => ({
          ...toSummary(r),
          endedAt: Number(r.ended_at ?? r.created_at),
          ...(r.ended_reason !== null ? { endedReason: r.ended_reason } : {}),
        }));
      }),

    ...readMethods(ex),
  };
}

function readMethods(ex: Executor): Pick<MemoryRepository, 'search' | 'latestConversation' | 'lastMessages'> {
  return {
    search: (customerId, query, w) =>
      ex.run('memory.search', async () => {
        checkLimit(w.limit);
        const words = searchWords(query);
        if (words.length === 0) return [];
        let q = ex.db
          .selectFrom('items as i')
          .innerJoin('conversations as c', 'c.id', 'i.conversation_id')
          .select(['i.conversation_id', 'i.role', 'i.text', 'i.created_at', 'c.channel'])
          .where('c.customer_id', '=', customerId)
          .where('c.created_at', '>=', w.sinceMs)
          .where('i.type', '=', 'message')
          .where('i.role', 'in', ['user', 'agent'])
          // `lower` on both sides: SQLite's LIKE ignores ASCII case only, Postgres's none.
          .where((eb) => eb.or(words.map((word) => eb(eb.fn('lower', ['i.text']), 'like', `%${word}%`))));
        if (w.excludeConversationId !== undefined) q = q.where('c.id', '<>', w.excludeConversationId);
        const rows = await q.orderBy('i.id', 'desc').limit(CANDIDATES).execute();
        const scored = rows.map((r, order) => {
          const text = r.text.toLowerCase();
          return { r, order, score: words.filter((word) => text.includes(word)).length };
        });
        scored.sort((a, b) => b.score - a.score || a.order - b.order);
        return scored.slice(0, w.limit).map(({ r }): MemoryHit => ({
          conversationId: r.conversation_id,
          channel: r.channel as Channel,
          role: r.role as 'user' | 'agent',
          text: r.text,
          createdAt: Number(r.created_at),
        }));
      }),

    latestConversation: (customerId, w) =>
      ex.run('memory.latestConversation', async () => {
        let q = ex.db
          .selectFrom('conversations as c')
          .selectAll('c')
          .where('c.customer_id', '=', customerId)
          .where('c.updated_at', '>=', w.sinceMs)
          .where((eb) =>
            eb.exists(
              eb
                .selectFrom('items as i')
                .select('i.id')
                .whereRef('i.conversation_id', '=', 'c.id')
                .where('i.role', '=', 'user')
                .where('i.type', '=', 'message'),
            ),
          );
        if (w.excludeConversationId !== undefined) q = q.where('c.id', '<>', w.excludeConversationId);
        const row = await q.orderBy('c.updated_at', 'desc').orderBy('c.id', 'desc').limit(1).executeTakeFirst();
        return row && rowToConversation(row);
      }),

    lastMessages: (conversationId, limit) =>
      ex.run('memory.lastMessages', async () => {
        checkLimit(limit);
        const rows = await ex.db
          .selectFrom('items')
          .selectAll()
          .where('conversation_id', '=', conversationId)
          .where('type', '=', 'message')
          .where('role', 'in', ['user', 'agent'])
          .orderBy('id', 'desc')
          .limit(limit)
          .execute();
        return rows.reverse().map(rowToItem);
      }),
  };
}

function toSummary(r: {
  conversation_id: string; customer_id: string; agent: string; channel: string; text: string; open_items: string; created_at: number;
}): ConversationSummary {
  return {
    conversationId: r.conversation_id,
    customerId: r.customer_id,
    agent: r.agent,
    channel: r.channel as Channel,
    text: r.text,
    openItems: JSON.parse(r.open_items) as string[],
    createdAt: Number(r.created_at),
  };
}
