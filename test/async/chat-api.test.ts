import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyOperatorSignature } from '../../src/engine/index.ts';
import { SMALL_POOL, api, waitFor } from '../helpers/api.ts';
import { SUPPORT_ADDRESS, SUPPORT_NUMBER, agentMessages, startAsyncServer, startRawWebhook, userMessages, type AsyncServer, type ConversationJson } from './harness.ts';
import { SseClient } from './sse-client.ts';

/**
 * Async chat over the HTTP API (POST /v1/conversations, /messages, /end), replies pushed on the
 * SSE stream and to the agent's signed outbound webhook; and proactive outreach on SMS and email,
 * where the agent writes first.
 */

const SECRET = 'outbound-webhook-secret-0123456789';
// Slow enough that the SSE client is connected before the reply is written.
const SLOW_REPLY = { deltas: ['Happy ', 'to ', 'help ', 'with **that**.'], delayMs: 80 };

let s: AsyncServer;
let hook: Awaited<ReturnType<typeof startRawWebhook>>;
const streams: SseClient[] = [];

beforeAll(async () => {
  hook = await startRawWebhook();
  s = await startAsyncServer(
    {
      pool: SMALL_POOL,
      channels: {
        sms: [{ number: SUPPORT_NUMBER, agent: 'greeter' }, { number: '+15557650001', agent: 'writer' }],
        email: [{ address: SUPPORT_ADDRESS, agent: 'greeter', name: 'Acme Support' }],
      },
      agents: {
        chat: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [SLOW_REPLY] }, webhook: { url: hook.url, secret: SECRET } },
        greeter: {
          name: 'Acme Support', instructions: 'x', greeting: 'Hi {{customer.phone}}{{customer.email}}, your order {{context.orderId}} is ready for pickup.',
          model: { provider: 'scripted', loop: true, steps: [{ deltas: ['Noted.'] }] },
        },
        writer: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [{ deltas: ['A message the model wrote first.'] }] } },
      },
    },
    { sink: true },
  );
});
afterAll(async () => {
  for (const c of streams) c.close();
  await s?.close();
  await hook?.close();
});

async function events(id: string): Promise<SseClient> {
  const c = await SseClient.connect(`${s.url}/v1/conversations/${id}/events`);
  streams.push(c);
  return c;
}

