import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMALL_POOL, api, ask, openSession, serve, words, type TestServer } from '../helpers/api.ts';
import { tempDir, writeConfig, startInProcess } from '../helpers/server.ts';
import type { RunningServer } from '../../src/server/main.ts';

/**
 * The realtime path on PostgreSQL (DATABASE_URL): items stored and read back through the API, and
 * two nodes on one database serving side by side. Each run gets a fresh schema.
 */

const url = process.env.OPERATOR_TEST_DATABASE_URL;
const CONFIG = {
  pool: SMALL_POOL,
  agents: {
    talk: {
      instructions: 'x',
      greeting: 'Hi from Postgres.',
      model: { provider: 'scripted', loop: true, steps: [{ toolCalls: [{ name: 'end_conversation', args: {} }], deltas: ['Bye '] }, words('Stored answer.')] },
    },
    chat: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [words('Stored answer.')] } },
  },
};

if (url === undefined || url === '') {
  console.warn('OPERATOR_TEST_DATABASE_URL is not set: the realtime-on-Postgres suite is skipped.');
  describe.skip('realtime on Postgres (set OPERATOR_TEST_DATABASE_URL)', () => {
    it('serves sessions on Postgres', () => {});
  });
} else {
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const databaseUrl = `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;

  beforeAll(async () => {
    await admin.query(`create schema ${schema}`);
  });
  afterAll(async () => {
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  });

  describe('realtime on Postgres', () => {
    let srv: TestServer;
    beforeAll(async () => {
      srv = await serve(CONFIG, { databaseUrl, nodeId: 'pg-node-1' });
    });
    afterAll(() => srv.close());

    it('stores the session in the Postgres schema and serves it through GET /v1/conversations/{id}', async () => {
      expect(srv.server.store.dialect).toBe('postgres');
      const { client, conversationId } = await openSession(srv.url, 'chat', { context: { plan: 'pro' }, customer: { phone: '+15550001111' } });
      try {
        const one = await ask(client, 'first question');
        const two = await ask(client, 'second question');
        const conv = await api(srv.url, `/v1/conversations/${conversationId}`);
        expect(conv.body).toMatchObject({ status: 'active', context: { plan: 'pro' }, customerId: expect.stringMatching(/^cus_/) });
        expect((conv.body.items as { id: string; role: string; text: string }[]).map((i) => [i.id, i.role, i.text])).toEqual([
          [one.accepted.itemId, 'user', 'first question'],
          [one.done.itemId, 'agent', 'Stored answer.'],
          [two.accepted.itemId, 'user', 'second question'],
          [two.done.itemId, 'agent', 'Stored answer.'],
        ]);
        // The rows are in the test's schema of the real database, not in some local file.
        const rows = await admin.query<{ role: string; text: string }>(
          `select role, text from ${schema}.items where conversation_id = $1 order by id`,
          [conversationId],
        );
        expect(rows.rows.map((r) => r.text)).toEqual(['first question', 'Stored answer.', 'second question', 'Stored answer.']);
      } finally {
        client.close();
      }
    });

    it('tool items and the agent ending the conversation are stored too', async () => {
      const { client, conversationId } = await openSession(srv.url, 'talk');
      client.send({ type: 'user.message', text: 'bye' });
      expect((await client.next('session.ended')).reason).toBe('agent');
      const conv = await api(srv.url, `/v1/conversations/${conversationId}`);
      expect(conv.body).toMatchObject({ status: 'ended', endedReason: 'agent' });
      expect((conv.body.items as { role: string; type: string }[]).map((i) => `${i.role}/${i.type}`)).toEqual([
        'agent/message',
        'user/message',
        'agent/tool_call',
        'tool/tool_result',
        'agent/message',
      ]);
    });
  });

  describe('two nodes on one Postgres', () => {
    const nodes: RunningServer[] = [];
    beforeAll(async () => {
      const dir = tempDir();
      const configPath = writeConfig(dir, CONFIG);
      for (const nodeId of ['pg-node-a', 'pg-node-b']) {
        nodes.push(await startInProcess({ configPath, databaseUrl, nodeId, dataDir: tempDir() }));
      }
    });
    afterAll(async () => {
      for (const n of nodes) await n.close();
    });

    it('both serve sessions at the same time, and each sees the other\'s conversations', async () => {
      const [a, b] = nodes as [RunningServer, RunningServer];
      expect(a.url).not.toBe(b.url);
      const onA = await openSession(a.url, 'chat');
      const onB = await openSession(b.url, 'chat');
      try {
        const [ra, rb] = await Promise.all([ask(onA.client, 'to node a'), ask(onB.client, 'to node b')]);
        expect(ra.done.text).toBe('Stored answer.');
        expect(rb.done.text).toBe('Stored answer.');
        const fromB = await api(b.url, `/v1/conversations/${onA.conversationId}`);
        expect((fromB.body.items as { text: string }[]).map((i) => i.text)).toEqual(['to node a', 'Stored answer.']);
        const fromA = await api(a.url, `/v1/conversations/${onB.conversationId}`);
        expect((fromA.body.items as { text: string }[]).map((i) => i.text)).toEqual(['to node b', 'Stored answer.']);
        const listed = await api(a.url, '/v1/conversations?status=active&limit=100');
        const ids = (listed.body.data as { id: string }[]).map((c) => c.id);
        expect(ids).toEqual(expect.arrayContaining([onA.conversationId, onB.conversationId]));
      } finally {
        onA.client.close();
        onB.client.close();
      }
    });

    it('ending through the other node ends it in the store (the live socket is on its own node)', async () => {
      const [a, b] = nodes as [RunningServer, RunningServer];
      const onA = await openSession(a.url, 'chat');
      try {
        await ask(onA.client, 'hello');
        const res = await api(b.url, `/v1/conversations/${onA.conversationId}/end`, { body: { reason: 'resolved' } });
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ status: 'ended', endedReason: 'resolved' });
        expect((await api(a.url, `/v1/conversations/${onA.conversationId}`)).body.status).toBe('ended');
      } finally {
        onA.client.close();
      }
    });
  });
}
