import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMALL_POOL, type Json, api, ask, openSession, serve, waitFor, words, type TestServer } from '../helpers/api.ts';

/** The ways a realtime conversation ends, and the `endedReason` each leaves in the store. */

let srv: TestServer;
beforeAll(async () => {
  srv = await serve({
    pool: SMALL_POOL,
    agents: {
      talk: { instructions: 'x', greeting: 'Hi!', model: { provider: 'scripted', loop: true, steps: [words('Sure thing.')] } },
      slow: {
        instructions: 'x',
        model: { provider: 'scripted', loop: true, steps: [{ deltas: Array.from({ length: 40 }, (_, i) => `s${i} `), delayMs: 50 }] },
      },
      support: { name: 'Acme Support', instructions: 'Help. End the conversation on goodbye.' },
    },
  });
});
afterAll(() => srv.close());

async function conversation(id: string): Promise<Json> {
  const res = await api(srv.url, `/v1/conversations/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

/** The conversation once it is ended (a closed socket has no event to wait on). */
async function endedConversation(id: string): Promise<Json> {
  const ended: Json = await waitFor(async () => {
    const c: Json = await conversation(id);
    return c.status === 'ended' ? (c as object) : undefined;
  }, 'the conversation to end');
  return ended;
}

describe('ending a realtime conversation', () => {
  it('session.end: session.ended reason client, the socket closes, the conversation is ended "client"', async () => {
    const { client, conversationId } = await openSession(srv.url, 'talk');
    await ask(client, 'hello');
    expect((await conversation(conversationId)).status).toBe('active');
    client.send({ type: 'session.end' });
    const ended = await client.next('session.ended');
    expect(ended.reason).toBe('client');
    expect(await client.closed()).toBe(1000);
    const conv = await conversation(conversationId);
    expect(conv).toMatchObject({ status: 'ended', endedReason: 'client' });
    expect(conv.endedAt).toEqual(expect.any(String));
    expect((conv.items as unknown[]).length).toBe(3);
  });

  it('closing the socket ends the conversation with "client_disconnect"', async () => {
    const { client, conversationId } = await openSession(srv.url, 'talk');
    await ask(client, 'hello');
    client.close();
    await client.closed();
    const conv = await endedConversation(conversationId);
    expect(conv.endedReason).toBe('client_disconnect');
  });

  it('closing the socket mid-answer keeps what was delivered, marked interrupted', async () => {
    const { client, conversationId } = await openSession(srv.url, 'slow');
    client.send({ type: 'user.message', text: 'talk' });
    await client.next('user.accepted');
    await client.next('agent.delta');
    await client.next('agent.delta');
    const received = client.all('agent.delta').map((d) => d.text as string).join('');
    client.close();
    const conv = await endedConversation(conversationId);
    expect(conv.endedReason).toBe('client_disconnect');
    const agentItem = (conv.items as { role: string; text: string; interrupted: boolean }[]).find((i) => i.role === 'agent');
    expect(agentItem?.interrupted).toBe(true);
    // The server may have sent a delta or two the client had not read yet; never the whole answer.
    expect(agentItem!.text.startsWith(received)).toBe(true);
    expect(agentItem!.text.length).toBeLessThan(40 * 4);
  });

  it('the offline model ends the conversation on "goodbye": goodbye answer, then session.ended reason agent', async () => {
    const { client, conversationId } = await openSession(srv.url, 'support');
    client.send({ type: 'user.message', text: 'goodbye' });
    const done = await client.next('agent.done');
    expect(String(done.text)).toMatch(/goodbye/i);
    const ended = await client.next('session.ended');
    expect(ended.reason).toBe('agent');
    expect(client.messages.indexOf(done)).toBeLessThan(client.messages.indexOf(ended));
    expect(await client.closed()).toBe(1000);
    const conv = await conversation(conversationId);
    expect(conv).toMatchObject({ status: 'ended', endedReason: 'agent' });
    const items = conv.items as { role: string; type: string; toolName?: string; text: string }[];
    expect(items.map((i) => `${i.role}/${i.type}`)).toEqual(['user/message', 'agent/tool_call', 'tool/tool_result', 'agent/message']);
    expect(items[1]!.toolName).toBe('end_conversation');
    expect(items[3]!.text).toBe(done.text);
  });

  it('POST /v1/conversations/{id}/end on a live conversation: the client gets session.ended with the reason', async () => {
    const { client, conversationId } = await openSession(srv.url, 'talk');
    await ask(client, 'hello');
    const res = await api(srv.url, `/v1/conversations/${conversationId}/end`, { body: { reason: 'resolved' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: conversationId, status: 'ended', endedReason: 'resolved' });
    expect(res.body.items).toHaveLength(3);
    const ended = await client.next('session.ended');
    expect(ended.reason).toBe('resolved');
    expect(await client.closed()).toBe(1000);
    // Ending again changes nothing.
    const again = await api(srv.url, `/v1/conversations/${conversationId}/end`, { body: {} });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'ended', endedReason: 'resolved' });
  });

  it('POST .../end without a reason ends with "api"; a malformed reason is refused and changes nothing', async () => {
    const { client, conversationId } = await openSession(srv.url, 'talk');
    const bad = await api(srv.url, `/v1/conversations/${conversationId}/end`, { body: { reason: 'Not Snake' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
    expect(bad.body.error.message).toContain('reason');
    expect((await conversation(conversationId)).status).toBe('active');
    const res = await api(srv.url, `/v1/conversations/${conversationId}/end`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.body.endedReason).toBe('api');
    expect((await client.next('session.ended')).reason).toBe('api');
  });

  it('messages sent after the end are not stored', async () => {
    const { client, conversationId } = await openSession(srv.url, 'talk');
    client.send({ type: 'session.end' });
    client.send({ type: 'user.message', text: 'too late' });
    await client.next('session.ended');
    await client.closed();
    const conv = await conversation(conversationId);
    expect((conv.items as { role: string }[]).filter((i) => i.role === 'user')).toEqual([]);
  });

  it('a graceful shutdown tells the client: session.ended reason server_shutdown, then close', async () => {
    const own = await serve({ pool: { ...SMALL_POOL, size: 1 }, agents: { talk: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [words('Ok.')] } } } });
    const { client, conversationId } = await openSession(own.url, 'talk');
    await ask(client, 'hello');
    const closing = own.close();
    const ended = await client.next('session.ended');
    expect(ended.reason).toBe('server_shutdown');
    expect(await client.closed()).toBe(1000);
    await closing;
    const reopened = await serve({ pool: { size: 1 }, agents: { talk: { instructions: 'x' } } }, { dataDir: own.dir });
    try {
      expect(await reopened.server.store.conversations.get(conversationId)).toMatchObject({ status: 'ended', endedReason: 'server_shutdown' });
    } finally {
      await reopened.close();
    }
  });
});
