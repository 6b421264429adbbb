import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TwilioApiError, TwilioRestClient } from '../../../src/channels/twilio/rest.ts';
import { TwilioSimulator } from '../../../src/testing/twilio-simulator.ts';

let sim: TwilioSimulator;
let client: TwilioRestClient;

beforeEach(async () => {
  sim = await TwilioSimulator.start();
  client = new TwilioRestClient({ accountSid: sim.accountSid, authToken: sim.authToken, baseUrl: sim.url });
});

afterEach(async () => {
  await sim.close();
});

async function failure(p: Promise<unknown>): Promise<TwilioApiError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TwilioApiError);
    return err as TwilioApiError;
  }
  throw new Error('expected the request to fail');
}

/** A port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('TwilioRestClient.sendMessage', () => {
  it('creates a message with Basic auth and a form body, and returns its sid and status', async () => {
    const sent = await client.sendMessage({
      from: '+15557654321',
      to: '+15550001111',
      body: 'Your order shipped.',
      statusCallback: 'https://op.example.com/twilio/sms/status',
      idempotencyKey: 'msg_01abc',
    });
    expect(sent.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(sent).toMatchObject({ status: 'queued', numSegments: 1 });
    expect(sim.messages).toHaveLength(1);
    expect(sim.messages[0]).toMatchObject({
      sid: sent.sid,
      from: '+15557654321',
      to: '+15550001111',
      body: 'Your order shipped.',
      statusCallback: 'https://op.example.com/twilio/sms/status',
      idempotencyToken: 'msg_01abc',
      mediaUrls: [],
    });
    expect(sim.requests[0]).toMatchObject({ method: 'POST', path: `/2010-04-01/Accounts/${sim.accountSid}/Messages.json`, status: 201 });
  });

  it('sends media as repeated MediaUrl keys (an MMS)', async () => {
    const sent = await client.sendMessage({ from: '+15557654321', to: '+15550001111', mediaUrl: ['https://x.example/a.png', 'https://x.example/b.png'] });
    expect(sent.sid).toMatch(/^MM/);
    expect(sim.messages[0]!.mediaUrls).toEqual(['https://x.example/a.png', 'https://x.example/b.png']);
    expect(sim.messages[0]!.params.MediaUrl).toEqual(['https://x.example/a.png', 'https://x.example/b.png']);
  });

  it('classifies wrong credentials as twilio_auth_failed, not retryable', async () => {
    const wrong = new TwilioRestClient({ accountSid: sim.accountSid, authToken: 'wrong', baseUrl: sim.url });
    const err = await failure(wrong.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'hi' }));
    expect(err).toMatchObject({ code: 'twilio_auth_failed', kind: 'auth', retryable: false, httpStatus: 401, twilioCode: 20003 });
    expect(sim.messages).toHaveLength(0);
  });

  it("classifies a 400 with Twilio's error JSON as twilio_rejected, with Twilio's code", async () => {
    const bad = await failure(client.sendMessage({ from: '+15557654321', to: 'not-a-number', body: 'hi' }));
    expect(bad).toMatchObject({ code: 'twilio_rejected', kind: 'invalid_request', retryable: false, status: 400, httpStatus: 400, twilioCode: 21211 });
    expect(bad.message).toContain('Twilio error 21211');
    expect(bad.message).toContain('https://www.twilio.com/docs/errors/21211');

    sim.optOut('+15550001111');
    const stopped = await failure(client.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'hi' }));
    expect(stopped).toMatchObject({ code: 'twilio_rejected', twilioCode: 21610, retryable: false });
    expect(stopped.message).toMatch(/replied STOP/);
    expect(sim.messages).toHaveLength(0);
  });

  it('classifies 5xx as retryable twilio_unavailable, and the retry goes through', async () => {
    sim.failNext(1, 503);
    const err = await failure(client.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'hi' }));
    expect(err).toMatchObject({ code: 'twilio_unavailable', kind: 'server', retryable: true, httpStatus: 503, twilioCode: 20500 });
    expect(sim.messages).toHaveLength(0);
    await expect(client.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'hi' })).resolves.toMatchObject({ status: 'queued' });
    expect(sim.requests.map((r) => r.status)).toEqual([503, 201]);
  });

  it('classifies 429 as retryable twilio_rate_limited', async () => {
    sim.failNext(1, 429);
    const err = await failure(client.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'hi' }));
    expect(err).toMatchObject({ code: 'twilio_rate_limited', kind: 'rate_limit', retryable: true, twilioCode: 20429 });
  });

  it('classifies a refused connection as retryable twilio_unreachable', async () => {
    const port = await closedPort();
    const down = new TwilioRestClient({ accountSid: sim.accountSid, authToken: sim.authToken, baseUrl: `http://127.0.0.1:${port}` });
    const err = await failure(down.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'hi' }));
    expect(err).toMatchObject({ code: 'twilio_unreachable', kind: 'connectivity', retryable: true });
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('classifies no answer within timeoutMs as retryable twilio_timeout', async () => {
    // A Twilio that never answers: the request ends only when the client's own deadline aborts it.
    const silent: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) => init!.signal!.addEventListener('abort', () => reject(init!.signal!.reason as Error)));
    const slow = new TwilioRestClient({ accountSid: sim.accountSid, authToken: sim.authToken, baseUrl: sim.url, fetch: silent, timeoutMs: 1 });
    const err = await failure(slow.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'hi' }));
    expect(err).toMatchObject({ code: 'twilio_timeout', kind: 'connectivity', retryable: true });
  });

  it("reports the caller's abort as twilio_aborted, not a Twilio failure", async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await failure(client.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'hi' }, ac.signal));
    expect(err).toMatchObject({ code: 'twilio_aborted', retryable: false });
    expect(sim.messages).toHaveLength(0);
  });

  it('does not retry a 2xx answer that is not Twilio', async () => {
    const portal: typeof fetch = () => Promise.resolve(new Response('<html>login</html>', { status: 200 }));
    const odd = new TwilioRestClient({ accountSid: sim.accountSid, authToken: sim.authToken, fetch: portal });
    const err = await failure(odd.sendMessage({ from: '+15557654321', to: '+15550001111', body: 'hi' }));
    expect(err).toMatchObject({ code: 'twilio_bad_response', retryable: false });
    expect(err.message).toContain('https://api.twilio.com');
  });

  it('refuses an empty message before sending anything', async () => {
    const err = await failure(client.sendMessage({ from: '+15557654321', to: '+15550001111', body: '' }));
    expect(err.code).toBe('twilio_request_invalid');
    expect(sim.requests).toHaveLength(0);
  });

  it('needs credentials', () => {
    expect(() => new TwilioRestClient({ accountSid: '', authToken: '' })).toThrow(/TWILIO_ACCOUNT_SID/);
  });
});

describe('TwilioRestClient calls', () => {
  it('creates a call with TwiML and repeated status callback events', async () => {
    const call = await client.createCall({
      from: '+15557654321',
      to: '+15550001111',
      twiml: '<Response><Say>Hi</Say></Response>',
      statusCallback: 'https://op.example.com/twilio/voice/status',
      statusCallbackEvent: ['initiated', 'answered', 'completed'],
    });
    expect(call.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(call.status).toBe('queued');
    expect(sim.calls[0]).toMatchObject({
      sid: call.sid,
      twiml: '<Response><Say>Hi</Say></Response>',
      statusCallbackEvent: ['initiated', 'answered', 'completed'],
    });
  });

  it('transfers with new TwiML and hangs up with status=completed', async () => {
    const { sid } = await client.createCall({ from: '+15557654321', to: '+15550001111', url: 'https://op.example.com/twilio/voice' });
    await client.updateCall(sid, { twiml: '<Response><Dial>+15559990000</Dial></Response>' });
    const ended = await client.updateCall(sid, { status: 'completed' });
    expect(ended.status).toBe('completed');
    expect(sim.callUpdates.map((u) => ({ twiml: u.twiml, status: u.status }))).toEqual([
      { twiml: '<Response><Dial>+15559990000</Dial></Response>', status: undefined },
      { twiml: undefined, status: 'completed' },
    ]);
    const late = await failure(client.updateCall(sid, { url: 'https://op.example.com/x' }));
    expect(late).toMatchObject({ code: 'twilio_rejected', twilioCode: 21220 });
  });

  it('reports an unknown call as twilio_not_found and malformed input before sending', async () => {
    const err = await failure(client.updateCall(`CA${'0'.repeat(32)}`, { status: 'completed' }));
    expect(err).toMatchObject({ code: 'twilio_not_found', kind: 'not_found', twilioCode: 20404 });
    const requests = sim.requests.length;
    expect((await failure(client.updateCall('CA../../Messages', { status: 'completed' }))).code).toBe('twilio_request_invalid');
    expect((await failure(client.createCall({ from: '+1555', to: '+1556', url: 'https://a', twiml: '<Response/>' }))).code).toBe('twilio_request_invalid');
    expect((await failure(client.createCall({ from: '+1555', to: '+1556', twiml: 'x'.repeat(4001) }))).code).toBe('twilio_request_invalid');
    expect(sim.requests).toHaveLength(requests);
  });
});

describe('TwilioRestClient.listMessages (the simulator as Twilio)', () => {
  const DAY = 86_400_000;
  const day1 = Date.UTC(2026, 2, 1, 23, 59, 0);
  let now = day1;
  let dated: TwilioSimulator;
  let api: TwilioRestClient;
  beforeEach(async () => {
    now = day1;
    dated = await TwilioSimulator.start({ now: () => now });
    api = new TwilioRestClient({ accountSid: dated.accountSid, authToken: dated.authToken, baseUrl: dated.url });
  });
  afterEach(() => dated.close());

  async function sendAt(ms: number, body: string, to = '+15550001111', from = '+15557654321'): Promise<string> {
    now = ms;
    return (await api.sendMessage({ from, to, body })).sid;
  }

  it('lists messages To/From sent since a day, newest first, following next_page_uri', async () => {
    await sendAt(day1, 'the day before');
    const a = await sendAt(day1 + DAY, 'first');
    const b = await sendAt(day1 + DAY + 1_500, 'second');
    await sendAt(day1 + DAY + 2_000, 'to someone else', '+15550002222');
    await sendAt(day1 + DAY + 3_000, 'from another number', '+15550001111', '+15557650000');

    const listed = await api.listMessages({ to: '+15550001111', from: '+15557654321', dateSentAfter: day1 + DAY - 60_000 });
    expect(listed.map((m) => [m.sid, m.body])).toEqual([[b, 'second'], [a, 'first']]);
    expect(listed[0]).toMatchObject({ to: '+15550001111', from: '+15557654321', status: 'queued', direction: 'outbound-api', dateCreated: day1 + DAY + 1_000 });
    const request = dated.requests.at(-1)!;
    expect(request).toMatchObject({ method: 'GET', path: `/2010-04-01/Accounts/${dated.accountSid}/Messages.json`, status: 200 });
    expect(request.params).toEqual({ To: '+15550001111', From: '+15557654321', 'DateSent>': '2026-03-02', PageSize: '50' });

    for (let i = 0; i < 4; i++) await sendAt(day1 + 2 * DAY + i * 1000, `more ${i}`);
    const paged = await api.listMessages({ to: '+15550001111', pageSize: 2 });
    expect(paged.map((m) => m.body)).toEqual(['more 3', 'more 2', 'more 1', 'more 0', 'from another number', 'second', 'first', 'the day before']);
    expect(dated.requests.filter((r) => r.method === 'GET').map((r) => r.params.Page)).toEqual([undefined, undefined, '1', '2', '3']);
    expect(await api.listMessages({ to: '+15550001111', pageSize: 2, limit: 3 })).toHaveLength(3);
  });

  it('classifies failures like the other requests', async () => {
    dated.failNext(1, 503);
    expect(await failure(api.listMessages({ to: '+15550001111' }))).toMatchObject({ code: 'twilio_unavailable', retryable: true });
    const portal: typeof fetch = () => Promise.resolve(new Response('{"sid":"not a list"}', { status: 200 }));
    const odd = new TwilioRestClient({ accountSid: dated.accountSid, authToken: dated.authToken, fetch: portal });
    expect(await failure(odd.listMessages({ to: '+15550001111' }))).toMatchObject({ code: 'twilio_bad_response', retryable: false });
  });
});