describe('async chat over the API', () => {
  it('creates the conversation with the first message, streams the reply on SSE and posts it to the signed webhook', async () => {
    const created = await api(s.url, '/v1/conversations', {
      body: { agent: 'chat', channel: 'chat', customer: { externalId: 'user-42' }, context: { plan: 'pro' }, message: 'Hello there' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.stringMatching(/^conv_/), channel: 'chat', mode: 'async', context: { plan: 'pro' } });
    const id = created.body.id as string;
    expect(userMessages(created.body as ConversationJson).map((i) => i.text)).toEqual(['Hello there']);

    const sse = await events(id);
    expect(sse.status).toBe(200);
    const mine = await sse.next('item', (d) => d.role === 'user');
    expect(mine.data.text).toBe('Hello there');
    const reply = await sse.next('item', (d) => d.role === 'agent' && d.type === 'message');
    expect(reply.data.text).toBe('Happy to help with **that**.'); // chat keeps markdown
    expect(reply.id).toBe(reply.data.id);
    await sse.next('status', (d) => d.status === 'suspended');

    await waitFor(() => hook.calls.length >= 1, 'the outbound webhook');
    const call = hook.calls[0]!;
    expect(verifyOperatorSignature(SECRET, call.headers['x-operator-signature'] as string, call.raw, Date.now())).toBe(true);
    expect(verifyOperatorSignature('another-secret-0123456789', call.headers['x-operator-signature'] as string, call.raw, Date.now())).toBe(false);
    expect(call.headers['idempotency-key']).toBe(reply.data.id);
    expect(call.body).toMatchObject({ type: 'item', conversationId: id, agent: 'chat', item: { id: reply.data.id, role: 'agent', text: reply.data.text } });
    await waitFor(async () => agentMessages(await s.conversation(id))[0]?.delivery?.status === 'sent', 'the webhook delivery to be recorded');
  });

  it('POST /messages answers 202 {itemId}; the same `id` twice is one item and one reply; /end ends it and a later message gets 409', async () => {
    const created = await api(s.url, '/v1/conversations', { body: { agent: 'chat', channel: 'chat', customer: { externalId: 'user-43' } } });
    expect(created.status).toBe(201);
    expect(created.body.items).toEqual([]); // on chat, nobody writes until the customer does
    const id = created.body.id as string;
    const sse = await events(id);
    const first = await api(s.url, `/v1/conversations/${id}/messages`, { body: { text: 'Question one', id: 'client-msg-1' } });
    expect(first.status).toBe(202);
    expect(first.body.itemId).toMatch(/^itm_/);
    const again = await api(s.url, `/v1/conversations/${id}/messages`, { body: { text: 'Question one', id: 'client-msg-1' } });
    expect(again.status).toBe(202);
    expect(again.body.itemId).toBe(first.body.itemId);

    expect((await sse.next('item', (d) => d.role === 'user')).data.id).toBe(first.body.itemId);
    await sse.next('item', (d) => d.role === 'agent');
    await sse.next('status', (d) => d.status === 'suspended');
    await s.settled();
    const conv = await s.conversation(id);
    expect(userMessages(conv).map((i) => i.id)).toEqual([first.body.itemId]);
    expect(agentMessages(conv)).toHaveLength(1);
    expect(sse.all('item').filter((e) => e.data.role === 'agent')).toHaveLength(1);

    const ended = await api(s.url, `/v1/conversations/${id}/end`, { body: {} });
    expect(ended.status).toBe(200);
    expect(ended.body).toMatchObject({ status: 'ended', endedReason: 'api' });
    expect((await sse.next('status', (d) => d.status === 'ended')).data).toMatchObject({ endedReason: 'api' });
    await sse.closed; // the stream ends with the conversation

    const late = await api(s.url, `/v1/conversations/${id}/messages`, { body: { text: 'Anyone?' } });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('conversation_ended');
    expect(userMessages(await s.conversation(id))).toHaveLength(1);
  });

  it('rejects bad requests with clear errors', async () => {
    const unknownAgent = await api(s.url, '/v1/conversations', { body: { agent: 'nobody', channel: 'chat', message: 'hi' } });
    expect([unknownAgent.status, unknownAgent.body.error.code]).toEqual([404, 'agent_not_found']);
    const noText = await api(s.url, '/v1/conversations/conv_nope/messages', { body: { text: '' } });
    expect(noText.status).toBe(400);
    const unknownConv = await api(s.url, '/v1/conversations/conv_nope/messages', { body: { text: 'hi' } });
    expect([unknownConv.status, unknownConv.body.error.code]).toEqual([404, 'conversation_not_found']);
    const noPhone = await api(s.url, '/v1/conversations', { body: { agent: 'greeter', channel: 'sms', customer: { email: 'a@example.com' } } });
    expect(noPhone.status).toBe(400);
    expect(noPhone.body.error.message).toContain('customer.phone');
  });
});

describe('proactive outreach', () => {
  it('on SMS without a message, the agent writes first (its greeting, with the context) to the customer\'s phone', async () => {
    const phone = '+15550004444';
    const created = await api(s.url, '/v1/conversations', { body: { agent: 'greeter', channel: 'sms', customer: { phone }, context: { orderId: 'A10001' } } });
    expect(created.status).toBe(201);
    const sms = await s.sim.waitForMessage((m) => m.to === phone);
    expect(sms).toMatchObject({ from: SUPPORT_NUMBER, body: `Hi ${phone}, your order A10001 is ready for pickup.` });
    const id = created.body.id as string;
    await waitFor(async () => agentMessages(await s.conversation(id))[0]?.delivery?.status === 'sent', 'the greeting to be sent');

    // The customer's answer continues that conversation.
    await s.sms(phone, 'Great, I will come by.');
    await s.sim.waitForMessage((m) => m.to === phone && m.body === 'Noted.');
    const conv = await s.conversation(id);
    expect(userMessages(conv).map((i) => i.text)).toEqual(['Great, I will come by.']);
    expect(agentMessages(conv).map((i) => i.text)).toEqual([sms.body, 'Noted.']);
  });

  it('a new SMS conversation replaces the customer\'s open one with that agent (ended: superseded); chats coexist', async () => {
    const phone = '+15550004445';
    const start = (orderId: string) => api(s.url, '/v1/conversations', { body: { agent: 'greeter', channel: 'sms', customer: { phone }, context: { orderId } } });
    const first = await start('A10002');
    await s.sim.waitForMessage((m) => m.to === phone && m.body.includes('A10002'));
    const second = await start('A10003');
    expect(second.status).toBe(201);
    expect(await s.conversation(first.body.id as string)).toMatchObject({ status: 'ended', endedReason: 'superseded' });
    await s.sim.waitForMessage((m) => m.to === phone && m.body.includes('A10003'));
    // The customer's texts land in the open one.
    await s.sms(phone, 'Thanks!');
    await s.sim.waitForMessage((m) => m.to === phone && m.body === 'Noted.');
    expect(userMessages(await s.conversation(second.body.id as string)).map((i) => i.text)).toEqual(['Thanks!']);

    const chats = await Promise.all([1, 2].map(() => api(s.url, '/v1/conversations', { body: { agent: 'chat', channel: 'chat', customer: { externalId: 'user-44' } } })));
    for (const c of chats) expect((await s.conversation(c.body.id as string)).status).toBe('suspended');
  });

  it('on SMS with an agent that has no greeting, the model writes the first message', async () => {
    const phone = '+15550005555';
    expect((await api(s.url, '/v1/conversations', { body: { agent: 'writer', channel: 'sms', customer: { phone } } })).status).toBe(201);
    const sms = await s.sim.waitForMessage((m) => m.to === phone);
    expect(sms).toMatchObject({ from: '+15557650001', body: 'A message the model wrote first.' });
  });

  it('on email, the first message goes out from the channel address with a subject', async () => {
    const email = 'kim@example.com';
    expect((await api(s.url, '/v1/conversations', { body: { agent: 'greeter', channel: 'email', customer: { email }, context: { orderId: 'A20002' } } })).status).toBe(201);
    const mail = await s.sink!.waitFor((m) => m.to.includes(email));
    expect(mail.from).toBe(SUPPORT_ADDRESS);
    expect(mail.subject).toBe('A message from Acme Support');
    expect(mail.text).toContain(`Hi ${email}, your order A20002 is ready for pickup.`);
    expect(mail.inReplyTo).toBeUndefined();
  });

  it('an agent with no number for the channel gets 409 channel_not_configured', async () => {
    const res = await api(s.url, '/v1/conversations', { body: { agent: 'chat', channel: 'sms', customer: { phone: '+15550006666' } } });
    expect([res.status, res.body.error.code]).toEqual([409, 'channel_not_configured']);
    expect(s.sim.messages.filter((m) => m.to === '+15550006666')).toEqual([]);
  });
});

