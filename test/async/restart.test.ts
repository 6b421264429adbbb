import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { TwilioSimulator } from '../../src/testing/twilio-simulator.ts';
import { SMALL_POOL } from '../helpers/api.ts';
import { tempDir } from '../helpers/server.ts';
import { SUPPORT_NUMBER, agentMessages, settleUntil, startAsyncServer, userMessages, type AsyncServer, type ItemJson, one } from './harness.ts';

/**
 * Restarts on the same embedded store with work left in it (in process, with FakeClocks, so the
 * moment of the restart is exact): a reply waiting for its retry, a turn whose debounce window
 * and an inactivity timer that fall due while the server was down. Each runs once after the restart.
 */

const HOUR = 3_600_000;
const CONFIG = {
  pool: SMALL_POOL,
  channels: { sms: [{ number: SUPPORT_NUMBER, agent: 'echo' }] },
  agents: {
    echo: {
      instructions: 'x', async: { debounce: { sms: '0s' }, inactivityTimeout: { sms: '24h' } },
      model: { provider: 'scripted', loop: true, steps: [{ deltas: ['Got it.'] }] },
    },
  },
};

let sim: TwilioSimulator;
beforeAll(async () => {
  sim = await TwilioSimulator.start();
});
afterAll(() => sim?.close());

const to = (phone: string) => sim.messages.filter((m) => m.to === phone);

async function reply(s: AsyncServer, phone: string): Promise<ItemJson | undefined> {
  const conv = one(await s.conversationsOf({ phone }), 'conversation');
  return conv && agentMessages(conv)[0];
}

describe('a restart with work left in the store', () => {
  it('a reply waiting for its retry is sent once after the restart, even when the backoff ran out meanwhile', async () => {
    const dataDir = tempDir('operator-restart-');
    const phone = '+15550010001';
    const start = Date.now();
    const a = await startAsyncServer(CONFIG, { clock: new FakeClock(start), sim, dataDir });
    sim.failNext(1, 500);
    expect((await a.sms(phone, 'hello')).status).toBe(200);
    const retrying = await settleUntil(a, async () => ((await reply(a, phone))?.delivery?.status === 'retrying' ? reply(a, phone) : undefined), 'the failed send');
    expect(retrying.delivery?.attempts).toBe(1);
    await a.close();

    const b = await startAsyncServer(CONFIG, { clock: new FakeClock(start + 60_000), sim, dataDir });
    try {
      const sent = await settleUntil(b, async () => ((await reply(b, phone))?.delivery?.status === 'sent' ? reply(b, phone) : undefined), 'the reply to be sent');
      await b.settled();
      expect(to(phone).map((m) => m.body)).toEqual(['Got it.']);
      expect(sent.delivery?.attempts).toBe(2);
    } finally {
      await b.close();
    }
  });

  it('an inactivity timeout that fell due while the server was down ends the conversation after the restart', async () => {
    const dataDir = tempDir('operator-restart-');
    const phone = '+15550010002';
    const start = Date.now();
    const a = await startAsyncServer(CONFIG, { clock: new FakeClock(start), sim, dataDir });
    await a.sms(phone, 'hello');
    await settleUntil(a, async () => (await reply(a, phone))?.delivery?.status === 'sent', 'the reply');
    const conv = one(await a.conversationsOf({ phone }), 'conversation');
    await a.close();

    const b = await startAsyncServer(CONFIG, { clock: new FakeClock(start + 25 * HOUR), sim, dataDir });
    try {
      const ended = await settleUntil(b, async () => {
        const c = await b.conversation(conv.id);
        return c.status === 'ended' ? c : undefined;
      }, 'the timeout');
      expect(ended.endedReason).toBe('timeout');
      expect(userMessages(ended)).toHaveLength(1);
      expect(to(phone)).toHaveLength(1);
    } finally {
      await b.close();
    }
  });
});
