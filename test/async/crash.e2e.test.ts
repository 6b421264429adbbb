import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TwilioSimulator, sendInboundSms } from '../../src/testing/twilio-simulator.ts';
import { api, waitFor } from '../helpers/api.ts';
import { spawnServer, type ChildServer } from '../helpers/server.ts';
import { SUPPORT_NUMBER, agentMessages, configFile, getConversation, type ConversationJson } from './harness.ts';

/**
 * `kill -9` between accepting a text and replying (issue 3, "Reliability"): the server runs as a
 * child process against a TwilioSimulator, is killed at the worst moments, and restarted on the
 * same data dir. From the customer's side the reply arrives exactly once.
 */

const PUBLIC = 'https://crash.example.test';
// About three seconds per turn: long enough to kill the server while it runs.
const SLOW = { deltas: ['Your ', 'order ', 'ships ', 'today.'], delayMs: 700 };
const REPLY = 'Your order ships today.';

let sim: TwilioSimulator;
let localUrl = '';
const children: ChildServer[] = [];

beforeAll(async () => {
  sim = await TwilioSimulator.start({ callbackTarget: (u) => u.replace(PUBLIC, localUrl) });
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
});
afterAll(() => sim?.close());

function environment(nodeId: string): Record<string, string> {
  const { dir, path } = configFile({
    pool: { size: 1 },
    logging: { level: 'info' },
    channels: { sms: [{ number: SUPPORT_NUMBER, agent: 'slow' }] },
    agents: { slow: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [SLOW] } } },
  });
  return {
    OPERATOR_CONFIG: path, OPERATOR_DATA_DIR: dir, OPERATOR_NODE_ID: nodeId, OPERATOR_PUBLIC_URL: PUBLIC,
    TWILIO_ACCOUNT_SID: sim.accountSid, TWILIO_AUTH_TOKEN: sim.authToken, TWILIO_API_URL: sim.url,
  };
}

async function start(env: Record<string, string>): Promise<ChildServer> {
  const s = await spawnServer(env);
  children.push(s);
  localUrl = s.url;
  return s;
}

async function kill(s: ChildServer): Promise<void> {
  s.child.kill('SIGKILL');
  await s.exited;
  expect(s.child.signalCode).toBe('SIGKILL');
}

function text(url: string, from: string, body: string) {
  return sendInboundSms({ serverUrl: url, publicUrl: PUBLIC, authToken: sim.authToken, accountSid: sim.accountSid, from, to: SUPPORT_NUMBER, body });
}

async function onlyConversation(url: string): Promise<ConversationJson> {
  const list = (await api(url, '/v1/conversations?channel=sms')).body.data as { id: string }[];
  expect(list).toHaveLength(1);
  return getConversation(url, list[0]!.id);
}

/** Waits until every agent message is marked sent, then answers a follow-up text: whatever the restart queued has run by then. */
async function drain(url: string, phone: string, id: string): Promise<ConversationJson> {
  await waitFor(async () => {
    const msgs = agentMessages(await getConversation(url, id));
    return msgs.length > 0 && msgs.every((m) => m.delivery?.status === 'sent');
  }, 'the replies to be marked sent', 15_000);
  const before = sim.messages.filter((m) => m.to === phone).length;
  expect((await text(url, phone, 'Thanks!')).status).toBe(200);
  await waitFor(() => sim.messages.filter((m) => m.to === phone).length > before, 'the reply to the follow-up', 15_000);
  return waitFor(async () => {
    const conv = await getConversation(url, id);
    return agentMessages(conv).every((m) => m.delivery?.status === 'sent') && conv.status === 'suspended' ? conv : undefined;
  }, 'the follow-up to be sent', 15_000);
}

describe('kill -9 between accepting and replying', () => {
  it('while the turn is in flight: after the restart the reply is sent exactly once', async () => {
    const env = environment('crash-a');
    const phone = '+15550009001';
    const first = await start(env);
    expect((await text(first.url, phone, 'When does my order ship?')).status).toBe(200);
    const { id } = await onlyConversation(first.url);
    await waitFor(async () => (await getConversation(first.url, id)).status === 'active', 'the turn to start');
    await kill(first);
    expect(sim.messages.filter((m) => m.to === phone)).toEqual([]);

    const second = await start(env);
    await sim.waitForMessage((m) => m.to === phone, 15_000);
    const conv = await drain(second.url, phone, id);
    expect(sim.messages.filter((m) => m.to === phone).map((m) => m.body)).toEqual([REPLY, REPLY]); // one per text
    expect(conv.items.filter((i) => i.type === 'message').map((i) => `${i.role}: ${i.text}`)).toEqual([
      'user: When does my order ship?', `agent: ${REPLY}`, 'user: Thanks!', `agent: ${REPLY}`,
    ]);
  }, 60_000);

  it('right after the reply is recorded, before it is sent (the send failed once): sent exactly once after the restart', async () => {
    const env = environment('crash-b');
    const phone = '+15550009002';
    const first = await start(env);
    sim.failNext(1, 503);
    expect((await text(first.url, phone, 'Is it shipped?')).status).toBe(200);
    const { id } = await onlyConversation(first.url);
    await waitFor(async () => agentMessages(await getConversation(first.url, id))[0]?.delivery?.status === 'retrying', 'the first send to fail', 15_000);
    await kill(first);
    expect(sim.messages.filter((m) => m.to === phone)).toEqual([]);

    const second = await start(env);
    await sim.waitForMessage((m) => m.to === phone, 15_000);
    await drain(second.url, phone, id);
    expect(sim.messages.filter((m) => m.to === phone).map((m) => m.body)).toEqual([REPLY, REPLY]);
  }, 60_000);

  // A kill between Twilio's 201 and the write of `sent` leaves the record `sending`, claimed by the
  // dead run. Twilio's Messages API has no idempotency key, so the restarted node releases its old
  // claims and, before resending a record an earlier attempt started, lists the Messages sent
  // To/From since the record was created and adopts the one with its body (runtime/async/delivery.ts).
  it('immediately after the reply reached Twilio: no second copy after the restart', async () => {
    const env = environment('crash-c');
    const phone = '+15550009003';
    const first = await start(env);
    const off = sim.onMessage((m) => {
      if (m.to === phone) first.child.kill('SIGKILL');
    });
    try {
      expect((await text(first.url, phone, 'Where is it?')).status).toBe(200);
      const { id } = await onlyConversation(first.url);
      await first.exited;
      expect(first.child.signalCode).toBe('SIGKILL');
      expect(sim.messages.filter((m) => m.to === phone)).toHaveLength(1);

      const second = await start(env);
      await drain(second.url, phone, id);
      expect(sim.messages.filter((m) => m.to === phone).map((m) => m.body)).toEqual([REPLY, REPLY]);
    } finally {
      off();
    }
  }, 60_000);
});
