import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signTwilioRequest, twilioRequestUrl } from '../../src/channels/twilio/signature.ts';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { inboundSmsParams, postSignedForm, sendInboundSms } from '../../src/testing/twilio-simulator.ts';
import { SMALL_POOL, api } from '../helpers/api.ts';
import { PUBLIC_URL, SUPPORT_NUMBER, agentMessages, settleUntil, startAsyncServer, userMessages, waitForConversation, type AsyncServer, type ConversationJson, type ItemJson, one } from './harness.ts';

/**
 * The SMS edge under bad and repeated input (issue 3, "Reliability"): redelivered webhooks, bad
 * signatures, malformed forms, unknown numbers, STOP/START/HELP, an unreachable Twilio API
 * (retried with backoff on a FakeClock, visible on the item), and signed status callbacks.
 */

const QUEUED_NUMBER = '+15557650003'; // its agent waits 2 s before answering (debounce)

let s: AsyncServer;
const clock = new FakeClock(Date.now());

beforeAll(async () => {
  s = await startAsyncServer(
    {
      pool: SMALL_POOL,
      channels: { sms: [{ number: SUPPORT_NUMBER, agent: 'echo' }, { number: QUEUED_NUMBER, agent: 'patient' }] },
      agents: {
        echo: { instructions: 'x', greeting: 'Hello from Acme.', model: { provider: 'scripted', loop: true, steps: [{ deltas: ['Got it.'] }] } },
        patient: { instructions: 'x', async: { debounce: { sms: '2s' } }, model: { provider: 'scripted', loop: true, steps: [{ deltas: ['Later.'] }] } },
      },
    },
    { clock },
  );
});
afterAll(() => s?.close());

const to = (phone: string) => s.sim.messages.filter((m) => m.to === phone);

async function sentReply(phone: string): Promise<ConversationJson> {
  return settleUntil(s, async () => {
    const list = await s.conversationsOf({ phone });
    return list.length === 1 && agentMessages(list[0]!)[0]?.delivery?.status === 'sent' ? list[0] : undefined;
  }, `the reply to ${phone} to be sent`);
}

