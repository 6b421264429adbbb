import type { LanguageModelV3ToolCall, LanguageModelV3ToolResultPart } from '@ai-sdk/provider';
import { ABORTED, raceAbort } from './abort.ts';
import { toolOutput } from './history.ts';
import { type ToolOutcome, failure, thrownFailure } from './tools/outcome.ts';
import { type TurnEnv, type TurnState, commitItem, newItem } from './turn-state.ts';
import type { ToolContext } from './types.ts';

/** The result data of a call cut short by the turn's abort. */
export const CANCELLED = { error: 'cancelled' } as const;

/**
 * Runs one step's tool calls in parallel. Each call is committed as a `tool_call` item before it
 * runs and a `tool_result` item when it ends; a call still running when the turn aborts ends
 * at once as cancelled. Results come back in call order, for the next model step.
 */
export function runToolRound(
  env: TurnEnv,
  turn: TurnState,
  calls: readonly LanguageModelV3ToolCall[],
): Promise<LanguageModelV3ToolResultPart[]> {
  return Promise.all(calls.map((call) => runToolCall(env, turn, call)));
}

async function runToolCall(env: TurnEnv, turn: TurnState, call: LanguageModelV3ToolCall): Promise<LanguageModelV3ToolResultPart> {
  const { init } = env;
  const { toolCallId, toolName } = call;
  const args = parseArguments(call.input);
  commitItem(env, turn, newItem(init, {
    role: 'agent', type: 'tool_call', turnId: turn.id, toolCallId, toolName, data: args.ok ? args.value : call.input,
  }));
  turn.emit({ type: 'tool.started', turnId: turn.id, callId: toolCallId, name: toolName });
  const startedMs = init.clock.monotonic();
  const outcome = args.ok ? await raceAbort(runSafely(env, toolName, args.value, context(env, turn, toolCallId)), turn.signal) : args;
  const data = outcome === ABORTED ? CANCELLED : outcome.ok ? outcome.value : { error: outcome.error };
  const ok = outcome !== ABORTED && outcome.ok;
  turn.emit({
    type: 'tool.finished', turnId: turn.id, callId: toolCallId, name: toolName, ok, durationMs: init.clock.monotonic() - startedMs,
  });
  commitItem(env, turn, newItem(init, { role: 'tool', type: 'tool_result', turnId: turn.id, toolCallId, toolName, data }));
  return { type: 'tool-result', toolCallId, toolName, output: toolOutput(data) };
}

async function runSafely(env: TurnEnv, name: string, args: Record<string, unknown>, ctx: ToolContext): Promise<ToolOutcome> {
  try {
    return await env.registry.run(name, args, ctx);
  } catch (err) {
    return thrownFailure(err);
  }
}

function context(env: TurnEnv, turn: TurnState, callId: string): ToolContext {
  const { agent, conversation, customer } = env.init;
  return {
    conversationId: conversation.id,
    agentId: agent.id,
    channel: conversation.channel,
    turnId: turn.id,
    callId,
    context: conversation.context,
    customer,
    signal: turn.signal,
  };
}

type ParsedArguments = { ok: true; value: Record<string, unknown> } | Extract<ToolOutcome, { ok: false }>;

/** Tool-call input is JSON text (LanguageModelV3ToolCall); empty input means no arguments. */
function parseArguments(input: unknown): ParsedArguments {
  if (typeof input === 'string' && input.trim() === '') return { ok: true, value: {} };
  try {
    const value: unknown = typeof input === 'string' ? JSON.parse(input) : input;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return { ok: true, value: value as Record<string, unknown> };
    }
  } catch {
    // reported below
  }
  return failure('tool_invalid_arguments', 'the arguments are not a JSON object') as ParsedArguments;
}
