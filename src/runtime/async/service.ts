import type { AsyncChannel } from '../../core/agent.ts';
import type { Conversation, CustomerIdentity, EndedReason, Item } from '../../core/conversation.ts';
import { OperatorError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { QueuedJob } from '../../store/index.ts';
import { summariseConversation } from '../memory/summarise.ts';
import { postAgentMessage, type AgentMessageRequest, type PostedMessage } from './agent-message.ts';
import { queueSend, runSendJob } from './delivery.ts';
import {
  acceptInbound, afterSuperseded, agentOrThrow, createAsyncConversation, retryOnOpenConflict, scheduleTimeout, scheduleTurn, type Accepted,
} from './inbound.ts';
import { answerInLiveConversation, type LiveLookup } from './live-handoff.ts';
import { PROACTIVE_EVENT, runTurnJob } from './turn-job.ts';
import { JOB_SEND, JOB_TIMEOUT, JOB_TURN, type AsyncDeps, type InboundMessage, type ReplyAddress } from './types.ts';

export interface StartRequest {
  agentId: string;
  channel: AsyncChannel;
  customer: CustomerIdentity;
  context?: Record<string, unknown>;
  /** The customer speaks first; without it the agent writes first (proactive outreach). */
  message?: { text: string; attachments?: Item['attachments'] };
  /** Where replies go (SMS/email: the customer's number/address and ours). */
  reply: ReplyAddress;
}

/**
 * Async conversations (SMS, email, API chat): suspended in the store between messages, resumed
 * into a worker for each turn, ended by inactivity or explicitly. All work goes through the
 * durable queue, so a restart loses nothing.
 */
/** How often this node looks for work a dead node left behind. */
const SWEEP_INTERVAL_MS = 5_000;
/** How long an unanswered message or a due delivery may wait before the sweep re-queues it. */
const STALLED_MS = 10_000;

export class AsyncConversations {
  readonly deps: AsyncDeps;
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping = false;
  private live: LiveLookup | undefined;

  constructor(deps: AsyncDeps) {
    this.deps = deps;
  }

  /** Stops the stall sweep (the queue is stopped by its owner). */
  stop(): void {
    clearInterval(this.sweeper);
  }

  async start(): Promise<void> {
    const { queue } = this.deps;
    const guard = (fn: (job: QueuedJob) => Promise<void>) => (job: QueuedJob) => fn(job);
    queue.work(JOB_TURN, guard((job) => runTurnJob(this.deps, job)), { concurrency: 8 });
    queue.work(JOB_SEND, guard((job) => runSendJob(this.deps, job)), { concurrency: 8 });
    queue.work(JOB_TIMEOUT, guard((job) => this.onTimeout(job)), { concurrency: 4 });
    await queue.start();
    await this.recover();
    // A safety net on wall-clock time (not the injected clock: it must not fire thousands of times
    // when a test advances days): see `sweep`.
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /**
   * Work a dead node held comes back within seconds: a conversation whose oldest unanswered
   * message has waited longer than `STALLED_MS` (its node died mid-turn: the lease expires in
   * LEASE_MS) gets a new turn job, and so does a delivery left due or half-sent. Jobs are
   * idempotent (leases, claims), so an extra one costs a look and nothing else.
   */
  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    const { store, clock, logger } = this.deps;
    try {
      const now = clock.now();
      for (const id of await store.conversations.listNeedingTurn(200)) {
        const oldest = (await store.items.listAwaitingAnswer(id))[0];
        if (oldest && oldest.createdAt < now - STALLED_MS) await scheduleTurn(this.deps, id, now);
      }
      for (const rec of await store.outbound.listDue(now, 200)) {
        if ((rec.nextAttemptAt ?? rec.updatedAt) < now - STALLED_MS) await queueSend(this.deps, rec.id);
      }
    } catch (err) {
      logger.warn({ err: String(err) }, 'async sweep failed');
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * Where texts go while their sender is on a live conversation with the same agent on this node
   * (the Runtime's `liveFor`): into that conversation's context, with no SMS answer of their own.
   */
  answerTextsInLiveConversations(lookup: LiveLookup): void {
    this.live = lookup;
  }

  /** A customer message from a channel adapter (webhook, SMTP, API). */
  accept(msg: InboundMessage): Promise<Accepted> {
    const { live } = this;
    const elsewhere = live && msg.channel === 'sms' && !msg.forceNew ? (a: Accepted) => answerInLiveConversation(this.deps, live, a) : undefined;
    return acceptInbound(this.deps, msg, elsewhere);
  }

  /**
   * An agent message on the customer's SMS or email conversation with this agent, outside of its
   * turns (`send_message` during a call): stored and delivered like an answer, once per `key`.
   */
  postAgentMessage(req: AgentMessageRequest): Promise<PostedMessage> {
    return postAgentMessage(this.deps, req);
  }

  /** `POST /v1/conversations` on an async channel. */
  async startConversation(req: StartRequest): Promise<Conversation> {
    const { store, clock } = this.deps;
    const agent = agentOrThrow(this.deps, req.agentId);
    if (req.message) {
      const accepted = await this.accept({
        channel: req.channel, agentId: req.agentId, customer: req.customer, text: req.message.text,
        ...(req.message.attachments ? { attachments: req.message.attachments } : {}),
        ...(req.context ? { context: req.context } : {}), reply: req.reply, forceNew: true,
      });
      return accepted.conversation;
    }
    if (req.channel === 'sms' && req.reply.to && (await store.optOuts.has('sms', req.reply.to))) {
      throw new OperatorError('conflict', 'recipient_opted_out', `${req.reply.to} has opted out of text messages (STOP)`);
    }
    const proactive = req.channel !== 'chat';
    // API.md: only on sms/email does the agent write first; an empty chat waits for the customer.
    const { conv, superseded } = await retryOnOpenConflict(async () => {
      const now = clock.now();
      const customer = await store.customers.findOrCreate(req.customer, now);
      const conv: Conversation = {
        id: newId('conv', now), agent: agent.id, channel: req.channel, mode: 'async', status: 'suspended',
        customerId: customer.id, context: req.context ?? {}, createdAt: now, updatedAt: now, lastActivityAt: now,
      };
      const event: Item = {
        id: newId('itm', now), conversationId: conv.id, role: 'system', type: 'event', text: PROACTIVE_EVENT,
        interrupted: false, data: { reply: req.reply }, createdAt: now,
      };
      const superseded = await store.transaction(async (tx) => {
        const ended = await createAsyncConversation(tx, conv, now);
        if (proactive) await tx.items.append(event);
        return ended;
      });
      return { conv, superseded };
    });
    await afterSuperseded(this.deps, superseded);
    const now = clock.now();
    if (proactive) await scheduleTurn(this.deps, conv.id, now);
    await scheduleTimeout(this.deps, conv.id, agent, req.channel);
    return conv;
  }

  /** `conversation.end` for an async conversation. */
  async end(id: string, reason: EndedReason): Promise<void> {
    const r = await this.deps.store.conversations.end(id, reason, this.deps.clock.now());
    if (r?.ended) this.deps.events.publish({ conversationId: id, kind: 'status', status: 'ended', endedReason: reason });
    if (r?.ended) await summariseConversation(this.deps.store, id, this.deps.logger, (a) => this.deps.agents.get(a));
  }

  private async onTimeout(job: QueuedJob): Promise<void> {
    const id = String(job.data.conversationId);
    const setAt = Number(job.data.setAt);
    const conv = await this.deps.store.conversations.get(id);
    if (!conv || conv.status === 'ended') return;
    // A newer message or reply set a newer timer; this one is stale.
    if ((conv.lastActivityAt ?? conv.updatedAt) > setAt) return;
    if (conv.status === 'active') return; // a turn is running; its end sets a new timer
    this.deps.logger.info({ conversationId: id }, 'async conversation timed out');
    await this.end(id, 'timeout');
  }

  /**
   * After a crash: turns that never ran and deliveries never confirmed are queued again. Sends this
   * node's previous run left claimed died with it: their claims are released, so they are due now
   * (and reconciled with the provider before any resend, `delivery.ts`). Records other nodes are
   * sending stay theirs: the claim keeps a second job from sending them again.
   */
  private async recover(): Promise<void> {
    const { store, clock } = this.deps;
    for (const id of await store.conversations.listNeedingTurn(1000)) await scheduleTurn(this.deps, id, clock.now());
    const released = await store.outbound.releaseClaims(this.deps.nodeId);
    if (released > 0) this.deps.logger.info({ count: released }, 'released the delivery claims of the previous run');
    for (const rec of await store.outbound.listDue(clock.now(), 1000)) {
      await queueSend(this.deps, rec.id);
    }
  }
}
