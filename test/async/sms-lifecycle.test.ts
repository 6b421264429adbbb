import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { SMALL_POOL, api, startWebhook, waitFor, type Json } from '../helpers/api.ts';
import { PUBLIC_URL, SUPPORT_NUMBER, agentMessages, startAsyncServer, userMessages, waitForConversation, type AsyncServer, one } from './harness.ts';

/**
 * An SMS conversation across a two-day gap (issue 3, "Done when"), on the embedded queue driven by
 * a FakeClock: the first text is answered, the conversation is suspended with no worker held, the
 * second text two days later is answered with the whole conversation in mind, the inactivity
 * timeout ends it, and a text after that opens a new conversation.
 *
 * The agent runs the offline model, whose answer to a bare "A12345" depends on context: after
 * "where is my order?" it looks the order up; without that history it cannot help. So the reply to
 * the second text shows what the resumed worker was given.
 */

const HOUR = 3_600_000;
const LONG_NUMBER = '+15557650000';
// Six paragraphs of 170-300 characters: no two fit in one 320-character part.
const LONG_REPLY = [
  '**Good news!** Your order A12345 left our warehouse this morning and is on its way with the carrier. It was packed yesterday evening and picked up first thing today, together with the spare cable you added at checkout.',
  'It should reach you by Thursday; the tracking link in your confirmation email shows each stop along the way, and you can change the delivery day there until the evening before it arrives at your door.',
  'If nobody is home, the driver leaves a card and tries again the next working day, up to three times. After the third try the parcel goes back to the local depot and waits for you there for a week.',
  'You can also pick it up at the depot with the card and a photo ID, from 8am to 6pm on weekdays, or ask a neighbour to take it in for you by naming them on the tracking page before the first try.',
  'The box is large, about the size of a microwave, and weighs nine kilos, so you may want someone to help you carry it inside. The packaging is fully recyclable and can go out with your paper waste.',
  'Reply to this message if anything looks wrong and we will sort it out for you. Our team answers texts every day from 8am to 8pm, and usually within a few minutes during those hours.',
].join('\n\n');

let s: AsyncServer;
let tool: Awaited<ReturnType<typeof startWebhook>>;
const clock = new FakeClock(Date.now());

beforeAll(async () => {
  tool = await startWebhook((body: Json) => ({ orderId: body.arguments.orderId, status: 'shipped', eta: '2026-12-03' }));
  s = await startAsyncServer(
    {
      pool: SMALL_POOL,
      channels: { sms: [{ number: SUPPORT_NUMBER, agent: 'support' }, { number: LONG_NUMBER, agent: 'long' }] },
      agents: {
        support: {
          name: 'Acme Support',
          instructions: 'You help Acme customers with their orders.',
          async: { inactivityTimeout: { sms: '72h' }, debounce: { sms: '0s' } },
          tools: [
            {
              name: 'order_status',
              description: 'Look up the shipping status of an order by its order number.',
              examples: ['where is my order A12345', 'has my package shipped yet', 'track my order'],
              parameters: {
                type: 'object',
                properties: { orderId: { type: 'string', description: 'The order number', pattern: '^[A-Z][0-9]{5}$' } },
                required: ['orderId'],
              },
              webhook: { url: tool.url },
            },
          ],
        },
        long: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [{ deltas: [LONG_REPLY] }] } },
      },
    },
    { clock },
  );
});
afterAll(async () => {
  await s?.close();
  await tool?.close();
});

