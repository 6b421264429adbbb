import type { AgentSpec } from '../../core/agent.ts';
import type { Conversation, Item } from '../../core/conversation.ts';
import { newId } from '../../core/ids.ts';
import { queueDelivery, queueSend, replyAddressOf } from './delivery.ts';
import { agentOrThrow, retryOnOpenConflict, scheduleTimeout } from './inbound.ts';
import type { AsyncDeps, ReplyAddress } from './types.ts';

/** An agent message to post on a customer's SMS or email conversation, outside of its turns. */
export interface AgentMessageRequest {
  agentId: string;
  channel: 'sms' | 'email';
  customerId: string;
  text: string;
  /** The customer's number or address, and ours. */
  reply: ReplyAddress;
  /** Idempotency key: the same key twice stores one message and sends it once. */
  key: string;
  /** Kept on the item (e.g. the conversation it was sent from). */
  data?: Record<string, unknown>;
}

export interface PostedMessage {
  conversation: Conversation;
  item: Item;
  /** False when a message with this key was already posted (nothing new is stored or sent). */
  created: boolean;
}

/**
 * Posts an agent message in the customer's open conversation with this agent on this channel (the
 * one their next text or email lands in), or in a new one, and delivers it the way turn answers
 * are delivered (DESIGN.md rule 4): the item and its outbound records commit together, keyed by
 * `key` (the item's externalId) and (item, part), then the send job leaves once per record.
 */
export async function postAgentMessage(deps: AsyncDeps, req: AgentMessageRequest): Promise<PostedMessage> {
  const agent = agentOrThrow(deps, req.agentId);
  const posted = await retryOnOpenConflict(() => postOnce(deps, agent, req));
  if (posted.created) {
    deps.events.publish({ conversationId: posted.conversation.id, kind: 'item', itemId: posted.item.id });
    await scheduleTimeout(deps, posted.conversation.id, agent, req.channel);
  }
  // Also for a repeat: a record not sent yet gets a job; a send job for a record sent does nothing.
  if (posted.outboundIds[0]) await queueSend(deps, posted.outboundIds[0]);
  return { conversation: posted.conversation, item: posted.item, created: posted.created };
}

async function postOnce(deps: AsyncDeps, agent: AgentSpec, req: AgentMessageRequest): Promise<PostedMessage & { outboundIds: string[] }> {
  const { store } = deps;
  const now = deps.clock.now();
  const open = await store.conversations.findOpenAsync({ customerId: req.customerId, agent: agent.id, channel: req.channel });
  const conversation: Conversation = open ?? {
    id: newId('conv', now), agent: agent.id, channel: req.channel, mode: 'async', status: 'suspended',
    customerId: req.customerId, context: {}, createdAt: now, updatedAt: now, lastActivityAt: now,
  };
  const reply = open ? threaded(req.reply, replyAddressOf(await store.items.list(open.id))) : req.reply;
  const item: Item = {
    id: newId('itm', now), conversationId: conversation.id, role: 'agent', type: 'message', text: req.text,
    interrupted: false, externalId: req.key, data: { ...req.data, reply }, createdAt: now,
  };
  return store.transaction(async (tx) => {
    // Fails with conversation_open when another node opened one meanwhile: run again, find it.
    if (!open) await tx.conversations.create(conversation);
    const appended = await tx.items.append(item);
    if (!appended.created) {
      const outboundIds = (await tx.outbound.listByItem(appended.item.id)).map((r) => r.id);
      return { conversation, item: appended.item, created: false, outboundIds };
    }
    await tx.conversations.update(conversation.id, { lastActivityAt: now }, now);
    const outboundIds = await queueDelivery(tx, deps, conversation, agent, appended.item, [appended.item]);
    return { conversation, item: appended.item, created: true, outboundIds };
  });
}

/** An email goes on the thread of the customer's last message in that conversation. */
function threaded(reply: ReplyAddress, last: ReplyAddress | undefined): ReplyAddress {
  if (!last) return reply;
  return {
    ...reply,
    ...(last.subject ? { subject: last.subject } : {}),
    ...(last.messageId ? { messageId: last.messageId } : {}),
    ...(last.references ? { references: last.references } : {}),
  };
}
