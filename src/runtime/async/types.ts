import type { Logger } from 'pino';
import type { AgentSpec, AsyncChannel } from '../../core/agent.ts';
import type { Clock } from '../../core/clock.ts';
import type { Attachment, CustomerIdentity } from '../../core/conversation.ts';
import type { OutboundRecord, Store, WorkQueue } from '../../store/index.ts';
import type { EventBus } from '../event-bus.ts';
import type { HostRequestHandlers } from '../host-requests.ts';
import type { Metrics } from '../metrics.ts';
import type { WorkerPool } from '../pool.ts';

/** How a reply reaches the customer on the channel the conversation is on. */
export interface ReplyAddress {
  /** The customer's phone number or email address (empty for API chat). */
  to: string;
  /** Our number or address the customer wrote to. */
  from: string;
  /** Email: the display name of our address. */
  fromName?: string;
  /** Email threading: the subject and Message-IDs of the customer's last message. */
  subject?: string;
  messageId?: string;
  references?: string[];
}

/** A customer message on an async channel, validated by its channel adapter. */
export interface InboundMessage {
  channel: AsyncChannel;
  agentId: string;
  customer: CustomerIdentity;
  /** Set when the API names the conversation (`POST /v1/conversations/{id}/messages`). */
  conversationId?: string;
  /** Email: Message-IDs of the thread (its own, In-Reply-To, References). */
  threadKeys?: string[];
  text: string;
  attachments?: Attachment[];
  /** The provider's id (MessageSid, Message-ID): a redelivery creates nothing new. */
  externalId?: string;
  reply: ReplyAddress;
  /** Context for a conversation this message starts (API). */
  context?: Record<string, unknown>;
  /** Start a new conversation even if the customer has an open one (`POST /v1/conversations`). */
  forceNew?: boolean;
}

/** Sends one outbound record on its channel; throws a classified `OperatorError` on failure. */
export interface ChannelSender {
  send(rec: OutboundRecord): Promise<{ providerId?: string }>;
  /**
   * Before a resend (an earlier attempt may have got through): the provider's ids of messages it
   * already accepted that are this record — same recipient, sender and body, created at or after
   * the record — oldest first. Absent when the channel needs none (email: a resend carries the
   * same Message-ID, so it is the same message to the recipient).
   */
  reconcile?(rec: OutboundRecord): Promise<string[]>;
}

export interface AsyncDeps {
  store: Store;
  queue: WorkQueue;
  pool: WorkerPool;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  events: EventBus;
  agents: Map<string, AgentSpec>;
  senders: Partial<Record<AsyncChannel, ChannelSender>>;
  nodeId: string;
  /** Main-thread side of the built-in tools offered in async turns (`save_contact`); absent: none. */
  requests?: HostRequestHandlers;
}

export const JOB_TURN = 'conversation.turn';
export const JOB_SEND = 'message.send';
export const JOB_TIMEOUT = 'conversation.timeout';
