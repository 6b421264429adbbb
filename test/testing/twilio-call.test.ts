import { once } from 'node:events';
import twilio from 'twilio';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { mulawEncode } from '../../src/testing/twilio-call-audio.ts';
import { placeInboundCall, type InboundCallInput, type TwilioCall } from '../../src/testing/twilio-call.ts';
import { PUBLIC, STREAM_URL, TOKEN, startFakeServer, type FakeServer, type FakeStream, type Msg } from './fake-operator.ts';

/** The simulator is the code under test; the fake Operator (fake-operator.ts) answers it. */

let server: FakeServer;
const calls: TwilioCall[] = [];

beforeEach(async () => {
  server = await startFakeServer();
});

afterEach(async () => {
  await Promise.all(calls.splice(0).map((c) => c.hangUp()));
  await server.close();
});

async function call(extra: Partial<InboundCallInput> = {}): Promise<{ call: TwilioCall; stream: FakeStream }> {
  const streamP = server.nextStream();
  const c = await placeInboundCall({ serverUrl: server.url, publicUrl: PUBLIC, authToken: TOKEN, from: '+15550001111', to: '+15557654321', ...extra });
  calls.push(c);
  const stream = await streamP;
  await stream.waitFor((m) => m.event === 'start' || m.event === 'media');
  return { call: c, stream };
}

const tone = (ms: number, level = 8000) => mulawEncode(Int16Array.from({ length: ms * 8 }, (_, i) => Math.round(level * Math.sin((2 * Math.PI * 440 * i) / 8000))));

describe('an inbound call, as Twilio places it', () => {
  it('posts a signed voice webhook, opens a signed WebSocket to the stream URL, then sends connected and start', async () => {
    const { call: c, stream } = await call();
    const [hook] = server.hooks;
    expect(hook!.path).toBe('/twilio/voice');
    expect(hook!.form).toMatchObject({ AccountSid: `AC${'0'.repeat(32)}`, From: '+15550001111', To: '+15557654321', Caller: '+15550001111', Called: '+15557654321', CallStatus: 'ringing', Direction: 'inbound', ApiVersion: '2010-04-01' });
    expect(hook!.form.CallSid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(twilio.validateRequest(TOKEN, hook!.signature!, `${PUBLIC}/twilio/voice`, hook!.form)).toBe(true);
    expect(twilio.validateRequest(TOKEN, hook!.signature!, `${server.url}/twilio/voice`, hook!.form)).toBe(false);

    expect(stream.path).toBe('/twilio/media-stream');
    expect(twilio.validateRequest(TOKEN, stream.signature!, STREAM_URL, {})).toBe(true);
    const [connected, start] = stream.messages;
    expect(connected).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(start).toEqual({
      event: 'start',
      sequenceNumber: '1',
      streamSid: expect.stringMatching(/^MZ[0-9a-f]{32}$/),
      start: {
        accountSid: `AC${'0'.repeat(32)}`,
        streamSid: start!.streamSid,
        callSid: hook!.form.CallSid,
        tracks: ['inbound'],
        customParameters: { conversationId: 'conv-1' },
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    });
    expect(c.sid).toBe(hook!.form.CallSid);
    expect(c.status).toBe('in-progress');
  });

  it('sends 20 ms silence frames in real time, ≈50 per second, with string counters', async () => {
    const { call: c, stream } = await call();
    const media = await stream.waitFor((m) => m.event === 'media', 26);
    const arrivals = media.map((m) => stream.arrivals[stream.messages.indexOf(m)]! - c.stream!.startedAtMs);
    // Frame n leaves when its 20 ms have passed, never earlier; a stall delays frames without
    // shifting the schedule (drift-free), so the 26th is due at 520 ms whatever happened before.
    arrivals.forEach((t, i) => expect(t).toBeGreaterThanOrEqual((i + 1) * 20 - 1));
    expect(arrivals[25]).toBeLessThan(520 + 150);
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!).sort((a, b) => a - b);
    expect(gaps[12]).toBeGreaterThan(15);
    expect(gaps[12]).toBeLessThan(25);
    media.forEach((m, i) => {
      expect(m).toEqual({ event: 'media', sequenceNumber: String(i + 2), streamSid: stream.streamSid, media: { track: 'inbound', chunk: String(i + 1), timestamp: String(i * 20), payload: expect.any(String) } });
      expect(m.media!.payload).toHaveLength(216);
      expect([...Buffer.from(m.media!.payload, 'base64')].every((b) => b === 0xff)).toBe(true);
    });
  });

  it('sends what the caller says and measures how soon the agent answers', async () => {
    const { call: c, stream } = await call();
    // The server side echoes every non-silent frame straight back.
    stream.ws.on('message', (data) => {
      const m = JSON.parse((data as Buffer).toString()) as Msg;
      if (m.event === 'media' && Buffer.from(m.media!.payload, 'base64').some((b: number) => b !== 0xff)) stream.send({ event: 'media', media: { payload: m.media!.payload } });
    });
    const before = performance.now();
    const speechEnd = await c.say(Int16Array.from({ length: 16 * 100 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000))));
    // Five 20 ms frames; the first leaves at the next frame boundary, up to 20 ms away.
    expect(speechEnd - before).toBeGreaterThanOrEqual(79);
    const spoken = await stream.waitFor((m) => m.event === 'media' && Buffer.from(m.media!.payload, 'base64').some((b: number) => b !== 0xff), 5);
    expect(spoken.map((m) => Number(m.media!.chunk) - Number(spoken[0]!.media!.chunk))).toEqual([0, 1, 2, 3, 4]);
    const reply = await c.waitForAudio(before);
    expect(reply.latencyMs).toBeGreaterThan(0);
    expect(reply.latencyMs).toBeLessThan(200);
    expect(c.firstAudioAfter(before)).toEqual(reply);
    expect(c.firstAudioAfter(performance.now() + 1000)).toBeUndefined();
  });

  it('sends dtmf events with Twilio’s shape, in sequence with the media', async () => {
    const { call: c, stream } = await call();
    await c.pressDigits('1#', 40);
    const dtmf = await stream.waitFor((m) => m.event === 'dtmf', 2);
    expect(dtmf).toEqual([
      { event: 'dtmf', streamSid: stream.streamSid, sequenceNumber: expect.any(String), dtmf: { track: 'inbound_track', digit: '1' } },
      { event: 'dtmf', streamSid: stream.streamSid, sequenceNumber: expect.any(String), dtmf: { track: 'inbound_track', digit: '#' } },
    ]);
    const seqs = stream.messages.slice(1).map((m) => Number(m.sequenceNumber));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(() => c.pressDigits('12x')).toThrow(/dtmf_invalid/);
  });

  it('on hang-up sends stop, then closes the socket', async () => {
    const { call: c, stream } = await call();
    const end = await c.hangUp();
    const [code] = await stream.closed;
    expect(code).toBe(1000);
    expect(stream.messages.at(-1)).toEqual({ event: 'stop', sequenceNumber: expect.any(String), streamSid: stream.streamSid, stop: { accountSid: `AC${'0'.repeat(32)}`, callSid: c.sid } });
    expect(end).toMatchObject({ cause: 'caller', status: 'completed' });
    expect(c.stream!.closedWith).toMatchObject({ by: 'twilio', code: 1000 });
    expect(() => c.say({ mulaw: tone(20) })).toThrow(/no open Media Stream/);
  });
});

