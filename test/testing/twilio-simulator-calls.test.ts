import twilio from 'twilio';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TwilioRestClient } from '../../src/channels/twilio/rest.ts';
import type { TwilioCall } from '../../src/testing/twilio-call.ts';
import { TwilioSimulator } from '../../src/testing/twilio-simulator.ts';
import { CONNECT, PUBLIC, TOKEN, startFakeServer, type FakeServer, type FakeStream } from './fake-operator.ts';

let server: FakeServer;

beforeEach(async () => {
  server = await startFakeServer();
});

afterEach(async () => {
  await server.close();
});

describe('TwilioSimulator voice: live calls behind the REST API', () => {
  let sim: TwilioSimulator;
  let rest: TwilioRestClient;

  beforeEach(async () => {
    sim = await TwilioSimulator.start({ authToken: TOKEN });
    sim.useServer({ serverUrl: server.url, publicUrl: PUBLIC });
    rest = new TwilioRestClient({ accountSid: sim.accountSid, authToken: sim.authToken, baseUrl: sim.url });
  });

  afterEach(async () => {
    await sim.close();
  });

  async function inbound(): Promise<{ call: TwilioCall; stream: FakeStream }> {
    const streamP = server.nextStream();
    const c = await sim.placeInboundCall({ from: '+15550001111', to: '+15557654321' });
    return { call: c, stream: await streamP };
  }

  it('a REST update with <Dial> TwiML stops the stream, closes it and transfers the call', async () => {
    const { call: c, stream } = await inbound();
    expect(sim.calls[0]).toMatchObject({ sid: c.sid, direction: 'inbound', status: 'in-progress' });
    await rest.updateCall(c.sid, { twiml: '<Response><Dial>+15550100</Dial></Response>' });
    await stream.closed;
    const end = await c.waitForEnd();
    expect(stream.of('stop')).toHaveLength(1);
    expect(c.transferredTo).toBe('+15550100');
    expect(end.cause).toBe('api');
    expect(c.endedBy).toBe('api');
    expect(sim.connectedCalls.get(c.sid)).toBe(c);
  });

  it('a REST update with Status=completed hangs up: stop, close, completed', async () => {
    const { call: c, stream } = await inbound();
    await rest.updateCall(c.sid, { status: 'completed' });
    await stream.closed;
    expect(await c.waitForEnd()).toMatchObject({ cause: 'api', status: 'completed' });
    expect(stream.of('stop')).toHaveLength(1);
    expect(sim.calls[0]!.status).toBe('completed');
  });

  it('answers an outbound call: webhook as outbound-api, status callbacks as asked, signed', async () => {
    const created = await rest.createCall({
      from: '+15557654321',
      to: '+15550001111',
      url: `${PUBLIC}/twilio/voice`,
      statusCallback: `${PUBLIC}/twilio/voice/status`,
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    });
    const queued = await sim.waitForCall((x) => x.to === '+15550001111');
    expect(queued.sid).toBe(created.sid);
    const streamP = server.nextStream();
    const c = await sim.answerCall(created.sid);
    await streamP;
    await c.hangUp();
    await sim.settled();
    const webhook = server.hooks.find((h) => h.path === '/twilio/voice')!;
    expect(webhook.form).toMatchObject({ CallSid: created.sid, Direction: 'outbound-api', CallStatus: 'in-progress', From: '+15557654321', To: '+15550001111' });
    const statuses = server.hooks.filter((h) => h.path === '/twilio/voice/status');
    expect(statuses.map((h) => h.form.CallStatus)).toEqual(['initiated', 'ringing', 'in-progress', 'completed']);
    expect(statuses.map((h) => h.form.SequenceNumber)).toEqual(['0', '1', '2', '3']);
    expect(statuses.at(-1)!.form.CallDuration).toBe('0');
    for (const h of [webhook, ...statuses]) expect(twilio.validateRequest(TOKEN, h.signature!, `${PUBLIC}${h.path}`, h.form)).toBe(true);
    expect(sim.calls[0]!.status).toBe('completed');
  });

  it('runs inline Twiml of an outbound call without a webhook', async () => {
    const { sid } = await rest.createCall({ from: '+15557654321', to: '+15550001111', twiml: CONNECT });
    const streamP = server.nextStream();
    const c = await sim.answerCall(sid);
    const stream = await streamP;
    await stream.waitFor((m) => m.event === 'start');
    expect(stream.of('start')[0]!.start!.customParameters).toEqual({ conversationId: 'conv-1' });
    expect(server.hooks).toEqual([]);
    expect(c.direction).toBe('outbound-api');
  });

  it('fails a call on demand, reporting only the completed event unless asked for more', async () => {
    const { sid } = await rest.createCall({ from: '+15557654321', to: '+15550001111', url: `${PUBLIC}/twilio/voice`, statusCallback: `${PUBLIC}/twilio/voice/status` });
    await sim.failCall(sid, 'busy');
    expect(server.hooks.map((h) => [h.path, h.form.CallStatus])).toEqual([['/twilio/voice/status', 'busy']]);
    expect(sim.calls[0]!.status).toBe('busy');
    await expect(sim.answerCall(sid)).rejects.toThrow(/only a queued call/);
  });
});
