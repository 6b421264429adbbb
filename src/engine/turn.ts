import type { LanguageModelV3Message, LanguageModelV3ToolCall } from '@ai-sdk/provider';
import type { OperatorError } from '../core/errors.ts';
import { streamStep } from './step.ts';
import { END_CONVERSATION } from './tools/builtin.ts';
import { runToolRound } from './tool-round.ts';
import { type TurnEnv, type TurnState, say } from './turn-state.ts';

/** Said when the step limit is reached before the model has answered. */
export const STEP_LIMIT_APOLOGY = "I'm sorry, I couldn't finish that just now. Could you try again or ask in another way?";

/**
 * The model ↔ tools loop of one turn: stream a step; if it called tools, run them and stream
 * another step with their results, until a step calls no tool, the step limit is reached, the
 * model fails or the turn is aborted. `prompt` holds the system message, history and new items.
 */
export async function runSteps(env: TurnEnv, turn: TurnState, prompt: LanguageModelV3Message[]): Promise<void> {
  const messages = [...prompt];
  const maxSteps = Math.max(1, env.init.agent.maxSteps);
  for (let step = 1; step <= maxSteps; step++) {
    const result = await streamStep(env, turn, messages, step < maxSteps);
    turn.steps = step;
    if (result.kind === 'aborted') return;
    if (result.kind === 'error') {
      reportError(turn, result.error);
      return;
    }
    if (result.toolCalls.length === 0) return;
    if (step === maxSteps) break;
    messages.push(assistantMessage(result.text, result.toolCalls));
    messages.push({ role: 'tool', content: await runToolRound(env, turn, result.toolCalls) });
    if (turn.signal.aborted || saidGoodbye(turn, result.text, result.toolCalls)) return;
  }
  say(turn, env.init.clock, turn.text === '' ? STEP_LIMIT_APOLOGY : ` ${STEP_LIMIT_APOLOGY}`);
}

/** A step that said its goodbye and only ended the conversation needs no further step. */
function saidGoodbye(turn: TurnState, text: string, calls: readonly LanguageModelV3ToolCall[]): boolean {
  return turn.endRequested && text.trim() !== '' && calls.every((call) => call.toolName === END_CONVERSATION);
}

function assistantMessage(text: string, calls: readonly LanguageModelV3ToolCall[]): LanguageModelV3Message {
  return {
    role: 'assistant',
    content: [
      ...(text ? [{ type: 'text' as const, text }] : []),
      ...calls.map((call) => ({
        type: 'tool-call' as const,
        toolCallId: call.toolCallId,
        toolName: call.toolName,
        input: parseInput(call.input),
      })),
    ],
  };
}

function parseInput(input: unknown): unknown {
  if (typeof input !== 'string') return input;
  try {
    return JSON.parse(input || '{}') as unknown;
  } catch {
    return input;
  }
}

function reportError(turn: TurnState, error: OperatorError): void {
  turn.emit({
    type: 'turn.error',
    turnId: turn.id,
    error: { code: error.code, message: error.message, retryable: error.retryable },
  });
}
