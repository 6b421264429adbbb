import type { AgentSpec, AsyncChannel } from '../../core/agent.ts';
import type { Conversation, Item } from '../../core/conversation.ts';
import { OperatorError, asOperatorError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { OutboundRecord, QueuedJob, Repositories } from '../../store/index.ts';
import { messageIdFor } from '../../channels/email/compose.ts';
import { normalizeMessageId } from '../../channels/email/thread.ts';
import { splitSms, toPlainSms } from '../../channels/twilio/sms-codec.ts';
import { JOB_SEND, type AsyncDeps, type ChannelSender, type ReplyAddress } from './types.ts';

/** The address of the newest customer message that carries one (proactive events carry one too). */
export function replyAddressOf(items: Item[]): ReplyAddress | undefined {
  for (let i = items.length - 1; i >= 0; i--) {
    const reply = (items[i]!.data as { reply?: ReplyAddress } | undefined)?.reply;
    if (reply) return reply;
  }
  return undefined;
}

function outbound(
  conv: Conversation, item: Item, part: number, to: string, from: string, body: string, payload: Record<string, unknown>, now: number,
): OutboundRecord {
  return {
    id: newId('msg', now), conversationId: conv.id, itemId: item.id, part, channel: conv.channel, to, from, body, payload,
    status: 'pending', attempts: 0, createdAt: now, updatedAt: now,
  };
}

/**
 * Records what must be sent for an agent message, inside the transaction that stores it
 * (DESIGN.md rule 4: recorded with an idempotency key — the record id — before it leaves).
 * Returns the ids of the records to send.
 */
export async function queueDelivery(
  tx: Repositories, deps: AsyncDeps, conv: Conversation, agent: AgentSpec, item: Item, answered: Item[],
): Promise<string[]> {
  const now = deps.clock.now();
  const reply = replyAddressOf(answered);
  const records: OutboundRecord[] = [];
  const channel = conv.channel as AsyncChannel;
  if (channel === 'sms' && reply) {
    splitSms(toPlainSms(item.text)).forEach((p, i) => records.push(outbound(conv, item, i, reply.to, reply.from, p.text, {}, now)));
  } else if (channel === 'email' && reply) {
    const id = newId('msg', now);
    const messageId = normalizeMessageId(messageIdFor(id, reply.from))!;
    const rec = outbound(conv, item, 0, reply.to, reply.from, item.text, {
      messageId,
      ...(reply.fromName ? { fromName: reply.fromName } : {}),
      subject: reply.subject ?? `A message from ${agent.name}`,
      ...(reply.messageId ? { inReplyTo: reply.messageId } : {}),
      references: [...(reply.references ?? []), ...(reply.messageId ? [reply.messageId] : [])],
    }, now);
    records.push({ ...rec, id });
    // A reply to our reply (In-Reply-To: our Message-ID) must land in this conversation.
    await tx.threads.link(conv.id, [messageId]);
  } else if (channel === 'chat' && agent.webhook) {
    records.push(outbound(conv, item, 0, agent.webhook.url, agent.id, item.text, {}, now));
  }
  const ids: string[] = [];
  for (const r of records) {
    const { record } = await tx.outbound.create(r);
    ids.push(record.id);
  }
  return ids;
}

const MAX_BACKOFF_MS = 60_000;
/** Attempts of one record before it is given up ('failed'); the queue's job allows as many. */
const MAX_ATTEMPTS = 8;
/**
 * How long a claim on a record lasts: longer than a send can take (the provider's request timeout,
 * 10 s, plus a reconciliation), so it only expires when its node died or hung. Then another node
 * (or this one, restarted) may take the record over, reconciling first.
 */
export const SEND_CLAIM_MS = 60_000;
const DONE = ['sent', 'delivered', 'suppressed', 'failed', 'undelivered'];

/** Queues the send of one outbound record (at `runAt`, default now). */
export function queueSend(deps: AsyncDeps, outboundId: string, runAt?: number): Promise<string> {
  return deps.queue.send({ name: JOB_SEND, data: { outboundId }, ...(runAt === undefined ? {} : { runAt }), maxAttempts: MAX_ATTEMPTS, backoffMs: 1000 });
}

/**
 * Sends one outbound record, once across the cluster: the job sends only what it claimed
 * (`outbound.claim`, one atomic UPDATE), so a retried job, the one `recover` queues at a node's
 * start and another node's job for the same record cannot send it twice. A record already sent is
 * not sent again; an opted-out SMS recipient gets nothing. Retryable failures are recorded on the
 * record (visible on the item) and thrown so the queue retries with backoff.
 *
 * The parts of a long SMS leave one after the other, each once the one before is done (sent or
 * given up): sent concurrently they would reach the customer in any order. Only the first part is
 * queued with the reply; each part queues the next.
 */
export async function runSendJob(deps: AsyncDeps, job: QueuedJob): Promise<void> {
  const { store, clock } = deps;
  const id = String(job.data.outboundId);
  const rec = await store.outbound.get(id);
  if (!rec || DONE.includes(rec.status)) return;
  const parts = rec.part > 0 || rec.channel === 'sms' ? await store.outbound.listByItem(rec.itemId) : [rec];
  const before = parts.find((p) => p.part === rec.part - 1);
  if (before && !DONE.includes(before.status)) return; // queued again when that part is done
  const claimed = await store.outbound.claim(id, deps.nodeId, clock.now(), SEND_CLAIM_MS);
  if (!claimed) {
    await lookAgainLater(deps, id);
    return;
  }
  await attempt(deps, claimed);
  const next = parts.find((p) => p.part === rec.part + 1);
  if (next) await queueSend(deps, next.id);
}

/**
 * The record could not be claimed: done (nothing to do), not due yet, or being sent by a live
 * claim. In the last two cases look again when that ends, so the record cannot be left without a
 * job if its sender dies.
 */
async function lookAgainLater(deps: AsyncDeps, id: string): Promise<void> {
  const now = await deps.store.outbound.get(id);
  if (!now || DONE.includes(now.status)) return;
  const at = now.status === 'sending' ? now.claimUntil : now.nextAttemptAt;
  if (at !== undefined && at > deps.clock.now()) await queueSend(deps, id, at);
}

async function attempt(deps: AsyncDeps, rec: OutboundRecord): Promise<void> {
  const { store, clock } = deps;
  if (rec.channel === 'sms' && (await store.optOuts.has('sms', rec.to))) {
    await store.outbound.update(rec.id, { status: 'suppressed', lastError: 'recipient opted out (STOP)' }, clock.now());
    return;
  }
  const sender = deps.senders[rec.channel as AsyncChannel];
  if (!sender) {
    await store.outbound.update(rec.id, { status: 'failed', lastError: `the ${rec.channel} channel is not configured` }, clock.now());
    return;
  }
  try {
    // An earlier attempt started (its claim expired, its node restarted, or it failed in a way that
    // may hide a success, such as a timeout): it may have reached the provider. Ask before resending.
    const adopted = rec.attempts > 1 ? await reconcile(deps, sender, rec) : undefined;
    const { providerId } = adopted ? { providerId: adopted } : await sender.send(rec);
    if (adopted) deps.logger.info({ conversationId: rec.conversationId, outboundId: rec.id, providerId }, 'delivery found already sent; not sent again');
    await store.outbound.update(rec.id, { status: 'sent', lastError: null, nextAttemptAt: null, ...(providerId ? { providerId } : {}) }, clock.now());
    deps.events.publish({ conversationId: rec.conversationId, kind: 'item', itemId: rec.itemId });
  } catch (err) {
    const e = asOperatorError(err, 'delivery_failed');
    const last = rec.attempts >= MAX_ATTEMPTS || !e.retryable;
    const next = last ? null : clock.now() + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (rec.attempts - 1));
    await store.outbound.update(
      rec.id, { status: last ? 'failed' : 'retrying', lastError: `${e.code}: ${e.message}`, nextAttemptAt: next }, clock.now(),
    );
    deps.logger.warn({ conversationId: rec.conversationId, outboundId: rec.id, code: e.code, attempt: rec.attempts }, 'delivery failed');
    if (!last) throw new OperatorError(e.kind, e.code, e.message, { cause: err });
  }
}

/**
 * The provider's id of a message an earlier attempt of `rec` got through, if the channel can tell
 * (`ChannelSender.reconcile`: SMS lists what Twilio sent). A message already adopted by another
 * record (an identical reply of another turn) is not this one's.
 */
async function reconcile(deps: AsyncDeps, sender: ChannelSender, rec: OutboundRecord): Promise<string | undefined> {
  if (!sender.reconcile) return undefined;
  let candidates: string[];
  try {
    candidates = await sender.reconcile(rec);
  } catch (err) {
    // A passing failure is retried like a failed send: nothing is resent unchecked. One that will
    // not pass (the credentials may not read messages) must not hold the reply back for good: a
    // possible second copy is better than none.
    const e = asOperatorError(err, 'delivery_reconcile_failed');
    if (e.retryable) throw e;
    deps.logger.warn({ conversationId: rec.conversationId, outboundId: rec.id, code: e.code }, 'delivery could not be checked with the provider; sending');
    return undefined;
  }
  for (const providerId of candidates) {
    const owner = await deps.store.outbound.findByProviderId(providerId);
    if (!owner || owner.id === rec.id) return providerId;
  }
  return undefined;
}
