import type { EndedReason, Item } from '../core/conversation.ts';

/**
 * An extractive summary of a conversation, made when it ends: what the customer wanted, what was
 * done, what is still open. Pure and deterministic, so it serves every model (the offline one
 * included) and costs no model call at hang-up. It quotes; it never infers.
 */

export interface ExtractedSummary {
  /** One short paragraph for the next conversation's system prompt. */
  text: string;
  openItems: string[];
  /** The customer's first words, shortened (`{{memory.lastSummary}}` leans on it). */
  wanted?: string;
  done: string[];
}

export interface SummaryInput {
  items: readonly Item[];
  channel: string;
  endedReason?: EndedReason;
}

/** Ends that cut the conversation short rather than close it. */
const DROPPED: ReadonlySet<string> = new Set(['caller_hangup', 'client_disconnect', 'error', 'server_restart', 'server_shutdown', 'worker_crashed']);
/** A commitment the agent made in so many words. */
const PROMISE = /\b(?:I'll|I will|I’ll|we'll|we will|we’ll|I am going to|I'm going to)\s+(?:call|text|email|e-mail|send|get back|follow up|ring|message|contact|check|let you know|update)\b[^.!?\n]*[.!?]?/i;
const QUOTE_CHARS = 160;

function clip(text: string, max = QUOTE_CHARS): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, max - 1).trimEnd()}…`;
}

function isMessage(i: Item, role: 'user' | 'agent'): boolean {
  return i.role === role && i.type === 'message' && i.text.trim() !== '';
}

/** `orderId A12345` from `{orderId: 'A12345'}`: short, readable, no JSON punctuation. */
function brief(value: unknown, max = 100): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'object') return clip(typeof value === 'string' ? value : JSON.stringify(value) ?? '', max);
  const parts = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return clip(parts.join(', '), max);
}

function toolError(data: unknown): string | undefined {
  if (data === null || typeof data !== 'object' || !('error' in data)) return undefined;
  const error = (data).error;
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object' && 'message' in error) return String((error).message);
  return 'failed';
}

function toolLines(items: readonly Item[]): { done: string[]; failed: string[] } {
  const done: string[] = [];
  const failed: string[] = [];
  for (const call of items.filter((i) => i.type === 'tool_call' && i.toolName && i.toolName !== 'end_conversation' && i.toolName !== 'recall_history')) {
    const result = items.find((i) => i.type === 'tool_result' && i.toolCallId === call.toolCallId);
    const args = brief(call.data);
    const what = `${call.toolName}${args ? ` (${args})` : ''}`;
    const error = result ? toolError(result.data) : 'no result';
    if (error !== undefined) failed.push(`${what} failed: ${clip(error, 100)}`);
    else done.push(`${what} → ${brief(result?.data) || 'done'}`);
  }
  return { done, failed };
}

function openItemsOf(items: readonly Item[], endedReason: EndedReason | undefined, failed: string[]): string[] {
  const open = failed.map((f) => `Unfinished: ${f}`);
  const messages = items.filter((i) => isMessage(i, 'user') || (i.role === 'agent' && i.type === 'message'));
  const last = messages.at(-1);
  const lastUser = [...messages].reverse().find((i) => i.role === 'user');
  for (const m of messages) {
    if (m.role !== 'agent') continue;
    const promise = PROMISE.exec(m.text);
    if (promise) open.push(`You promised: "${clip(promise[0])}"`);
  }
  const cutOff = endedReason !== undefined && DROPPED.has(endedReason) && (last?.role === 'user' || last?.interrupted === true);
  if (cutOff) {
    const topic = lastUser ? ` while the customer was saying: "${clip(lastUser.text)}"` : '';
    const agentCut = last?.role === 'agent' && last.text.trim() ? ` You were saying: "${clip(last.text)}"` : '';
    open.push(`The conversation was cut off (${endedReason})${topic}.${agentCut}`);
  } else if (last?.role === 'user' && /\?\s*$/.test(last.text)) {
    open.push(`Unanswered question: "${clip(last.text)}"`);
  }
  return open;
}

export function summariseItems(input: SummaryInput): ExtractedSummary {
  const { items } = input;
  const asked = items.filter((i) => isMessage(i, 'user')).slice(0, 2).map((i) => clip(i.text));
  const { done, failed } = toolLines(items);
  const openItems = openItemsOf(items, input.endedReason, failed);
  const parts: string[] = [];
  if (asked.length > 0) parts.push(`The customer wrote: ${asked.map((a) => `"${a}"`).join(' then ')}.`);
  else parts.push('The customer did not write anything.');
  if (done.length > 0) parts.push(`Done: ${done.join('; ')}.`);
  const lastAgent = [...items].reverse().find((i) => isMessage(i, 'agent'));
  if (lastAgent) parts.push(`Your last message: "${clip(lastAgent.text)}"`);
  if (openItems.length > 0) parts.push(`Still open: ${openItems.join(' ')}`);
  return { text: parts.join(' '), openItems, ...(asked[0] ? { wanted: asked[0] } : {}), done };
}
