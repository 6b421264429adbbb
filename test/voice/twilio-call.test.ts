import { afterEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/main.ts';
import { TwilioSimulator } from '../../src/testing/twilio-simulator.ts';
import type { TwilioCall } from '../../src/testing/twilio-call.ts';
import WebSocket from 'ws';
import { signTwilioRequest } from '../../src/channels/twilio/signature.ts';
import { api, waitFor } from '../helpers/api.ts';
import { startInProcess, tempDir, writeConfig } from '../helpers/server.ts';
import { speechLike } from '../helpers/voice-client.ts';
import { AGENT_NUMBER, type StoredItem } from '../helpers/call.ts';

/**
 * Phone calls end to end over Twilio's wire protocol: the simulator rings the server (signed
 * webhook, Media Stream with real-time μ-law), the server answers with scripted STT/TTS/model and
 * the energy VAD, and uses the simulator's REST API to transfer and hang up.
 */
const PUBLIC = 'https://operator.example.test';
const CALLER = '+15550102000';

function config(transcripts: string[], steps: object[], voice: object = {}): object {
  return {
    pool: { size: 1 },
    channels: { voice: [{ number: AGENT_NUMBER, agent: 'support' }] },
    agents: {
      support: {
        instructions: 'You are a test agent.',
        greeting: 'Hello, Acme here.',
        model: { provider: 'scripted', steps, loop: true },
        voice: {
          stt: { engine: 'scripted', transcripts },
          tts: { engine: 'scripted' },
          vad: { engine: 'energy' },
          transfer: { billing: '+15550100200' },
          silence: { reprompt: '60s', hangup: '120s' },
          ...voice,
        },
      },
    },
  };
}

let sim: TwilioSimulator | undefined;
let server: RunningServer | undefined;
afterEach(async () => {
  await sim?.close();
  await server?.close();
  sim = undefined;
  server = undefined;
});

async function boot(cfg: object): Promise<{ sim: TwilioSimulator; server: RunningServer }> {
  sim = await TwilioSimulator.start();
  const dir = tempDir();
  server = await startInProcess({
    configPath: writeConfig(dir, cfg),
    dataDir: dir,
    twilio: { accountSid: sim.accountSid, authToken: sim.authToken, apiUrl: sim.url },
    publicUrl: PUBLIC,
  });
  sim.useServer({ serverUrl: server.url, publicUrl: PUBLIC });
  return { sim, server };
}

/** Speaks ~0.7 s of "speech" and returns when it ended. */
function speak(call: TwilioCall, ms = 700): Promise<number> {
  return call.say({ pcm: speechLike(ms), sampleRate: 16_000 });
}

async function conversationOf(srv: RunningServer, phone: string): Promise<{ id: string; status: string; endedReason?: string; items: StoredItem[] }> {
  const found = await api(srv.url, `/v1/customers?phone=${encodeURIComponent(phone)}`);
  const customer = await api(srv.url, `/v1/customers/${found.body.data[0].id as string}`);
  const conv = (customer.body.conversations as { id: string }[])[0]!;
  return (await api(srv.url, `/v1/conversations/${conv.id}`)).body as { id: string; status: string; endedReason?: string; items: StoredItem[] };
}

describe('phone calls over Twilio Media Streams', () => {
  it('an inbound call: greeting, a spoken question, a spoken answer; the caller hangs up', async () => {
    const { sim, server } = await boot(config(['where is my order'], [{ deltas: ['Your order ', 'has shipped.'] }]));
    const call = await sim.placeInboundCall({ from: CALLER, to: AGENT_NUMBER });
    await call.waitForAudio(0, 5000);
    await new Promise((r) => setTimeout(r, 1500)); // the greeting plays (~1 s of tone)
    const spokeUntil = await speak(call);
    const answer = await call.waitForAudio(spokeUntil, 5000);
    expect(answer.latencyMs).toBeGreaterThan(300); // the endpointing silence, at least
    expect(answer.latencyMs).toBeLessThan(2500);
    await waitFor(async () => (await conversationOf(server, CALLER)).items.some((i) => i.text === 'Your order has shipped.'), 'the answer stored', 8000);
    await call.hangUp();
    const conv = await waitFor(async () => {
      const c = await conversationOf(server, CALLER);
      return c.status === 'ended' ? c : undefined;
    }, 'the conversation ended');
    expect(conv.endedReason).toBe('caller_hangup');
    expect(conv.items.filter((i) => i.type === 'message').map((i) => [i.role, i.text])).toEqual([
      ['agent', 'Hello, Acme here.'],
      ['user', 'where is my order'],
      ['agent', 'Your order has shipped.'],
    ]);
    expect(call.violations).toEqual([]);
  });

  it('collects digits with collect_digits, then transfers with transfer_call through the REST API', async () => {
    const steps = [
      { deltas: ['Please enter your account number.'], toolCalls: [{ name: 'collect_digits', args: { count: 4 } }] },
      { deltas: ['Thanks, I have it.'] },
      { deltas: ['Let me put you through to billing.'], toolCalls: [{ name: 'transfer_call', args: { target: 'billing' } }] },
      { deltas: [''] },
    ];
    const { sim, server } = await boot(config(['I want to check my account', 'can I talk to billing'], steps));
    const call = await sim.placeInboundCall({ from: CALLER, to: AGENT_NUMBER });
    await call.waitForAudio(0, 5000);
    await new Promise((r) => setTimeout(r, 1500));
    await speak(call);
    await waitFor(async () => (await conversationOf(server, CALLER)).items.some((i) => i.type === 'tool_call' && i.toolName === 'collect_digits'), 'collect_digits called', 8000);
    await new Promise((r) => setTimeout(r, 2500)); // the prompt plays
    await call.pressDigits('4321', 150);
    const result = await waitFor(async () => (await conversationOf(server, CALLER)).items.find((i) => i.type === 'tool_result' && i.toolName === 'collect_digits'), 'digits collected', 8000);
    expect(result.data).toMatchObject({ digits: '4321', complete: true });
    await new Promise((r) => setTimeout(r, 1500));
    await speak(call);
    const end = await call.waitForEnd(15_000);
    expect(end.cause).toBe('api');
    expect(call.transferredTo).toBe('+15550100200');
    const conv = await waitFor(async () => {
      const c = await conversationOf(server, CALLER);
      return c.status === 'ended' ? c : undefined;
    }, 'ended');
    expect(conv.endedReason).toBe('transferred');
    expect(conv.items.filter((i) => i.type === 'dtmf').map((i) => i.text)).toEqual(['4', '3', '2', '1']);
    expect(conv.items.some((i) => i.role === 'agent' && i.text === 'Let me put you through to billing.')).toBe(true);
    expect(conv.items.some((i) => i.type === 'event' && i.text.includes('+15550100200'))).toBe(true);
  });

  it('the agent hangs up after its goodbye (end_conversation → Status=completed)', async () => {
    const steps = [{ deltas: ['Goodbye!'], toolCalls: [{ name: 'end_conversation', args: {} }] }, { deltas: [''] }];
    const { sim, server } = await boot(config(['bye'], steps));
    const call = await sim.placeInboundCall({ from: CALLER, to: AGENT_NUMBER });
    await call.waitForAudio(0, 5000);
    await new Promise((r) => setTimeout(r, 1500));
    const spokeUntil = await speak(call);
    await call.waitForAudio(spokeUntil, 5000);
    const end = await call.waitForEnd(10_000);
    expect(end.cause).toBe('api');
    const conv = await waitFor(async () => {
      const c = await conversationOf(server, CALLER);
      return c.status === 'ended' ? c : undefined;
    }, 'ended');
    expect(conv.endedReason).toBe('agent');
    const goodbye = conv.items.find((i) => i.role === 'agent' && i.text === 'Goodbye!');
    expect(goodbye?.interrupted).toBe(false);
  });

  it('an outbound call: POST /v1/calls, the context waits for the stream; busy ends a second one', async () => {
    const { sim, server } = await boot(config([], [{ deltas: ['ok'] }], {}));
    const res = await api(server.url, '/v1/calls', { body: { agent: 'support', to: '+15550109999', context: { orderId: 'A12345' } } });
    expect(res.status).toBe(201);
    const created = await sim.waitForCall((c) => c.to === '+15550109999');
    expect(created.sid).toBe(res.body.callSid);
    const call = await sim.answerCall(created.sid);
    await call.waitForAudio(0, 5000);
    const conv = (await api(server.url, `/v1/conversations/${res.body.conversationId as string}`)).body;
    expect(conv).toMatchObject({ channel: 'voice', status: 'active', context: { orderId: 'A12345' } });
    await call.hangUp();

    const busy = await api(server.url, '/v1/calls', { body: { agent: 'support', to: '+15550108888' } });
    await sim.failCall(busy.body.callSid as string, 'busy');
    await waitFor(async () => (await api(server.url, `/v1/conversations/${busy.body.conversationId as string}`)).body.endedReason === 'busy', 'busy ends it');
  });

  it('refuses a badly signed webhook and media stream, and survives garbage on the stream', async () => {
    const { sim, server } = await boot(config(['hello'], [{ deltas: ['Hi there.'] }]));
    const forged = await fetch(`${server.url}/twilio/voice`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'bm9wZQ==' },
      body: 'CallSid=CA1&From=%2B15550001111&To=%2B15557654321',
    });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('invalid_signature');

    // The media stream's upgrade is refused with 403 before any WebSocket exists.
    await expect(sim.placeInboundCall({ from: '+15550003333', to: AGENT_NUMBER, stream: { misbehave: { signature: 'bm9wZQ==' } } })).rejects.toThrow(/403/);
    expect((await api(server.url, '/v1/customers?phone=%2B15550003333')).body.data).toEqual([]);

    const call = await sim.placeInboundCall({ from: CALLER, to: AGENT_NUMBER });
    await call.waitForAudio(0, 5000);
    call.sendRaw('not json');
    call.sendRaw(JSON.stringify({ event: 'media', streamSid: 'MZ00000000000000000000000000000000', media: { payload: 'AAAA' } }));
    call.sendRaw(JSON.stringify({ event: 'media', streamSid: call.stream!.id.streamSid, media: { payload: '!!notbase64' } }));
    call.sendRaw(Buffer.from([0, 1, 2, 3]));
    await new Promise((r) => setTimeout(r, 1200));
    const spokeUntil = await speak(call);
    await call.waitForAudio(spokeUntil, 5000);
    await waitFor(async () => (await conversationOf(server, CALLER)).items.some((i) => i.text === 'Hi there.'), 'answered despite garbage', 8000);
    expect((await api(server.url, '/healthz')).status).toBe(200);
  });

  it('a stream with the wrong codec is refused and creates nothing; shuffled sequence numbers do not break a call', async () => {
    const { sim, server } = await boot(config(['hello'], [{ deltas: ['Hi there.'] }]));
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/twilio/media-stream`, {
      headers: { 'x-twilio-signature': signTwilioRequest(sim.authToken, `${PUBLIC.replace('https', 'wss')}/twilio/media-stream`, {}) },
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
    ws.send(JSON.stringify({
      event: 'start', sequenceNumber: '1', streamSid: 'MZ11111111111111111111111111111111',
      start: {
        accountSid: sim.accountSid, streamSid: 'MZ11111111111111111111111111111111', callSid: 'CA11111111111111111111111111111111',
        tracks: ['inbound'], mediaFormat: { encoding: 'audio/x-l16', sampleRate: 16000, channels: 1 },
        customParameters: { agent: 'support', from: '+15550004444' },
      },
    }));
    expect(await closed).toBe(1000);
    expect((await api(server.url, '/v1/customers?phone=%2B15550004444')).body.data).toEqual([]);

    const call = await sim.placeInboundCall({ from: CALLER, to: AGENT_NUMBER, stream: { misbehave: { shuffleSequenceNumbers: true } } });
    await call.waitForAudio(0, 5000);
    await new Promise((r) => setTimeout(r, 1200));
    const spokeUntil = await speak(call, 900);
    await call.waitForAudio(spokeUntil, 6000);
    await waitFor(async () => (await conversationOf(server, CALLER)).items.some((i) => i.text === 'Hi there.'), 'answered', 8000);
  });
});