describe('playback of what the server sends', () => {
  it('echoes a mark only after the audio before it has played, and all pending marks at a clear', async () => {
    const clock = new FakeClock();
    const { call: c, stream } = await call({ clock });
    const live = c.stream!;
    const onCall: string[] = [];
    c.on('mark', (m) => onCall.push(m.name));
    const frames = (n: number) => new Promise<void>((resolve) => {
      const target = live.frames.length + n;
      const check = () => (live.frames.length >= target ? (live.off('frame', check), resolve()) : undefined);
      live.on('frame', check);
    });
    let arrived = frames(2);
    stream.media(tone(200));
    stream.send({ event: 'mark', mark: { name: 'first' } });
    await arrived;
    clock.advance(199);
    expect(live.marks).toEqual([{ name: 'first', receivedAtMs: 0 }]);
    clock.advance(1);
    expect(live.marks[0]).toEqual({ name: 'first', receivedAtMs: 0, echoedAtMs: 200 });
    const [echo] = await stream.waitFor((m) => m.event === 'mark');
    expect(echo).toEqual({ event: 'mark', sequenceNumber: expect.any(String), streamSid: stream.streamSid, mark: { name: 'first' } });

    arrived = frames(4);
    stream.media(tone(1000));
    stream.send({ event: 'mark', mark: { name: 'a' } });
    stream.media(tone(1000));
    stream.send({ event: 'mark', mark: { name: 'b' } });
    await arrived;
    clock.advance(300);
    arrived = frames(2);
    stream.send({ event: 'clear' });
    stream.send({ event: 'mark', mark: { name: 'after' } });
    await arrived;
    const marks = await stream.waitFor((m) => m.event === 'mark', 4);
    expect(marks.map((m) => m.mark!.name)).toEqual(['first', 'a', 'b', 'after']);
    expect(onCall).toEqual(['first', 'a', 'b', 'after']);
    expect(live.clears).toEqual([{ atMs: 500, droppedMs: 1700, marks: ['a', 'b'] }]);
    expect(live.marks.slice(1).map((m) => [m.name, m.echoedAtMs, m.cleared])).toEqual([['a', 500, true], ['b', 500, true], ['after', 500, undefined]]);
    expect(live.played().map((s) => [s.startMs, s.pcm.length])).toEqual([[0, 1600], [200, 2400]]);
    expect(live.playedPcm()).toHaveLength(4000);
  });

  it('records protocol violations Twilio would log, and plays none of them', async () => {
    const { call: c, stream } = await call();
    const live = c.stream!;
    const done = new Promise((resolve) => live.on('frame', () => live.frames.length === 5 && resolve(undefined)));
    stream.ws.send(Buffer.from([0xff, 0xff, 0xff]));
    stream.ws.send('not json');
    stream.ws.send(JSON.stringify({ event: 'media', streamSid: 'MZwrong', media: { payload: 'AA==' } }));
    stream.send({ event: 'media', media: { payload: Buffer.from('RIFF....WAVEfmt ').toString('base64') } });
    stream.send({ event: 'hangup' });
    await done;
    expect(c.violations.map((v) => v.code)).toEqual([31950, 31951, 31951, 31924, 31951]);
    expect(c.violations[0]!.frame).toBe('<binary 3 bytes>');
    expect(live.media).toEqual([]);
  });
});

