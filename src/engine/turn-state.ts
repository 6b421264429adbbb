import type { Clock } from '../core/clock.ts';
import type { Item } from '../core/conversation.ts';
import type { EngineEvent } from '../core/events.ts';
import { newId } from '../core/ids.ts';
import type { ToolRegistry } from './tools/registry.ts';
import type { SessionInit } from './types.ts';

/** What every stage of a turn shares: the session's inputs, its history and its tools. */
export interface TurnEnv {
  readonly init: SessionInit;
  readonly history: Item[];
  readonly registry: ToolRegistry;
}

/** One turn while it runs. Its `signal` is the only interruption state (DESIGN.md rule 2). */
export interface TurnState {
  readonly id: string;
  readonly controller: AbortController;
  /** The turn's controller joined with the session's. */
  readonly signal: AbortSignal;
  /** The session's emit, gated: data events stop once `signal` aborts. */
  readonly emit: (event: EngineEvent) => void;
  readonly startedMs: number;
  /** Resolved once the turn has emitted `turn.done` and committed its message. */
  readonly done: PromiseWithResolvers<void>;
  /** Everything the turn has produced (streamed) so far. */
  text: string;
  steps: number;
  firstDeltaMs?: number;
  /** Set by `end_conversation`: end once this turn's answer is complete. */
  endRequested: boolean;
  /** A scripted line that ends the conversation with this reason once heard (silence timeout…). */
  endReason?: string;
  /** Set by `transfer_call`: transfer the call here once this turn's answer has been heard. */
  transferTo?: string;
  /** What the host says reached the customer, when it interrupted this turn. */
  delivered?: string;
}

/** Streams a piece of the answer to the customer. Nothing is said once the turn is aborted. */
export function say(turn: TurnState, clock: Clock, text: string): void {
  if (text === '' || turn.signal.aborted) return;
  turn.firstDeltaMs ??= clock.monotonic() - turn.startedMs;
  turn.text += text;
  turn.emit({ type: 'agent.delta', turnId: turn.id, text });
}

/** Adds an item to the session's history and hands it to the host to persist. */
export function commitItem(env: TurnEnv, turn: TurnState, item: Item): void {
  env.history.push(item);
  turn.emit({ type: 'item', item });
}

export function newItem(
  init: SessionInit,
  fields: Pick<Item, 'role' | 'type'> & Partial<Omit<Item, 'id' | 'conversationId' | 'createdAt'>>,
): Item {
  const now = init.clock.now();
  return {
    id: newId('itm', now),
    conversationId: init.conversation.id,
    text: '',
    interrupted: false,
    createdAt: now,
    ...fields,
  };
}
