import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TwilioRestClient } from '../../../src/channels/twilio/rest.ts';
import { twilioRequestUrl, validTwilioSignature } from '../../../src/channels/twilio/signature.ts';
import { parseInboundSms, parseSmsStatus } from '../../../src/channels/twilio/sms-codec.ts';
import { sendInboundSms, TwilioSimulator } from '../../../src/testing/twilio-simulator.ts';
import { startReceiver, type Receiver, type ReceivedWebhook } from './receiver.ts';

const PUBLIC = 'https://operator.example.com';
let sim: TwilioSimulator;
let server: Receiver;
let client: TwilioRestClient;

/** Verifies a received webhook the way Operator does: against the public URL + path as received. */
function signedValidly(hook: ReceivedWebhook, token = sim.authToken): boolean {
  return validTwilioSignature(token, twilioRequestUrl(PUBLIC, hook.url), hook.form, hook.signature);
}

beforeEach(async () => {
  server = await startReceiver();
  sim = await TwilioSimulator.start({
    callbackTarget: (url) => url.replace(PUBLIC, server.url),
  });
  client = new TwilioRestClient({ accountSid: sim.accountSid, authToken: sim.authToken, baseUrl: sim.url });
});

afterEach(async () => {
  await sim.close();
  await server.close();
});

describe('TwilioSimulator status callbacks', () => {
  it('posts queued → sent → delivered to the StatusCallback, each validly signed over the public URL', async () => {
    const { sid } = await client.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'hi', statusCallback: `${PUBLIC}/twilio/sms/status` });
    const deliveries = await sim.sendMessageStatus(sid);
    expect(deliveries.map((d) => d.status)).toEqual([200, 200, 200]);
    expect(server.received).toHaveLength(3);
    for (const hook of server.received) {
      expect(hook.path).toBe('/twilio/sms/status');
      expect(hook.contentType).toBe('application/x-www-form-urlencoded');
      expect(signedValidly(hook)).toBe(true);
      expect(signedValidly(hook, 'another-token')).toBe(false);
    }
    expect(server.received.map((h) => parseSmsStatus(h.form))).toEqual(
      ['queued', 'sent', 'delivered'].map((status) => ({ messageSid: sid, status, accountSid: sim.accountSid, from: '+15557654321', to: '+15550001111' })),
    );
    expect(sim.messages[0]!.status).toBe('delivered');
  });

  it('reports a failure with an ErrorCode', async () => {
    const { sid } = await client.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'hi', statusCallback: `${PUBLIC}/twilio/sms/status` });
    await sim.sendMessageStatus(sid, ['sent', 'undelivered'], { errorCode: 30007 });
    expect(parseSmsStatus(server.received[1]!.form)).toMatchObject({ status: 'undelivered', errorCode: 30007 });
  });

  it('can post them on its own once the 201 is out, and settles', async () => {
    await sim.close();
    sim = await TwilioSimulator.start({ autoStatusCallbacks: ['sent', 'delivered'], callbackTarget: (url) => url.replace(PUBLIC, server.url) });
    client = new TwilioRestClient({ accountSid: sim.accountSid, authToken: sim.authToken, baseUrl: sim.url });
    await client.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'hi', statusCallback: `${PUBLIC}/twilio/sms/status` });
    await client.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'no callback' });
    await sim.settled();
    expect(server.received.map((h) => h.form.MessageStatus)).toEqual(['sent', 'delivered']);
    expect(server.received.every((h) => signedValidly(h))).toBe(true);
  });

  it('records an unreachable callback instead of failing', async () => {
    const { sid } = await client.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'hi', statusCallback: 'http://127.0.0.1:1/status' });
    const [delivery] = await sim.sendMessageStatus(sid, ['sent']);
    expect(delivery!.status).toBeUndefined();
    expect(delivery!.error).toBeTruthy();
  });

  it('posts signed call status callbacks with a sequence number', async () => {
    const { sid } = await client.createCall({ from: '+15557654321', to: '+15550001111', url: `${PUBLIC}/twilio/voice`, statusCallback: `${PUBLIC}/twilio/voice/status` });
    await sim.sendCallStatus(sid, 'in-progress');
    await sim.sendCallStatus(sid, 'completed', 42);
    expect(server.received.map((h) => [h.form.CallStatus, h.form.SequenceNumber, h.form.CallDuration])).toEqual([
      ['in-progress', '0', undefined],
      ['completed', '1', '42'],
    ]);
    expect(server.received.every((h) => signedValidly(h))).toBe(true);
  });
});

