/** The domain records shared by the store, the engine and the API. Times are epoch milliseconds. */

export type Channel = 'voice' | 'chat' | 'sms' | 'email';
export type Mode = 'realtime' | 'async';
export type ConversationStatus = 'active' | 'suspended' | 'ended';

/**
 * Why a conversation ended. Open-ended on purpose (carriers add their own, e.g. `busy`), but these
 * are the ones the platform itself sets.
 */
export type EndedReason =
  | 'client'
  | 'client_disconnect'
  | 'agent'
  | 'api'
  | 'timeout'
  | 'error'
  | 'server_restart'
  | 'caller_hangup'
  | (string & {});

export type ItemRole = 'user' | 'agent' | 'tool' | 'system' | 'human';
export type ItemType = 'message' | 'tool_call' | 'tool_result' | 'dtmf' | 'event';

export interface Attachment {
  url: string;
  contentType: string;
  name?: string;
  sizeBytes?: number;
}

/** Delivery of an agent message on an async channel (SMS, email, webhook). */
export type DeliveryStatus =
  | 'pending'
  | 'sending'
  | 'retrying'
  | 'sent'
  | 'delivered'
  | 'undelivered'
  | 'failed'
  | 'suppressed';

export interface Item {
  id: string;
  conversationId: string;
  role: ItemRole;
  type: ItemType;
  /** What the customer said or received; for an interrupted agent message, only what was delivered. */
  text: string;
  interrupted: boolean;
  turnId?: string;
  /** Tool calls and results: the call id that links them, the tool name and the JSON payload. */
  toolCallId?: string;
  toolName?: string;
  data?: unknown;
  attachments?: Attachment[];
  /** Idempotency key from the provider (webhook id, Message-ID) or the client. */
  externalId?: string;
  /** Per-turn measurements (time to first delta, durations). */
  metrics?: Record<string, number>;
  createdAt: number;
}

export interface CustomerIdentity {
  phone?: string;
  email?: string;
  externalId?: string;
}

export type IdentifierType = 'phone' | 'email' | 'externalId';

export interface CustomerIdentifier {
  type: IdentifierType;
  value: string;
}

export interface Customer {
  id: string;
  identifiers: CustomerIdentifier[];
  name?: string;
  createdAt: number;
  updatedAt: number;
}

export interface Conversation {
  id: string;
  agent: string;
  channel: Channel;
  mode: Mode;
  status: ConversationStatus;
  endedReason?: EndedReason;
  customerId?: string;
  context: Record<string, unknown>;
  /** The node that runs the conversation while it is live (realtime), for crash recovery. */
  nodeId?: string;
  /** Last inbound or outbound message (async conversations time out from here). */
  lastActivityAt?: number;
  /**
   * Async, before migration 0004: the newest user item a completed turn had answered. No longer
   * written: what awaits an answer is marked per item (`items.listAwaitingAnswer`), since ids minted
   * by two nodes' clocks interleave.
   */
  answeredThrough?: string;
  createdAt: number;
  updatedAt: number;
  endedAt?: number;
}
