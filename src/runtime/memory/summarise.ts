import type { Logger } from 'pino';
import { errorMessage } from '../../core/errors.ts';
import { summariseItems } from '../../engine/summary.ts';
import type { Store } from '../../store/index.ts';

/**
 * Makes and stores the summary of a conversation that has just ended, for the next conversation
 * with its customer. Extractive for every model for now (`engine/summary.ts`). Never throws: a
 * summary that cannot be made is logged and the conversation's end goes on.
 */
export async function summariseConversation(store: Store, conversationId: string, logger?: Pick<Logger, 'warn'>): Promise<void> {
  try {
    const conv = await store.conversations.get(conversationId);
    if (!conv?.customerId || conv.status !== 'ended') return; // no one to remember it for
    const items = await store.items.list(conversationId);
    if (!items.some((i) => i.type === 'message' && (i.role === 'user' || i.role === 'agent'))) return;
    const summary = summariseItems({ items, channel: conv.channel, ...(conv.endedReason ? { endedReason: conv.endedReason } : {}) });
    await store.memory.saveSummary({
      conversationId: conv.id,
      customerId: conv.customerId,
      agent: conv.agent,
      channel: conv.channel,
      text: summary.text,
      openItems: summary.openItems,
      createdAt: conv.endedAt ?? conv.updatedAt,
    });
  } catch (err) {
    logger?.warn({ conversationId, err: errorMessage(err) }, 'could not summarise the conversation');
  }
}
