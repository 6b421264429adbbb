import type { Channel, Item } from '../../core/conversation.ts';
import { errorMessage } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { Accepted } from './inbound.ts';
import type { AsyncDeps } from './types.ts';

/** A live conversation of this node, as the async side reaches it (runtime/live-conversation.ts). */
export interface LiveContextTarget {
  readonly conversation: { readonly id: string; readonly channel: Channel };
  /** Stores the item in the live conversation and hands it to its engine; undefined once it has ended. */
  addContext(fields: Pick<Item, 'text' | 'data' | 'attachments'> & { externalId: string }): Promise<Item | undefined>;
}

/** The customer's live conversation with this agent on this node, if any (the Runtime). */
export type LiveLookup = (customerId: string, agentId: string) => LiveContextTarget | undefined;

/** How a text appears in the live conversation's transcript and its model's history. */
export const SMS_PREFIX = '[SMS] ';

/**
 * A text from a customer who is on a live conversation with the same agent (they text while they
 * call): it goes into the call's context, and the SMS conversation gets no answer of its own — the
 * agent answers on the call. In order: the text is already stored in its SMS conversation (no turn
 * queued yet); it is stored in the call's conversation and handed to its engine; then, in one
 * transaction, it is marked answered (`items.answered_turn`, what the async turns go by) together
 * with an event saying where. If the call ended meanwhile, false: the text gets its SMS turn as
 * usual. A crash between the two steps leaves the text unanswered in its SMS conversation, so
 * recovery answers it by SMS (a second answer, never none).
 */
export async function answerInLiveConversation(deps: AsyncDeps, lookup: LiveLookup, accepted: Accepted): Promise<boolean> {
  const { conversation, item } = accepted;
  if (conversation.channel !== 'sms' || !conversation.customerId) return false;
  const live = lookup(conversation.customerId, conversation.agent);
  if (!live) return false;
  let added: Item | undefined;
  try {
    added = await live.addContext({
      text: `${SMS_PREFIX}${item.text}`,
      // The MessageSid: a redelivered webhook stores nothing twice in the call either.
      externalId: `sms:${item.externalId ?? item.id}`,
      data: { channel: conversation.channel, conversationId: conversation.id, itemId: item.id },
      ...(item.attachments?.length ? { attachments: item.attachments } : {}),
    });
  } catch (err) {
    deps.logger.warn({ conversationId: conversation.id, liveConversationId: live.conversation.id, err: errorMessage(err) }, 'could not add a text to the live conversation');
  }
  if (!added) return false;
  const now = deps.clock.now();
  const turnId = newId('turn', now);
  const where = live.conversation.channel === 'voice' ? 'call' : 'conversation';
  const event: Item = {
    id: newId('itm', now), conversationId: conversation.id, role: 'system', type: 'event',
    text: `answered in the live ${where} ${live.conversation.id}`, interrupted: false, turnId,
    data: { answeredIn: live.conversation.id, itemId: item.id }, createdAt: now,
  };
  // The event is a system event, which async turns answer too: marked with the text, by one "turn".
  await deps.store.transaction(async (tx) => {
    await tx.items.append(event);
    await tx.items.markAnswered([item.id, event.id], turnId);
  });
  deps.events.publish({ conversationId: conversation.id, kind: 'item', itemId: event.id });
  deps.logger.info({ conversationId: conversation.id, liveConversationId: live.conversation.id }, 'text added to the live conversation');
  return true;
}
