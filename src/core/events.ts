import type { EndedReason, Item } from './conversation.ts';
import type { ErrorShape } from './errors.ts';

/**
 * The one event vocabulary (DESIGN.md rule 1). Every event has a class:
 * - `system`: jumps the queue (interrupt, end);
 * - `data`: dropped once its turn is interrupted (deltas, audio);
 * - `durable`: never dropped (committed items, turn results, end).
 */
export type EventClass = 'system' | 'data' | 'durable';

/** What the engine, running in a worker, tells its host. */
export type EngineEvent =
  | { type: 'turn.started'; turnId: string }
  | { type: 'agent.delta'; turnId: string; text: string }
  | { type: 'tool.started'; turnId: string; callId: string; name: string }
  | { type: 'tool.finished'; turnId: string; callId: string; name: string; ok: boolean; durationMs: number }
  /** An item to persist (tool calls, tool results, system events). */
  | { type: 'item'; item: Item }
  /** The turn's answer is complete (or cut): `text` is everything the engine produced. */
  | {
      type: 'turn.done';
      turnId: string;
      text: string;
      interrupted: boolean;
      metrics: { firstDeltaMs?: number; durationMs: number; steps: number };
      /** On calls: the turn's latency split (ms), added by the voice pipeline once the answer was heard. */
      voice?: Record<string, number>;
    }
  /** With `transferTo`: the call is handed to that number or SIP address (reason `transferred`). */
  | { type: 'conversation.end'; reason: EndedReason; turnId?: string; transferTo?: string }
  | { type: 'turn.error'; turnId: string; error: ErrorShape & { retryable: boolean } };

export type EngineEventType = EngineEvent['type'];

export const ENGINE_EVENT_CLASS: Record<EngineEventType, EventClass> = {
  'turn.started': 'durable',
  'agent.delta': 'data',
  'tool.started': 'data',
  'tool.finished': 'data',
  item: 'durable',
  'turn.done': 'durable',
  'conversation.end': 'system',
  'turn.error': 'durable',
};

/** Why a turn's AbortController was aborted (DESIGN.md rule 2). */
export type AbortReasonKind = 'NewUserMessage' | 'BargeIn' | 'ConversationEnded' | 'WorkerShutdown';

export class TurnAborted extends Error {
  readonly kind: AbortReasonKind;
  constructor(kind: AbortReasonKind) {
    super(`turn aborted: ${kind}`);
    this.name = 'TurnAborted';
    this.kind = kind;
  }
}

export function abortKind(signal: AbortSignal): AbortReasonKind | undefined {
  const r: unknown = signal.reason;
  return r instanceof TurnAborted ? r.kind : undefined;
}
