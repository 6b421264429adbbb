import type { AgentSpec } from '../core/agent.ts';
import type { Conversation, DeliveryStatus, Item } from '../core/conversation.ts';
import type { OutboundRecord } from '../store/index.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

/** Delivery of an agent message on an async channel, summed over its parts (long SMS). */
export function deliveryJson(records: readonly OutboundRecord[]): Record<string, unknown> | undefined {
  if (records.length === 0) return undefined;
  const rank: DeliveryStatus[] = ['failed', 'undelivered', 'retrying', 'sending', 'pending', 'suppressed', 'sent', 'delivered'];
  const worst = rank.find((s) => records.some((r) => r.status === s)) ?? records[0]!.status;
  const lastError = records.find((r) => r.lastError)?.lastError;
  return {
    status: worst,
    attempts: Math.max(...records.map((r) => r.attempts)),
    parts: records.length,
    ...(lastError ? { lastError } : {}),
  };
}

export function itemJson(i: Item, delivery?: readonly OutboundRecord[]): Record<string, unknown> {
  const d = delivery ? deliveryJson(delivery) : undefined;
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
    ...(d ? { delivery: d } : {}),
    createdAt: iso(i.createdAt),
  };
}

export function conversationJson(
  c: Conversation,
  items?: Item[],
  outbound: readonly OutboundRecord[] = [],
): Record<string, unknown> {
  const byItem = new Map<string, OutboundRecord[]>();
  for (const r of outbound) byItem.set(r.itemId, [...(byItem.get(r.itemId) ?? []), r]);
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
    ...(items ? { items: items.map((i) => itemJson(i, byItem.get(i.id))) } : {}),
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
