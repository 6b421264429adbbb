import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMALL_POOL, api } from '../helpers/api.ts';
import { SUPPORT_NUMBER, startAsyncServer, type AsyncServer } from './harness.ts';

/**
 * The Twilio webhooks and the per-address API rate limit (`limits.rateLimitPerMinute`): Twilio
 * posts every inbound text and status callback from a few addresses and does not retry an inbound
 * message refused with 429, so its webhooks (authenticated by their signature) are not counted.
 * The API still is. Nothing here polls the API: that would spend the budget under test.
 */

const LIMIT = 3;
let s: AsyncServer;

beforeAll(async () => {
  s = await startAsyncServer(
    {
      pool: SMALL_POOL,
      limits: { rateLimitPerMinute: LIMIT },
      channels: { sms: [{ number: SUPPORT_NUMBER, agent: 'echo' }] },
      agents: { echo: { instructions: 'x', async: { debounce: { sms: '0s' } }, model: { provider: 'scripted', loop: true, steps: [{ deltas: ['Got it.'] }] } } },
    },
    { simulator: { autoStatusCallbacks: ['sent', 'delivered'] } },
  );
});
afterAll(() => s?.close());

describe('the Twilio webhooks and the API rate limit', () => {
  it('inbound texts and status callbacks beyond the limit are all accepted; the API is still limited', async () => {
    const phones = Array.from({ length: LIMIT * 2 }, (_, i) => `+1555001900${i}`);
    const inbound = [];
    for (const phone of phones) inbound.push((await s.sms(phone, 'where is my order?')).status);
    expect(inbound).toEqual(phones.map(() => 200));

    for (const phone of phones) await s.sim.waitForMessage((m) => m.to === phone, 10_000);
    await s.sim.settled();
    const callbacks = s.sim.callbacks.filter((c) => c.url.endsWith('/twilio/sms/status'));
    expect(callbacks).toHaveLength(phones.length * 2);
    expect(callbacks.map((c) => c.status ?? c.error)).toEqual(callbacks.map(() => 204));

    const statuses = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await api(s.url, '/v1/agents')).status);
    expect(statuses).toEqual([...Array.from({ length: LIMIT }, () => 200), 429]);
  });
});
