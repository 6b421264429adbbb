import type { Logger } from 'pino';
import { errorMessage } from '../../core/errors.ts';
import { summariseItems } from '../../engine/summary.ts';
import type { AgentSpec } from '../../core/agent.ts';
import type { Store } from '../../store/index.ts';
import { modelSummary, usesLanguageModel } from './model-summary.ts';

/**
 * Makes and stores the summary of a conversation that has just ended, for the next conversation
 * with its customer: by the agent's language model when it has one (`model-summary.ts`), else — or
 * when the model fails or answers something unusable — extractive (`engine/summary.ts`). Never
 * throws: a summary that cannot be made is logged and the conversation's end goes on.
 */
export async function summariseConversation(
  store: Store,
  conversationId: string,
  logger?: Pick<Logger, 'warn'>,
  agentOf?: (id: string) => AgentSpec | undefined,
): Promise<void> {
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
    // The model's summary replaces the extractive one when it comes: a callback seconds later still
    // finds a summary, and the end of the conversation never waits on a model.
    const agent = agentOf?.(conv.agent);
    if (agent && usesLanguageModel(agent)) {
      void modelSummary(agent, items)
        .then(async (written) => {
          if (!written) return;
          // What only the platform knows (the line dropped) stays an open item.
          const facts = summary.openItems.filter((o) => o.startsWith('The conversation was cut off'));
          const openItems = [...facts, ...written.openItems];
          await store.memory.saveSummary({
            conversationId: conv.id, customerId: conv.customerId!, agent: conv.agent, channel: conv.channel,
            text: openItems.length > 0 ? `${written.text} Still open: ${openItems.join(' ')}` : written.text,
            openItems, createdAt: conv.endedAt ?? conv.updatedAt,
          });
        })
        .catch((err: unknown) => logger?.warn({ conversationId, err: errorMessage(err) }, 'the model could not summarise: the extractive summary stays'));
    }
  } catch (err) {
    logger?.warn({ conversationId, err: errorMessage(err) }, 'could not summarise the conversation');
  }
}
