import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { SmtpSink, sendTestEmail } from '../../src/testing/smtp-sink.ts';
import { SMALL_POOL } from '../helpers/api.ts';
import { SUPPORT_ADDRESS, agentMessages, closedPort, settleUntil, startAsyncServer, type AsyncServer, type ItemJson, one } from './harness.ts';

/**
 * An unreachable or refusing outbound relay (SMTP_OUTBOUND_URL): the reply is kept, retried with
 * backoff (FakeClock), its state visible on the item, and sent once the relay is back; a permanent
 * refusal is recorded, not retried.
 */

let s: AsyncServer;
let relay: SmtpSink | undefined;
let relayPort = 0;
const clock = new FakeClock(Date.now());

beforeAll(async () => {
  relayPort = await closedPort();
  s = await startAsyncServer(
    {
      pool: SMALL_POOL,
      channels: { email: [{ address: SUPPORT_ADDRESS, agent: 'mail' }] },
      agents: { mail: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [{ deltas: ['We are on it.'] }] } } },
    },
    { clock, smtpOutboundUrl: `smtp://127.0.0.1:${relayPort}` },
  );
});
afterAll(async () => {
  await s?.close();
  await relay?.close();
});

async function write(from: string, subject: string): Promise<void> {
  const port = s.server.smtpPort!;
  expect((await sendTestEmail({ port, from, to: SUPPORT_ADDRESS, subject, text: 'Please help.' })).response).toMatch(/^250/);
}

function replyOf(from: string): () => Promise<ItemJson | undefined> {
  return async () => {
    const conv = one(await s.conversationsOf({ email: from }), 'conversation');
    return conv && agentMessages(conv)[0];
  };
}

describe('an unreachable SMTP relay', () => {
  it('retries with backoff, shows the state on the item, and sends once the relay listens again', async () => {
    const customer = 'down@example.com';
    await write(customer, 'Relay down');
    const item = replyOf(customer);
    const first = await settleUntil(s, async () => ((await item())?.delivery?.attempts === 1 ? item() : undefined), 'the first attempt');
    expect(first.delivery).toMatchObject({ status: 'retrying', attempts: 1, lastError: expect.stringMatching(/^email_relay_unreachable/) });

    await s.advance(1_000);
    const second = await settleUntil(s, async () => ((await item())?.delivery?.attempts === 2 ? item() : undefined), 'the second attempt');
    expect(second.delivery?.status).toBe('retrying');

    relay = await SmtpSink.start({ port: relayPort });
    await s.advance(2_000);
    const mail = await relay.waitFor((m) => m.to.includes(customer));
    expect(mail.subject).toBe('Re: Relay down');
    const sent = await settleUntil(s, async () => ((await item())?.delivery?.status === 'sent' ? item() : undefined), 'the reply to be marked sent');
    expect(sent.delivery).toMatchObject({ status: 'sent', attempts: 3 });
    expect(relay.messages.filter((m) => m.to.includes(customer))).toHaveLength(1);
  });

  it('a temporary refusal (451) is retried; a permanent one (550) is recorded as failed and not retried', async () => {
    if (!relay) throw new Error('the previous test starts the relay');
    relay.failNext(1, 451);
    const deferred = 'deferred@example.com';
    await write(deferred, 'Deferred');
    const d = replyOf(deferred);
    const retrying = await settleUntil(s, async () => ((await d())?.delivery?.status === 'retrying' ? d() : undefined), 'the deferral');
    expect(retrying.delivery?.lastError).toMatch(/^email_deferred/);
    await s.advance(1_000);
    await relay.waitFor((m) => m.to.includes(deferred));
    expect(relay.rejectedCount).toBe(1);

    relay.failNext(1, 550);
    const refused = 'refused@example.com';
    await write(refused, 'Refused');
    const r = replyOf(refused);
    const failed = await settleUntil(s, async () => ((await r())?.delivery?.status === 'failed' ? r() : undefined), 'the refusal');
    expect(failed.delivery).toMatchObject({ attempts: 1, lastError: expect.stringMatching(/^email_rejected/) });
    await s.advance(120_000);
    expect((await r())!.delivery).toMatchObject({ status: 'failed', attempts: 1 });
    expect(relay.messages.filter((m) => m.to.includes(refused))).toEqual([]);
  });
});
