import type { Channel, DeliveryStatus } from '../core/conversation.ts';
import { newId, type IdPrefix } from '../core/ids.ts';
import { invalidRequest } from './errors.ts';
import type { Db, Executor } from './executor.ts';
import type { OutboundRow } from './schema.ts';

/**
 * What must be sent for an agent message on an async channel, recorded before it leaves
 * (DESIGN.md rule 4). (itemId, part) is its idempotency key; `id` is what the provider sees as
 * ours (e.g. the email Message-ID's left side) and `providerId` what it calls it (Twilio's SID).
 */
export interface OutboundRecord {
  id: string;
  conversationId: string;
  itemId: string;
  /** Index of the part of a message split in several (long SMS); 0 otherwise. */
  part: number;
  channel: Channel;
  to: string;
  from: string;
  body: string;
  /** Channel specifics: email headers, media URLs… */
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  attempts: number;
  providerId?: string;
  lastError?: string;
  nextAttemptAt?: number;
  createdAt: number;
  updatedAt: number;
}

/** A record to create: `id` (default `out_…`), `status` ('pending'), `attempts` (0), `updatedAt` (createdAt) may be left out. */
export type NewOutbound = Omit<OutboundRecord, 'id' | 'status' | 'attempts' | 'updatedAt'> &
  Partial<Pick<OutboundRecord, 'id' | 'status' | 'attempts' | 'updatedAt'>>;

/** Fields that change while delivering; null clears an optional one. */
export interface OutboundPatch {
  status?: DeliveryStatus;
  attempts?: number;
  providerId?: string | null;
  lastError?: string | null;
  nextAttemptAt?: number | null;
}

export interface OutboundCreateResult {
  /** The stored record: the new one, or the one stored first for the same (itemId, part). */
  record: OutboundRecord;
  created: boolean;
}

export interface OutboundRepository {
  /** Idempotent on (itemId, part): a second create returns the first record with created=false. */
  create(rec: NewOutbound): Promise<OutboundCreateResult>;
  get(id: string): Promise<OutboundRecord | undefined>;
  /** By part. */
  listByItem(itemId: string): Promise<OutboundRecord[]>;
  /** Oldest first. */
  listByConversation(conversationId: string): Promise<OutboundRecord[]>;
  /** Records still to send ('pending' or 'retrying') whose next attempt is due, oldest first. */
  listDue(nowMs: number, limit: number): Promise<OutboundRecord[]>;
  /** Undefined for an unknown id. */
  update(id: string, patch: OutboundPatch, atMs: number): Promise<OutboundRecord | undefined>;
  /** The record the provider knows by this id (status callbacks). */
  findByProviderId(providerId: string): Promise<OutboundRecord | undefined>;
}

export function outboundRepository(ex: Executor): OutboundRepository {
  const select = () => ex.db.selectFrom('outbound').selectAll();
  return {
    create: (rec) => ex.run('outbound.create', () => ex.write((db) => create(db, rec))),

    get: (id) =>
      ex.run('outbound.get', async () => {
        const row = await select().where('id', '=', id).executeTakeFirst();
        return row && rowToOutbound(row);
      }),

    listByItem: (itemId) =>
      ex.run('outbound.listByItem', async () =>
        (await select().where('item_id', '=', itemId).orderBy('part', 'asc').execute()).map(rowToOutbound),
      ),

    listByConversation: (conversationId) =>
      ex.run('outbound.listByConversation', async () =>
        (await select().where('conversation_id', '=', conversationId).orderBy('id', 'asc').execute()).map(rowToOutbound),
      ),

    listDue: (nowMs, limit) =>
      ex.run('outbound.listDue', async () => {
        if (!Number.isInteger(limit) || limit < 1) {
          throw invalidRequest('invalid_limit', `limit must be a positive integer, got ${limit}`);
        }
        const rows = await select()
          .where('status', 'in', ['pending', 'retrying'])
          .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', nowMs)]))
          .orderBy('id', 'asc')
          .limit(limit)
          .execute();
        return rows.map(rowToOutbound);
      }),

    update: (id, patch, atMs) =>
      ex.run('outbound.update', async () => {
        const row = await ex.write((db) =>
          db.updateTable('outbound').set(patchToRow(patch, atMs)).where('id', '=', id).returningAll().executeTakeFirst(),
        );
        return row && rowToOutbound(row);
      }),

    findByProviderId: (providerId) =>
      ex.run('outbound.findByProviderId', async () => {
        const row = await select().where('provider_id', '=', providerId).orderBy('id', 'asc').limit(1).executeTakeFirst();
        return row && rowToOutbound(row);
      }),
  };
}

async function create(db: Db, rec: NewOutbound): Promise<OutboundCreateResult> {
  const row = outboundToRow(rec);
  // ON CONFLICT DO NOTHING rather than catching: a failed statement aborts a Postgres transaction.
  const inserted = await db
    .insertInto('outbound')
    .values(row)
    .onConflict((oc) => oc.columns(['item_id', 'part']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { record: rowToOutbound(inserted), created: true };
  const existing = await db
    .selectFrom('outbound')
    .selectAll()
    .where('item_id', '=', row.item_id)
    .where('part', '=', row.part)
    .executeTakeFirstOrThrow();
  return { record: rowToOutbound(existing), created: false };
}

function outboundToRow(r: NewOutbound): OutboundRow {
  return {
    // `out` is not one of core's id prefixes (yet); newId only uses the prefix as text.
    id: r.id ?? newId('out' as IdPrefix, r.createdAt),
    conversation_id: r.conversationId,
    item_id: r.itemId,
    part: r.part,
    channel: r.channel,
    to_address: r.to,
    from_address: r.from,
    body: r.body,
    payload: JSON.stringify(r.payload),
    status: r.status ?? 'pending',
    attempts: r.attempts ?? 0,
    provider_id: r.providerId ?? null,
    last_error: r.lastError ?? null,
    next_attempt_at: r.nextAttemptAt ?? null,
    created_at: r.createdAt,
    updated_at: r.updatedAt ?? r.createdAt,
  };
}

function rowToOutbound(r: OutboundRow): OutboundRecord {
  const o: OutboundRecord = {
    id: r.id,
    conversationId: r.conversation_id,
    itemId: r.item_id,
    part: Number(r.part),
    channel: r.channel as Channel,
    to: r.to_address,
    from: r.from_address,
    body: r.body,
    payload: JSON.parse(r.payload) as Record<string, unknown>,
    status: r.status as DeliveryStatus,
    attempts: Number(r.attempts),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
  if (r.provider_id !== null) o.providerId = r.provider_id;
  if (r.last_error !== null) o.lastError = r.last_error;
  if (r.next_attempt_at !== null) o.nextAttemptAt = Number(r.next_attempt_at);
  return o;
}

function patchToRow(patch: OutboundPatch, atMs: number): Partial<OutboundRow> {
  const row: Partial<OutboundRow> = { updated_at: atMs };
  if (patch.status !== undefined) row.status = patch.status;
  if (patch.attempts !== undefined) row.attempts = patch.attempts;
  if (patch.providerId !== undefined) row.provider_id = patch.providerId;
  if (patch.lastError !== undefined) row.last_error = patch.lastError;
  if (patch.nextAttemptAt !== undefined) row.next_attempt_at = patch.nextAttemptAt;
  return row;
}
