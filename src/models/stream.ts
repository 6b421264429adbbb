import type {
  LanguageModelV3Content,
  LanguageModelV3FinishReason,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamPart,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import type { Clock } from '../core/clock.ts';

/**
 * Stream plumbing shared by the models we implement ourselves (offline, scripted): a reply is
 * turned into a fixed list of LanguageModelV3 stream parts, then handed out one part per read.
 */

/** A model reply before it becomes stream parts. */
export interface ReplyPlan {
  deltas: string[];
  toolCalls: { toolCallId: string; toolName: string; input: Record<string, unknown> }[];
  /** Fail the stream after the deltas (no tool calls follow). */
  error?: unknown;
  inputTokens?: number;
}

/**
 * The error a model call ends with once its signal is aborted. Named `AbortError` like fetch's, so
 * the AI SDK and our engine treat it as an abort and not as a model failure; the signal's own
 * reason (a `TurnAborted`, say) is kept as `cause`.
 */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  const err = new Error('The model call was aborted.', { cause: reason });
  err.name = 'AbortError';
  return err;
}

/** Waits on the injected clock; rejects with `abortError` as soon as the signal aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort(): void {
      timer.cancel();
      reject(abortError(signal!));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Rough token count (words), enough for usage figures of models that have no tokenizer. */
export function countWords(text: string): number {
  let n = 0;
  for (const w of text.split(/\s+/)) if (w) n++;
  return n;
}

export function usage(inputTokens: number | undefined, outputTokens: number): LanguageModelV3Usage {
  return {
    inputTokens: { total: inputTokens, noCache: inputTokens, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: outputTokens, text: outputTokens, reasoning: undefined },
  };
}

/** The stream parts of a reply, in protocol order: text block, tool calls, then finish. */
export function replyParts(plan: ReplyPlan): LanguageModelV3StreamPart[] {
  const parts: LanguageModelV3StreamPart[] = [{ type: 'stream-start', warnings: [] }];
  let outputTokens = 0;
  if (plan.deltas.length > 0) {
    parts.push({ type: 'text-start', id: 'text_0' });
    for (const delta of plan.deltas) {
      parts.push({ type: 'text-delta', id: 'text_0', delta });
      outputTokens += countWords(delta);
    }
    parts.push({ type: 'text-end', id: 'text_0' });
  }
  let finishReason: LanguageModelV3FinishReason;
  if (plan.error !== undefined) {
    parts.push({ type: 'error', error: plan.error });
    finishReason = { unified: 'error', raw: 'error' };
  } else {
    for (const call of plan.toolCalls) {
      const input = JSON.stringify(call.input);
      parts.push({ type: 'tool-call', toolCallId: call.toolCallId, toolName: call.toolName, input });
      outputTokens += countWords(input);
    }
    finishReason =
      plan.toolCalls.length > 0 ? { unified: 'tool-calls', raw: 'tool_calls' } : { unified: 'stop', raw: 'stop' };
  }
  parts.push({ type: 'finish', finishReason, usage: usage(plan.inputTokens, outputTokens) });
  return parts;
}

export interface PartStreamOptions {
  signal?: AbortSignal;
  clock?: Clock;
  /** Wait this long (on `clock`) before each text delta and tool call. 0: no timers at all. */
  delayMs?: number;
}

function isContentPart(part: LanguageModelV3StreamPart): boolean {
  return part.type === 'text-delta' || part.type === 'tool-call';
}

/**
 * Hands out `parts` one per read. `highWaterMark: 0` means nothing is buffered ahead of the
 * reader, so once the signal aborts the next read fails and no further part is ever delivered.
 */
export function partStream(
  parts: LanguageModelV3StreamPart[],
  opts: PartStreamOptions = {},
): ReadableStream<LanguageModelV3StreamPart> {
  const { signal, clock } = opts;
  const delayMs = clock && opts.delayMs ? opts.delayMs : 0;
  let index = 0;
  let waiting: AbortController | undefined;
  const deliver = (controller: ReadableStreamDefaultController<LanguageModelV3StreamPart>): void => {
    const part = parts[index++];
    if (part === undefined) {
      controller.close();
      return;
    }
    controller.enqueue(part);
    if (index === parts.length) controller.close();
  };
  return new ReadableStream<LanguageModelV3StreamPart>(
    {
      pull(controller) {
        if (signal?.aborted) {
          controller.error(abortError(signal));
          return;
        }
        const next = parts[index];
        if (delayMs === 0 || next === undefined || !isContentPart(next)) {
          deliver(controller);
          return;
        }
        // Cancelling the stream must also cancel the pending timer: a local controller joins both.
        waiting = new AbortController();
        const both = signal ? AbortSignal.any([signal, waiting.signal]) : waiting.signal;
        return sleep(clock!, delayMs, both).then(
          () => {
            waiting = undefined;
            deliver(controller);
          },
          (err: unknown) => {
            waiting = undefined;
            if (!signal?.aborted) return; // cancelled by the reader: the stream is already closed
            controller.error(err);
          },
        );
      },
      cancel() {
        waiting?.abort();
      },
    },
    { highWaterMark: 0 },
  );
}

/** Reads a model stream to its end and assembles what `doGenerate` returns. */
export async function collectStream(
  stream: ReadableStream<LanguageModelV3StreamPart>,
): Promise<LanguageModelV3GenerateResult> {
  const content: LanguageModelV3Content[] = [];
  const texts = new Map<string, { type: 'text'; text: string }>();
  let finishReason: LanguageModelV3FinishReason = { unified: 'other', raw: undefined };
  let finalUsage = usage(undefined, 0);
  const reader = stream.getReader();
  for (;;) {
    const { done, value: part } = await reader.read();
    if (done) break;
    switch (part.type) {
      case 'text-start': {
        const text = { type: 'text' as const, text: '' };
        texts.set(part.id, text);
        content.push(text);
        break;
      }
      case 'text-delta': {
        const text = texts.get(part.id);
        if (text) text.text += part.delta;
        break;
      }
      case 'tool-call':
        content.push(part);
        break;
      case 'error':
        throw part.error;
      case 'finish':
        finishReason = part.finishReason;
        finalUsage = part.usage;
        break;
      default:
        break;
    }
  }
  return { content, finishReason, usage: finalUsage, warnings: [] };
}
