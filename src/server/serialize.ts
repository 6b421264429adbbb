import type { AgentSpec } from '../core/agent.ts';
import type { Conversation, Item } from '../core/conversation.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

export function itemJson(i: Item): Record<string, unknown> {
  return {
    id: i.id,
    role: i.role,
    type: i.type,
    text: i.text,
    interrupted: i.interrupted,
    ...(i.turnId ? { turnId: i.turnId } : {}),
    ...(i.toolCallId ? { toolCallId: i.toolCallId } : {}),
    ...(i.toolName ? { toolName: i.toolName } : {}),
    ...(i.data !== undefined ? { data: i.data } : {}),
    ...(i.attachments?.length ? { attachments: i.attachments } : {}),
    ...(i.metrics ? { metrics: i.metrics } : {}),
    createdAt: iso(i.createdAt),
  };
}

export function conversationJson(c: Conversation, items?: Item[]): Record<string, unknown> {
  return {
    id: c.id,
    agent: c.agent,
    channel: c.channel,
    mode: c.mode,
    status: c.status,
    ...(c.endedReason ? { endedReason: c.endedReason } : {}),
    ...(c.customerId ? { customerId: c.customerId } : {}),
    context: c.context,
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
    ...(c.endedAt ? { endedAt: iso(c.endedAt) } : {}),
    ...(items ? { items: items.map(itemJson) } : {}),
  };
}

export function agentJson(a: AgentSpec): Record<string, unknown> {
  return {
    id: a.id,
    name: a.name,
    ...(a.description ? { description: a.description } : {}),
    model: a.model.provider === 'offline' || a.model.provider === 'scripted' ? a.model.provider : `${a.model.provider}:${a.model.model}`,
    tools: a.tools.map((t) => ({ name: t.name, description: t.description })),
  };
}
