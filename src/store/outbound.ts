import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import type { Channel, DeliveryStatus } from '../core/conversation.ts';
import { newId, type IdPrefix } from '../core/ids.ts';
import { invalidRequest } from './errors.ts';
import type { Db, Executor } from './executor.ts';
import type { Database, OutboundRow } from './schema.ts';

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
  /** While `sending`: who claimed the record (`claim`) and until when. */
  claimOwner?: string;
  claimUntil?: number;
}

/** A record to create: `id` (default `out_…`), `status` ('pending'), `attempts` (0), `updatedAt` (createdAt) may be left out. */
export type NewOutbound = Omit<OutboundRecord, 'id' | 'status' | 'attempts' | 'updatedAt'> &
  Partial<Pick<OutboundRecord, 'id' | 'status' | 'attempts' | 'updatedAt'>>;

/**
 * Fields that change while delivering; null clears an optional one. Setting a status other than
 * `sending` (an outcome) also clears the claim.
 */
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
  /**
   * Records still to send whose next attempt is due, oldest first: 'pending' or 'retrying' (next
   * attempt due), and 'sending' whose claim has expired or was released (its sender died).
   */
  listDue(nowMs: number, limit: number): Promise<OutboundRecord[]>;
  /**
   * Takes the record for sending, atomically across processes (one conditional UPDATE): granted
   * when it is 'pending' or 'retrying' and due, or 'sending' with an expired (or released) claim.
   * The record becomes 'sending', owned by `owner` until `nowMs + leaseMs`, with `attempts` + 1.
   * Returns the claimed record, or undefined when it is not claimable (sent, given up, claimed by
   * a live sender, not due yet) or unknown. `attempts` > 1 on the result means an earlier attempt
   * started: it may have reached the provider.
   */
  claim(id: string, owner: string, nowMs: number, leaseMs: number): Promise<OutboundRecord | undefined>;
  /**
   * Releases the claims `owner` holds on records still 'sending' (a node restarting: its previous
   * run died mid-send), so they are due again. Returns the count.
   */
  releaseClaims(owner: string): Promise<number>;
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
          .where((eb) => claimable(eb, nowMs))
          .orderBy('id', 'asc')
          .limit(limit)
          .execute();
        return rows.map(rowToOutbound);
      }),

    claim: (id, owner, nowMs, leaseMs) =>
      ex.run('outbound.claim', async () => {
        // One conditional UPDATE: the row lock (Postgres) or the write lock (SQLite) makes the
        // check and the take one step, so two nodes cannot both claim the record.
        const row = await ex.write((db) =>
          db
            .updateTable('outbound')
            .set((eb) => ({
              status: 'sending', claim_owner: owner, claim_until: nowMs + leaseMs, attempts: eb('attempts', '+', 1), updated_at: nowMs,
            }))
            .where('id', '=', id)
            .where((eb) => claimable(eb, nowMs))
            .returningAll()
            .executeTakeFirst(),
        );
        return row && rowToOutbound(row);
      }),

    releaseClaims: (owner) =>
      ex.run('outbound.releaseClaims', async () => {
        const result = await ex.write((db) =>
          db
            .updateTable('outbound')
            .set({ claim_owner: null, claim_until: null })
            .where('status', '=', 'sending')
            .where('claim_owner', '=', owner)
            .executeTakeFirst(),
        );
        return Number(result.numUpdatedRows);
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

/** Due to send at `nowMs`: to send and due, or being sent by nobody alive (claim expired or released). */
function claimable(eb: ExpressionBuilder<Database, 'outbound'>, nowMs: number): Expression<SqlBool> {
  return eb.or([
    eb.and([
      eb('status', 'in', ['pending', 'retrying']),
      eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', nowMs)]),
    ]),
    eb.and([eb('status', '=', 'sending'), eb.or([eb('claim_until', 'is', null), eb('claim_until', '<=', nowMs)])]),
  ]);
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
    claim_owner: null,
    claim_until: null,
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
  if (r.claim_owner !== null) o.claimOwner = r.claim_owner;
  if (r.claim_until !== null) o.claimUntil = Number(r.claim_until);
  return o;
}

function patchToRow(patch: OutboundPatch, atMs: number): Partial<OutboundRow> {
  const row: Partial<OutboundRow> = { updated_at: atMs };
  if (patch.status !== undefined) row.status = patch.status;
  if (patch.status !== undefined && patch.status !== 'sending') {
    row.claim_owner = null;
    row.claim_until = null;
  }
  if (patch.attempts !== undefined) row.attempts = patch.attempts;
  if (patch.providerId !== undefined) row.provider_id = patch.providerId;
  if (patch.lastError !== undefined) row.last_error = patch.lastError;
  if (patch.nextAttemptAt !== undefined) row.next_attempt_at = patch.nextAttemptAt;
  return row;
}
