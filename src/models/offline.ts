import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3GenerateResult,
  LanguageModelV3Prompt,
  LanguageModelV3StreamResult,
} from '@ai-sdk/provider';
import type { AgentSpec } from '../core/agent.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { decide, type OfflineDecision } from './offline/decide.ts';
import { wordChunks } from './offline/text.ts';
import { offeredTools } from './offline/tools.ts';
import { abortError, collectStream, countWords, partStream, replyParts } from './stream.ts';

/**
 * The offline model (DESIGN.md): what an agent without a configured model runs on. A
 * deterministic, rule-based LanguageModelV3 driven by the agent's tool descriptions and examples;
 * no network, no weights. It picks a tool by word overlap, reads the arguments out of the message
 * with the tool's JSON Schema, asks for what is missing, turns tool results into a sentence, and
 * says plainly that it is not a language model when it cannot help.
 */

export interface OfflineModelOptions {
  agent: AgentSpec;
  /** "today", "tomorrow" and weekday names are resolved against this clock. */
  clock?: Clock;
  /** IANA time zone in which "today" is taken; UTC by default. */
  timeZone?: string;
}

/** The one log line for an agent running on the offline model (a static message; fields go beside it). */
export function describeOffline(): string {
  return (
    'No model configured: using the offline model, a rule-based assistant that matches tool examples and is not a ' +
    'language model. To use a real one, set the agent\'s model, e.g. model: { provider: openai, model: gpt-4o-mini, ' +
    'apiKey: ${OPENAI_API_KEY} }, or { provider: anthropic, model: claude-sonnet-4-5, apiKey: ${ANTHROPIC_API_KEY} }, ' +
    'or { provider: openai-compatible, model: llama3.1, baseUrl: http://localhost:11434/v1 } for Ollama, vLLM or LM Studio.'
  );
}

function promptWords(prompt: LanguageModelV3Prompt): number {
  let n = 0;
  for (const message of prompt) {
    if (typeof message.content === 'string') {
      n += countWords(message.content);
      continue;
    }
    for (const part of message.content) if (part.type === 'text') n += countWords(part.text);
  }
  return n;
}

class OfflineModel implements LanguageModelV3 {
  readonly specificationVersion = 'v3';
  readonly provider = 'offline';
  readonly modelId = 'offline-rules';
  readonly supportedUrls = {};

  private readonly agent: AgentSpec;
  private readonly clock: Clock;
  private readonly timeZone: string;

  constructor(opts: OfflineModelOptions) {
    this.agent = opts.agent;
    this.clock = opts.clock ?? systemClock;
    this.timeZone = opts.timeZone ?? 'UTC';
  }

  /** The decision for these call options, without streaming it (exposed for tests and tooling). */
  decide(options: LanguageModelV3CallOptions): OfflineDecision {
    return decide(options.prompt, offeredTools(options, this.agent), {
      agentName: this.agent.name,
      nowMs: this.clock.now(),
      timeZone: this.timeZone,
      toolRequired: options.toolChoice?.type === 'required' || options.toolChoice?.type === 'tool',
    });
  }

  doStream(options: LanguageModelV3CallOptions): Promise<LanguageModelV3StreamResult> {
    const signal = options.abortSignal;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const decision = this.decide(options);
    const parts = replyParts({
      deltas: wordChunks(decision.text),
      toolCalls: decision.toolCalls,
      inputTokens: promptWords(options.prompt),
    });
    return Promise.resolve({ stream: partStream(parts, { signal }) });
  }

  async doGenerate(options: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
    const { stream } = await this.doStream(options);
    return collectStream(stream);
  }
}

export type { OfflineDecision };

export function createOfflineModel(opts: OfflineModelOptions): LanguageModelV3 & {
  decide(options: LanguageModelV3CallOptions): OfflineDecision;
} {
  return new OfflineModel(opts);
}
