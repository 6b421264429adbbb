import type { Item } from '../core/conversation.ts';
import type { CustomerMemory, RecalledSummary } from '../core/memory.ts';

/**
 * The customer-memory block of the system prompt, and its fitting into the agent's token budget.
 * Tokens are estimated as characters / 4 (no tokenizer per provider); the estimate is applied to
 * the rendered block, so what the model receives is what was budgeted.
 */

export const MEMORY_HEADING = '## What you know about this customer from earlier conversations';
const GUIDANCE =
  'Use this so the customer does not have to repeat themselves, and follow up on what is still open; do not recite it. ' +
  'Only conversations of the recall window are listed.';
/** A verbatim message longer than this is cut (a pasted email must not take the whole budget). */
const TURN_CHARS = 600;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

function summaryLine(s: RecalledSummary): string {
  const how = s.endedReason ? `ended: ${s.endedReason}` : 'ended';
  return `- ${day(s.endedAt)}, ${s.channel} (${how}): ${s.text}`;
}

function turnsHeading(memory: CustomerMemory): string {
  const last = memory.lastConversation;
  if (!last) return '### Last messages of your most recent conversation';
  const state = last.status === 'ended' ? `ended${last.endedReason ? `: ${last.endedReason}` : ''}` : 'still open';
  return `### Last messages of your most recent conversation (${last.channel}, ${state})`;
}

function turnLine(i: Item): string {
  const who = i.role === 'user' ? 'Customer' : 'You';
  const text = i.text.length > TURN_CHARS ? `${i.text.slice(0, TURN_CHARS)}…` : i.text;
  return `${who}: ${text.replace(/\s+/g, ' ').trim()}${i.interrupted ? ' [cut off]' : ''}`;
}

function parts(memory: CustomerMemory): { head: string; summaries: string[]; turnsHead: string; turns: string[] } {
  return {
    head: `${MEMORY_HEADING}\n${GUIDANCE}`,
    summaries: memory.summaries.map(summaryLine),
    turnsHead: turnsHeading(memory),
    turns: memory.lastTurns.map(turnLine),
  };
}

function join(p: ReturnType<typeof parts>): string {
  if (p.summaries.length === 0 && p.turns.length === 0) return '';
  const blocks = [p.head];
  if (p.summaries.length > 0) blocks.push(p.summaries.join('\n'));
  if (p.turns.length > 0) blocks.push(`${p.turnsHead}\n${p.turns.join('\n')}`);
  return blocks.join('\n\n');
}

/** The block for the system prompt; empty when there is nothing to recall. */
export function memorySection(memory: CustomerMemory): string {
  return join(parts(memory));
}

/**
 * The largest part of `memory` whose block fits in `tokenBudget`: the oldest summaries go first
 * (down to the newest one), then the oldest verbatim messages, then the last summary.
 */
export function fitMemory(memory: CustomerMemory, tokenBudget: number): CustomerMemory {
  const p = parts(memory);
  let summaries = memory.summaries.length;
  let turnsFrom = 0;
  const size = (): number => {
    const s = p.summaries.slice(0, summaries);
    const t = p.turns.slice(turnsFrom);
    if (s.length === 0 && t.length === 0) return 0;
    let n = p.head.length;
    if (s.length > 0) n += 2 + s.reduce((a, l) => a + l.length + 1, -1);
    if (t.length > 0) n += 2 + p.turnsHead.length + 1 + t.reduce((a, l) => a + l.length + 1, -1);
    return Math.ceil(n / 4);
  };
  while (size() > tokenBudget) {
    if (summaries > 1) summaries--;
    else if (turnsFrom < p.turns.length) turnsFrom++;
    else if (summaries > 0) summaries--;
    else break;
  }
  return {
    ...memory,
    summaries: memory.summaries.slice(0, summaries),
    lastTurns: memory.lastTurns.slice(turnsFrom),
  };
}

/** `{{memory.…}}` template values (greetings): empty strings when nothing is known. */
export function memoryVars(memory: CustomerMemory | undefined): Record<string, unknown> {
  const last = memory?.summaries[0];
  const known = memory !== undefined && (memory.summaries.length > 0 || memory.lastTurns.length > 0);
  // The summary's first sentence quotes the customer (engine/summary.ts writes it so).
  const wanted = last ? /^The customer wrote: "([^"]*)"/.exec(last.text)?.[1] : undefined;
  return {
    known,
    /** A customer-facing sentence for greetings, ending in a space; empty for a new customer. */
    recap: wanted ? `Welcome back! Last time you wrote to us about "${wanted}". ` : known ? 'Welcome back! ' : '',
    lastSummary: last?.text ?? '',
    lastOpenItems: last?.openItems.join(' ') ?? '',
    lastChannel: last?.channel ?? memory?.lastConversation?.channel ?? '',
  };
}
