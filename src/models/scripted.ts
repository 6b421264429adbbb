import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamResult,
} from '@ai-sdk/provider';
import type { ScriptedStep } from '../core/agent.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { abortError, collectStream, partStream, replyParts } from './stream.ts';

export interface ScriptedModelOptions {
  /** Start again from the first step once all are used, instead of failing. */
  loop?: boolean;
  /** Clock for `delayMs`; a `FakeClock` makes delays advance only when the test says so. */
  clock?: Clock;
  modelId?: string;
  /**
   * Keep every call's options in `calls` (default). The `scripted` provider of a config turns it
   * off: a benchmark makes thousands of calls a second for as long as it runs.
   */
  recordCalls?: boolean;
}

/** Raised when a non-looping scripted model is called more often than it has steps. */
export class ScriptExhaustedError extends Error {
  constructor(calls: number, steps: number) {
    super(`scripted model called ${calls} times but has only ${steps} step(s)`);
    this.name = 'ScriptExhaustedError';
  }
}

/** The error a step's `error` field makes the stream fail with. */
export class ScriptedModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScriptedModelError';
  }
}

/**
 * A LanguageModelV3 that replays fixed steps: each `doStream`/`doGenerate` call consumes the next
 * step and streams its deltas, then its tool calls. Used by `provider: scripted` (benchmarks,
 * demos) and, with test conveniences, by `src/testing/scripted-model.ts`.
 */
export class ScriptedModel implements LanguageModelV3 {
  readonly specificationVersion = 'v3';
  readonly provider = 'scripted';
  readonly modelId: string;
  readonly supportedUrls = {};
  /** Every call's options, in call order (the prompt is `calls[i].prompt`). */
  readonly calls: LanguageModelV3CallOptions[] = [];

  private readonly steps: readonly ScriptedStep[];
  private readonly loop: boolean;
  private readonly clock: Clock;
  private readonly recordCalls: boolean;
  private callCount = 0;

  constructor(steps: readonly ScriptedStep[], opts: ScriptedModelOptions = {}) {
    this.steps = steps;
    this.loop = opts.loop ?? false;
    this.clock = opts.clock ?? systemClock;
    this.modelId = opts.modelId ?? 'scripted';
    this.recordCalls = opts.recordCalls ?? true;
  }

  /** How many times the model was called (also when calls are not recorded). */
  get callsMade(): number {
    return this.callCount;
  }

  /** Steps not consumed yet (always 0 for a looping model once it has gone round). */
  get remaining(): number {
    return this.loop ? 0 : Math.max(0, this.steps.length - this.callCount);
  }

  doStream(options: LanguageModelV3CallOptions): Promise<LanguageModelV3StreamResult> {
    const signal = options.abortSignal;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.recordCalls) this.calls.push(options);
    const n = ++this.callCount;
    const step = this.stepFor(n);
    if (!step) return Promise.reject(new ScriptExhaustedError(n, this.steps.length));
    const parts = replyParts({
      deltas: step.deltas ?? [],
      toolCalls: (step.toolCalls ?? []).map((call, i) => ({
        toolCallId: `call_${n}_${i + 1}`,
        toolName: call.name,
        input: call.args,
      })),
      error: step.error === undefined ? undefined : new ScriptedModelError(step.error),
    });
    const stream = partStream(parts, { signal, clock: this.clock, delayMs: step.delayMs });
    return Promise.resolve({ stream });
  }

  async doGenerate(options: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
    const { stream } = await this.doStream(options);
    return collectStream(stream);
  }

  /** Throws if a non-looping script still has steps nobody asked for. */
  assertConsumed(): void {
    if (this.remaining > 0) {
      throw new Error(
        `scripted model has ${this.remaining} unconsumed step(s) of ${this.steps.length} (called ${this.callCount} times)`,
      );
    }
  }

  private stepFor(callNumber: number): ScriptedStep | undefined {
    if (this.steps.length === 0) return undefined;
    if (this.loop) return this.steps[(callNumber - 1) % this.steps.length];
    return this.steps[callNumber - 1];
  }
}
