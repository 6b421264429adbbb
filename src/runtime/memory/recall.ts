import type { Worker } from 'node:worker_threads';
import type { AgentSpec } from '../../core/agent.ts';
import type { Item } from '../../core/conversation.ts';
import { errorMessage } from '../../core/errors.ts';
import type { CustomerMemory, MemoryHit } from '../../core/memory.ts';
import { fitMemory } from '../../engine/index.ts';
import type { Store } from '../../store/index.ts';
import type { ToWorker } from '../worker/protocol.ts';

/** Summaries read before fitting the budget: far more than any budget holds. */
const RECALL_LIMIT = 100;
/** Messages `recall_history` returns. */
const SEARCH_LIMIT = 8;

export interface RecallTarget {
  agent: AgentSpec;
  customerId: string;
  /** The conversation being started: never recalled into itself. */
  conversationId: string;
  nowMs: number;
}

/**
 * What a conversation starts with about its customer (issue 5): the summaries of their
 * conversations ended within the agent's recall window, newest first, and the last messages of
 * their most recent other conversation (ended or still open, on any channel) verbatim, fitted to
 * the agent's token budget. Undefined when the agent's memory is off.
 */
export async function assembleMemory(store: Store, t: RecallTarget): Promise<CustomerMemory | undefined> {
  const { recallWindowMs, tokenBudget, verbatimTurns } = t.agent.memory;
  if (recallWindowMs <= 0) return undefined;
  const window = { sinceMs: t.nowMs - recallWindowMs, excludeConversationId: t.conversationId };
  const [summaries, latest] = await Promise.all([
    store.memory.recall(t.customerId, { ...window, limit: RECALL_LIMIT }),
    verbatimTurns > 0 ? store.memory.latestConversation(t.customerId, window) : Promise.resolve(undefined),
  ]);
  const lastTurns = latest ? (await store.memory.lastMessages(latest.id, verbatimTurns)).map(bare) : [];
  const memory: CustomerMemory = {
    summaries,
    lastTurns,
    ...(latest
      ? {
          lastConversation: {
            id: latest.id, channel: latest.channel, status: latest.status,
            ...(latest.endedReason ? { endedReason: latest.endedReason } : {}),
            ...(latest.endedAt ? { endedAt: latest.endedAt } : {}),
          },
        }
      : {}),
  };
  return fitMemory(memory, tokenBudget);
}

/** Only what the prompt uses crosses into the worker (no reply addresses, no tool payloads). */
function bare(i: Item): Item {
  return { id: i.id, conversationId: i.conversationId, role: i.role, type: i.type, text: i.text, interrupted: i.interrupted, createdAt: i.createdAt };
}

/** `recall_history`: the customer's messages in the window matching `query` (the current conversation excluded). */
export function searchMemory(store: Store, t: RecallTarget, query: string): Promise<MemoryHit[]> {
  if (t.agent.memory.recallWindowMs <= 0) return Promise.resolve([]);
  return store.memory.search(t.customerId, query, {
    sinceMs: t.nowMs - t.agent.memory.recallWindowMs,
    limit: SEARCH_LIMIT,
    excludeConversationId: t.conversationId,
  });
}

/** Answers a worker's `recall` request; a failed search is answered too (the tool reports it). */
export function answerRecall(worker: Worker, id: number, search: () => Promise<MemoryHit[]>): void {
  const reply = (m: ToWorker): void => {
    try {
      worker.postMessage(m);
    } catch {
      // the worker is gone: nobody is waiting any more
    }
  };
  search().then(
    (hits) => reply({ t: 'recall.result', id, hits }),
    (err: unknown) => reply({ t: 'recall.result', id, hits: [], error: errorMessage(err) }),
  );
}

/**
 * `assembleMemory` for a conversation being activated: undefined without a customer, and a
 * failure is logged, never fatal (the conversation goes on without memory).
 */
export async function memoryAtStart(
  store: Store,
  t: Omit<RecallTarget, 'customerId'> & { customerId: string | undefined },
  logger: { warn(obj: object, msg: string): void },
): Promise<CustomerMemory | undefined> {
  if (t.customerId === undefined) return undefined;
  try {
    return await assembleMemory(store, { ...t, customerId: t.customerId });
  } catch (err) {
    logger.warn({ conversationId: t.conversationId, err: errorMessage(err) }, 'could not recall the customer memory');
    return undefined;
  }
}

/** The memory part of an async activation: the memory and the `recall_history` search, or nothing. */
export async function activationMemory(
  store: Store,
  t: Omit<RecallTarget, 'customerId'> & { customerId: string | undefined },
  logger: { warn(obj: object, msg: string): void },
): Promise<{ memory?: CustomerMemory; recall?: (query: string) => Promise<MemoryHit[]> }> {
  const memory = await memoryAtStart(store, t, logger);
  if (!memory || t.customerId === undefined) return {};
  const target = { ...t, customerId: t.customerId };
  return { memory, recall: (query) => searchMemory(store, target, query) };
}
