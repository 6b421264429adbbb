import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEMORY_HEADING } from '../../src/engine/index.ts';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { SMALL_POOL, api, ask, openSession, waitFor } from '../helpers/api.ts';
import { agentMessages, settleUntil, startAsyncServer, SUPPORT_NUMBER, type AsyncServer, type ConversationJson } from '../async/harness.ts';
import { lastUserText, startLlmFake, type LlmFake } from './llm-fake.ts';

/**
 * Customer memory end to end (issue 5), on a FakeClock: texts and realtime chats with the same
 * customer days apart. The agent's model is an OpenAI-compatible fake that records what it was
 * given, so every scenario asserts on the system prompt (and tools) the model received.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let llm: LlmFake;
let s: AsyncServer;
const clock = new FakeClock(Date.UTC(2026, 2, 2, 9));

beforeAll(async () => {
  llm = await startLlmFake((req) => {
    const messages = req.body.messages as { role: string; content?: string }[];
    if (messages.at(-1)?.role === 'tool') return { text: 'Found it in our earlier conversation.' };
    const text = lastUserText(req);
    if (text.includes('HANG')) return 'hang';
    if (/remember/i.test(text)) return { toolCall: { name: 'recall_history', args: { query: 'kettle model' } } };
    if (text.includes('A12345')) return { text: "Sorry about the delay. I'll text you as soon as it ships." };
    return { text: 'Noted.' };
    // These scenarios assert on the extractive summary: the model's summary is tested in model-summary.test.ts.
  }, () => 'garbage');
  const model = { provider: 'openai-compatible', model: 'local', baseUrl: `${llm.origin}/v1`, apiKey: 'sk-test' };
  s = await startAsyncServer(
    {
      pool: SMALL_POOL,
      channels: { sms: [{ number: SUPPORT_NUMBER, agent: 'support' }] },
      agents: {
        support: { instructions: 'You help Acme customers.', model, async: { inactivityTimeout: { sms: '1h' } } },
        nomem: { instructions: 'You help Acme customers.', model, memory: { recallWindow: 0 } },
        callback: {
          instructions: 'You help Acme customers.',
          greeting: 'Hi, this is Acme. {{memory.lastOpenItems}}',
          model,
        },
      },
    },
    { clock },
  );
}, 60_000);

afterAll(async () => {
  await s?.close();
  await llm?.close();
});

/** A realtime chat: one message, its answer, then the client ends it. Returns the model's system prompt. */
async function chat(agent: string, customer: object, text: string): Promise<{ prompt: string; tools: string[]; greeting?: string; id: string }> {
  const before = llm.requests.length;
  const { client, conversationId } = await openSession(s.url, agent, { customer });
  try {
    const greeting = agent === 'callback' ? ((await client.next('agent.done')).text as string) : undefined;
    await ask(client, text);
    client.send({ type: 'session.end' });
    await client.next('session.ended');
    expect(llm.requests.length).toBeGreaterThan(before);
    return { prompt: llm.systemPrompts()[before]!, tools: llm.toolNames(before), ...(greeting !== undefined ? { greeting } : {}), id: conversationId };
  } finally {
    client.close();
  }
}

async function smsConversation(phone: string): Promise<ConversationJson> {
  return settleUntil(s, async () => {
    const [conv] = await s.conversationsOf({ phone });
    return conv && agentMessages(conv).length > 0 ? conv : undefined;
  }, 'the SMS answer');
}

describe('customer memory', () => {
  it('an SMS on day 1 is recalled in a chat on day 3, and not on day 20; memory off recalls nothing', async () => {
    const phone = '+15551230001';
    await s.sms(phone, 'Where is my order A12345? It should have come on Monday.');
    const sms = await smsConversation(phone);
    expect(agentMessages(sms)[0]!.text).toContain("I'll text you");
    // The inactivity timeout (1h) ends it; its summary is made then.
    await s.advance(2 * HOUR);
    await settleUntil(s, async () => (await s.conversation(sms.id)).status === 'ended', 'the timeout');

    await s.advance(2 * DAY);
    // Same customer, written another way: normalised to +15551230001.
    const day3 = await chat('support', { phone: '(555) 123-0001' }, 'Any news?');
    expect(day3.prompt).toContain(MEMORY_HEADING);
    expect(day3.prompt).toContain('Where is my order A12345?');
    expect(day3.prompt).toContain('sms (ended: timeout)');
    // The open item (a promise made by text) resurfaces in the next conversation's instructions.
    expect(day3.prompt).toContain('You promised: "I\'ll text you as soon as it ships."');
    expect(day3.prompt).toContain('Last messages of your most recent conversation (sms, ended: timeout)');
    expect(day3.tools).toContain('recall_history');

    const off = await chat('nomem', { phone }, 'Any news?');
    expect(off.prompt).not.toContain(MEMORY_HEADING);
    expect(off.prompt).not.toContain('A12345');
    expect(off.tools).not.toContain('recall_history');

    await s.advance(17 * DAY); // day 20: the SMS (day 1) and the chats (day 3) are out of the 14-day window
    const day20 = await chat('support', { phone }, 'Hello again');
    expect(day20.prompt).not.toContain(MEMORY_HEADING);
    expect(day20.prompt).not.toContain('A12345');
    // Older conversations stay stored.
    expect((await api(s.url, `/v1/conversations/${sms.id}`)).status).toBe(200);
  });

  it('a dropped call is followed by a callback greeted in its light', async () => {
    const phone = '+15551230002';
    const { client, conversationId } = await openSession(s.url, 'callback', { customer: { phone } });
    expect((await client.next('agent.done')).text).toBe('Hi, this is Acme.');
    const before = llm.requests.length;
    client.send({ type: 'user.message', text: 'I need to change the delivery address of order B22222 HANG' });
    await client.next('user.accepted');
    await waitFor(() => llm.requests.length > before, 'the model call');
    client.ws.terminate(); // the line drops while the agent is thinking
    await waitFor(async () => (await api(s.url, `/v1/conversations/${conversationId}`)).body.status === 'ended', 'the end');

    const back = await chat('callback', { phone }, 'Hi, we got cut off');
    expect(back.greeting).toContain('cut off (client_disconnect)');
    expect(back.greeting).toContain('order B22222');
    expect(back.prompt).toContain('The conversation was cut off (client_disconnect)');
  });

  it('recall_history searches earlier conversations from the worker, through the main thread', async () => {
    const phone = '+15551230003';
    await s.sms(phone, 'My kettle model KX-200 leaks, I want a refund');
    const sms = await smsConversation(phone);
    expect((await api(s.url, `/v1/conversations/${sms.id}/end`, { body: {} })).status).toBe(200);

    const before = llm.requests.length;
    await chat('support', { phone }, 'Do you remember which kettle it was?');
    const second = llm.requests[before + 1]!.body.messages as { role: string; content: string }[];
    const result = second.find((m) => m.role === 'tool');
    expect(result?.content).toContain('KX-200');
  });
});
