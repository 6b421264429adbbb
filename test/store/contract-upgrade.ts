import { Kysely, Migrator, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Conversation } from '../../src/core/conversation.ts';
import type { StoreDialect } from '../../src/store/executor.ts';
import { migrations } from '../../src/store/migrations/index.ts';
import { openPostgresPool, postgresDialect } from '../../src/store/postgres.ts';
import { conversationToRow, itemToRow } from '../../src/store/rows.ts';
import { NodeSqliteDialect, asKyselySqlite, openSqliteFile } from '../../src/store/sqlite.ts';
import { T0, makeConversation, makeItem } from './builders.ts';
import type { ContractContext, StoreFixture } from './contract.ts';

/** A database an earlier version left behind, upgraded by the next migration. */
export function upgradeContract(ctx: ContractContext): void {
  describe('upgrading a database of 0003 to 0004', () => {
    it('keeps answered texts answered, ends duplicate open conversations, and leaves sends cut short due', async () => {
      const fixture = await ctx.freshFixture();
      const alice = 'cus_alice';
      const sms = { agent: 'support', channel: 'sms' as const, customerId: alice, status: 'suspended' as const };
      const answered = makeConversation({ ...sms, createdAt: T0 + 1 });
      const older = makeConversation({ ...sms, agent: 'sales', createdAt: T0 + 2 });
      const newer = makeConversation({ ...sms, agent: 'sales', createdAt: T0 + 3 });
      const chats = [makeConversation({ ...sms, channel: 'chat', createdAt: T0 + 4 }), makeConversation({ ...sms, channel: 'chat', createdAt: T0 + 5 })];
      const texts = [1, 2, 3].map((n) => makeItem(answered.id, { createdAt: T0 + 10 * n, text: `text ${n}` }));
      const event = makeItem(newer.id, { role: 'system', type: 'event', createdAt: T0 + 5 });

      await atMigration(fixture, '0003_memory', async (db) => {
        await db.insertInto('customers').values({ id: alice, name: null, created_at: T0, updated_at: T0 }).execute();
        const row = (c: Conversation, answeredThrough?: string) => ({ ...conversationToRow(c), answered_through: answeredThrough ?? null });
        await db.insertInto('conversations').values([row(answered, texts[1]!.id), row(older), row(newer), ...chats.map((c) => row(c))]).execute();
        for (const item of [...texts, event]) {
          const { answered_turn: _none, ...itemRow } = itemToRow(item);
          await db.insertInto('items').values(itemRow).execute();
        }
        const agentItem = makeItem(answered.id, { role: 'agent', createdAt: T0 + 25 });
        const { answered_turn: _a, ...agentRow } = itemToRow(agentItem);
        await db.insertInto('items').values(agentRow).execute();
        await db.insertInto('outbound').values({
          id: 'out_cut_short', conversation_id: answered.id, item_id: agentItem.id, part: 0, channel: 'sms', to_address: '+15550600',
          from_address: '+15550999', body: 'x', payload: '{}', status: 'sending', attempts: 1, provider_id: null, last_error: null,
          next_attempt_at: null, created_at: T0 + 25, updated_at: T0 + 25,
        }).execute();
      });

      const store = await ctx.openOn(fixture);
      expect(await store.migrate()).toEqual({ applied: ['0004_async_reliability'] });
      // Texts through `answered_through` stay answered; the one after it (and the event) await one.
      expect(await store.items.listAwaitingAnswer(answered.id)).toEqual([texts[2]]);
      expect(await store.items.listAwaitingAnswer(newer.id)).toEqual([event]);
      // Of two open SMS conversations with one agent, the newest stays open.
      expect(await store.conversations.get(older.id)).toMatchObject({ status: 'ended', endedReason: 'superseded' });
      expect(await store.conversations.findOpenAsync({ customerId: alice, agent: 'sales', channel: 'sms' })).toMatchObject({ id: newer.id });
      for (const c of chats) expect((await store.conversations.get(c.id))?.status).toBe('suspended');
      expect(await store.conversations.listNeedingTurn(10)).toEqual([answered.id, newer.id]);
      // A record left 'sending' by a crash has no claim: due, and claimable at once.
      expect((await store.outbound.listDue(T0 + 30, 10)).map((r) => r.id)).toEqual(['out_cut_short']);
      expect(await store.outbound.claim('out_cut_short', 'node-test', T0 + 30, 60_000)).toMatchObject({ attempts: 2 });
      await expect(store.conversations.create(makeConversation({ ...sms, agent: 'sales' }))).rejects.toMatchObject({ code: 'conversation_open' });
    });
  });
}

/** Brings the fixture's database to `migration` with Kysely's migrator, then hands it to `fill`. */
async function atMigration(fixture: StoreFixture, migration: string, fill: (db: Kysely<Record<string, Record<string, unknown>>>) => Promise<void>): Promise<void> {
  const { databaseUrl, dataDir } = fixture.options;
  const dialect: StoreDialect = databaseUrl ? 'postgres' : 'sqlite';
  const db = new Kysely<Record<string, Record<string, unknown>>>({
    dialect: databaseUrl ? postgresDialect(openPostgresPool(databaseUrl)) : new NodeSqliteDialect(asKyselySqlite(openSqliteFile(dataDir))),
  });
  try {
    const schema = dialect === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]!.s : undefined;
    const migrator = new Migrator({
      db, provider: { getMigrations: () => Promise.resolve(migrations(dialect)) }, ...(schema ? { migrationTableSchema: schema } : {}),
    });
    const { error } = await migrator.migrateTo(migration);
    if (error !== undefined) throw error instanceof Error ? error : new Error(`migrating to ${migration} failed`, { cause: error });
    await fill(db);
  } finally {
    await db.destroy();
  }
}
