import type {
  Attachment,
  Channel,
  Conversation,
  ConversationStatus,
  Customer,
  CustomerIdentifier,
  IdentifierType,
  Item,
  ItemRole,
  ItemType,
  Mode,
} from '../core/conversation.ts';
import type { ConversationRow, CustomerIdentifierRow, CustomerRow, ItemRow } from './schema.ts';

/** Rows ⇄ domain records: snake_case ⇄ camelCase, NULL ⇄ absent, JSON text ⇄ values, 0/1 ⇄ boolean. */

export function conversationToRow(c: Conversation): ConversationRow {
  return {
    id: c.id,
    agent: c.agent,
    channel: c.channel,
    mode: c.mode,
    status: c.status,
    ended_reason: c.endedReason ?? null,
    customer_id: c.customerId ?? null,
    context: JSON.stringify(c.context ?? {}),
    node_id: c.nodeId ?? null,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    ended_at: c.endedAt ?? null,
    last_activity_at: c.lastActivityAt ?? null,
    answered_through: c.answeredThrough ?? null,
    lease_owner: null,
    lease_until: null,
  };
}

export function rowToConversation(r: ConversationRow): Conversation {
  const c: Conversation = {
    id: r.id,
    agent: r.agent,
    channel: r.channel as Channel,
    mode: r.mode as Mode,
    status: r.status as ConversationStatus,
    context: JSON.parse(r.context) as Record<string, unknown>,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
  if (r.ended_reason !== null) c.endedReason = r.ended_reason;
  if (r.customer_id !== null) c.customerId = r.customer_id;
  if (r.node_id !== null) c.nodeId = r.node_id;
  if (r.ended_at !== null) c.endedAt = Number(r.ended_at);
  if (r.last_activity_at !== null) c.lastActivityAt = Number(r.last_activity_at);
  if (r.answered_through !== null) c.answeredThrough = r.answered_through;
  return c;
}

export function itemToRow(i: Item): ItemRow {
  return {
    id: i.id,
    conversation_id: i.conversationId,
    role: i.role,
    type: i.type,
    text: i.text,
    interrupted: i.interrupted ? 1 : 0,
    turn_id: i.turnId ?? null,
    tool_call_id: i.toolCallId ?? null,
    tool_name: i.toolName ?? null,
    data: i.data === undefined ? null : JSON.stringify(i.data),
    attachments: i.attachments === undefined ? null : JSON.stringify(i.attachments),
    external_id: i.externalId ?? null,
    metrics: i.metrics === undefined ? null : JSON.stringify(i.metrics),
    created_at: i.createdAt,
    answered_turn: null,
  };
}

export function rowToItem(r: ItemRow): Item {
  const i: Item = {
    id: r.id,
    conversationId: r.conversation_id,
    role: r.role as ItemRole,
    type: r.type as ItemType,
    text: r.text,
    interrupted: Number(r.interrupted) === 1,
    createdAt: Number(r.created_at),
  };
  if (r.turn_id !== null) i.turnId = r.turn_id;
  if (r.tool_call_id !== null) i.toolCallId = r.tool_call_id;
  if (r.tool_name !== null) i.toolName = r.tool_name;
  if (r.data !== null) i.data = JSON.parse(r.data) as unknown;
  if (r.attachments !== null) i.attachments = JSON.parse(r.attachments) as Attachment[];
  if (r.external_id !== null) i.externalId = r.external_id;
  if (r.metrics !== null) i.metrics = JSON.parse(r.metrics) as Record<string, number>;
  return i;
}

/** Identifiers in a stable order: externalId, phone, email. */
const TYPE_ORDER: Record<IdentifierType, number> = { externalId: 0, phone: 1, email: 2 };

export function rowToCustomer(r: CustomerRow, identifiers: CustomerIdentifierRow[]): Customer {
  const c: Customer = {
    id: r.id,
    identifiers: identifiers
      .map((i): CustomerIdentifier => ({ type: i.type as IdentifierType, value: i.value }))
      .sort((a, b) => TYPE_ORDER[a.type] - TYPE_ORDER[b.type] || (a.value < b.value ? -1 : 1)),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
  if (r.name !== null) c.name = r.name;
  return c;
}
