import type { AgentSpec, AsyncChannel } from '../../core/agent.ts';
import type { Conversation, Item } from '../../core/conversation.ts';
import type { CustomerMemory } from '../../core/memory.ts';
import { errorMessage } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { renderTemplate, templateVars } from '../../engine/index.ts';
import type { QueuedJob } from '../../store/index.ts';
import { runActivation, type ActivationResult } from './activation.ts';
import { activationMemory } from '../memory/recall.ts';
import { summariseConversation } from '../memory/summarise.ts';
import { queueDelivery, queueSend } from './delivery.ts';
import { agentOrThrow, scheduleTimeout, scheduleTurn } from './inbound.ts';
import type { AsyncDeps } from './types.ts';

/**
 * How long a node holds a conversation's turn without renewing it: a node that dies mid-turn
 * gives the conversation up after this long (the stall sweep in service.ts then re-queues it).
 */
const LEASE_MS = 20_000;
const LEASE_RENEW_MS = 5_000;

/** The item that makes the agent write first (proactive outreach), stored like any other. */
export const PROACTIVE_EVENT = 'The business starts this conversation: write the first message to the customer.';

/**
 * Runs the next turn of an async conversation: one turn at a time per conversation across the
 * cluster (a lease on the conversation row), answering every message that arrived since the last
 * turn together (DESIGN.md rule 5).
 */
export async function runTurnJob(deps: AsyncDeps, job: QueuedJob): Promise<void> {
  const conversationId = String(job.data.conversationId);
  const { store, clock } = deps;
  const owner = `${deps.nodeId}/${job.id}`;
  if (!(await store.conversations.acquireLease(conversationId, owner, clock.now() + LEASE_MS, clock.now()))) {
    // Another turn runs: its holder looks for new messages after releasing the lease, and if the
    // holder dies, the stall sweep re-queues the conversation once the lease has expired.
    return;
  }
  // Renewed on wall-clock time while the turn runs (a model may take longer than the lease).
  const renew = setInterval(() => {
    store.conversations.acquireLease(conversationId, owner, clock.now() + LEASE_MS, clock.now()).catch(() => undefined);
  }, LEASE_RENEW_MS);
  renew.unref();
  try {
    const conv = await store.conversations.get(conversationId);
    if (!conv || conv.status === 'ended' || conv.mode !== 'async') return;
    const agent = agentOrThrow(deps, conv.agent);
    const pending = await store.items.listAwaitingAnswer(conv.id);
    if (pending.length === 0) return;
    const newest = Math.max(...pending.map((i) => i.createdAt));
    const debounce = agent.async.debounceMs[conv.channel as AsyncChannel] ?? 0;
    if (debounce > 0 && newest + debounce > clock.now()) {
      await scheduleTurn(deps, conv.id, newest + debounce);
      return;
    }
    await answer(deps, conv, agent, pending);
  } finally {
    clearInterval(renew);
    await store.conversations.releaseLease(conversationId, owner);
  }
  // Messages that arrived while this turn ran are answered next, in order. Pending is per item
  // (`answered_turn`), not "after the last answered id": ids from two nodes' clocks interleave, and
  // a text committed during this turn may carry an older id than the ones it answered.
  const after = await store.conversations.get(conversationId);
  if (after && after.status !== 'ended') {
    const more = await store.items.listAwaitingAnswer(conversationId);
    if (more.length > 0) await scheduleTurn(deps, conversationId, clock.now());
  }
}

async function setStatus(deps: AsyncDeps, conv: Conversation, status: 'active' | 'suspended'): Promise<void> {
  await deps.store.conversations.update(conv.id, { status }, deps.clock.now());
  deps.events.publish({ conversationId: conv.id, kind: 'status', status });
}

