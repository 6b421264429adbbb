import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { Conversation, Item } from '../../src/core/conversation.ts';
import type * as Ids from '../../src/core/ids.ts';
import type * as StoreModule from '../../src/store/index.ts';
import type { Store } from '../../src/store/index.ts';
import { sendInboundSms, type SimulatedMessage, type TwilioSimulator } from '../../src/testing/twilio-simulator.ts';
import { ASYNC_AGENT, PUBLIC_URL, SUPPORT_NUMBER } from './async-server.ts';
import { SERVER_ROOT } from './server.ts';

/**
 * The SMS side of the async benchmarks: signed inbound webhooks as Twilio sends them, the replies
 * the server hands to Twilio's REST API (a TwilioSimulator in the bench process), a scratch
 * Postgres schema, and a store seeded before the server starts.
 */

/** A module of the measured checkout (BENCH_SERVER_ROOT, default this one), typed as this checkout's. */
export async function serverModule<T>(relativePath: string): Promise<T> {
  return (await import(pathToFileURL(join(SERVER_ROOT, relativePath)).href)) as T;
}

/** The server's environment for SMS through the simulator. */
export function twilioEnv(sim: TwilioSimulator): Record<string, string> {
  return { TWILIO_ACCOUNT_SID: sim.accountSid, TWILIO_AUTH_TOKEN: sim.authToken, TWILIO_API_URL: sim.url, OPERATOR_PUBLIC_URL: PUBLIC_URL };
}

export function phoneOf(n: number): string {
  return `+1555${String(2_000_000 + n).padStart(7, '0')}`;
}

export interface Reply {
  /** performance.now() in this process when the simulator emitted the message (its 201 is on the wire). */
  at: number;
  /** The simulator's Date.now() when it created the message (epoch ms, comparable with server timestamps). */
  simAtMs: number;
  body: string;
}

/**
 * Every message the server sends through the simulator's Messages.json, by recipient, in arrival
 * order. The simulator emits a message once its 201 has been written (as Twilio would answer), so
 * `at` is a few microseconds after the request arrived: the REST hop is inside what is measured.
 */
export class Replies {
  readonly byPhone = new Map<string, Reply[]>();
  total = 0;
  private readonly waiters = new Map<string, { index: number; resolve: (r: Reply) => void }[]>();
  private readonly off: () => void;

  constructor(sim: TwilioSimulator) {
    this.off = sim.onMessage((m) => this.onMessage(m, performance.now()));
  }

  private onMessage(m: SimulatedMessage, at: number): void {
    const list = this.byPhone.get(m.to) ?? [];
    list.push({ at, simAtMs: m.createdAt, body: m.body });
    this.byPhone.set(m.to, list);
    this.total++;
    const waiting = this.waiters.get(m.to);
    if (!waiting) return;
    for (const w of waiting.filter((x) => x.index < list.length)) w.resolve(list[w.index]!);
    const rest = waiting.filter((x) => x.index >= list.length);
    if (rest.length > 0) this.waiters.set(m.to, rest);
    else this.waiters.delete(m.to);
  }

  count(phone: string): number {
    return this.byPhone.get(phone)?.length ?? 0;
  }

  /** The `index`-th reply (0-based) to `phone`, already arrived or still to come. */
  nth(phone: string, index: number, timeoutMs: number): Promise<Reply> {
    const have = this.byPhone.get(phone)?.[index];
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const list = this.waiters.get(phone) ?? [];
        this.waiters.set(phone, list.filter((w) => w !== entry));
        reject(new Error(`no reply #${index + 1} to ${phone} within ${timeoutMs} ms (${this.count(phone)} arrived)`));
      }, timeoutMs);
      const entry = {
        index,
        resolve: (r: Reply) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      this.waiters.set(phone, [...(this.waiters.get(phone) ?? []), entry]);
    });
  }

  close(): void {
    this.off();
  }
}

export interface Inbound {
  /** performance.now() before the POST and once its 200 was read. */
  sentAt: number;
  acceptedAt: number;
}

/** One correctly signed inbound SMS webhook (as Twilio delivers it); throws unless the server answers 200. */
export async function textIn(serverUrl: string, sim: TwilioSimulator, from: string, body: string): Promise<Inbound> {
  const sentAt = performance.now();
  const r = await sendInboundSms({
    serverUrl, publicUrl: PUBLIC_URL, authToken: sim.authToken, accountSid: sim.accountSid, from, to: SUPPORT_NUMBER, body,
  });
  const acceptedAt = performance.now();
  if (r.status !== 200) throw new Error(`POST /twilio/sms answered ${r.status}: ${r.body.slice(0, 300)}`);
  return { sentAt, acceptedAt };
}

/** The Postgres the benchmarks may use (never required): BENCH_DATABASE_URL, else OPERATOR_TEST_DATABASE_URL. */
export function benchDatabaseUrl(): string | undefined {
  const url = process.env.BENCH_DATABASE_URL || process.env.OPERATOR_TEST_DATABASE_URL;
  return url ? url : undefined;
}

