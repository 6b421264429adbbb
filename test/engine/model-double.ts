import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
} from '@ai-sdk/provider';

/** A stream part, or a pause: `hang` waits for the call's abort signal, `wait` for a promise. */
export type DoublePart = LanguageModelV3StreamPart | { type: 'hang' } | { type: 'wait'; until: Promise<unknown> };

export interface DoubleStep {
  parts?: DoublePart[];
  /** `doStream` itself rejects with this. */
  reject?: Error;
}

const FINISH: LanguageModelV3StreamPart = {
  type: 'finish',
  finishReason: { unified: 'stop', raw: 'stop' },
  usage: {
    inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: 1, text: 1, reasoning: undefined },
  },
};

export function deltas(...texts: string[]): LanguageModelV3StreamPart[] {
  return texts.map((delta) => ({ type: 'text-delta', id: 't', delta }));
}

export function toolCall(toolCallId: string, toolName: string, args: unknown): LanguageModelV3StreamPart {
  return { type: 'tool-call', toolCallId, toolName, input: typeof args === 'string' ? args : JSON.stringify(args) };
}

/** A step that streams these parts, then finishes. */
export function step(...parts: DoublePart[]): DoubleStep {
  return { parts: [...parts, FINISH] };
}

/**
 * A scripted LanguageModelV3 for engine tests: records every call, serves one step per call,
 * honours the abort signal, and never waits on time.
 */
export class ModelDouble implements LanguageModelV3 {
  readonly specificationVersion = 'v3';
  readonly provider = 'test';
  readonly modelId = 'double';
  readonly supportedUrls = {};
  readonly calls: LanguageModelV3CallOptions[] = [];
  /** Reasons the engine cancelled streams with. */
  readonly cancelled: unknown[] = [];
  private readonly steps: DoubleStep[];

  constructor(steps: DoubleStep[]) {
    this.steps = steps;
  }

  doStream(options: LanguageModelV3CallOptions): Promise<LanguageModelV3StreamResult> {
    this.calls.push(options);
    const current = this.steps[this.calls.length - 1];
    if (!current) return Promise.reject(new Error(`unscripted model call #${this.calls.length}`));
    if (current.reject) return Promise.reject(current.reject);
    return Promise.resolve({ stream: this.stream(current.parts ?? [], options.abortSignal) });
  }

  doGenerate(): Promise<LanguageModelV3GenerateResult> {
    return Promise.reject(new Error('the engine streams'));
  }

  /** The signal the engine gave call `n` (0-based). */
  signal(n: number): AbortSignal {
    const signal = this.calls[n]?.abortSignal;
    if (!signal) throw new Error(`call ${n} has no abort signal`);
    return signal;
  }

  assertConsumed(): void {
    if (this.calls.length !== this.steps.length) {
      throw new Error(`model double: ${this.steps.length} steps scripted, ${this.calls.length} called`);
    }
  }

  private stream(parts: DoublePart[], signal: AbortSignal | undefined): ReadableStream<LanguageModelV3StreamPart> {
    let index = 0;
    const cancelled = this.cancelled;
    return new ReadableStream<LanguageModelV3StreamPart>(
      {
        async pull(controller) {
          for (;;) {
            const part = parts[index++];
            if (part === undefined) return controller.close();
            if (part.type === 'hang') {
              await new Promise<void>((resolve) => {
                if (signal?.aborted) resolve();
                signal?.addEventListener('abort', () => resolve(), { once: true });
              });
              return controller.error(signal?.reason);
            }
            if (part.type === 'wait') {
              await part.until;
              continue;
            }
            return controller.enqueue(part);
          }
        },
        cancel(reason) {
          cancelled.push(reason);
        },
      },
      { highWaterMark: 0 },
    );
  }
}
