import type { LanguageModelV3 } from '@ai-sdk/provider';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { AgentSpec, ModelSpec } from '../core/agent.ts';
import type { Clock } from '../core/clock.ts';
import { createOfflineModel } from './offline.ts';
import { ScriptedModel } from './scripted.ts';

/**
 * The models layer: one `LanguageModelV3` per agent, whatever serves it (DESIGN.md: models
 * through the AI SDK; our offline model implements the same interface).
 */

export interface CreateModelOptions {
  agent: AgentSpec;
  clock?: Clock;
  /** Replaces the global fetch for HTTP providers (tests, proxies). */
  fetch?: typeof fetch;
}

export function createModel(spec: ModelSpec, opts: CreateModelOptions): LanguageModelV3 {
  const { fetch } = opts;
  switch (spec.provider) {
    case 'offline':
      return createOfflineModel({ agent: opts.agent, clock: opts.clock });
    case 'openai':
      // The Chat Completions API rather than Responses: it is what OpenAI-compatible servers and
      // proxies speak, so a `baseUrl` pointing at one of them works too.
      return createOpenAI({ apiKey: spec.apiKey, baseURL: spec.baseUrl, fetch }).chat(spec.model);
    case 'anthropic':
      // baseUrl includes the version segment, as the SDK expects: https://api.anthropic.com/v1
      return createAnthropic({ apiKey: spec.apiKey, baseURL: spec.baseUrl, fetch })(spec.model);
    case 'openai-compatible':
      return createOpenAICompatible({
        name: spec.name ?? 'openai-compatible',
        baseURL: spec.baseUrl,
        apiKey: spec.apiKey,
        fetch,
        includeUsage: true,
      }).chatModel(spec.model);
    case 'scripted':
      return new ScriptedModel(spec.steps, { loop: spec.loop, clock: opts.clock, recordCalls: false });
  }
}

export { classifyModelError } from './errors.ts';
export { createOfflineModel, describeOffline, type OfflineModelOptions } from './offline.ts';
export { ScriptedModel, ScriptedModelError, ScriptExhaustedError, type ScriptedModelOptions } from './scripted.ts';
export { abortError } from './stream.ts';
