import type { LanguageModelV3 } from '@ai-sdk/provider';
import type { AgentSpec } from '../core/agent.ts';
import type { Clock } from '../core/clock.ts';
import type { Channel, Conversation, Customer, Item } from '../core/conversation.ts';
import type { AbortReasonKind, EngineEvent } from '../core/events.ts';
import type { CustomerMemory, MemoryHit } from '../core/memory.ts';
import type { CallControls } from './tools/call.ts';

/** What an in-process (TypeScript) tool or a webhook tool receives besides its arguments. */
export interface ToolContext {
  conversationId: string;
  agentId: string;
  channel: Channel;
  turnId: string;
  callId: string;
  /** The `context` given when the conversation started. */
  context: Record<string, unknown>;
  customer?: Customer;
  /** Aborted when the turn is interrupted or the conversation ends; tools should honour it. */
  signal: AbortSignal;
}

export type ToolFunction = (args: Record<string, unknown>, ctx: ToolContext) => unknown;

export interface SessionInit {
  agent: AgentSpec;
  conversation: Conversation;
  customer?: Customer;
  /** Items so far, oldest first (resumed conversations and memory use this). */
  history: Item[];
  /** What is known of the customer from earlier conversations (absent: memory off or no customer). */
  memory?: CustomerMemory;
  /** Searches the customer's earlier conversations (`recall_history`); absent: the tool is not offered. */
  recall?: (query: string) => Promise<MemoryHit[]>;
  /** Customer record and cross-channel actions for the built-in tools (`save_contact`, `send_message`). */
  services?: CustomerServices;
  /** On a phone call (or browser voice): key presses and transfer, for the built-in call tools. */
  call?: CallControls;
  model: LanguageModelV3;
  /** In-process tool implementations by tool name (from a `.ts` config). */
  functions: Record<string, ToolFunction>;
  clock: Clock;
  /** The engine's only output. Called synchronously, in order. */
  emit: (event: EngineEvent) => void;
}

/**
 * What the platform does for the engine's built-in customer tools, outside the worker (the store
 * and the channels live on the main thread). Absent members: the tool is not offered.
 */
export interface CustomerServices {
  /** Adds a contact the customer confirmed to their record; merges with a customer already holding it. */
  linkContact?: (type: 'phone' | 'email', value: string) => Promise<Record<string, unknown>>;
  /**
   * Texts or emails the customer on their other channel; recorded in that channel's conversation
   * too. `key` makes it idempotent: the same key twice sends one message.
   */
  sendMessage?: (channel: 'sms' | 'email', text: string, key: string) => Promise<Record<string, unknown>>;
}

/** What the host (the worker's message loop, or a test) drives. */
export interface ConversationSession {
  /** Speak the agent's greeting (templated, no model call) as its own turn, if one is configured. */
  greet(): Promise<void>;
  /** Say fixed text as its own turn (re-prompts, goodbyes); with `end`, the conversation then ends for that reason. */
  say(text: string, end?: string): Promise<void>;
  /**
   * Run one turn answering these new user items (already persisted by the host). The caller
   * interrupts a running turn first; a turn started while another runs throws.
   */
  runTurn(userItems: Item[]): Promise<void>;
  /**
   * Adds items to the history without running a turn or interrupting one (a text the customer sent
   * during a call): the next turn's model sees them. While a turn runs they are added after its answer.
   */
  addContext(items: Item[]): void;
  /** Abort the running turn (if any) and cut the agent message of `delivered.turnId` to what was delivered. */
  interrupt(kind: AbortReasonKind, delivered?: { turnId: string; text: string }): void;
  /** Abort everything; no events after this. */
  close(): void;
  readonly busy: boolean;
}
