import type { MemorySettings } from './memory.ts';
import type { VoiceSettings } from './voice.ts';

/**
 * An agent as the runtime sees it, after the config file has been validated (`src/config/`).
 * Plain data, structured-clone safe, so it crosses into worker threads; in-process tool functions
 * do not cross, the worker loads them itself from the config module.
 */

export type JsonSchema = Record<string, unknown>;

export type ModelSpec =
  | { provider: 'offline' }
  | { provider: 'openai'; model: string; apiKey?: string; baseUrl?: string }
  | { provider: 'anthropic'; model: string; apiKey?: string; baseUrl?: string }
  | { provider: 'openai-compatible'; model: string; baseUrl: string; apiKey?: string; name?: string }
  /** Replays fixed steps, for tests and benchmarks (see `src/testing/scripted-model.ts`). */
  | { provider: 'scripted'; steps: ScriptedStep[]; loop: boolean };

/** One model call of a scripted model: streamed text pieces and/or tool calls. */
export interface ScriptedStep {
  /** Text deltas streamed in order. */
  deltas?: string[];
  toolCalls?: { name: string; args: Record<string, unknown> }[];
  /** Delay before each part, ms (0 = none; uses the injected clock). */
  delayMs?: number;
  /** Fail the stream after the deltas with this message. */
  error?: string;
}

export interface ModelSettings {
  temperature?: number;
  maxOutputTokens?: number;
}

interface ToolCommon {
  name: string;
  description: string;
  /** JSON Schema of the arguments; validated before every call. */
  parameters: JsonSchema;
  /** Example user requests; the offline model matches messages against them. */
  examples: string[];
  timeoutMs: number;
}

export interface WebhookToolSpec extends ToolCommon {
  kind: 'webhook';
  url: string;
  method: 'POST' | 'PUT';
  headers: Record<string, string>;
  /** HMAC-SHA256 secret for the `X-Operator-Signature` header. */
  secret?: string;
}

export interface FunctionToolSpec extends ToolCommon {
  kind: 'function';
}

export interface BuiltinToolSpec extends ToolCommon {
  kind: 'builtin';
}

export type ToolSpec = WebhookToolSpec | FunctionToolSpec | BuiltinToolSpec;

export interface AgentSpec {
  id: string;
  name: string;
  description?: string;
  /** Template: `{{context.orderId}}`, `{{customer.phone}}`, `{{channel}}`, `{{now}}`. */
  instructions: string;
  greeting?: string;
  model: ModelSpec;
  modelSettings: ModelSettings;
  tools: ToolSpec[];
  /** Maximum model steps (model calls) per turn, tool rounds included. */
  maxSteps: number;
  /** Per-turn time budget for the model stream, in ms. */
  turnTimeoutMs: number;
  /** Channel-specific style instructions; each replaces the built-in style of its channel. */
  channelStyle: Partial<Record<'voice' | 'chat' | 'sms' | 'email', string>>;
  async: AsyncSettings;
  /** Customer memory: recall window, prompt budget, retention (docs/memory.md). */
  memory: MemorySettings;
  /** Where async-chat replies are POSTed (signed like tool calls when `secret` is set). */
  webhook?: { url: string; secret?: string };
  /** Phone calls and browser voice: engines, turn-taking, silence, transfer targets. */
  voice: VoiceSettings;
}

export type AsyncChannel = 'sms' | 'email' | 'chat';

export interface AsyncSettings {
  /** An async conversation with no message for this long ends with reason `timeout`. */
  inactivityTimeoutMs: Record<AsyncChannel, number>;
  /** Messages arriving within this window of each other are answered in one turn. */
  debounceMs: Record<AsyncChannel, number>;
}