describe('an SMS conversation across two days', () => {
  it('resumes with the whole conversation after a two-day gap, then times out; a later text starts anew', async () => {
    const customer = '+15550001111';
    const first = await s.sms(customer, 'Hi, where is my order?');
    expect(first.status).toBe(200);
    expect(first.body).toContain('<Response');

    const ask = await s.sim.waitForMessage((m) => m.to === customer);
    expect(ask).toMatchObject({ from: SUPPORT_NUMBER, to: customer, statusCallback: `${PUBLIC_URL}/twilio/sms/status` });
    expect(ask.body).toMatch(/order id/i);
    expect(tool.calls).toHaveLength(0);

    const conv = one(await s.conversationsOf({ phone: customer }), 'conversation');
    expect(conv).toMatchObject({ channel: 'sms', mode: 'async', agent: 'support' });
    const id = conv.id;
    const suspended = await waitForConversation(s, id, (c) => c.status === 'suspended' && agentMessages(c)[0]?.delivery?.status === 'sent', 'the first reply to be sent');
    expect(agentMessages(suspended).map((i) => i.text)).toEqual([ask.body]);

    // Suspended: nothing of it runs or stays in memory; every warm worker is back in the pool.
    expect(s.server.runtime.liveCount()).toBe(0);
    await waitFor(() => s.server.runtime.pool.idle === SMALL_POOL.size, 'the pool to be full again');
    expect((await api(s.url, '/v1/conversations?status=active')).body.data).toEqual([]);

    await s.advance(48 * HOUR);
    expect((await s.conversation(id)).status).toBe('suspended');
    expect(s.sim.messages).toHaveLength(1);

    const second = await s.sms(customer, 'A12345');
    expect(second.status).toBe(200);
    const answer = await s.sim.waitForMessage((m) => m.to === customer && m.sid !== ask.sid);
    expect(answer.body).toMatch(/shipped/);
    expect(answer.body).toContain('A12345');
    // The order number came from this text, the intent from the one two days earlier.
    expect(tool.calls).toHaveLength(1);
    expect(tool.calls[0]!.body).toMatchObject({ tool: 'order_status', arguments: { orderId: 'A12345' }, conversationId: id, channel: 'sms' });

    const resumed = await waitForConversation(s, id, (c) => c.status === 'suspended' && agentMessages(c).length === 2, 'the second turn to end');
    expect(userMessages(resumed).map((i) => i.text)).toEqual(['Hi, where is my order?', 'A12345']);
    expect((resumed.items as Json[]).map((i) => `${i.role}:${i.type}`)).toEqual([
      'user:message', 'agent:message', 'user:message', 'agent:tool_call', 'tool:tool_result', 'agent:message',
    ]);
    expect(s.server.runtime.liveCount()).toBe(0);

    // The timer set by the first text (due at 72 h) is stale: the second text came at 48 h.
    await s.advance(71 * HOUR);
    expect((await s.conversation(id)).status).toBe('suspended');
    await s.advance(2 * HOUR);
    expect(await s.conversation(id)).toMatchObject({ status: 'ended', endedReason: 'timeout' });

    const again = await s.sms(customer, 'Hello again');
    expect(again.status).toBe(200);
    await s.sim.waitForMessage((m) => m.to === customer && ![ask.sid, answer.sid].includes(m.sid));
    const all = await s.conversationsOf({ phone: customer });
    expect(all).toHaveLength(2);
    const fresh = all.find((c: Json) => c.id !== id)!;
    expect(fresh.customerId).toBe(conv.customerId);
    expect(fresh.status).not.toBe('ended');
    expect(userMessages(fresh).map((i) => i.text)).toEqual(['Hello again']);
    expect((await s.conversation(id)).items).toHaveLength(resumed.items.length);
  });

  it('without the earlier question, a bare order number gets no lookup (the control for the test above)', async () => {
    const customer = '+15550002222';
    const calls = tool.calls.length;
    expect((await s.sms(customer, 'A12345')).status).toBe(200);
    const reply = await s.sim.waitForMessage((m) => m.to === customer);
    expect(reply.body).toMatch(/can't help/);
    await s.settled();
    expect(tool.calls).toHaveLength(calls);
  });

  it('a long markdown reply goes out as plain-text parts of at most 320 characters, in order (also for many customers at once)', async () => {
    const customers = Array.from({ length: 12 }, (_, i) => `+155500033${String(i).padStart(2, '0')}`);
    const answers = await Promise.all(customers.map((c) => s.sms(c, 'Any news?', { to: LONG_NUMBER })));
    expect(answers.map((a) => a.status)).toEqual(customers.map(() => 200));
    for (const customer of customers) {
      const conv = await waitFor(async () => {
        const list = await s.conversationsOf({ phone: customer });
        return list.length === 1 && agentMessages(list[0]!)[0]?.delivery?.status === 'sent' ? list[0] : undefined;
      }, 'the long reply to be sent', 15_000);
      const parts = s.sim.messages.filter((m) => m.to === customer);
      expect(parts).toHaveLength(6);
      expect(agentMessages(conv)[0]?.delivery).toMatchObject({ status: 'sent', parts: 6 });
      for (const p of parts) {
        expect(p.from).toBe(LONG_NUMBER);
        expect(p.body.length).toBeLessThanOrEqual(320);
        expect(p.body).not.toMatch(/\*\*/);
      }
      // In order as the customer's phone receives them (the simulator records arrival order).
      expect(parts.map((p) => p.body)).toEqual(LONG_REPLY.replace(/\*\*/g, '').split('\n\n'));
    }
  });
});
