import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEMORY_HEADING } from '../../src/engine/index.ts';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { sendTestEmail } from '../../src/testing/smtp-sink.ts';
import type { RecordedRequest } from '../models/fakes/http-fake.ts';
import { SMALL_POOL, api, ask, openSession } from '../helpers/api.ts';
import {
  SUPPORT_ADDRESS, SUPPORT_NUMBER, agentMessages, settleUntil, startAsyncServer, type AsyncServer, type ConversationJson,
} from '../async/harness.ts';
import { lastUserText, startLlmFake, type FakeAnswer, type LlmFake } from './llm-fake.ts';

/**
 * Linked identities (issue 5) through the public edges, on a FakeClock: SMTP, signed Twilio
 * webhooks, the realtime socket and the HTTP API. The agent's model is an OpenAI-compatible fake
 * that records every request, so each scenario asserts on what the model was given — the tools,
 * the tool results, the memory in its instructions — not only on the replies.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Msg {
  role: string;
  content?: string | null;
}

/** The agent's last words before the customer's latest message. */
function previousAgentText(req: RecordedRequest): string {
  const messages = req.body.messages as Msg[];
  const lastUser = messages.findLastIndex((m) => m.role === 'user');
  return messages.slice(0, lastUser).findLast((m) => m.role === 'assistant' && m.content)?.content ?? '';
}

const CONTACT = /(?:text me at|my email is|my number is) ([\w.+-]+@[\w.-]+\.[a-z]+|\+?[\d ()-]*\d)/i;
const READ_BACK = /Just to confirm: (\S+@\S+|[\d ()+-]*\d) —/;

/**
 * A model that follows the read-back flow, except where a test tells it to misbehave: `SKIP` calls
 * save_contact on the spot; after a read-back it calls save_contact on "yes" and also on "no".
 */
function answer(req: RecordedRequest): FakeAnswer {
  const messages = req.body.messages as Msg[];
  const last = messages.at(-1);
  if (last?.role === 'tool') return { text: `Tool result: ${last.content ?? ''}` };
  const text = lastUserText(req);
  const contact = CONTACT.exec(text);
  const type = (v: string) => (v.includes('@') ? 'email' : 'phone');
  if (contact && text.includes('SKIP')) {
    return { toolCall: { name: 'save_contact', args: { type: type(contact[1]!), value: contact[1], confirmed: true } } };
  }
  if (contact) return { text: `Just to confirm: ${contact[1]} — is that right?` };
  const readBack = READ_BACK.exec(previousAgentText(req));
  if (readBack && /^\s*(?:yes|no)\b/i.test(text)) {
    return { toolCall: { name: 'save_contact', args: { type: type(readBack[1]!), value: readBack[1], confirmed: true } } };
  }
  return { text: 'Noted.' };
}

let llm: LlmFake;
let s: AsyncServer;
const clock = new FakeClock(Date.UTC(2026, 4, 4, 9));

beforeAll(async () => {
  llm = await startLlmFake(answer);
  const model = { provider: 'openai-compatible', model: 'local', baseUrl: `${llm.origin}/v1`, apiKey: 'sk-test' };
  s = await startAsyncServer(
    {
      pool: SMALL_POOL,
      channels: {
        sms: [{ number: SUPPORT_NUMBER, agent: 'support' }],
        email: [{ address: SUPPORT_ADDRESS, agent: 'support', name: 'Acme Support' }],
      },
      agents: {
        support: { instructions: 'You help Acme customers.', model, async: { inactivityTimeout: { sms: '1h', email: '1h' } } },
        offline: { instructions: 'You help Acme customers.' },
      },
    },
    { clock, sink: true },
  );
}, 60_000);

afterAll(async () => {
  await s?.close();
  await llm?.close();
});

/** The recorded model requests from index `from` on whose latest customer message contains `text`. */
function requestsFor(text: string, from = 0): RecordedRequest[] {
  return llm.requests.slice(from).filter((r) => lastUserText(r).includes(text));
}

/** The content of the tool results the model was given in requests from `from` on. */
function toolResults(from: number): string[] {
  return llm.requests.slice(from).flatMap((r) => (r.body.messages as Msg[]).filter((m) => m.role === 'tool').map((m) => m.content ?? ''));
}

