/**
 * The tables as Kysely sees them (snake_case columns, as stored). Times are epoch ms in `bigint`
 * columns, read back as JS numbers on both dialects; JSON is stored as text; booleans as 0/1.
 * `rows.ts` and the repositories map these rows to the domain types of `src/core`.
 */
export interface Database {
  conversations: ConversationRow;
  items: ItemRow;
  customers: CustomerRow;
  customer_identifiers: CustomerIdentifierRow;
  conversation_threads: ThreadRow;
  outbound: OutboundRow;
  opt_outs: OptOutRow;
  attachments: AttachmentRow;
  jobs: JobRow;
  summaries: SummaryRow;
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
  /** 0002_async. */
  last_activity_at: number | null;
  /** Item id: the newest user item a completed turn answered (before 0004; now `items.answered_turn`). */
  answered_through: string | null;
  /** Who runs the conversation's turn right now (one writer, DESIGN.md rule 5), and until when. */
  lease_owner: string | null;
  lease_until: number | null;
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
  /**
   * 0004: the turn that answered this customer message (or proactive event); null while it awaits
   * an answer (and on items that never need one).
   */
  answered_turn: string | null;
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

/** An email Message-ID (or another thread key) of a conversation's thread. */
export interface ThreadRow {
  key: string;
  conversation_id: string;
}

export interface OutboundRow {
  id: string;
  conversation_id: string;
  item_id: string;
  /** Index of the part for a message split in several (long SMS); 0 otherwise. */
  part: number;
  channel: string;
  to_address: string;
  from_address: string;
  body: string;
  /** JSON object. */
  payload: string;
  status: string;
  attempts: number;
  provider_id: string | null;
  last_error: string | null;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
  /** 0004: who is sending the record ('sending') and until when; another node may take over after. */
  claim_owner: string | null;
  claim_until: number | null;
}

export interface OptOutRow {
  channel: string;
  address: string;
  created_at: number;
}

export interface AttachmentRow {
  id: string;
  item_id: string | null;
  content_type: string;
  filename: string | null;
  size_bytes: number;
  data: Uint8Array;
  created_at: number;
}

/** The embedded work queue's jobs (`queue/embedded.ts`); pg-boss keeps its own tables. */
export interface JobRow {
  id: string;
  name: string;
  /** JSON object. */
  data: string;
  /** 'created' (waiting for run_at), 'active' (claimed), 'failed' (attempts exhausted, kept). */
  state: string;
  run_at: number;
  /** Attempts started so far (a claim counts one). */
  attempts: number;
  max_attempts: number;
  backoff_ms: number;
  last_error: string | null;
  locked_until: number | null;
  created_at: number;
}

/** 0003_memory: what an ended conversation left for the next one with its customer. */
export interface SummaryRow {
  conversation_id: string;
  customer_id: string;
  agent: string;
  channel: string;
  text: string;
  /** JSON array of strings. */
  open_items: string;
  created_at: number;
}
