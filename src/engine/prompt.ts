import type { LanguageModelV3Message } from '@ai-sdk/provider';
import type { Item } from '../core/conversation.ts';
import { INTERRUPTED_NOTE, itemsToMessages } from './history.ts';
import { memorySection, memoryVars } from './memory.ts';
import { channelStyle } from './style.ts';
import { type TemplateVars, renderTemplate } from './template.ts';
import type { SessionInit } from './types.ts';

/** Context serialised into the system prompt is cut at this length. */
const MAX_CONTEXT_CHARS = 4000;

/** The values templates may use: `{{context.orderId}}`, `{{customer.phone}}`, `{{channel}}`, … */
export function templateVars(init: Pick<SessionInit, 'agent' | 'conversation' | 'customer' | 'clock' | 'memory'>): TemplateVars {
  const customer: Record<string, unknown> = { ...(init.customer ?? {}) };
  for (const identifier of init.customer?.identifiers ?? []) customer[identifier.type] ??= identifier.value;
  return {
    context: init.conversation.context,
    customer,
    channel: init.conversation.channel,
    mode: init.conversation.mode,
    conversation: { id: init.conversation.id },
    agent: { id: init.agent.id, name: init.agent.name },
    now: new Date(init.clock.now()).toISOString(),
    memory: memoryVars(init.memory),
  };
}

/** The whole prompt of a turn's first step: system message, history, then the new user items. */
export function turnPrompt(init: SessionInit, history: readonly Item[]): LanguageModelV3Message[] {
  return [{ role: 'system', content: systemPrompt(init, history) }, ...itemsToMessages(history)];
}

export function systemPrompt(init: SessionInit, history: readonly Item[]): string {
  const vars = templateVars(init);
  return [
    renderTemplate(init.agent.instructions, vars).trim(),
    `## Style\n${renderTemplate(channelStyle(init.agent, init.conversation.channel), vars).trim()}`,
    `## Context\n${contextLines(init, history).join('\n')}`,
    ...memoryPart(init),
  ].join('\n\n');
}

function memoryPart(init: SessionInit): string[] {
  const section = init.memory ? memorySection(init.memory) : '';
  return section === '' ? [] : [section];
}

function contextLines(init: SessionInit, history: readonly Item[]): string[] {
  const { conversation, customer } = init;
  // Minute precision keeps the prompt prefix stable within a minute, for provider prompt caches.
  const now = new Date(init.clock.now()).toISOString().slice(0, 16) + 'Z';
  const lines = [`- You are ${init.agent.name}. Channel: ${conversation.channel} (${conversation.mode}). Now: ${now}.`];
  const known = [customer?.name, ...(customer?.identifiers ?? []).map((i) => `${i.type} ${i.value}`)].filter(Boolean);
  lines.push(`- Customer: ${known.length > 0 ? known.join(', ') : 'not identified'}.`);
  if (Object.keys(conversation.context).length > 0) {
    let json = JSON.stringify(conversation.context);
    if (json.length > MAX_CONTEXT_CHARS) json = `${json.slice(0, MAX_CONTEXT_CHARS)}…`;
    lines.push(`- Conversation context: ${json}`);
  }
  if (history.some((item) => item.role === 'agent' && item.interrupted)) {
    lines.push(`- A message of yours ending in ${INTERRUPTED_NOTE} was cut off there: the customer did not get the rest.`);
  }
  return lines;
}
