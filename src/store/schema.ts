/**
 * The tables as Kysely sees them (snake_case columns, as stored). Times are epoch ms in `bigint`
 * columns, read back as JS numbers on both dialects; JSON is stored as text; booleans as 0/1.
 * `rows.ts` maps these rows to the domain types of `src/core`.
 */
export interface Database {
  conversations: ConversationRow;
  items: ItemRow;
  customers: CustomerRow;
  customer_identifiers: CustomerIdentifierRow;
}

export interface ConversationRow {
  id: string;
  agent: string;
  channel: string;
  mode: string;
  status: string;
  ended_reason: string | null;
  customer_id: string | null;
  /** JSON object. */
  context: string;
  node_id: string | null;
  created_at: number;
  updated_at: number;
  ended_at: number | null;
}

export interface ItemRow {
  /** Time-sortable (`newId`), so it is also the order of items in a conversation. */
  id: string;
  conversation_id: string;
  role: string;
  type: string;
  text: string;
  /** 0 or 1. */
  interrupted: number;
  turn_id: string | null;
  tool_call_id: string | null;
  tool_name: string | null;
  /** JSON. */
  data: string | null;
  /** JSON array. */
  attachments: string | null;
  external_id: string | null;
  /** JSON object. */
  metrics: string | null;
  created_at: number;
}

export interface CustomerRow {
  id: string;
  name: string | null;
  created_at: number;
  updated_at: number;
}

export interface CustomerIdentifierRow {
  customer_id: string;
  type: string;
  value: string;
}
