import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/testing/fake-clock.ts';
import { DeepgramFake, type DeepgramFakeOptions } from '../../../src/testing/speech-fakes/deepgram.ts';
import { DeepgramStt } from '../../../src/voice/stt/deepgram.ts';
import type { SttStream } from '../../../src/voice/types.ts';
import { frames, Partials, rejection, speech } from './audio.ts';

let fake: DeepgramFake;
let stt: DeepgramStt;
let clock: FakeClock;

async function setup(opts: DeepgramFakeOptions = {}, apiKey = 'deepgram-test-key'): Promise<void> {
  fake = await DeepgramFake.start(opts);
  clock = new FakeClock();
  stt = new DeepgramStt({ apiKey, baseUrl: fake.url, clock, finalizeTimeoutMs: 1_500, keepAliveMs: 4_000 });
}

afterEach(async () => {
  await stt.close();
  await fake.close();
});

function say(stream: SttStream, ms: number): void {
  for (const frame of frames(speech(ms))) stream.write(frame);
}

const WHERE_IS_MY_ORDER = {
  steps: [
    { atMs: 400, text: 'where' },
    { atMs: 600, text: 'where is', final: true },
    { atMs: 800, text: 'my' },
  ],
  finalize: 'my order?',
  confidence: 0.9,
};