describe('inbound webhooks', () => {
  it('the same webhook (same MessageSid) delivered twice, also at once, is one item and one reply', async () => {
    const phone = '+15550008001';
    const first = await s.sms(phone, 'hello');
    expect(first.status).toBe(200);
    await sentReply(phone);
    const again = await s.sms(phone, 'hello', { messageSid: first.messageSid });
    expect(again.status).toBe(200);
    const both = await Promise.all([1, 2].map(() => s.sms(phone, 'and again', { messageSid: 'SM' + 'a'.repeat(32) })));
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    await settleUntil(s, () => Promise.resolve(to(phone).length === 2), 'the second reply');
    const conv = one(await s.conversationsOf({ phone }), 'conversation');
    expect(userMessages(conv).map((i) => i.text)).toEqual(['hello', 'and again']);
    expect(agentMessages(conv)).toHaveLength(2);
    expect(to(phone)).toHaveLength(2);
  });

  it('a bad or missing signature gets 403 and stores nothing', async () => {
    const phone = '+15550008002';
    const forged = await s.sms(phone, 'forged', { signature: 'bm90IGEgc2lnbmF0dXJl' });
    const unsigned = await s.sms(phone, 'unsigned', { signature: null });
    const wrongToken = await sendInboundSms({ serverUrl: s.url, publicUrl: PUBLIC_URL, authToken: 'not-the-token', from: phone, to: SUPPORT_NUMBER, body: 'x' });
    // Signed over the local address instead of the public URL Twilio was given.
    const wrongUrl = await sendInboundSms({ serverUrl: s.url, authToken: s.sim.authToken, from: phone, to: SUPPORT_NUMBER, body: 'x' });
    for (const r of [forged, unsigned, wrongToken, wrongUrl]) {
      expect(r.status).toBe(403);
      expect(JSON.parse(r.body).error.code).toBe('invalid_signature');
    }
    // A signed body that was changed on the way.
    const params = inboundSmsParams({ from: phone, to: SUPPORT_NUMBER, body: 'original' });
    const signed = await postSignedForm({ url: `${s.url}/twilio/sms`, signedUrl: `${PUBLIC_URL}/twilio/sms`, authToken: s.sim.authToken, params });
    expect(signed.status).toBe(200);
    await s.settled();
    const tampered = { ...params, MessageSid: 'SM' + 'b'.repeat(32), Body: 'tampered' };
    const sig = signTwilioRequest(s.sim.authToken, `${PUBLIC_URL}/twilio/sms`, params);
    const changed = await postSignedForm({ url: `${s.url}/twilio/sms`, authToken: s.sim.authToken, params: tampered, signature: sig });
    expect(changed.status).toBe(403);
    await s.settled();
    const conv = one(await s.conversationsOf({ phone }), 'conversation');
    expect(userMessages(conv).map((i) => i.text)).toEqual(['original']);
  });

  it('a malformed form gets 400 invalid_sms_webhook and stores nothing', async () => {
    const phone = '+15550008003';
    const url = twilioRequestUrl(s.url, '/twilio/sms');
    const signedUrl = `${PUBLIC_URL}/twilio/sms`;
    const noSid: Record<string, string> = { ...inboundSmsParams({ from: phone, to: SUPPORT_NUMBER, body: 'hi' }) };
    delete noSid.MessageSid;
    const badMedia = inboundSmsParams({ from: phone, to: SUPPORT_NUMBER, body: 'hi', extraParams: { NumMedia: '1' } });
    const tooLong = inboundSmsParams({ from: phone, to: SUPPORT_NUMBER, body: 'x'.repeat(1601) });
    for (const params of [noSid, badMedia, tooLong]) {
      const r = await postSignedForm({ url, signedUrl, authToken: s.sim.authToken, params });
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body).error.code).toBe('invalid_sms_webhook');
    }
    expect(await s.conversationsOf({ phone })).toEqual([]);
  });

  it('a text to a number that is not configured gets 404 unknown_number and stores nothing', async () => {
    const phone = '+15550008004';
    const r = await s.sms(phone, 'hello?', { to: '+15559999999' });
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body).error.code).toBe('unknown_number');
    expect(await s.conversationsOf({ phone })).toEqual([]);
  });

  it('MMS media become attachments of the item', async () => {
    const phone = '+15550008005';
    const media = [{ url: 'https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1', contentType: 'image/jpeg' }];
    expect((await s.sms(phone, 'see photo', { media })).status).toBe(200);
    const conv = one(await s.conversationsOf({ phone }), 'conversation');
    expect(userMessages(conv)[0]?.attachments).toEqual([expect.objectContaining(media[0])]);
  });
});

describe('STOP, START and HELP', () => {
  it('an opted-out number gets nothing: a queued reply is suppressed, outreach is refused with 409; START re-enables', async () => {
    const phone = '+15550008006';
    expect((await s.sms(phone, 'Can someone call me?', { to: QUEUED_NUMBER })).status).toBe(200);
    const stop = await s.sms(phone, 'STOP', { to: QUEUED_NUMBER });
    expect(stop.status).toBe(200);
    expect(stop.body).not.toContain('<Message>');

    await s.advance(2_000); // the debounce window closes: the turn runs, its reply is suppressed
    const conv = one(await s.conversationsOf({ phone }), 'conversation');
    const done = await waitForConversation(s, conv.id, (c) => agentMessages(c)[0]?.delivery?.status === 'suppressed', 'the reply to be suppressed');
    expect(userMessages(done).map((i) => i.text)).toEqual(['Can someone call me?']);
    expect(to(phone)).toEqual([]);

    const outreach = await api(s.url, '/v1/conversations', { body: { agent: 'echo', channel: 'sms', customer: { phone } } });
    expect([outreach.status, outreach.body.error?.code]).toEqual([409, 'recipient_opted_out']);

    const help = await s.sms(phone, 'HELP');
    expect(help.status).toBe(200);
    expect(help.body).toMatch(/<Message>.*STOP.*<\/Message>/);

    expect((await s.sms(phone, 'START')).status).toBe(200);
    const again = await api(s.url, '/v1/conversations', { body: { agent: 'echo', channel: 'sms', customer: { phone } } });
    expect(again.status).toBe(201);
    const greeting = await s.sim.waitForMessage((m) => m.to === phone);
    expect(greeting).toMatchObject({ from: SUPPORT_NUMBER, body: 'Hello from Acme.' });
  });
});

