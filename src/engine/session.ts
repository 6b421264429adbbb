import type { Item } from '../core/conversation.ts';
import { OperatorError } from '../core/errors.ts';
import { ENGINE_EVENT_CLASS, type AbortReasonKind, type EngineEvent, TurnAborted } from '../core/events.ts';
import { newId } from '../core/ids.ts';
import { templateVars, turnPrompt } from './prompt.ts';
import { renderTemplate } from './template.ts';
import { createToolRegistry } from './tools/registry.ts';
import { runSteps } from './turn.ts';
import { type TurnEnv, type TurnState, newItem, say } from './turn-state.ts';
import type { ConversationSession, SessionInit } from './types.ts';

/**
 * The turn engine of one conversation. Turns run one at a time; each has its own AbortController,
 * a child of the session's, and that signal is the only interruption state (DESIGN.md rule 2).
 * Throws `tool_schema_invalid` when a tool's parameters are not a JSON Schema.
 */
export function createSession(init: SessionInit): ConversationSession {
  const session = new AbortController();
  let current: TurnState | undefined;
  const registry = createToolRegistry(init.agent.tools, {
    functions: init.functions,
    clock: init.clock,
    builtins: {
      endAfterTurn(turnId) {
        if (current?.id === turnId) current.endRequested = true;
      },
    },
  });
  const env: TurnEnv = { init, history: [...init.history], registry };

  /** After `close()` nothing is emitted; after a turn's abort, none of its data events. */
  const gate = (signal: AbortSignal) => (event: EngineEvent) => {
    if (session.signal.aborted) return;
    if (signal.aborted && ENGINE_EVENT_CLASS[event.type] === 'data') return;
    init.emit(event);
  };

  /** Waits for an interrupted turn to wind down, then starts the next one (one at a time). */
  async function beginTurn(): Promise<TurnState> {
    for (;;) {
      if (session.signal.aborted) throw new OperatorError('conflict', 'session_closed', 'the conversation session is closed');
      if (!current) break;
      if (!current.signal.aborted) {
        throw new OperatorError('conflict', 'turn_in_progress', 'a turn is already running: interrupt it first');
      }
      await current.done.promise;
    }
    const controller = new AbortController();
    const signal = AbortSignal.any([session.signal, controller.signal]);
    const turn: TurnState = {
      id: newId('turn', init.clock.now()),
      controller,
      signal,
      emit: gate(signal),
      startedMs: init.clock.monotonic(),
      done: Promise.withResolvers<void>(),
      text: '',
      steps: 0,
      endRequested: false,
    };
    current = turn;
    turn.emit({ type: 'turn.started', turnId: turn.id });
    return turn;
  }

  /**
   * Commits the turn's message and reports the turn. Synchronous, so it cannot itself be
   * interrupted; the turn is released before `turn.done` so the host may start the next one there.
   */
  function finishTurn(turn: TurnState): void {
    const interrupted = turn.signal.aborted;
    const metrics = { firstDeltaMs: turn.firstDeltaMs, durationMs: init.clock.monotonic() - turn.startedMs, steps: turn.steps };
    const text = turn.delivered ?? turn.text;
    if (text !== '' || interrupted) {
      env.history.push(newItem(init, { role: 'agent', type: 'message', text, interrupted, turnId: turn.id, metrics: definedMetrics(metrics) }));
    }
    current = undefined;
    try {
      turn.emit({ type: 'turn.done', turnId: turn.id, text: turn.text, interrupted, metrics });
      if (turn.endRequested && !interrupted) turn.emit({ type: 'conversation.end', reason: 'agent', turnId: turn.id });
    } finally {
      turn.done.resolve();
    }
  }

  return {
    get busy() {
      return current !== undefined;
    },

    async greet() {
      const greeting = init.agent.greeting;
      if (!greeting) return;
      const turn = await beginTurn();
      try {
        say(turn, init.clock, renderTemplate(greeting, templateVars(init)));
      } finally {
        finishTurn(turn);
      }
    },

    async runTurn(userItems: Item[]) {
      const turn = await beginTurn();
      try {
        env.history.push(...userItems);
        await runSteps(env, turn, turnPrompt(init, env.history));
      } finally {
        finishTurn(turn);
      }
    },

    interrupt(kind: AbortReasonKind, delivered?: { turnId: string; text: string }) {
      const turn = current;
      if (turn && !turn.signal.aborted) turn.controller.abort(new TurnAborted(kind));
      if (!delivered) return;
      if (turn?.id === delivered.turnId) turn.delivered = delivered.text;
      else cutDelivered(env.history, delivered);
    },

    close() {
      if (!session.signal.aborted) session.abort(new TurnAborted('ConversationEnded'));
    },
  };
}

/** Rule 3: history holds what the customer received. Items are replaced, never mutated. */
function cutDelivered(history: Item[], delivered: { turnId: string; text: string }): void {
  for (let i = history.length - 1; i >= 0; i--) {
    const item = history[i]!;
    if (item.turnId === delivered.turnId && item.role === 'agent' && item.type === 'message') {
      history[i] = { ...item, text: delivered.text, interrupted: true };
      return;
    }
  }
}

function definedMetrics(metrics: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter((e): e is [string, number] => e[1] !== undefined));
}