describe('DeepgramStt', () => {
  it('streams partials (finals so far + interim) and resolves finish() on the from_finalize result', async () => {
    await setup({ utterances: [WHERE_IS_MY_ORDER] });
    const partials: string[] = [];
    const stream = stt.start({ sampleRate: 16_000, onPartial: (t) => partials.push(t) });
    say(stream, 1_000);

    await expect(stream.finish()).resolves.toEqual({ text: 'where is my order?', confidence: 0.9 });
    expect(partials).toEqual(['where', 'where is', 'where is my', 'where is my order?']);
    const [conn] = fake.connections;
    expect(fake.connections).toHaveLength(1);
    expect(conn!.headers.authorization).toBe('Token deepgram-test-key');
    expect(Object.fromEntries(conn!.url.searchParams)).toEqual({
      model: 'nova-3', encoding: 'linear16', sample_rate: '16000', channels: '1', interim_results: 'true', punctuate: 'true',
    });
    expect(conn!.audioBytes).toBe(16_000 * 2); // one second of PCM16
    expect(conn!.controls).toEqual(['Finalize']);
    expect(conn!.sent.at(-1)).toMatchObject({ type: 'Results', is_final: true, from_finalize: true, start: 0.6, duration: 0.4 });
  });

  it('keeps one socket for the call: the next utterance reuses it and gets only its own words', async () => {
    await setup({ utterances: [WHERE_IS_MY_ORDER, { steps: [{ atMs: 200, text: 'thanks' }], finalize: 'thanks a lot' }] });
    const first = stt.start({ sampleRate: 16_000 });
    say(first, 1_000);
    await expect(first.finish()).resolves.toMatchObject({ text: 'where is my order?' });

    const partials: string[] = [];
    const second = stt.start({ sampleRate: 16_000, onPartial: (t) => partials.push(t) });
    say(second, 500);
    await expect(second.finish()).resolves.toMatchObject({ text: 'thanks a lot' });
    expect(partials).toEqual(['thanks', 'thanks a lot']);
    expect(fake.connections).toHaveLength(1);
    expect(fake.connections[0]!.sent.at(-1)).toMatchObject({ start: 1, duration: 0.5, from_finalize: true });
  });

  it('resolves at once, without Finalize, when the finals already cover all the audio', async () => {
    await setup({ utterances: [{ steps: [{ atMs: 500, text: 'hello', final: true }] }] });
    const partials = new Partials();
    const stream = stt.start({ sampleRate: 16_000, onPartial: partials.push });
    say(stream, 500);
    await partials.until(1); // the final result reached the adapter
    await expect(stream.finish()).resolves.toMatchObject({ text: 'hello' });
    await stt.close();
    await fake.until((f) => f.connections[0]!.closed, 'the close');
    expect(fake.connections[0]!.controls).toEqual(['CloseStream']);
  });

  it('after finalizeTimeoutMs without a finalized result, resolves with what it has', async () => {
    await setup({ utterances: [{ steps: [{ atMs: 300, text: 'where is' }], finalize: 'where is my order' }] });
    const partials = new Partials();
    const stream = stt.start({ sampleRate: 16_000, onPartial: partials.push });
    say(stream, 400);
    await partials.until(1);
    fake.stall();
    say(stream, 400);
    let settled = false;
    const result = stream.finish().finally(() => (settled = true));
    await fake.until((f) => f.connections[0]!.controls.includes('Finalize'), 'Finalize');
    clock.advance(1_499);
    await Promise.resolve();
    expect(settled).toBe(false);
    clock.advance(1);
    await expect(result).resolves.toEqual({ text: 'where is' });
  });

  it('cancel() flushes the dropped audio at Deepgram and none of it reaches the next utterance', async () => {
    await setup({ utterances: [{ steps: [{ atMs: 200, text: 'never' }], finalize: 'never mind' }, { finalize: 'hello there' }] });
    const dropped = stt.start({ sampleRate: 16_000 });
    say(dropped, 400);
    dropped.cancel();
    const partials: string[] = [];
    const next = stt.start({ sampleRate: 16_000, onPartial: (t) => partials.push(t) });
    say(next, 400);
    await expect(next.finish()).resolves.toEqual({ text: 'hello there', confidence: 0.98 });
    expect(partials).toEqual(['hello there']);
    const conn = fake.connections[0]!;
    expect(conn.controls).toEqual(['Finalize', 'Finalize']);
    // Deepgram did answer the cancelled utterance's flush; the adapter ignored it.
    expect(conn.sent.map((m) => (m.channel as { alternatives: { transcript: string }[] }).alternatives[0]!.transcript)).toEqual([
      'never',
      'never mind',
      'hello there',
    ]);
  });

  it('classifies a refused key (HTTP 401 on the upgrade) as stt_auth_failed and does not retry it', async () => {
    await setup({ utterances: [WHERE_IS_MY_ORDER] }, 'wrong-key');
    const err = await rejection(stt.connect());
    expect(err).toMatchObject({ kind: 'auth', code: 'stt_auth_failed', retryable: false });
    expect(err.message).toContain('Invalid credentials.');

    const stream = stt.start({ sampleRate: 16_000 });
    say(stream, 200);
    await expect(rejection(stream.finish())).resolves.toMatchObject({ code: 'stt_auth_failed' });
    expect(fake.upgradeAttempts).toBe(1);
  });

  it.each([
    [429, 'rate_limit', 'stt_rate_limited'],
    [503, 'server', 'stt_unavailable'],
  ])('classifies HTTP %i on the upgrade as retryable %s; the next utterance connects again', async (status, kind, code) => {
    await setup({ utterances: [{ finalize: 'hi' }] });
    fake.refuseUpgrades(status);
    const failed = stt.start({ sampleRate: 16_000 });
    say(failed, 200);
    await expect(rejection(failed.finish())).resolves.toMatchObject({ kind, code, retryable: true });

    const next = stt.start({ sampleRate: 16_000 });
    say(next, 200);
    await expect(next.finish()).resolves.toMatchObject({ text: 'hi' });
    expect(fake.upgradeAttempts).toBe(2);
  });

  it('times out (stt_timeout, retryable) when the handshake is never answered', async () => {
    await setup();
    fake.refuseUpgrades('hold');
    const connecting = rejection(stt.connect());
    await fake.until((f) => f.upgradeAttempts === 1, 'the upgrade request');
    clock.advance(5_000);
    await expect(connecting).resolves.toMatchObject({ kind: 'connectivity', code: 'stt_timeout', retryable: true });
  });

  it('a dropped connection fails the utterance in flight (stt_unavailable) and the next one reconnects', async () => {
    await setup({ utterances: [{ finalize: 'lost' }, { finalize: 'back again' }] });
    const stream = stt.start({ sampleRate: 16_000 });
    say(stream, 200);
    await fake.until((f) => f.connections[0]?.audioBytes === 6_400, 'the audio');
    fake.dropConnections();
    await fake.until((f) => f.connections[0]!.closed, 'the drop');
    const err = await rejection(stream.finish());
    expect(err).toMatchObject({ kind: 'connectivity', code: 'stt_unavailable', retryable: true });
    expect(err.message).toContain('1006');

    const next = stt.start({ sampleRate: 16_000 });
    say(next, 200);
    await expect(next.finish()).resolves.toMatchObject({ text: 'lost' }); // the fake's script moves on per flush
    expect(fake.connections).toHaveLength(2);
  });

  it('a connection lost while finishing rejects the pending finish()', async () => {
    await setup({ utterances: [{ finalize: 'never heard' }] });
    fake.stall();
    const stream = stt.start({ sampleRate: 16_000 });
    say(stream, 200);
    const result = stream.finish();
    await fake.until((f) => f.connections[0]?.controls.includes('Finalize') === true, 'Finalize');
    fake.closeConnections(1011, 'NET-0000');
    await expect(rejection(result)).resolves.toMatchObject({ kind: 'server', code: 'stt_unavailable', retryable: true });
  });

  it('sends KeepAlive when nothing else was sent for a keep-alive interval', async () => {
    await setup({ utterances: [{ finalize: 'ok' }] });
    await stt.connect();
    clock.advance(4_000);
    await fake.until((f) => f.connections[0]!.controls.length === 1, 'a KeepAlive');
    expect(fake.connections[0]!.controls).toEqual(['KeepAlive']);

    const stream = stt.start({ sampleRate: 16_000 });
    say(stream, 100);
    clock.advance(4_000); // audio went out during this interval: no KeepAlive
    await expect(stream.finish()).resolves.toMatchObject({ text: 'ok' });
    clock.advance(4_000); // the Finalize counts as traffic too
    clock.advance(4_000);
    await fake.until((f) => f.connections[0]!.controls.length === 3, 'the second KeepAlive');
    expect(fake.connections[0]!.controls).toEqual(['KeepAlive', 'Finalize', 'KeepAlive']);
  });

  it('reopens the socket at the rate an utterance asks for', async () => {
    await setup({ utterances: [{ finalize: 'wideband' }, { finalize: 'narrowband' }] });
    const wide = stt.start({ sampleRate: 16_000 });
    say(wide, 200);
    await expect(wide.finish()).resolves.toMatchObject({ text: 'wideband' });
    const narrow = stt.start({ sampleRate: 8_000 });
    for (const frame of frames(speech(200, 8_000), 8_000)) narrow.write(frame);
    await expect(narrow.finish()).resolves.toMatchObject({ text: 'narrowband' });

    expect(fake.connections.map((c) => c.url.searchParams.get('sample_rate'))).toEqual(['16000', '8000']);
    expect(fake.connections[1]!.sent.at(-1)).toMatchObject({ start: 0, duration: 0.2 });
    await fake.until((f) => f.connections[0]!.closed, 'the 16 kHz socket to close');
    expect(fake.connections[0]!.controls).toEqual(['Finalize', 'CloseStream']);
  });

  it('takes an https:// base URL as the same host over wss://', async () => {
    await setup();
    stt = new DeepgramStt({ apiKey: 'deepgram-test-key', baseUrl: `${fake.url.replace(/^ws/, 'http')}/`, clock });
    await stt.connect();
    expect(fake.connections[0]!.url.pathname).toBe('/v1/listen');
  });

  it('close() sends CloseStream and fails an utterance still waiting', async () => {
    await setup({ utterances: [{ finalize: 'bye' }] });
    fake.stall();
    const stream = stt.start({ sampleRate: 16_000 });
    say(stream, 200);
    const result = rejection(stream.finish());
    await fake.until((f) => f.connections[0]?.controls.includes('Finalize') === true, 'Finalize');
    await stt.close();
    await expect(result).resolves.toMatchObject({ code: 'stt_unavailable' });
    expect(fake.connections[0]!.controls).toEqual(['Finalize', 'CloseStream']);
  });
});
