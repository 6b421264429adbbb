import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwilioRestClient } from '../../src/channels/twilio/rest.ts';
import { newId } from '../../src/core/ids.ts';
import { SEND_CLAIM_MS, queueSend } from '../../src/runtime/async/delivery.ts';
import type { OutboundRecord } from '../../src/store/index.ts';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { SMALL_POOL } from '../helpers/api.ts';
import { SUPPORT_NUMBER, settleUntil, startAsyncServer, type AsyncServer } from './harness.ts';

/**
 * One send per reply across nodes (DESIGN.md rule 4): a send job sends only a record it claimed
 * (`outbound.claim`). A record another node is sending is left to it; when that node dies its
 * claim expires, and the node taking the record over first asks Twilio what the dead one got
 * through (Twilio has no idempotency key), adopting it instead of sending a second copy. The other
 * node is played by the store and a Twilio client of the test's own.
 */

const clock = new FakeClock(Date.now());
let s: AsyncServer;
let twilio: TwilioRestClient;

beforeAll(async () => {
  s = await startAsyncServer(
    {
      pool: SMALL_POOL,
      channels: { sms: [{ number: SUPPORT_NUMBER, agent: 'echo' }] },
      agents: { echo: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [{ deltas: ['Got it.'] }] } } },
    },
    { clock },
  );
  twilio = new TwilioRestClient({ accountSid: s.sim.accountSid, authToken: s.sim.authToken, baseUrl: s.sim.url });
});
afterAll(() => s?.close());

const to = (phone: string) => s.sim.messages.filter((m) => m.to === phone);

/** A reply recorded for sending, as a turn commits it (not yet queued). */
async function recordReply(phone: string, body: string): Promise<OutboundRecord> {
  const { store } = s.server.conversations.deps;
  const now = clock.now();
  const conversationId = newId('conv', now);
  await store.conversations.create({
    id: conversationId, agent: 'echo', channel: 'sms', mode: 'async', status: 'suspended', context: {}, createdAt: now, updatedAt: now,
  });
  const itemId = newId('itm', now);
  await store.items.append({ id: itemId, conversationId, role: 'agent', type: 'message', text: body, interrupted: false, createdAt: now });
  const { record } = await store.outbound.create({
    conversationId, itemId, part: 0, channel: 'sms', to: phone, from: SUPPORT_NUMBER, body, payload: {}, createdAt: now,
  });
  return record;
}

async function sentRecord(id: string): Promise<OutboundRecord> {
  return settleUntil(s, async () => {
    const r = await s.server.conversations.deps.store.outbound.get(id);
    return r?.status === 'sent' ? r : undefined;
  }, `record ${id} to be sent`);
}

describe('delivery claims across nodes', () => {
  it("leaves a record another node is sending to it; after its claim expires, adopts what that node got through", async () => {
    const { deps } = s.server.conversations;
    const phone = '+15550011001';
    const rec = await recordReply(phone, 'Your order ships today.');
    // Node B claims the record, Twilio accepts its request, and B dies before recording it.
    expect(await deps.store.outbound.claim(rec.id, 'node-b', clock.now(), SEND_CLAIM_MS)).toMatchObject({ attempts: 1 });
    const byB = await twilio.sendMessage({ to: phone, from: SUPPORT_NUMBER, body: rec.body });

    // This node's job for the record (a retry, the one `recover` queues at start): not claimable.
    await queueSend(deps, rec.id);
    await s.settled();
    expect(await deps.store.outbound.get(rec.id)).toMatchObject({ status: 'sending', attempts: 1, claimOwner: 'node-b' });
    expect(to(phone)).toHaveLength(1);

    await s.advance(SEND_CLAIM_MS); // B's claim expires: the job looks again and takes the record over
    expect(await sentRecord(rec.id)).toMatchObject({ status: 'sent', attempts: 2, providerId: byB.sid });
    expect(to(phone).map((m) => m.sid)).toEqual([byB.sid]);
    const listed = s.sim.requests.filter((r) => r.method === 'GET' && r.params.To === phone);
    expect(listed).toHaveLength(1);
  });

  it('sends a taken-over record that never got through, once, and does not adopt the same words sent for another reply', async () => {
    const { deps } = s.server.conversations;
    const phone = '+15550011002';
    const earlier = await recordReply(phone, 'Got it.');
    await queueSend(deps, earlier.id);
    const first = await sentRecord(earlier.id);

    const rec = await recordReply(phone, 'Got it.'); // the same words, another reply
    await deps.store.outbound.claim(rec.id, 'node-b', clock.now(), SEND_CLAIM_MS); // B dies before sending
    await queueSend(deps, rec.id);
    await s.advance(SEND_CLAIM_MS);
    const second = await sentRecord(rec.id);
    expect(second).toMatchObject({ attempts: 2 });
    expect(second.providerId).not.toBe(first.providerId);
    expect(to(phone).map((m) => m.sid)).toEqual([first.providerId, second.providerId]);
  });

  it('sends when Twilio will not list messages at all (a refusal that will not pass): a reply is not held back for good', async () => {
    const { deps } = s.server.conversations;
    const phone = '+15550011003';
    const rec = await recordReply(phone, 'On its way.');
    await deps.store.outbound.claim(rec.id, 'node-b', clock.now(), SEND_CLAIM_MS);
    await queueSend(deps, rec.id);
    await s.settled();
    s.sim.failNext(1, 403); // the list request
    await s.advance(SEND_CLAIM_MS);
    expect(await sentRecord(rec.id)).toMatchObject({ attempts: 2 });
    expect(to(phone).map((m) => m.body)).toEqual(['On its way.']);
  });
});

