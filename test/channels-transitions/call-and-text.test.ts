import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Conversation } from '../../src/core/conversation.ts';
import { sendMessageHandler } from '../../src/runtime/index.ts';
import type { RunningServer } from '../../src/server/main.ts';
import type { TwilioCall } from '../../src/testing/twilio-call.ts';
import { TwilioSimulator, sendInboundSms } from '../../src/testing/twilio-simulator.ts';
import { api, ask, openSession, waitFor, type Json } from '../helpers/api.ts';
import { startInProcess, tempDir, writeConfig } from '../helpers/server.ts';
import { speechLike } from '../helpers/voice-client.ts';
import { lastUserText, startLlmFake, type LlmFake } from '../memory/llm-fake.ts';

/**
 * Channel transitions end to end: a phone call over the Twilio simulator (signed webhooks, a real
 * Media Stream, scripted STT/TTS) whose agent texts the caller with `send_message`, and a caller
 * who texts while on the call. The agent's model is an OpenAI-compatible fake that records what it
 * was given, so the tests see the model's input of the call's next turn.
 */

const PUBLIC = 'https://operator.example.test';
const SUPPORT_NUMBER = '+15557654321';
const DESK_NUMBER = '+15557654322';
const TRACKING = 'Your tracking link: https://track.example/A12345';

interface Item {
  id: string;
  role: string;
  type: string;
  text: string;
  toolName?: string;
  data?: Json;
  delivery?: { status: string };
}

interface ConversationJson {
  id: string;
  channel: string;
  status: string;
  items: Item[];
}

let llm: LlmFake;
let sim: TwilioSimulator;
let server: RunningServer;

beforeAll(async () => {
  llm = await startLlmFake((req) => {
    const messages = req.body.messages as { role: string; content?: string }[];
    if (messages.at(-1)?.role === 'tool') return { text: 'All done.' };
    const text = lastUserText(req);
    if (/text me the tracking link/i.test(text)) return { toolCall: { name: 'send_message', args: { channel: 'sms', text: TRACKING } } };
    if (/email me/i.test(text)) return { toolCall: { name: 'send_message', args: { channel: 'email', text: 'Your receipt.' } } };
    return { text: 'Got it.' };
  });
  const model = { provider: 'openai-compatible', model: 'local', baseUrl: `${llm.origin}/v1`, apiKey: 'sk-test' };
  const voice = (transcripts: string[]) => ({
    stt: { engine: 'scripted', transcripts }, tts: { engine: 'scripted' }, vad: { engine: 'energy' },
    silence: { reprompt: '60s', hangup: '120s' },
  });
  sim = await TwilioSimulator.start();
  const dir = tempDir();
  server = await startInProcess({
    configPath: writeConfig(dir, {
      pool: { size: 2 },
      limits: { rateLimitPerMinute: 1_000_000 },
      channels: {
        voice: [{ number: SUPPORT_NUMBER, agent: 'support' }, { number: DESK_NUMBER, agent: 'desk' }],
        sms: [{ number: SUPPORT_NUMBER, agent: 'support' }, { number: DESK_NUMBER, agent: 'desk' }],
      },
      agents: {
        support: { instructions: 'You help Acme customers.', greeting: 'Hello, Acme here.', model, voice: voice(['text me the tracking link']) },
        desk: { instructions: 'You help Acme customers.', greeting: 'Hello, Acme desk.', model, voice: voice(['did you get my text']) },
      },
    }),
    dataDir: dir,
    twilio: { accountSid: sim.accountSid, authToken: sim.authToken, apiUrl: sim.url },
    publicUrl: PUBLIC,
  });
  sim.useServer({ serverUrl: server.url, publicUrl: PUBLIC });
}, 60_000);

