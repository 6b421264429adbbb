import type { Channel, EndedReason, Item } from './conversation.ts';

/**
 * Customer memory (issue 5): what a conversation leaves behind for the next one with the same
 * customer, on any channel. Plain data: it is stored, cloned into workers and rendered into the
 * system prompt.
 */

/** What a conversation came to, made when it ends (`engine/summary.ts`). */
export interface ConversationSummary {
  conversationId: string;
  customerId: string;
  agent: string;
  channel: Channel;
  /** One short paragraph: what the customer wanted, what was done, what is still open. */
  text: string;
  /** Things still to do or answer: a promised callback, an unanswered question, a failed step. */
  openItems: string[];
  createdAt: number;
}

/** A summary as recalled: with how and when its conversation ended. */
export interface RecalledSummary extends ConversationSummary {
  endedAt: number;
  endedReason?: EndedReason;
}

/** A past message found by `recall_history`. */
export interface MemoryHit {
  conversationId: string;
  channel: Channel;
  role: 'user' | 'agent';
  text: string;
  createdAt: number;
}

/** What a conversation starts with about its customer's earlier conversations (recall window only). */
export interface CustomerMemory {
  /** Newest first, within the agent's token budget. */
  summaries: RecalledSummary[];
  /** The last user/agent messages of the customer's most recent other conversation, oldest first. */
  lastTurns: Item[];
  /** That conversation, when there is one (it may still be open: a text thread during a call). */
  lastConversation?: { id: string; channel: Channel; status: string; endedReason?: EndedReason; endedAt?: number };
}

/** Per-agent memory settings (config `agents.<id>.memory`). */
export interface MemorySettings {
  /** How far back conversations are recalled at start; 0 turns memory off. */
  recallWindowMs: number;
  /** Upper bound of the memory block in the system prompt, in tokens (estimated as chars / 4). */
  tokenBudget: number;
  /** Messages of the most recent other conversation given verbatim. */
  verbatimTurns: number;
  /** Ended conversations older than this are purged (0 keeps them forever). */
  retentionMs: number;
}
