import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SMALL_POOL, api, ask, deltasOf, openSession, serve, waitFor, words, type TestServer } from '../helpers/api.ts';
import { RealtimeClient } from '../helpers/realtime-client.ts';

/**
 * How the realtime socket treats the order and repetition of client frames (DESIGN.md rules 4
 * and 5): frames are handled in arrival order, and a message resent with the same `id` is stored
 * and answered once.
 */

const SLOW = { deltas: Array.from({ length: 20 }, (_, i) => `p${i} `), delayMs: 30 };

let srv: TestServer;
beforeAll(async () => {
  srv = await serve({
    pool: { ...SMALL_POOL, size: 3 },
    agents: {
      ab: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [words('Answer A.'), words('Answer B.')] } },
      slow: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [SLOW, words('Next.')] } },
    },
  });
});
afterAll(() => srv.close());

const open: RealtimeClient[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

async function connect(): Promise<RealtimeClient> {
  const c = await RealtimeClient.connect(srv.url);
  open.push(c);
  return c;
}

async function items(conversationId: string): Promise<{ id: string; role: string; text: string; interrupted: boolean }[]> {
  return (await api(srv.url, `/v1/conversations/${conversationId}`)).body.items as { id: string; role: string; text: string; interrupted: boolean }[];
}

describe('frame order', () => {
  it('a user.message sent right behind session.start (without waiting) is handled after the session starts', async () => {
    const client = await connect();
    client.send({ type: 'session.start', agent: 'ab', mode: 'text' });
    client.send({ type: 'user.message', text: 'pipelined' });
    const started = await client.next('session.started');
    const done = await client.next('agent.done');
    expect(client.all('error')).toEqual([]);
    expect(done).toMatchObject({ text: 'Answer A.', interrupted: false });
    expect((await items(started.conversationId as string)).map((i) => i.text)).toEqual(['pipelined', 'Answer A.']);
  });

  it('messages sent in one burst are stored in the order sent', async () => {
    const { client, conversationId } = await openSession(srv.url, 'ab');
    open.push(client);
    const texts = Array.from({ length: 8 }, (_, i) => `burst ${i}`);
    for (const text of texts) client.send({ type: 'user.message', text });
    for (let i = 0; i < texts.length; i++) await client.next('user.accepted');
    const stored = (await items(conversationId)).filter((i) => i.role === 'user').map((i) => i.text);
    expect(stored).toEqual(texts);
  });

  it('session.start then session.end at once: the session starts, then ends "client"', async () => {
    const client = await connect();
    client.send({ type: 'session.start', agent: 'ab', mode: 'text' });
    client.send({ type: 'session.end' });
    const started = await client.next('session.started');
    expect((await client.next('session.ended')).reason).toBe('client');
    expect(client.all('error')).toEqual([]);
    expect((await api(srv.url, `/v1/conversations/${started.conversationId as string}`)).body).toMatchObject({
      status: 'ended',
      endedReason: 'client',
    });
  });

  it('a socket closed while its session is starting leaves no active conversation', async () => {
    const before = new Set(((await api(srv.url, '/v1/conversations?limit=100')).body.data as { id: string }[]).map((c) => c.id));
    const client = await connect();
    client.send({ type: 'session.start', agent: 'ab', mode: 'text' });
    client.close();
    await client.closed();
    // The start may or may not have reached the server; if it made a conversation, it is ended.
    await waitFor(async () => {
      const data = (await api(srv.url, '/v1/conversations?limit=100')).body.data as { id: string; status: string }[];
      return data.filter((c) => !before.has(c.id)).every((c) => c.status === 'ended');
    }, 'new conversations to be ended');
  });
});

describe('a message resent with the same id', () => {
  it('is acknowledged with the same item id, stored once, and answered once', async () => {
    const { client, conversationId } = await openSession(srv.url, 'ab');
    open.push(client);
    client.send({ type: 'user.message', text: 'hello', id: 'msg-1' });
    const first = await client.next('user.accepted');
    const answer = await client.next('agent.done');
    expect(answer.text).toBe('Answer A.');

    client.send({ type: 'user.message', text: 'hello', id: 'msg-1' });
    const again = await client.next('user.accepted');
    expect(again.itemId).toBe(first.itemId);
    // The next new message gets the script's next answer: the resend did not start a turn.
    const { done } = await ask(client, 'something new');
    expect(done.text).toBe('Answer B.');
    expect(client.all('agent.done')).toHaveLength(2);
    expect((await items(conversationId)).map((i) => `${i.role}:${i.text}`)).toEqual([
      'user:hello',
      'agent:Answer A.',
      'user:something new',
      'agent:Answer B.',
    ]);
  });

  it('does not interrupt the answer in progress', async () => {
    const { client } = await openSession(srv.url, 'slow');
    open.push(client);
    client.send({ type: 'user.message', text: 'tell me', id: 'msg-2' });
    await client.next('user.accepted');
    await client.next('agent.delta');
    client.send({ type: 'user.message', text: 'tell me', id: 'msg-2' });
    await client.next('user.accepted');
    const done = await client.next('agent.done');
    expect(done).toMatchObject({ interrupted: false, text: SLOW.deltas.join('') });
    expect(deltasOf(client, done.turnId)).toBe(done.text);
  });
});