describe('TwiML around the stream', () => {
  it('goes on after </Connect> when the server closes the socket: Say, then Dial', async () => {
    server.answer = () => ({ body: `<Response><Connect><Stream url="${STREAM_URL}"/></Connect><Say>Putting you through.</Say><Dial>+15550100</Dial><Say>never</Say></Response>` });
    const { call: c, stream } = await call();
    const closed = once(c, 'closed');
    stream.ws.close(1000, 'transfer');
    expect(await closed).toEqual([{ atMs: expect.any(Number), code: 1000, reason: 'transfer', by: 'server' }]);
    const end = await c.waitForEnd();
    expect(c.said).toEqual(['Putting you through.']);
    expect(c.transferredTo).toBe('+15550100');
    expect(end).toMatchObject({ cause: 'twiml', status: 'completed' });
  });

  it('follows <Connect action> with a signed request when the stream ends', async () => {
    server.answer = (h) => ({ body: h.path === '/twilio/voice' ? `<Response><Connect action="/twilio/voice/after"><Stream url="${STREAM_URL}"/></Connect><Say>skipped</Say></Response>` : '<Response><Say>Bye</Say><Hangup/></Response>' });
    const { call: c, stream } = await call();
    const twiml = once(c, 'twiml');
    stream.ws.close();
    await c.waitForEnd();
    expect((await twiml)[0]).toMatchObject({ url: `${PUBLIC}/twilio/voice/after`, verbs: [{ verb: 'Say', text: 'Bye' }, { verb: 'Hangup' }] });
    const after = server.hooks[1]!;
    expect(after.path).toBe('/twilio/voice/after');
    expect(after.form).toMatchObject({ CallSid: c.sid, CallStatus: 'in-progress' });
    expect(twilio.validateRequest(TOKEN, after.signature!, `${PUBLIC}/twilio/voice/after`, after.form)).toBe(true);
    expect(c.said).toEqual(['Bye']);
    expect(c.documents).toHaveLength(2);
  });

  it.each([
    [{ body: '<Response><Gather/></Response>' }, /twiml_invalid: <Gather> is not a verb.*from https:\/\/operator\.example\.com\/twilio\/voice/],
    [{ status: 403, body: 'bad signature' }, /webhook_failed: POST https:\/\/operator\.example\.com\/twilio\/voice answered HTTP 403: bad signature/],
    [{ body: '{"twiml":true}', type: 'application/json' }, /webhook_content_type/],
  ])('fails the call with a clear message when the answer cannot be run (%j)', async (answer, message) => {
    server.answer = () => answer;
    await expect(placeInboundCall({ serverUrl: server.url, publicUrl: PUBLIC, authToken: TOKEN, from: '+15550001111', to: '+15557654321' })).rejects.toThrow(message);
  });
});

describe('misbehaving on purpose, for tests of the server', () => {
  it('can skip start, use another stream SID, shuffle sequence numbers and send raw frames', async () => {
    const { call: c, stream } = await call({ stream: { misbehave: { skipStart: true, streamSid: 'MZnope', shuffleSequenceNumbers: true } } });
    await stream.waitFor((m) => m.event === 'media', 3);
    c.sendRaw('{"event":"bogus"}');
    await stream.waitFor((m) => m.event === 'bogus');
    expect(stream.messages[0]!.event).toBe('connected');
    expect(stream.of('start')).toEqual([]);
    const media = stream.of('media').slice(0, 3);
    expect(media.map((m) => m.streamSid)).toEqual(['MZnope', 'MZnope', 'MZnope']);
    expect(media.map((m) => m.sequenceNumber)).toEqual(['1', '3', '2']);
  });
});
