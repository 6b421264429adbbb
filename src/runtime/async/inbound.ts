import type { AgentSpec } from '../../core/agent.ts';
import type { Conversation, Customer, Item } from '../../core/conversation.ts';
import { OperatorError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { Repositories } from '../../store/index.ts';
import { summariseConversation } from '../memory/summarise.ts';
import type { AsyncDeps, InboundMessage } from './types.ts';
import { JOB_TIMEOUT, JOB_TURN } from './types.ts';

export interface Accepted {
  conversation: Conversation;
  item: Item;
  /** False when the provider redelivered a message already stored. */
  created: boolean;
  conversationCreated: boolean;
}

/** Serialises accepts per (agent, channel, customer) on this node, so a burst opens one conversation. */
const locks = new Map<string, Promise<unknown>>();
async function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => undefined);
  locks.set(key, tail);
  try {
    return await run;
  } finally {
    if (locks.get(key) === tail) locks.delete(key);
  }
}

export function agentOrThrow(deps: AsyncDeps, id: string): AgentSpec {
  const agent = deps.agents.get(id);
  if (!agent) throw new OperatorError('not_found', 'agent_not_found', `No agent "${id}" is configured (see GET /v1/agents)`);
  return agent;
}

async function findConversation(deps: AsyncDeps, msg: InboundMessage, customer: Customer | undefined): Promise<Conversation | undefined> {
  const { store } = deps;
  if (msg.conversationId) {
    const conv = await store.conversations.get(msg.conversationId);
    if (!conv) throw new OperatorError('not_found', 'conversation_not_found', `No conversation ${msg.conversationId}`);
    if (conv.status === 'ended') {
      throw new OperatorError('conflict', 'conversation_ended', `Conversation ${conv.id} has ended; start a new one`);
    }
    if (conv.mode !== 'async') {
      throw new OperatorError('conflict', 'conversation_not_async', 'Messages to a live conversation go through its realtime socket');
    }
    return conv;
  }
  if (msg.forceNew) return undefined;
  if (msg.threadKeys?.length) {
    const threadId = await store.threads.find(msg.threadKeys);
    const thread = threadId ? await store.conversations.get(threadId) : undefined;
    if (thread && thread.status !== 'ended' && thread.agent === msg.agentId) return thread;
  }
  if (!customer) return undefined;
  return store.conversations.findOpenAsync({ customerId: customer.id, agent: msg.agentId, channel: msg.channel });
}

function newConversation(deps: AsyncDeps, msg: InboundMessage, customer: Customer | undefined): Conversation {
  const now = deps.clock.now();
  return {
    id: newId('conv', now),
    agent: msg.agentId,
    channel: msg.channel,
    mode: 'async',
    status: 'suspended',
    ...(customer ? { customerId: customer.id } : {}),
    context: msg.context ?? {},
    createdAt: now,
    updatedAt: now,
    lastActivityAt: now,
  };
}

/**
 * Accept, persist, then act (DESIGN.md rule 4): the message is stored — idempotently on the
 * provider's id — and its turn is queued durably before the caller acknowledges the provider.
 * `answerElsewhere` may take a new message over (a text to a customer's live call): when it
 * returns true, no turn is queued for it.
 */
export async function acceptInbound(
  deps: AsyncDeps, msg: InboundMessage, answerElsewhere?: (accepted: Accepted) => Promise<boolean>,
): Promise<Accepted> {
  const agent = agentOrThrow(deps, msg.agentId);
  const hasIdentity = Object.values(msg.customer).some((v) => typeof v === 'string' && v.length > 0);
  const lockKey = `${msg.agentId}|${msg.channel}|${msg.conversationId ?? JSON.stringify(msg.customer)}`;
  // The lock keeps a burst on this node from racing; across nodes the store's unique index on the
  // open conversation does, and the loser finds the winner's conversation on its retry.
  const { superseded, ...accepted } = await serialised(lockKey, () => retryOnOpenConflict(() => acceptOnce(deps, msg, hasIdentity)));
  await afterSuperseded(deps, superseded);
  if (accepted.created) {
    const debounce = agent.async.debounceMs[msg.channel];
    if (!(await answerElsewhere?.(accepted))) await scheduleTurn(deps, accepted.conversation.id, deps.clock.now() + debounce);
    await scheduleTimeout(deps, accepted.conversation.id, agent, msg.channel);
    deps.events.publish({ conversationId: accepted.conversation.id, kind: 'item', itemId: accepted.item.id });
  }
  return accepted;
}

