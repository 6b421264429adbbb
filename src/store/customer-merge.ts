import type { CustomerIdentifier } from '../core/conversation.ts';
import type { Db, StoreDialect } from './executor.ts';

/**
 * The steps of joining two customer records into one (`customers.link`), run inside one
 * transaction by the caller. Everything that hangs off a customer moves: identifiers,
 * conversations (and with them their items, threads, deliveries, attachments) and memory
 * summaries; then the emptied record is deleted.
 */

/** The customer the identifier belongs to now, if anyone. */
export async function ownerOf(db: Db, id: CustomerIdentifier): Promise<string | undefined> {
  const row = await db
    .selectFrom('customer_identifiers')
    .select('customer_id')
    .where('type', '=', id.type)
    .where('value', '=', id.value)
    .executeTakeFirst();
  return row?.customer_id;
}

/**
 * Locks the customer rows (Postgres; SQLite writes one transaction at a time anyway) in id
 * order, so two merges of the same pair in opposite directions queue instead of deadlocking.
 * Returns the ids that still exist.
 */
export async function lockCustomers(db: Db, dialect: StoreDialect, ids: string[]): Promise<Set<string>> {
  const q = db.selectFrom('customers').select('id').where('id', 'in', ids).orderBy('id');
  const rows = await (dialect === 'postgres' ? q.forUpdate() : q).execute();
  return new Set(rows.map((r) => r.id));
}

/**
 * Moves everything of `from` to `into` and deletes `from`. On SMS and email a customer has one
 * open conversation per agent and channel (a unique index): where both had one, `into`'s stays
 * open and `from`'s is ended as `superseded`, as a new conversation would have done. Returns the
 * ids of the conversations it ended.
 */
export async function mergeCustomer(db: Db, from: string, into: string, atMs: number): Promise<string[]> {
  const superseded = await supersedeDuplicates(db, from, into, atMs);
  await db.updateTable('conversations').set({ customer_id: into }).where('customer_id', '=', from).execute();
  await db.updateTable('summaries').set({ customer_id: into }).where('customer_id', '=', from).execute();
  await db.updateTable('customer_identifiers').set({ customer_id: into }).where('customer_id', '=', from).execute();
  const names = await db.selectFrom('customers').select(['id', 'name']).where('id', 'in', [from, into]).execute();
  const name = names.find((n) => n.id === into)?.name ?? names.find((n) => n.id === from)?.name ?? null;
  await db.deleteFrom('customers').where('id', '=', from).execute();
  await db.updateTable('customers').set({ name, updated_at: atMs }).where('id', '=', into).execute();
  return superseded;
}

async function supersedeDuplicates(db: Db, from: string, into: string, atMs: number): Promise<string[]> {
  const open = await db
    .selectFrom('conversations')
    .select(['id', 'customer_id', 'agent', 'channel'])
    .where('customer_id', 'in', [from, into])
    .where('mode', '=', 'async')
    .where('status', '<>', 'ended')
    .where('channel', '<>', 'chat')
    .execute();
  const kept = new Set(open.filter((c) => c.customer_id === into).map((c) => `${c.agent}\n${c.channel}`));
  const ids = open.filter((c) => c.customer_id === from && kept.has(`${c.agent}\n${c.channel}`)).map((c) => c.id);
  if (ids.length === 0) return [];
  await db
    .updateTable('conversations')
    .set({ status: 'ended', ended_reason: 'superseded', ended_at: atMs, updated_at: atMs })
    .where('id', 'in', ids)
    .execute();
  return ids;
}