describe('sendInboundSms', () => {
  it('posts a webhook signed over the public URL that Operator parses', async () => {
    const res = await sendInboundSms({ serverUrl: server.url, publicUrl: PUBLIC, authToken: 'tok', accountSid: sim.accountSid, from: '+15550001111', to: '+15557654321', body: 'Where is my order?' });
    expect(res.status).toBe(200);
    expect(res.body).toContain('<Response>');
    const hook = server.received[0]!;
    expect(hook.path).toBe('/twilio/sms');
    expect(signedValidly(hook, 'tok')).toBe(true);
    // signed over the public URL, not the address it was delivered to
    expect(validTwilioSignature('tok', `${server.url}/twilio/sms`, hook.form, hook.signature)).toBe(false);
    expect(parseInboundSms(hook.form)).toMatchObject({ messageSid: res.messageSid, from: '+15550001111', to: '+15557654321', body: 'Where is my order?', media: [] });
    expect(hook.form).toMatchObject({ SmsStatus: 'received', ApiVersion: '2010-04-01', NumSegments: '1', FromCountry: 'US' });
  });

  it('sends an MMS with two media and can redeliver the same MessageSid', async () => {
    const media = [
      { url: 'https://api.twilio.com/media/ME1', contentType: 'image/jpeg' },
      { url: 'https://api.twilio.com/media/ME2', contentType: 'image/png' },
    ];
    const first = await sendInboundSms({ serverUrl: server.url, authToken: 'tok', from: '+15550001111', to: '+15557654321', body: 'photos', media });
    expect(first.messageSid).toMatch(/^MM[0-9a-f]{32}$/);
    await sendInboundSms({ serverUrl: server.url, authToken: 'tok', from: '+15550001111', to: '+15557654321', body: 'photos', media, messageSid: first.messageSid });
    const [a, b] = server.received.map((h) => parseInboundSms(h.form));
    expect(a!.media).toEqual(media);
    expect(b!.messageSid).toBe(a!.messageSid);
  });

  it('can send a wrong or missing signature to test rejection', async () => {
    await sendInboundSms({ serverUrl: server.url, publicUrl: PUBLIC, authToken: 'tok', from: '+1', to: '+2', body: 'x', signature: 'bogus=' });
    await sendInboundSms({ serverUrl: server.url, publicUrl: PUBLIC, authToken: 'tok', from: '+1', to: '+2', body: 'x', signature: null });
    expect(server.received.map((h) => signedValidly(h, 'tok'))).toEqual([false, false]);
    expect(server.received[1]!.signature).toBeUndefined();
  });
});

describe('TwilioSimulator REST API', () => {
  it('waitForMessage resolves on a message sent later, and at once for one already sent', async () => {
    const waiting = sim.waitForMessage((m) => m.body === 'second');
    await client.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'first' });
    await client.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'second' });
    expect((await waiting).body).toBe('second');
    expect((await sim.waitForMessage((m) => m.body === 'first')).body).toBe('first');
  });

  it('waitForMessage rejects with what was sent when nothing matches in time', async () => {
    await client.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'something else' });
    await expect(sim.waitForMessage((m) => m.body === 'never', 20)).rejects.toThrow(/no matching message within 20 ms.*something else/);
  });

  it("answers like Twilio: 401 with a challenge, 404 for other accounts and paths, a message by sid", async () => {
    const auth = `Basic ${Buffer.from(`${sim.accountSid}:${sim.authToken}`).toString('base64')}`;
    const anon = await fetch(`${sim.url}/2010-04-01/Accounts/${sim.accountSid}/Messages.json`, { method: 'POST' });
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(await anon.json()).toEqual({ code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
    const other = await fetch(`${sim.url}/2010-04-01/Accounts/AC${'1'.repeat(32)}/Messages.json`, { method: 'POST', headers: { authorization: auth } });
    expect(other.status).toBe(404);
    const { sid } = await client.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'hello' });
    const got = await fetch(`${sim.url}/2010-04-01/Accounts/${sim.accountSid}/Messages/${sid}.json`, { headers: { authorization: auth } });
    expect(await got.json()).toMatchObject({ sid, body: 'hello', status: 'queued', direction: 'outbound-api', num_segments: '1', account_sid: sim.accountSid });
  });

  it('validates required parameters with Twilio error codes', async () => {
    const auth = `Basic ${Buffer.from(`${sim.accountSid}:${sim.authToken}`).toString('base64')}`;
    const post = async (resource: string, form: string): Promise<number> => {
      const res = await fetch(`${sim.url}/2010-04-01/Accounts/${sim.accountSid}/${resource}`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      });
      return ((await res.json()) as { code: number }).code;
    };
    expect(await post('Messages.json', 'From=%2B15557654321&Body=x')).toBe(21604);
    expect(await post('Messages.json', 'To=%2B15550001111&Body=x')).toBe(21603);
    expect(await post('Messages.json', 'To=%2B15550001111&From=%2B15557654321')).toBe(21619);
    expect(await post('Messages.json', `To=%2B15550001111&From=%2B15557654321&Body=${'x'.repeat(1601)}`)).toBe(21617);
    expect(await post('Calls.json', 'From=%2B15557654321&Url=https%3A%2F%2Fa')).toBe(21201);
    expect(await post('Calls.json', 'To=%2B15550001111&From=%2B15557654321')).toBe(21200);
    expect(sim.messages).toHaveLength(0);
    expect(sim.calls).toHaveLength(0);
  });

  it('fails the next n requests with the injected status, then recovers', async () => {
    sim.failNext(2, 500);
    const send = (): Promise<unknown> => client.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'x' });
    await expect(send()).rejects.toMatchObject({ code: 'twilio_unavailable' });
    await expect(send()).rejects.toMatchObject({ code: 'twilio_unavailable' });
    await expect(send()).resolves.toMatchObject({ status: 'queued' });
    expect(sim.messages).toHaveLength(1);
  });
});
