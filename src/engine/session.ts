import type { EndedReason, Item } from '../core/conversation.ts';
import { OperatorError } from '../core/errors.ts';
import { ENGINE_EVENT_CLASS, type AbortReasonKind, type EngineEvent, TurnAborted } from '../core/events.ts';
import { newId } from '../core/ids.ts';
import { templateVars, turnPrompt } from './prompt.ts';
import { renderTemplate } from './template.ts';
import { builtinToolSpecs } from './tools/builtin.ts';
import { callToolSpecs } from './tools/call.ts';
import { SAVE_CONTACT } from './tools/contact.ts';
import { SEND_MESSAGE } from './tools/message.ts';
import { RECALL_HISTORY } from './tools/recall.ts';
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
  return new Session(init);
}

class Session implements ConversationSession {
  private readonly init: SessionInit;
  private readonly env: TurnEnv;
  private readonly session = new AbortController();
  private current: TurnState | undefined;
  /** Context that arrived while a turn ran: added to the history after that turn's answer. */
  private readonly lateContext: Item[] = [];

  constructor(init: SessionInit) {
    this.init = init;
    // Built-in tools (end_conversation) are offered to every agent unless it defines its own;
    // recall_history only where there is a customer memory to search, send_message only where the
    // platform can reach the customer on another channel, save_contact where it can add to their record.
    const own = new Set(init.agent.tools.map((t) => t.name));
    const available: Record<string, boolean> = {
      [RECALL_HISTORY]: init.recall !== undefined,
      [SEND_MESSAGE]: init.services?.sendMessage !== undefined,
      [SAVE_CONTACT]: init.services?.linkContact !== undefined,
    };
    const offered = (name: string) => !own.has(name) && available[name] !== false;
    const builtins = [...builtinToolSpecs(), ...callToolSpecs(init.call)];
    const tools = [...init.agent.tools, ...builtins.filter((b) => offered(b.name))];
    const registry = createToolRegistry(tools, {
      functions: init.functions,
      clock: init.clock,
      builtins: {
        endAfterTurn: (turnId) => {
          if (this.current?.id === turnId) this.current.endRequested = true;
        },
        transferAfterTurn: (turnId, to) => {
          if (this.current?.id === turnId) this.current.transferTo = to;
        },
        ...(init.recall ? { recall: init.recall } : {}),
        ...(init.call ? { call: init.call } : {}),
        ...(init.services?.sendMessage ? { sendMessage: init.services.sendMessage } : {}),
        ...(init.services?.linkContact ? { linkContact: init.services.linkContact, history: () => this.env.history } : {}),
      },
    });
    this.env = { init, history: [...init.history], registry };
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  async greet(): Promise<void> {
    const greeting = this.init.agent.greeting;
    if (!greeting) return;
    await this.say(renderTemplate(greeting, templateVars(this.init)));
  }

  async say(text: string, end?: EndedReason): Promise<void> {
    const turn = await this.beginTurn();
    try {
      say(turn, this.init.clock, text);
      if (end) turn.endReason = end;
    } finally {
      this.finishTurn(turn);
    }
  }

  async runTurn(userItems: Item[]): Promise<void> {
    const turn = await this.beginTurn();
    try {
      this.env.history.push(...userItems);
      await runSteps(this.env, turn, turnPrompt(this.init, this.env.history));
    } finally {
      this.finishTurn(turn);
    }
  }

  addContext(items: Item[]): void {
    if (this.current) this.lateContext.push(...items);
    else this.env.history.push(...items);
  }

  interrupt(kind: AbortReasonKind, delivered?: { turnId: string; text: string }): void {
    const turn = this.current;
    if (turn && !turn.signal.aborted) turn.controller.abort(new TurnAborted(kind));
    if (!delivered) return;
    if (turn?.id === delivered.turnId) turn.delivered = delivered.text;
    else cutDelivered(this.env.history, delivered);
  }

  close(): void {
    if (!this.session.signal.aborted) this.session.abort(new TurnAborted('ConversationEnded'));
  }

  /** Waits for an interrupted turn to wind down, then starts the next one (one at a time). */
  private async beginTurn(): Promise<TurnState> {
    for (;;) {
      if (this.session.signal.aborted) throw new OperatorError('conflict', 'session_closed', 'the conversation session is closed');
      if (!this.current) break;
      if (!this.current.signal.aborted) {
        throw new OperatorError('conflict', 'turn_in_progress', 'a turn is already running: interrupt it first');
      }
      await this.current.done.promise;
    }
    const controller = new AbortController();
    const signal = AbortSignal.any([this.session.signal, controller.signal]);
    const turn: TurnState = {
      id: newId('turn', this.init.clock.now()),
      controller,
      signal,
      emit: this.gate(signal),
      startedMs: this.init.clock.monotonic(),
      done: Promise.withResolvers<void>(),
      text: '',
      steps: 0,
      endRequested: false,
    };
    this.current = turn;
    turn.emit({ type: 'turn.started', turnId: turn.id });
    return turn;
  }

  /**
   * Commits the turn's message and reports the turn. Synchronous, so it cannot itself be
   * interrupted; the turn is released before `turn.done` so the host may start the next one there.
   */
  private finishTurn(turn: TurnState): void {
    const { clock } = this.init;
    const interrupted = turn.signal.aborted;
    const metrics = { firstDeltaMs: turn.firstDeltaMs, durationMs: clock.monotonic() - turn.startedMs, steps: turn.steps };
    const text = turn.delivered ?? turn.text;
    if (text !== '' || interrupted) {
      this.env.history.push(
        newItem(this.init, { role: 'agent', type: 'message', text, interrupted, turnId: turn.id, metrics: definedMetrics(metrics) }),
      );
    }
    this.env.history.push(...this.lateContext.splice(0));
    this.current = undefined;
    try {
      turn.emit({ type: 'turn.done', turnId: turn.id, text: turn.text, interrupted, metrics });
      if (turn.transferTo && !interrupted) {
        turn.emit({ type: 'conversation.end', reason: 'transferred', turnId: turn.id, transferTo: turn.transferTo });
      } else if ((turn.endRequested || turn.endReason) && !interrupted) {
        turn.emit({ type: 'conversation.end', reason: turn.endReason ?? 'agent', turnId: turn.id });
      }
    } finally {
      turn.done.resolve();
    }
  }

  /** After `close()` nothing is emitted; after a turn's abort, none of its data events. */
  private gate(turnSignal: AbortSignal): (event: EngineEvent) => void {
    const { session, init } = this;
    return (event) => {
      if (session.signal.aborted) return;
      if (turnSignal.aborted && ENGINE_EVENT_CLASS[event.type] === 'data') return;
      init.emit(event);
    };
  }
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