export interface PgScratch {
  /** DATABASE_URL with `search_path` set to the fresh schema. */
  databaseUrl: string;
  schema: string;
  queueSchema: string;
  /** Where (host:port/database, no credentials) and which server version, for the results. */
  where: string;
  /** The server's DATABASE_URL and OPERATOR_PGBOSS_SCHEMA. */
  env: Record<string, string>;
  /** Drops both schemas. */
  drop(): Promise<void>;
}

/** A fresh schema for the store and another for pg-boss, dropped afterwards (as test/async/cluster.pg.test.ts). */
export async function pgScratch(url: string, tag: string): Promise<PgScratch> {
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  const id = randomBytes(4).toString('hex');
  const schema = `bench_${tag}_${id}`;
  const queueSchema = `pgboss_bench_${id}`;
  let version: string;
  try {
    await admin.query(`create schema ${schema}`);
    version = String(((await admin.query('show server_version')).rows[0] as { server_version: string }).server_version);
  } catch (err) {
    await admin.end();
    throw err;
  }
  const databaseUrl = `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    databaseUrl,
    schema,
    queueSchema,
    where: `PostgreSQL ${version} at ${describePg(url)}`,
    env: { DATABASE_URL: databaseUrl, OPERATOR_PGBOSS_SCHEMA: queueSchema },
    drop: async () => {
      try {
        await admin.query(`drop schema if exists ${schema} cascade`);
        await admin.query(`drop schema if exists ${queueSchema} cascade`);
      } finally {
        await admin.end();
      }
    },
  };
}

function describePg(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'an unparsable URL';
  }
}

/** Opens the measured checkout's store on `<dir>/data` (or Postgres) and applies its migrations. */
export async function openBenchStore(dir: string, databaseUrl?: string): Promise<Store> {
  const { openStore } = await serverModule<typeof StoreModule>('src/store/index.ts');
  const store = await openStore({ dataDir: join(dir, 'data'), nodeId: 'bench-seed', ...(databaseUrl ? { databaseUrl } : {}) });
  await store.migrate();
  return store;
}

export interface SeededConversation {
  conversationId: string;
  customerId: string;
  items: number;
}

/**
 * Writes a suspended SMS conversation with `items` items of history (customer text, agent answer,
 * alternating, each answer delivered) straight into the store, as the server itself would have left
 * it: the customer, the conversation (async, suspended), the reply address on every text, the
 * answered marks and the outbound records. Two days of history ending an hour ago.
 */
export async function seedSmsConversation(store: Store, phone: string, items: number): Promise<SeededConversation> {
  const { newId } = await serverModule<typeof Ids>('src/core/ids.ts');
  if (items < 2 || items % 2 !== 0) throw new Error(`history must be an even number of items (text + answer), got ${items}`);
  const pairs = items / 2;
  const end = Date.now() - 3_600_000;
  const start = end - 2 * 86_400_000;
  const step = Math.floor((end - start) / pairs);
  const customer = await store.customers.findOrCreate({ phone }, start);
  const conv: Conversation = {
    id: newId('conv', start), agent: ASYNC_AGENT, channel: 'sms', mode: 'async', status: 'suspended', customerId: customer.id,
    context: {}, createdAt: start, updatedAt: end, lastActivityAt: end,
  };
  const reply = { to: phone, from: SUPPORT_NUMBER };
  await store.transaction(async (tx) => {
    await tx.conversations.create(conv);
    for (let k = 0; k < pairs; k++) {
      const t = start + k * step;
      const user: Item = {
        id: newId('itm', t), conversationId: conv.id, role: 'user', type: 'message', interrupted: false,
        text: `Earlier message ${k}: could you check on my order and let me know when it ships?`,
        data: { reply }, externalId: `SM${randomBytes(16).toString('hex')}`, createdAt: t,
      };
      const turnId = newId('turn', t + 40);
      const agent: Item = {
        id: newId('itm', t + 40), conversationId: conv.id, role: 'agent', type: 'message', interrupted: false,
        text: 'Sure.', turnId, metrics: { durationMs: 5, steps: 1, turnMs: 10 }, createdAt: t + 40,
      };
      await tx.items.append(user);
      await tx.items.append(agent);
      await tx.items.markAnswered([user.id], turnId);
      await tx.outbound.create({
        id: newId('msg', t + 40), conversationId: conv.id, itemId: agent.id, part: 0, channel: 'sms', to: phone, from: SUPPORT_NUMBER,
        body: agent.text, payload: {}, status: 'sent', attempts: 1, providerId: `SM${randomBytes(16).toString('hex')}`, createdAt: t + 40,
      });
    }
  });
  return { conversationId: conv.id, customerId: customer.id, items: (await store.items.list(conv.id)).length };
}

/** GET /v1/conversations/{id}, the fields the benchmarks read. */
export interface ConversationJson {
  id: string;
  status: string;
  items: { id: string; role: string; type: string; text: string; metrics?: Record<string, number>; createdAt: string }[];
}

export async function getConversation(url: string, id: string): Promise<ConversationJson> {
  const res = await fetch(`${url}/v1/conversations/${id}`);
  if (res.status !== 200) throw new Error(`GET /v1/conversations/${id} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as ConversationJson;
}
