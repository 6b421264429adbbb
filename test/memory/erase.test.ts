import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { SMALL_POOL, api, ask, openSession } from '../helpers/api.ts';
import { agentMessages, settleUntil, startAsyncServer, SUPPORT_NUMBER, type AsyncServer, type ConversationJson } from '../async/harness.ts';

/** The customers API (lookup, erase) and retention, through HTTP, on a FakeClock. */

const DAY = 86_400_000;
let s: AsyncServer;
const clock = new FakeClock(Date.UTC(2026, 3, 1, 9));

beforeAll(async () => {
  s = await startAsyncServer(
    {
      pool: SMALL_POOL,
      channels: { sms: [{ number: SUPPORT_NUMBER, agent: 'support' }] },
      agents: {
        support: { instructions: 'You help Acme customers.', model: { provider: 'scripted', loop: true, steps: [{ deltas: ['Got it.'] }] } },
        brief: {
          instructions: 'x',
          model: { provider: 'scripted', loop: true, steps: [{ deltas: ['Ok.'] }] },
          memory: { retention: '30d' },
        },
      },
    },
    { clock },
  );
}, 60_000);

afterAll(() => s?.close());

/** Every row of every table of the embedded store, as text. */
function everyRow(): string[] {
  const db = new DatabaseSync(join(s.dir, 'operator.db'), { readOnly: true });
  try {
    const tables = db.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[];
    return tables.flatMap(({ name }) =>
      (db.prepare(`select * from "${name}"`).all() as Record<string, unknown>[]).map((r) =>
        JSON.stringify(r, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v)),
      ),
    );
  } finally {
    db.close();
  }
}

describe('customers API', () => {
  it('finds a customer by any spelling of their phone, shows their conversations, and erases every trace of them', async () => {
    const phone = '+15551239001';
    // A chat linking the phone and an email, then a text from the phone, with an attachment.
    const { client, conversationId: chatId } = await openSession(s.url, 'support', { customer: { phone: '555-123-9001', email: 'Erin@Example.com' } });
    await ask(client, 'Secret words: tangerine zeppelin');
    client.close();
    await s.sms(phone, 'Another secret: marzipan', { media: [{ url: 'https://media.example.test/photo.jpg', contentType: 'image/jpeg' }] });
    const sms: ConversationJson = await settleUntil(s, async (): Promise<ConversationJson | undefined> => {
      const [c] = await s.conversationsOf({ phone });
      return c && agentMessages(c).length > 0 ? c : undefined;
    }, 'the SMS answer');
    await api(s.url, `/v1/conversations/${sms.id}/end`, { body: {} });

    const found = await api(s.url, `/v1/customers?phone=${encodeURIComponent('+1 (555) 123-9001')}`);
    expect(found.status).toBe(200);
    expect(found.body.data).toHaveLength(1);
    const id = found.body.data[0].id as string;
    expect((await api(s.url, '/v1/customers?email=ERIN@example.com')).body.data[0].id).toBe(id);
    expect((await api(s.url, '/v1/customers?email=nobody@example.com')).body).toEqual({ data: [] });
    expect((await api(s.url, '/v1/customers?phone=1&email=a@b.c')).status).toBe(400);
    expect((await api(s.url, '/v1/customers')).status).toBe(400);

    const customer = await api(s.url, `/v1/customers/${id}`);
    expect(customer.status).toBe(200);
    expect(customer.body.identifiers).toEqual([
      { type: 'phone', value: phone },
      { type: 'email', value: 'erin@example.com' },
    ]);
    expect((customer.body.conversations as { id: string }[]).map((c) => c.id).sort()).toEqual([chatId, sms.id].sort());

    const before = everyRow().join('\n');
    for (const trace of [id, phone, 'erin@example.com', 'tangerine', 'marzipan', chatId, sms.id]) expect(before).toContain(trace);

    const erased = await api(s.url, `/v1/customers/${id}`, { method: 'DELETE' });
    expect(erased.status).toBe(204);
    expect((await api(s.url, `/v1/customers/${id}`)).status).toBe(404);
    expect((await api(s.url, `/v1/customers/${id}`, { method: 'DELETE' })).body.error.code).toBe('customer_not_found');
    expect((await api(s.url, `/v1/conversations/${chatId}`)).status).toBe(404);
    expect((await api(s.url, `/v1/customers?phone=${encodeURIComponent(phone)}`)).body).toEqual({ data: [] });

    // Nothing of them remains in any table: not their identifiers, words, summaries or attachments.
    // (Queued jobs may still name a conversation id; they find nothing, and carry no personal data.)
    const after = everyRow().filter((row) => !row.includes('"state":'));
    for (const trace of [id, phone, 'erin@example.com', 'tangerine', 'marzipan', chatId, sms.id, 'photo.jpg']) {
      expect(after.filter((row) => row.includes(trace))).toEqual([]);
    }
  });

  it('retention purges ended conversations older than the agent keeps them, daily', async () => {
    const { client, conversationId } = await openSession(s.url, 'brief', { customer: { phone: '+15551239002' } });
    await ask(client, 'hello');
    client.send({ type: 'session.end' });
    await client.next('session.ended');
    client.close();
    const kept = await openSession(s.url, 'support', { customer: { phone: '+15551239002' } });
    await ask(kept.client, 'hello');
    kept.client.send({ type: 'session.end' });
    await kept.client.next('session.ended');
    kept.client.close();

    await s.advance(29 * DAY);
    expect((await api(s.url, `/v1/conversations/${conversationId}`)).status).toBe(200);
    await s.advance(2 * DAY);
    await settleUntil(s, async () => (await api(s.url, `/v1/conversations/${conversationId}`)).status === 404, 'the purge');
    // The other agent keeps conversations for 365 days; the customer stays.
    expect((await api(s.url, `/v1/conversations/${kept.conversationId}`)).status).toBe(200);
    expect((await api(s.url, '/v1/customers?phone=%2B15551239002')).body.data).toHaveLength(1);
  });
});
