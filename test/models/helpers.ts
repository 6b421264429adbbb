import type { LanguageModelV3StreamPart } from '@ai-sdk/provider';

/** Reads a model stream to its end. */
export async function readAll(stream: ReadableStream<LanguageModelV3StreamPart>): Promise<LanguageModelV3StreamPart[]> {
  const parts: LanguageModelV3StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

export function textOf(parts: LanguageModelV3StreamPart[]): string {
  return parts.map((p) => (p.type === 'text-delta' ? p.delta : '')).join('');
}

export function toolCallsOf(parts: LanguageModelV3StreamPart[]): { name: string; input: unknown; id: string }[] {
  return parts.flatMap((p) => (p.type === 'tool-call' ? [{ name: p.toolName, input: JSON.parse(p.input) as unknown, id: p.toolCallId }] : []));
}

/** Lets pending promise callbacks and stream pulls run; no timers involved. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
