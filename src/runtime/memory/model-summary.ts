import type { LanguageModelV3 } from '@ai-sdk/provider';
import type { AgentSpec } from '../../core/agent.ts';
import { systemClock } from '../../core/clock.ts';
import type { Item } from '../../core/conversation.ts';
import { createModel } from '../../models/index.ts';

/**
 * The summary of an ended conversation, written by the agent's own language model: what the
 * customer wanted, what was done, what is still open. Only for real models (OpenAI, Anthropic,
 * OpenAI-compatible); the offline and scripted models keep the extractive summary.
 */

const INSTRUCTIONS = [
  'You summarise a customer-service conversation for the next agent who talks to this customer.',
  'Reply with JSON only, no prose around it: {"summary": string, "openItems": string[]}.',
  '"summary": one to three sentences: what the customer wanted and what was done (order numbers, dates, outcomes).',
  '"openItems": anything still open — a promised callback, an unanswered question, an unfinished task — each a short phrase; [] if nothing.',
].join('\n');

/** Transcripts longer than this keep their end: the outcome matters more than the greeting. */
const MAX_TRANSCRIPT_CHARS = 12_000;

export interface ModelSummary {
  text: string;
  openItems: string[];
}

export function usesLanguageModel(agent: AgentSpec): boolean {
  return agent.model.provider === 'openai' || agent.model.provider === 'anthropic' || agent.model.provider === 'openai-compatible';
}

function transcript(items: readonly Item[]): string {
  const lines: string[] = [];
  for (const i of items) {
    if (i.type === 'message' && (i.role === 'user' || i.role === 'agent' || i.role === 'human')) {
      lines.push(`${i.role === 'user' ? 'customer' : 'agent'}: ${i.text}${i.interrupted ? ' [cut off]' : ''}`);
    } else if (i.type === 'tool_result') {
      lines.push(`[${i.toolName ?? 'tool'} → ${JSON.stringify(i.data ?? null).slice(0, 300)}]`);
    } else if (i.type === 'dtmf') {
      lines.push(`[keypad: ${i.text}]`);
    }
  }
  const all = lines.join('\n');
  return all.length > MAX_TRANSCRIPT_CHARS ? `…${all.slice(-MAX_TRANSCRIPT_CHARS)}` : all;
}

/** The model's JSON, or undefined when it gave something else (the caller falls back to extractive). */
export function parseSummary(text: string): ModelSummary | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return undefined;
  try {
    const v = JSON.parse(text.slice(start, end + 1)) as { summary?: unknown; openItems?: unknown };
    if (typeof v.summary !== 'string' || v.summary.trim() === '') return undefined;
    const open = Array.isArray(v.openItems) ? v.openItems.filter((o): o is string => typeof o === 'string' && o.trim() !== '') : [];
    return { text: v.summary.trim().slice(0, 1000), openItems: open.map((o) => o.trim().slice(0, 200)).slice(0, 10) };
  } catch {
    return undefined;
  }
}

export async function modelSummary(
  agent: AgentSpec,
  items: readonly Item[],
  opts: { timeoutMs?: number; model?: LanguageModelV3 } = {},
): Promise<ModelSummary | undefined> {
  const model = opts.model ?? createModel(agent.model, { agent, clock: systemClock });
  const result = await model.doGenerate({
    prompt: [
      { role: 'system', content: INSTRUCTIONS },
      { role: 'user', content: [{ type: 'text', text: transcript(items) }] },
    ],
    maxOutputTokens: 400,
    temperature: 0,
    abortSignal: AbortSignal.timeout(opts.timeoutMs ?? 20_000),
  });
  const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
  return parseSummary(text);
}