async function customerBy(query: string): Promise<string[]> {
  const res = await api(s.url, `/v1/customers?${query}`);
  expect(res.status).toBe(200);
  return (res.body.data as { id: string }[]).map((c) => c.id);
}

function smtpPort(): number {
  const port = s.server.smtpPort;
  if (port === undefined) throw new Error('the SMTP receiver did not start');
  return port;
}

/** Waits for the conversation to have `n` agent messages. */
function answered(id: string, n: number): Promise<ConversationJson> {
  return settleUntil(s, async () => {
    const c = await s.conversation(id);
    return agentMessages(c).length >= n ? c : undefined;
  }, `agent message #${n}`);
}

/** A realtime chat: the messages in order, each answered; then ended. Returns the conversation id. */
async function chat(customer: object, texts: string[], agent = 'support'): Promise<{ id: string; replies: string[] }> {
  const { client, conversationId } = await openSession(s.url, agent, { customer });
  try {
    const replies: string[] = [];
    for (const text of texts) replies.push((await ask(client, text)).done.text as string);
    client.send({ type: 'session.end' });
    await client.next('session.ended');
    return { id: conversationId, replies };
  } finally {
    client.close();
  }
}

describe('linked identities', () => {
  it('email then SMS: a phone confirmed by email links the text sent from it to the same customer and memory', async () => {
    const email = 'jane@example.com';
    const before = llm.requests.length;
    await sendTestEmail({
      port: smtpPort(), from: `Jane Doe <${email}>`, to: SUPPORT_ADDRESS, subject: 'Leaking kettle',
      text: 'Hello, my kettle KX-200 leaks since Monday. You can text me at 555 010 2000.', messageId: 'jane-1@example.com',
    });
    const readBack = await s.sink!.waitFor((m) => m.to.includes(email));
    expect(readBack.text).toContain('Just to confirm: 555 010 2000 — is that right?');
    expect(llm.toolNames(before)).toContain('save_contact');
    const [emailConv] = (await api(s.url, '/v1/conversations?channel=email')).body.data as ConversationJson[];
    const customerId = emailConv!.customerId!;
    expect(await customerBy('phone=5550102000')).toEqual([]);

    const reqs = llm.requests.length;
    await sendTestEmail({
      port: smtpPort(), from: email, to: SUPPORT_ADDRESS, subject: readBack.subject,
      text: `Yes, that's right.\n\nOn Mon, Acme Support <${SUPPORT_ADDRESS}> wrote:\n> Just to confirm: 555 010 2000 — is that right?`,
      messageId: 'jane-2@example.com', inReplyTo: readBack.messageId!, references: ['jane-1@example.com', readBack.messageId!],
    });
    const thanked = await answered(emailConv!.id, 2);
    expect(toolResults(reqs)).toEqual([JSON.stringify({ linked: true, type: 'phone', value: '555 010 2000' })]);
    expect(agentMessages(thanked)[1]!.text).toContain('"linked":true');
    expect(await customerBy('phone=%2B15550102000')).toEqual([customerId]);
    expect(await customerBy(`email=${email}`)).toEqual([customerId]);

    // The email thread times out (1h) and is summarised; the next day Jane texts from that phone.
    await s.advance(2 * HOUR);
    await settleUntil(s, async () => (await s.conversation(emailConv!.id)).status === 'ended', 'the email timeout');
    await s.advance(DAY);
    const smsReqs = llm.requests.length;
    await s.sms('+15550102000', 'Any news about my kettle?');
    const sms = await settleUntil(s, async () => {
      const [c] = await s.conversationsOf({ phone: '+15550102000' });
      return c && agentMessages(c).length > 0 ? c : undefined;
    }, 'the SMS answer');
    expect(sms.customerId).toBe(customerId);
    const [smsRequest] = requestsFor('Any news about my kettle?', smsReqs);
    const prompt = (smsRequest!.body.messages as Msg[])[0]!.content!;
    expect(prompt).toContain(MEMORY_HEADING);
    expect(prompt).toContain('my kettle KX-200 leaks since Monday');
    expect(prompt).toContain('email (ended: timeout)');
  });

  it('the API links the phone and email given together', async () => {
    const res = await api(s.url, '/v1/conversations', {
      body: { agent: 'support', channel: 'chat', customer: { phone: '+15550102100', email: 'Lee@Example.com' }, message: 'Hello' },
    });
    expect(res.status, res.text).toBe(201);
    const ids = await customerBy('email=lee@example.com');
    expect(ids).toEqual([res.body.customerId]);
    expect(await customerBy('phone=%2B15550102100')).toEqual(ids);
    await answered(res.body.id as string, 1);
  });

  it('links nothing the customer has not confirmed, and the tool result says why', async () => {
    // Called on the spot, with no read-back.
    let from = llm.requests.length;
    const rushed = await chat({ email: 'max@example.com' }, ['SKIP: my number is 555 010 2200']);
    expect(rushed.replies[0]).toContain('Tool result:');
    let [result] = toolResults(from);
    expect(JSON.parse(result!)).toMatchObject({ linked: false, reason: 'not_read_back', value: '555 010 2200' });
    expect(result).toContain('Read it back to them');
    expect(await customerBy('phone=5550102200')).toEqual([]);

    // Read back, but the customer said no: the model's `confirmed: true` does not count.
    from = llm.requests.length;
    const denied = await chat({ email: 'max@example.com' }, ['my number is 555 010 2200', 'No, it ends in 2201']);
    expect(denied.replies[0]).toBe('Just to confirm: 555 010 2200 — is that right?');
    [result] = toolResults(from);
    expect(JSON.parse(result!)).toMatchObject({ linked: false, reason: 'not_affirmed' });
    expect(await customerBy('phone=5550102200')).toEqual([]);
    expect((await api(s.url, `/v1/customers/${(await customerBy('email=max@example.com'))[0]}`)).body.identifiers).toEqual([
      { type: 'email', value: 'max@example.com' },
    ]);
  });

  it('merges two customers on a confirmed link: one record, both identifiers, both pasts in the next memory', async () => {
    const phone = '+15550102300';
    const mail = 'kim@example.com';
    await chat({ phone }, ['My blender order B-777 is late']);
    await chat({ email: mail }, ['Please change my delivery address to 4 Elm Street']);
    const [byPhone] = await customerBy(`phone=${encodeURIComponent(phone)}`);
    const [byEmail] = await customerBy(`email=${mail}`);
    expect(byPhone).not.toBe(byEmail);

    const from = llm.requests.length;
    const linking = await chat({ phone }, [`my email is ${mail}`, 'yes']);
    expect(linking.replies[0]).toBe(`Just to confirm: ${mail} — is that right?`);
    expect(toolResults(from).map((r): unknown => JSON.parse(r))).toEqual([{ linked: true, type: 'email', value: mail, merged: true }]);

    expect(await customerBy(`email=${mail}`)).toEqual([byPhone]);
    expect((await api(s.url, `/v1/customers/${byEmail}`)).status).toBe(404);
    const customer = (await api(s.url, `/v1/customers/${byPhone}`)).body;
    expect(customer.identifiers).toEqual([{ type: 'phone', value: phone }, { type: 'email', value: mail }]);
    expect(customer.conversations).toHaveLength(3);

    const next = llm.requests.length;
    await chat({ email: mail }, ['Hello again']);
    const prompt = (requestsFor('Hello again', next)[0]!.body.messages as Msg[])[0]!.content!;
    expect(prompt).toContain(MEMORY_HEADING);
    expect(prompt).toContain('My blender order B-777 is late');
    expect(prompt).toContain('change my delivery address to 4 Elm Street');
  });

  it('the offline model reads a contact back, saves it on yes, and says so', async () => {
    const { id, replies } = await chat({ phone: '+15550102400' }, ['Hi, my email is Ola@Example.com', 'yes, that is right'], 'offline');
    expect(replies).toEqual(['Just to confirm: Ola@Example.com — is that right?', "Thanks, I've added Ola@Example.com to your details."]);
    const conv = await s.conversation(id);
    expect(conv.items.find((i) => i.type === 'tool_call')).toMatchObject({
      toolName: 'save_contact', data: { type: 'email', value: 'Ola@Example.com', confirmed: true },
    });
    expect(await customerBy('email=ola@example.com')).toEqual(await customerBy('phone=%2B15550102400'));
  });
});