async function answer(deps: AsyncDeps, conv: Conversation, agent: AgentSpec, pending: Item[]): Promise<void> {
  const { store, clock } = deps;
  const started = clock.monotonic();
  await setStatus(deps, conv, 'active');
  const all = await store.items.list(conv.id);
  // Context is everything but the texts still awaiting an answer. Not "everything before the first
  // pending text": a text that arrived during the previous turn is stored before that turn's answer,
  // and a cut-off there would hide the answer from this turn. Read after `all`, so a text stored in
  // between is left out of both (the next turn answers it).
  const waiting = new Set((await store.items.listAwaitingAnswer(conv.id)).map((i) => i.id));
  const history = all.filter((i) => !waiting.has(i.id));
  const customer = conv.customerId ? await store.customers.get(conv.customerId) : undefined;
  const memory = await activationMemory(store, { agent, customerId: conv.customerId, conversationId: conv.id, nowMs: clock.now() }, deps.logger);
  let result: ActivationResult;
  const proactive = pending.length === 1 && pending[0]!.type === 'event' && agent.greeting;
  if (proactive) {
    result = greetingResult(agent, conv, customer, clock, memory.memory);
  } else {
    try {
      result = await runActivation({
        pool: deps.pool, clock, agent, conversation: conv, ...(customer ? { customer } : {}),
        history, input: pending, timeoutMs: agent.turnTimeoutMs + 5_000, ...memory, ...(deps.requests ? { requests: deps.requests } : {}),
        onItem: (item) => store.items.append(item).then((r) => deps.events.publish({ conversationId: conv.id, kind: 'item', itemId: r.item.id })),
      });
    } catch (err) {
      // Back to suspended so the retry (the queue's backoff) starts from a clean state.
      await setStatus(deps, conv, 'suspended');
      deps.logger.error({ conversationId: conv.id, err: errorMessage(err) }, 'async turn failed');
      throw err;
    }
  }
  if (result.error) deps.logger.warn({ conversationId: conv.id, code: result.error.code }, 'async turn: model error');
  await commitAnswer(deps, conv, agent, pending, result, clock.monotonic() - started);
}

function greetingResult(agent: AgentSpec, conv: Conversation, customer: Awaited<ReturnType<AsyncDeps['store']['customers']['get']>>, clock: AsyncDeps['clock'], memory?: CustomerMemory): ActivationResult {
  const vars = templateVars({ agent, conversation: conv, ...(customer ? { customer } : {}), ...(memory ? { memory } : {}), clock });
  return { turnId: newId('turn'), text: renderTemplate(agent.greeting ?? '', vars).trim(), endRequested: false, metrics: { durationMs: 0, steps: 0 } };
}

/** Another turn committed an answer to some of these messages first (this one's lease had expired). */
class AnsweredElsewhere extends Error {}

/**
 * The agent's message, its delivery records and the answered marks of the messages it answers
 * (`items.answered_turn`) commit together, so a crash before this point re-runs the turn and a
 * crash after it sends the stored reply: never both, never neither.
 */
async function commitAnswer(
  deps: AsyncDeps, conv: Conversation, agent: AgentSpec, pending: Item[], result: ActivationResult, durationMs: number,
): Promise<void> {
  const { store, clock } = deps;
  const now = clock.now();
  const item: Item | undefined = result.text.trim()
    ? {
        id: newId('itm', now), conversationId: conv.id, role: 'agent', type: 'message', text: result.text,
        interrupted: false, turnId: result.turnId, metrics: { ...result.metrics, turnMs: durationMs }, createdAt: now,
      }
    : undefined;
  let committed: { outboundIds: string[]; endedMeanwhile: boolean };
  try {
    committed = await store.transaction(async (tx) => {
      const marked = await tx.items.markAnswered(pending.map((i) => i.id), result.turnId);
      if (marked !== pending.length) throw new AnsweredElsewhere();
      let outboundIds: string[] = [];
      if (item) {
        await tx.items.append(item);
        outboundIds = await queueDelivery(tx, deps, conv, agent, item, pending);
      }
      // Ended while the turn ran (API, a newer conversation): the answer stands, the end too.
      const endedMeanwhile = (await tx.conversations.get(conv.id))?.status === 'ended';
      const suspend = !result.endRequested && !endedMeanwhile;
      await tx.conversations.update(conv.id, { lastActivityAt: now, ...(suspend ? { status: 'suspended' as const } : {}) }, now);
      return { outboundIds, endedMeanwhile };
    });
  } catch (err) {
    if (!(err instanceof AnsweredElsewhere)) throw err;
    deps.logger.warn({ conversationId: conv.id, turnId: result.turnId }, 'async turn: its messages were answered by another turn; answer dropped');
    return;
  }
  deps.metrics.turnDurationSeconds.observe({ agent: agent.id, channel: conv.channel, interrupted: 'false' }, durationMs / 1000);
  if (item) deps.events.publish({ conversationId: conv.id, kind: 'item', itemId: item.id });
  // One record per part, in order: the first part queues the next once it is sent.
  if (committed.outboundIds[0]) await queueSend(deps, committed.outboundIds[0]);
  if (result.endRequested) {
    const ended = await store.conversations.end(conv.id, 'agent', now);
    if (ended?.ended) deps.events.publish({ conversationId: conv.id, kind: 'status', status: 'ended', endedReason: 'agent' });
    if (ended?.ended) await summariseConversation(store, conv.id, deps.logger, (a) => deps.agents.get(a));
  } else if (!committed.endedMeanwhile) {
    deps.events.publish({ conversationId: conv.id, kind: 'status', status: 'suspended' });
    await scheduleTimeout(deps, conv.id, agent, conv.channel as AsyncChannel);
  }
}
