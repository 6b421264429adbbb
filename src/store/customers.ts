import type { Customer, CustomerIdentifier, CustomerIdentity, IdentifierType } from '../core/conversation.ts';
import { OperatorError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { lockCustomers, mergeCustomer, ownerOf } from './customer-merge.ts';
import { invalidRequest, isUniqueViolation } from './errors.ts';
import type { Db, Executor, StoreDialect } from './executor.ts';
import { rowToCustomer } from './rows.ts';

export interface CustomerRepository {
  /**
   * The customer any of the given identifiers belongs to, or a new one holding all of them. A
   * found customer also receives the given identifiers it lacks, except those that belong to
   * another customer: they stay where they are. Safe under concurrent calls, across processes.
   */
  findOrCreate(identity: CustomerIdentity, atMs: number): Promise<Customer>;
  get(id: string): Promise<Customer | undefined>;
  findByIdentifier(type: IdentifierType, value: string): Promise<Customer | undefined>;
  /**
   * Gives the customer this identifier (normalised). Free: it is added. Already theirs: nothing
   * changes. Another customer's: that customer is merged into this one in one transaction — their
   * identifiers, conversations and memory move here and their record is deleted — so both
   * identities share one memory from now on. Fails with `customer_not_found` for an unknown id.
   * Safe under concurrent calls, across processes.
   */
  link(customerId: string, type: IdentifierType, value: string, atMs: number): Promise<LinkResult>;
  /**
   * Erases the customer with their conversations and everything hanging off them (items, thread
   * keys, outbound records, attachments of their items); false for an unknown id. Opt-outs are
   * kept (they bind the address, not the customer) and so are queued jobs (they find nothing).
   */
  delete(id: string): Promise<boolean>;
}

export interface LinkResult {
  customer: Customer;
  /** The customer merged into this one (now deleted), when the identifier was theirs. */
  mergedFrom?: string;
  /**
   * Conversations the merge ended (reason `superseded`): both customers had an open SMS or email
   * conversation with the same agent, and only one may stay open. The caller announces their end.
   */
  superseded?: string[];
}

/** Lookup priority when identifiers point at different customers: the most specific wins. */
const TYPES: IdentifierType[] = ['externalId', 'phone', 'email'];

/**
 * Emails are case-insensitive in practice, so they are lower-cased. Phones go to E.164 (`+` and
 * digits) when that is unambiguous: spaces, dashes, dots and parentheses are dropped; `00` before
 * the country code becomes `+`; ten digits without a country code are taken as a North American
 * number (`+1…`, the carriers this platform speaks to first), eleven starting with 1 likewise.
 * Anything else (letters, extensions, other national formats) is kept as given, trimmed, rather
 * than guessed: a wrong guess would merge two customers.
 */
export function normaliseIdentifier(type: IdentifierType, value: string): string {
  const trimmed = value.trim();
  if (type === 'email') return trimmed.toLowerCase();
  if (type === 'phone') return normalisePhone(trimmed);
  return trimmed;
}

function normalisePhone(raw: string): string {
  const compact = raw.replace(/[\s().-]/g, '');
  const m = /^(\+|00)?(\d+)$/.exec(compact);
  if (!m) return raw;
  const digits = m[2]!;
  if (m[1] !== undefined) return digits.length >= 7 && digits.length <= 15 && digits[0] !== '0' ? `+${digits}` : raw;
  if (digits.length === 10 && /^[2-9]/.test(digits)) return `+1${digits}`;
  if (digits.length === 11 && digits.startsWith('1')) return `+${digits}`;
  return raw;
}

export function identifiersOf(identity: CustomerIdentity): CustomerIdentifier[] {
  const out: CustomerIdentifier[] = [];
  for (const type of TYPES) {
    const raw = identity[type];
    if (raw === undefined) continue;
    const value = normaliseIdentifier(type, raw);
    if (value !== '') out.push({ type, value });
  }
  return out;
}

const ATTEMPTS = 5;

export function customerRepository(ex: Executor): CustomerRepository {
  return {
    findOrCreate: (identity, atMs) =>
      ex.run('customers.findOrCreate', async () => {
        const wanted = identifiersOf(identity);
        if (wanted.length === 0) {
          throw invalidRequest('customer_identity_empty', 'a customer needs a phone, an email or an externalId');
        }
        // Two callers may both find nothing and both create: the unique (type, value) key lets
        // only one commit; the other rolls back its attempt and finds the winner on retry.
        for (let attempt = 1; ; attempt++) {
          try {
            return await ex.atomic((db) => findOrCreateOnce(db, wanted, atMs));
          } catch (err) {
            if (!isUniqueViolation(err) || attempt >= ATTEMPTS) throw err;
          }
        }
      }),

    get: (id) => ex.run('customers.get', () => load(ex.db, id)),

    findByIdentifier: (type, value) =>
      ex.run('customers.findByIdentifier', async () => {
        const row = await ex.db
          .selectFrom('customer_identifiers')
          .select('customer_id')
          .where('type', '=', type)
          .where('value', '=', normaliseIdentifier(type, value))
          .executeTakeFirst();
        return row && load(ex.db, row.customer_id);
      }),

    link: (customerId, type, value, atMs) =>
      ex.run('customers.link', async () => {
        const wanted = { type, value: normaliseIdentifier(type, value) };
        if (wanted.value === '') throw invalidRequest('customer_identifier_empty', `the ${type} to link is empty`);
        for (let attempt = 1; ; attempt++) {
          try {
            return await ex.atomic((db) => linkOnce(db, ex.dialect, customerId, wanted, atMs));
          } catch (err) {
            if (!isRaceLost(err) || attempt >= ATTEMPTS) throw err;
          }
        }
      }),

    delete: (id) =>
      ex.run('customers.delete', async () => {
        // Conversations and identifiers reference customers ON DELETE CASCADE; items, thread keys
        // and outbound records their conversation; attachments their item: one statement.
        const result = await ex.write((db) => db.deleteFrom('customers').where('id', '=', id).executeTakeFirst());
        return result.numDeletedRows > 0n;
      }),
  };
}

async function findOrCreateOnce(db: Db, wanted: CustomerIdentifier[], atMs: number): Promise<Customer> {
  const found = await db
    .selectFrom('customer_identifiers')
    .selectAll()
    .where((eb) => eb.or(wanted.map((w) => eb.and([eb('type', '=', w.type), eb('value', '=', w.value)]))))
    .execute();

  if (found.length === 0) {
    const id = newId('cus', atMs);
    await db.insertInto('customers').values({ id, name: null, created_at: atMs, updated_at: atMs }).execute();
    await db
      .insertInto('customer_identifiers')
      .values(wanted.map((w) => ({ customer_id: id, type: w.type, value: w.value })))
      .execute();
    return (await load(db, id))!;
  }

  const ownerOf = (w: CustomerIdentifier) => found.find((f) => f.type === w.type && f.value === w.value)?.customer_id;
  const owner = wanted.map(ownerOf).find((id) => id !== undefined)!;
  const missing = wanted.filter((w) => ownerOf(w) === undefined);
  if (missing.length > 0) {
    // Taken meanwhile by someone else? Then it stays theirs (DO NOTHING), as if it had been found.
    const added = await db
      .insertInto('customer_identifiers')
      .values(missing.map((w) => ({ customer_id: owner, type: w.type, value: w.value })))
      .onConflict((oc) => oc.columns(['type', 'value']).doNothing())
      .executeTakeFirst();
    if (added.numInsertedOrUpdatedRows !== undefined && added.numInsertedOrUpdatedRows > 0n) {
      await db.updateTable('customers').set({ updated_at: atMs }).where('id', '=', owner).execute();
    }
  }
  const customer = await load(db, owner);
  if (customer === undefined) throw new Error(`customer ${owner} vanished while being found`);
  return customer;
}

/** Another writer got there first (the retry sees its result), or Postgres broke a lock cycle. */
function isRaceLost(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return isUniqueViolation(err) || code === '40P01' || code === '40001';
}

/** How often `linkOnce` looks again when the identifier changed hands while it locked. */
const LOOKS = 3;

async function linkOnce(db: Db, dialect: StoreDialect, customerId: string, wanted: CustomerIdentifier, atMs: number): Promise<LinkResult> {
  for (let look = 1; look <= LOOKS; look++) {
    const owner = await ownerOf(db, wanted);
    const locked = await lockCustomers(db, dialect, owner && owner !== customerId ? [customerId, owner] : [customerId]);
    if (!locked.has(customerId)) {
      throw new OperatorError('not_found', 'customer_not_found', `No customer ${customerId}`);
    }
    if (owner === undefined) {
      const added = await db
        .insertInto('customer_identifiers')
        .values({ customer_id: customerId, type: wanted.type, value: wanted.value })
        .onConflict((oc) => oc.columns(['type', 'value']).doNothing())
        .executeTakeFirst();
      if (!added.numInsertedOrUpdatedRows) continue; // taken meanwhile: look at who has it
      await db.updateTable('customers').set({ updated_at: atMs }).where('id', '=', customerId).execute();
      return { customer: (await load(db, customerId))! };
    }
    if (owner === customerId) return { customer: (await load(db, customerId))! };
    // Both rows are locked now; the identifier may have moved before that (another merge).
    if (!locked.has(owner) || (await ownerOf(db, wanted)) !== owner) continue;
    const superseded = await mergeCustomer(db, owner, customerId, atMs);
    return { customer: (await load(db, customerId))!, mergedFrom: owner, ...(superseded.length > 0 ? { superseded } : {}) };
  }
  throw new OperatorError('conflict', 'customer_link_contended', `${wanted.type} kept changing hands while being linked; try again`);
}

async function load(db: Db, id: string): Promise<Customer | undefined> {
  const row = await db.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
  if (row === undefined) return undefined;
  const identifiers = await db.selectFrom('customer_identifiers').selectAll().where('customer_id', '=', id).execute();
  return rowToCustomer(row, identifiers);
}