async function acceptOnce(deps: AsyncDeps, msg: InboundMessage, hasIdentity: boolean): Promise<Accepted & { superseded: string[] }> {
  const now = deps.clock.now();
  const customer = hasIdentity ? await deps.store.customers.findOrCreate(msg.customer, now) : undefined;
  const existing = await findConversation(deps, msg, customer);
  const conversation = existing ?? newConversation(deps, msg, customer);
  const item: Item = {
    id: newId('itm', now),
    conversationId: conversation.id,
    role: 'user',
    type: 'message',
    text: msg.text,
    interrupted: false,
    data: { reply: msg.reply },
    ...(msg.attachments?.length ? { attachments: msg.attachments } : {}),
    ...(msg.externalId ? { externalId: msg.externalId } : {}),
    createdAt: now,
  };
  return deps.store.transaction(async (tx) => {
    // A new conversation: asked for (`forceNew`), it replaces the customer's open one; otherwise
    // there was none a moment ago, and if another node just opened one the create fails and the
    // retry appends there.
    let superseded: string[] = [];
    if (!existing && msg.forceNew) superseded = await createAsyncConversation(tx, conversation, now);
    else if (!existing) await tx.conversations.create(conversation);
    const appended = await tx.items.append(item);
    if (appended.created) {
      await tx.conversations.update(conversation.id, { lastActivityAt: now }, now);
      if (msg.threadKeys?.length) await tx.threads.link(conversation.id, msg.threadKeys);
    }
    return { conversation, item: appended.item, created: appended.created, conversationCreated: !existing, superseded };
  });
}

/**
 * Creates the new async conversation the API asked for (`POST /v1/conversations`), ending the
 * customer's open one with this agent on this channel first (reason `superseded`): on SMS and
 * email a customer has one open conversation per agent and channel (their next text must land
 * somewhere), and the new one replaces it. Chat conversations are addressed by id and may
 * coexist. Returns the ids of the conversations it ended. A concurrent creation elsewhere makes
 * `create` fail with `conversation_open`: run the whole transaction again (`retryOnOpenConflict`).
 */
export async function createAsyncConversation(tx: Repositories, conversation: Conversation, now: number): Promise<string[]> {
  const superseded: string[] = [];
  if (conversation.channel !== 'chat' && conversation.customerId) {
    const open = await tx.conversations.findOpenAsync({ customerId: conversation.customerId, agent: conversation.agent, channel: conversation.channel });
    const ended = open && (await tx.conversations.end(open.id, 'superseded', now));
    if (ended?.ended) superseded.push(ended.conversation.id);
  }
  await tx.conversations.create(conversation);
  return superseded;
}

/** Status events and memory summaries of conversations `createAsyncConversation` ended. */
export async function afterSuperseded(deps: AsyncDeps, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    deps.events.publish({ conversationId: id, kind: 'status', status: 'ended', endedReason: 'superseded' });
    await summariseConversation(deps.store, id, deps.logger, (a) => deps.agents.get(a));
  }
}

const OPEN_CONFLICT_ATTEMPTS = 3;

/** Runs `fn` again when another node opened the customer's conversation first (it is found then). */
export async function retryOnOpenConflict<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof OperatorError && err.code === 'conversation_open') || attempt >= OPEN_CONFLICT_ATTEMPTS) throw err;
    }
  }
}

export function scheduleTurn(deps: AsyncDeps, conversationId: string, runAt: number): Promise<string> {
  return deps.queue.send({ name: JOB_TURN, data: { conversationId }, runAt, maxAttempts: 5, backoffMs: 500 });
}

/** A durable inactivity timer; it ends the conversation only if nothing happened since it was set. */
export function scheduleTimeout(deps: AsyncDeps, conversationId: string, agent: AgentSpec, channel: 'sms' | 'email' | 'chat'): Promise<string> {
  const now = deps.clock.now();
  return deps.queue.send({
    name: JOB_TIMEOUT,
    data: { conversationId, setAt: now },
    runAt: now + agent.async.inactivityTimeoutMs[channel],
    maxAttempts: 10,
    backoffMs: 1000,
  });
}
