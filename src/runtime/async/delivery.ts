import type { AgentSpec, AsyncChannel } from '../../core/agent.ts';
import type { Conversation, Item } from '../../core/conversation.ts';
import { OperatorError, asOperatorError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { OutboundRecord, QueuedJob, Repositories } from '../../store/index.ts';
import { messageIdFor } from '../../channels/email/compose.ts';
import { normalizeMessageId } from '../../channels/email/thread.ts';
import { splitSms, toPlainSms } from '../../channels/twilio/sms-codec.ts';
import { JOB_SEND, type AsyncDeps, type ReplyAddress } from './types.ts';

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
const DONE = ['sent', 'delivered', 'suppressed', 'failed', 'undelivered'];

/** Queues the send of one outbound record. */
export function queueSend(deps: AsyncDeps, outboundId: string): Promise<string> {
  return deps.queue.send({ name: JOB_SEND, data: { outboundId }, maxAttempts: 8, backoffMs: 1000 });
}

/**
 * Sends one outbound record. A record already sent is not sent again (a retried job, a
 * recovered crash); an opted-out SMS recipient gets nothing. Retryable failures are recorded on
 * the record (visible on the item) and thrown so the queue retries with backoff.
 */
export async function runSendJob(deps: AsyncDeps, job: QueuedJob): Promise<void> {
  const id = String(job.data.outboundId);
  // After a restart a record can have two jobs (its own retry and the one `recover` queues); run
  // them one after the other, so the second sees the first's outcome instead of sending again.
  const prev = sendsInFlight.get(id) ?? Promise.resolve();
  const run = prev.then(() => sendRecord(deps, job, id));
  const tail = run.catch(() => undefined);
  sendsInFlight.set(id, tail);
  try {
    await run;
  } finally {
    if (sendsInFlight.get(id) === tail) sendsInFlight.delete(id);
  }
}

const sendsInFlight = new Map<string, Promise<unknown>>();

/**
 * The parts of a long SMS leave one after the other, each once the one before is done (sent or
 * given up): sent concurrently they would reach the customer in any order. Only the first part is
 * queued with the reply; each part queues the next.
 */
async function sendRecord(deps: AsyncDeps, job: QueuedJob, id: string): Promise<void> {
  const rec = await deps.store.outbound.get(id);
  if (!rec || DONE.includes(rec.status)) return;
  const parts = rec.part > 0 || rec.channel === 'sms' ? await deps.store.outbound.listByItem(rec.itemId) : [rec];
  const before = parts.find((p) => p.part === rec.part - 1);
  if (before && !DONE.includes(before.status)) return; // queued again when that part is done
  await attempt(deps, job, rec);
  const next = parts.find((p) => p.part === rec.part + 1);
  if (next) await queueSend(deps, next.id);
}

async function attempt(deps: AsyncDeps, job: QueuedJob, rec: OutboundRecord): Promise<void> {
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
  const attempts = rec.attempts + 1;
  await store.outbound.update(rec.id, { status: 'sending', attempts }, clock.now());
  try {
    const { providerId } = await sender.send({ ...rec, attempts });
    await store.outbound.update(rec.id, { status: 'sent', lastError: null, nextAttemptAt: null, ...(providerId ? { providerId } : {}) }, clock.now());
    deps.events.publish({ conversationId: rec.conversationId, kind: 'item', itemId: rec.itemId });
  } catch (err) {
    const e = asOperatorError(err, 'delivery_failed');
    const last = job.attempt >= 8 || !e.retryable;
    const next = last ? null : clock.now() + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (job.attempt - 1));
    await store.outbound.update(
      rec.id, { status: last ? 'failed' : 'retrying', lastError: `${e.code}: ${e.message}`, nextAttemptAt: next }, clock.now(),
    );
    deps.logger.warn({ conversationId: rec.conversationId, outboundId: rec.id, code: e.code, attempt: job.attempt }, 'delivery failed');
    if (!last) throw new OperatorError(e.kind, e.code, e.message, { cause: err });
  }
}
