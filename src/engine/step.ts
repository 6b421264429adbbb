import type {
  LanguageModelV3CallOptions,
  LanguageModelV3Message,
  LanguageModelV3StreamPart,
  LanguageModelV3ToolCall,
} from '@ai-sdk/provider';
import type { OperatorError } from '../core/errors.ts';
import { ABORTED, deadline, raceAbort } from './abort.ts';
import { classifyModelError } from '../models/errors.ts';
import { modelTimeout } from './model-error.ts';
import { type TurnEnv, type TurnState, say } from './turn-state.ts';

/** How one model call (one step of a turn) ended. */
export type StepResult =
  | { kind: 'done'; text: string; toolCalls: LanguageModelV3ToolCall[] }
  | { kind: 'aborted' }
  | { kind: 'error'; error: OperatorError };

interface StepOutput {
  text: string;
  toolCalls: LanguageModelV3ToolCall[];
}

/**
 * Streams one model call through `doStream`, saying each text delta as it arrives and collecting
 * the tool calls. The call gets the turn's signal joined with the agent's model time budget;
 * once the signal aborts, the stream is cancelled and nothing more is read from it.
 */
export async function streamStep(
  env: TurnEnv,
  turn: TurnState,
  prompt: LanguageModelV3Message[],
  allowTools: boolean,
): Promise<StepResult> {
  const { agent, clock } = env.init;
  const budget = deadline(clock, agent.turnTimeoutMs);
  const signal = AbortSignal.any([turn.signal, budget.signal]);
  const output: StepOutput = { text: '', toolCalls: [] };
  let failure: unknown;
  try {
    await consume(env, callOptions(env, prompt, allowTools, signal), signal, (part) => onPart(env, turn, output, part));
  } catch (err) {
    failure = err;
  } finally {
    budget.cancel();
  }
  if (turn.signal.aborted) return { kind: 'aborted' };
  if (budget.signal.aborted) return { kind: 'error', error: modelTimeout(agent.turnTimeoutMs) };
  if (failure !== undefined) return { kind: 'error', error: classifyModelError(failure) };
  return { kind: 'done', ...output };
}

function callOptions(
  env: TurnEnv,
  prompt: LanguageModelV3Message[],
  allowTools: boolean,
  abortSignal: AbortSignal,
): LanguageModelV3CallOptions {
  const { definitions } = env.registry;
  const settings = env.init.agent.modelSettings;
  const hasTools = definitions.length > 0;
  return {
    prompt,
    tools: hasTools ? definitions : undefined,
    // The last allowed step may not call tools, so the model answers with what it has.
    toolChoice: hasTools ? { type: allowTools ? 'auto' : 'none' } : undefined,
    temperature: settings.temperature,
    maxOutputTokens: settings.maxOutputTokens,
    abortSignal,
  };
}

async function consume(
  env: TurnEnv,
  options: LanguageModelV3CallOptions,
  signal: AbortSignal,
  onPart: (part: LanguageModelV3StreamPart) => void,
): Promise<void> {
  const pending = env.init.model.doStream(options);
  const started = await raceAbort(pending, signal);
  if (started === ABORTED) {
    // A stream that arrives after the abort is cancelled unread.
    void Promise.resolve(pending)
      .then((late) => late.stream.cancel(signal.reason))
      .catch(() => undefined);
    return;
  }
  const reader = started.stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const next = await raceAbort(reader.read(), signal);
      if (next === ABORTED) return;
      if (next.done) {
        finished = true;
        return;
      }
      onPart(next.value);
    }
  } finally {
    if (!finished) reader.cancel(signal.aborted ? signal.reason : undefined).catch(() => undefined);
  }
}

function onPart(env: TurnEnv, turn: TurnState, output: StepOutput, part: LanguageModelV3StreamPart): void {
  switch (part.type) {
    case 'text-delta': {
      if (part.delta === '') return;
      // Steps of one turn read as one answer: keep a space between them.
      const gap = output.text === '' && turn.text !== '' && !/\s$/.test(turn.text) && !/^\s/.test(part.delta);
      output.text += part.delta;
      say(turn, env.init.clock, gap ? ` ${part.delta}` : part.delta);
      return;
    }
    case 'tool-call':
      if (!part.providerExecuted) output.toolCalls.push(part);
      return;
    case 'error':
      throw part.error;
    default:
      return;
  }
}