describe('an unreachable Twilio API', () => {
  it('is retried with backoff, the state visible on the item, and sent once it recovers', async () => {
    const phone = '+15550008007';
    s.sim.failNext(2, 500);
    expect((await s.sms(phone, 'anyone there?')).status).toBe(200);
    const item = async (): Promise<ItemJson> => agentMessages((await s.conversationsOf({ phone }))[0]!)[0]!;
    const first = await settleUntil(s, async () => ((await item())?.delivery?.attempts === 1 ? item() : undefined), 'the first attempt');
    expect(first.delivery).toMatchObject({ status: 'retrying', attempts: 1, lastError: expect.stringMatching(/^twilio_unavailable/) });
    expect(to(phone)).toEqual([]);

    await s.advance(999);
    expect((await item()).delivery?.attempts).toBe(1); // not before the backoff has passed
    await s.advance(1);
    const second = await settleUntil(s, async () => ((await item()).delivery?.attempts === 2 ? item() : undefined), 'the second attempt');
    expect(second.delivery).toMatchObject({ status: 'retrying', attempts: 2 });

    await s.advance(2_000);
    const sent = await settleUntil(s, async () => ((await item()).delivery?.status === 'sent' ? item() : undefined), 'the reply to be sent');
    expect(sent.delivery).toMatchObject({ status: 'sent', attempts: 3 });
    expect(sent.delivery?.lastError).toBeUndefined();
    expect(to(phone).map((m) => m.body)).toEqual(['Got it.']);
  });
});

describe('status callbacks', () => {
  it('signed callbacks move the delivery to delivered; a late "sent" does not move it back; unsigned ones change nothing', async () => {
    const phone = '+15550008008';
    await s.sms(phone, 'status please');
    const conv = await sentReply(phone);
    const [sms] = to(phone);
    const answers = await s.sim.sendMessageStatus(sms!.sid, ['queued', 'sent', 'delivered']);
    expect(answers.map((a) => a.status)).toEqual([204, 204, 204]);
    const item = async (): Promise<ItemJson> => agentMessages(await s.conversation(conv.id))[0]!;
    expect((await item()).delivery?.status).toBe('delivered');

    await s.sim.sendMessageStatus(sms!.sid, ['sent']);
    expect((await item()).delivery?.status).toBe('delivered');

    const forged = await postSignedForm({
      url: `${s.url}/twilio/sms/status`, authToken: 'wrong-token',
      params: { MessageSid: sms!.sid, MessageStatus: 'failed', ErrorCode: '30003' },
    });
    expect(forged.status).toBe(403);
    expect((await item()).delivery?.status).toBe('delivered');
  });

  it('a failed delivery shows the carrier error on the item', async () => {
    const phone = '+15550008009';
    await s.sms(phone, 'will this fail?');
    const conv = await sentReply(phone);
    await s.sim.sendMessageStatus(to(phone)[0]!.sid, ['queued', 'failed'], { errorCode: 30003 });
    expect(agentMessages(await s.conversation(conv.id))[0]?.delivery).toMatchObject({ status: 'failed', lastError: 'twilio 30003' });
  });
});