afterAll(async () => {
  await sim?.close();
  await server?.close();
  await llm?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function conversation(id: string): Promise<ConversationJson> {
  return (await api(server.url, `/v1/conversations/${id}`)).body as ConversationJson;
}

/** The customer with this phone number, with their conversations (GET /v1/customers/{id}). */
async function customerByPhone(phone: string): Promise<{ id: string; conversations: { id: string; channel: string }[] }> {
  const found = await api(server.url, `/v1/customers?phone=${encodeURIComponent(phone)}`);
  return (await api(server.url, `/v1/customers/${found.body.data[0].id as string}`)).body as { id: string; conversations: { id: string; channel: string }[] };
}

async function conversationOn(phone: string, channel: string): Promise<ConversationJson | undefined> {
  const c = (await customerByPhone(phone)).conversations.find((x) => x.channel === channel);
  return c && conversation(c.id);
}

/** Rings the agent's number and waits until the greeting has played. */
async function callIn(from: string, to: string): Promise<TwilioCall> {
  const call = await sim.placeInboundCall({ from, to });
  await call.waitForAudio(0, 5000);
  await sleep(1500);
  return call;
}

function speak(call: TwilioCall): Promise<number> {
  return call.say({ pcm: speechLike(700), sampleRate: 16_000 });
}

describe('channel transitions', () => {
  it('a customer who texts and then calls is recognised: the call starts from what they wrote', async () => {
    const caller = '+15550102005';
    await sendInboundSms({
      serverUrl: server.url, publicUrl: PUBLIC, authToken: sim.authToken, accountSid: sim.accountSid,
      from: caller, to: DESK_NUMBER, body: 'My parcel A77777 arrived damaged',
    });
    expect((await sim.waitForMessage((m) => m.to === caller, 8000)).body).toBe('Got it.');
    const before = llm.requests.length;
    const call = await callIn(caller, DESK_NUMBER);
    await speak(call);
    await waitFor(() => llm.requests.length > before, 'the first turn of the call', 8000);
    const system = (llm.requests[before]!.body.messages as { role: string; content: string }[])[0]!.content;
    expect(system).toContain('My parcel A77777 arrived damaged');
    expect(system).toContain('Customer: phone +15550102005');
    await call.hangUp();
  });

  it('the agent texts the caller during a phone call: one SMS, stored in the SMS conversation and in the call', async () => {
    const caller = '+15550102001';
    const call = await callIn(caller, SUPPORT_NUMBER);
    await speak(call);

    const sms = await sim.waitForMessage((m) => m.to === caller, 10_000);
    expect(sms).toMatchObject({ from: SUPPORT_NUMBER, to: caller, body: TRACKING });

    const voice = await waitFor(async () => {
      const c = await conversationOn(caller, 'voice');
      return c?.items.some((i) => i.role === 'agent' && i.text === 'All done.') ? c : undefined;
    }, 'the answer after the tool', 10_000);
    const toolCall = voice.items.find((i) => i.type === 'tool_call' && i.toolName === 'send_message');
    const result = voice.items.find((i) => i.type === 'tool_result' && i.toolName === 'send_message');
    expect(toolCall?.data).toEqual({ channel: 'sms', text: TRACKING });
    const text = await conversationOn(caller, 'sms');
    expect(result?.data).toEqual({ sent: true, channel: 'sms', to: caller, conversationId: text!.id });

    // The SMS conversation of the same customer holds the agent's message, delivered.
    const delivered = await waitFor(async () => {
      const c = await conversation(text!.id);
      return c.items.find((i) => i.role === 'agent' && i.delivery?.status === 'sent') ? c : undefined;
    }, 'the SMS delivered');
    expect(delivered.items.filter((i) => i.type === 'message').map((i) => [i.role, i.text])).toEqual([['agent', TRACKING]]);
    expect(delivered.items[0]!.data).toMatchObject({ sentFrom: voice.id, reply: { to: caller, from: SUPPORT_NUMBER } });

    await call.hangUp();
    await sleep(300);
    expect(sim.messages.filter((m) => m.to === caller)).toHaveLength(1);
  });

  it('the same send_message call asked twice (a retry) sends one SMS', async () => {
    const phone = '+15550102002';
    const customer = await server.store.customers.findOrCreate({ phone }, Date.now());
    const live: Conversation = {
      id: 'conv_retry_test', agent: 'support', channel: 'voice', mode: 'realtime', status: 'active',
      customerId: customer.id, context: {}, createdAt: Date.now(), updatedAt: Date.now(),
    };
    const send = sendMessageHandler({ store: server.store, conversations: server.conversations, channels: server.config.channels });
    const args = { channel: 'sms', text: 'Your code is 4321.', key: 'conv_retry_test/turn_1/call_1' };
    const ctx = { conversation: live, agentId: 'support' };
    // Concurrently (a duplicate racing the first) and once more after.
    const [a, b] = await Promise.all([send(args, ctx), send(args, ctx)]);
    const c = await send(args, ctx);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    await sim.waitForMessage((m) => m.to === phone);
    const text = await waitFor(async () => {
      const conv = await conversation(a.conversationId as string);
      return conv.items.some((i) => i.delivery?.status === 'sent') ? conv : undefined;
    }, 'the SMS delivered');
    expect(text.items.filter((i) => i.role === 'agent')).toHaveLength(1);
    await send(args, ctx);
    await sleep(300);
    expect(sim.messages.filter((m) => m.to === phone).map((m) => m.body)).toEqual(['Your code is 4321.']);
  });

  it("a text sent during a call joins the call's context: in its transcript and the model's next input, with no SMS reply", async () => {
    const caller = '+15550102003';
    const call = await callIn(caller, DESK_NUMBER);
    const voice = (await conversationOn(caller, 'voice'))!;
    const before = llm.requests.length;

    const texted = await sendInboundSms({
      serverUrl: server.url, publicUrl: PUBLIC, authToken: sim.authToken, accountSid: sim.accountSid,
      from: caller, to: DESK_NUMBER, body: 'My order number is A99999',
    });
    expect(texted.status).toBe(200);
    const inCall = await waitFor(async () => {
      const c = await conversation(voice.id);
      return c.items.find((i) => i.role === 'user' && i.text === '[SMS] My order number is A99999');
    }, "the text in the call's transcript");
    // Twilio redelivers the same message: nothing new anywhere.
    await sendInboundSms({
      serverUrl: server.url, publicUrl: PUBLIC, authToken: sim.authToken, accountSid: sim.accountSid,
      from: caller, to: DESK_NUMBER, body: 'My order number is A99999', messageSid: texted.messageSid,
    });
    await sleep(300);
    expect(llm.requests.length).toBe(before); // no turn started, the agent was not interrupted

    await speak(call);
    await waitFor(() => llm.requests.length > before, 'the next turn', 8000);
    // Consecutive user items share one message, as a list of text parts.
    const messages = llm.requests[before]!.body.messages as { role: string; content: string | { text: string }[] }[];
    const said = messages
      .filter((m) => m.role === 'user')
      .map((m) => (typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('\n')))
      .join('\n');
    expect(said).toContain('[SMS] My order number is A99999');
    expect(said.indexOf('[SMS] My order number is A99999')).toBeLessThan(said.indexOf('did you get my text'));

    const text = (await conversationOn(caller, 'sms'))!;
    expect(text.items.map((i) => [i.role, i.type, i.text])).toEqual([
      ['user', 'message', 'My order number is A99999'],
      ['system', 'event', `answered in the live call ${voice.id}`],
    ]);
    expect((await conversation(voice.id)).items.filter((i) => i.text.startsWith('[SMS]')).map((i) => i.id)).toEqual([inCall.id]);
    await call.hangUp();
    await sleep(500);
    expect(sim.messages.filter((m) => m.to === caller)).toEqual([]);
  });

  it('send_message refuses clearly and sends nothing: no phone on file, opted out, channel not configured', async () => {
    // Without a known customer there is nobody to text: the tool is not offered.
    const first = llm.requests.length;
    const anonymous = await openSession(server.url, 'support');
    await ask(anonymous.client, 'hello');
    anonymous.client.close();
    expect(llm.toolNames(first)).not.toContain('send_message');

    const failureOf = async (customer: object, message: string) => {
      const sent = sim.messages.length;
      const requests = llm.requests.length;
      const { client, conversationId } = await openSession(server.url, 'support', { customer });
      await ask(client, message);
      client.send({ type: 'session.end' });
      await client.next('session.ended');
      client.close();
      expect(llm.toolNames(requests)).toContain('send_message');
      await sleep(200);
      expect(sim.messages.length).toBe(sent);
      const items = (await conversation(conversationId)).items;
      return (items.find((i) => i.type === 'tool_result' && i.toolName === 'send_message')?.data as { error?: unknown } | undefined)?.error;
    };

    expect(await failureOf({ email: 'nophone@example.test' }, 'text me the tracking link')).toEqual({ code: 'no_phone_number', message: 'no phone number on file' });

    const stopped = '+15550102004';
    await sendInboundSms({ serverUrl: server.url, publicUrl: PUBLIC, authToken: sim.authToken, from: stopped, to: SUPPORT_NUMBER, body: 'STOP' });
    expect(await failureOf({ phone: stopped }, 'text me the tracking link')).toMatchObject({ code: 'recipient_opted_out' });

    // No SMTP relay is configured here.
    expect(await failureOf({ email: 'someone@example.test' }, 'email me the receipt')).toMatchObject({ code: 'channel_not_configured' });
  });
});
