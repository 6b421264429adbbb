import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/testing/fake-clock.ts';
import { OPENAI_PCM_RATE, OpenAiSpeechFake } from '../../../src/testing/speech-fakes/openai.ts';
import { toneBytes } from '../../../src/testing/speech-fakes/server.ts';
import { OpenAiTts } from '../../../src/voice/tts/openai.ts';
import { drain, rejection, totalSamples } from './audio.ts';

let fake: OpenAiSpeechFake;
let clock: FakeClock;
let tts: OpenAiTts;

const TEXT = 'Hello there, how can I help?'; // 28 characters × 20 ms = 560 ms
const LONG = 'Your order left our warehouse this morning and should arrive on Thursday. '.repeat(6);

function samplesFor(text: string): number {
  return Math.round((text.length * 20 * OPENAI_PCM_RATE) / 1000);
}

beforeEach(async () => {
  fake = await OpenAiSpeechFake.start();
  clock = new FakeClock();
  tts = new OpenAiTts({ apiKey: 'openai-test-key', baseUrl: fake.url, clock, timeoutMs: 10_000 });
});

afterEach(async () => {
  await tts.close();
  await fake.close();
});

describe('OpenAiTts', () => {
  it('streams the pcm body as whole 24 kHz samples, carrying odd bytes across chunks', async () => {
    expect(tts.sampleRate).toBe(24_000);
    const { items, error } = await drain(tts.synthesize(TEXT, { signal: new AbortController().signal }));
    expect(error).toBeUndefined();
    expect(items.length).toBeGreaterThan(3); // yielded as the chunks arrived
    const samples = new Int16Array(totalSamples(items));
    let at = 0;
    for (const chunk of items) {
      samples.set(chunk, at);
      at += chunk.length;
    }
    const expected = toneBytes(samplesFor(TEXT), OPENAI_PCM_RATE);
    expect(Buffer.from(samples.buffer)).toEqual(expected);

    const [req] = fake.speechRequests;
    expect(req!.headers.authorization).toBe('Bearer openai-test-key');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.body).toEqual({ model: 'gpt-4o-mini-tts', input: TEXT, voice: 'alloy', response_format: 'pcm' });
    expect(req!.finished).toBe(true);
  });

  it('sends the voice, instructions and speed it is given, and accepts a base URL ending in /v1', async () => {
    tts = new OpenAiTts({ apiKey: 'openai-test-key', baseUrl: `${fake.url}/v1/`, model: 'tts-1', instructions: 'Speak warmly.', speed: 1.25, clock });
    const { items } = await drain(tts.synthesize('Hi.', { signal: new AbortController().signal, voice: 'nova' }));
    expect(totalSamples(items)).toBe(samplesFor('Hi.'));
    expect(fake.speechRequests[0]!.body).toEqual({
      model: 'tts-1', input: 'Hi.', voice: 'nova', response_format: 'pcm', instructions: 'Speak warmly.', speed: 1.25,
    });
  });

  it('on abort mid-stream stops without throwing and closes the connection', async () => {
    const abort = new AbortController();
    const received: Int16Array[] = [];
    for await (const chunk of tts.synthesize(LONG, { signal: abort.signal })) {
      received.push(chunk);
      abort.abort();
    }
    expect(received).toHaveLength(1);
    await fake.until((f) => f.speechRequests[0]?.aborted === true, 'the client to hang up');
    expect(fake.speechRequests[0]!.finished).toBe(false);
    expect(fake.speechRequests[0]!.bytesSent).toBeLessThan(samplesFor(LONG) * 2);
  });

  it('closes the connection when the consumer stops early', async () => {
    for await (const _chunk of tts.synthesize(LONG, { signal: new AbortController().signal })) break;
    await fake.until((f) => f.speechRequests[0]?.aborted === true, 'the client to hang up');
  });

  it('sends nothing for an already aborted signal or blank text', async () => {
    const aborted = new AbortController();
    aborted.abort();
    expect((await drain(tts.synthesize(TEXT, { signal: aborted.signal }))).items).toEqual([]);
    expect((await drain(tts.synthesize('  ', { signal: new AbortController().signal }))).items).toEqual([]);
    expect(fake.speechRequests).toEqual([]);
  });

  it('classifies a rejected key as tts_auth_failed (not retryable)', async () => {
    tts = new OpenAiTts({ apiKey: 'sk-wrong', baseUrl: fake.url, clock });
    const { error } = await drain(tts.synthesize(TEXT, { signal: new AbortController().signal }));
    expect(error).toMatchObject({ kind: 'auth', code: 'tts_auth_failed', retryable: false });
    expect(error!.message).toContain('Incorrect API key provided');
  });

  it.each([
    [429, 'rate_limit', 'tts_rate_limited'],
    [500, 'server', 'tts_unavailable'],
    [503, 'server', 'tts_unavailable'],
  ])('classifies HTTP %i as retryable %s, and the next request works', async (status, kind, code) => {
    fake.inject({ status });
    const { error } = await drain(tts.synthesize(TEXT, { signal: new AbortController().signal }));
    expect(error).toMatchObject({ kind, code, retryable: true, status: status === 429 ? 429 : 500 });
    const retry = await drain(tts.synthesize(TEXT, { signal: new AbortController().signal }));
    expect(totalSamples(retry.items)).toBe(samplesFor(TEXT));
  });

  it('times out (tts_timeout, retryable) when the response never starts', async () => {
    fake.inject({ stall: 'headers' });
    const pending = drain(tts.synthesize(TEXT, { signal: new AbortController().signal }));
    await fake.until((f) => f.speechRequests.length === 1, 'the request');
    clock.advance(10_000);
    const { error } = await pending;
    expect(error).toMatchObject({ kind: 'connectivity', code: 'tts_timeout', retryable: true });
    await fake.until((f) => f.speechRequests[0]!.aborted, 'the client to hang up');
  });

  it('times out when the body stalls mid-stream, after yielding what arrived', async () => {
    fake.inject({ stall: 'body' });
    const chunks = tts.synthesize(TEXT, { signal: new AbortController().signal })[Symbol.asyncIterator]();
    const first = await chunks.next();
    expect(first.value).toHaveLength(2400); // 4801 bytes: 2400 whole samples, the odd byte held back
    const next = rejection(chunks.next());
    clock.advance(10_000);
    await expect(next).resolves.toMatchObject({ kind: 'connectivity', code: 'tts_timeout' });
    await fake.until((f) => f.speechRequests[0]!.aborted, 'the client to hang up');
  });

  it('classifies an unreachable server as tts_unavailable (connectivity)', async () => {
    const gone = await OpenAiSpeechFake.start();
    await gone.close();
    tts = new OpenAiTts({ apiKey: 'openai-test-key', baseUrl: gone.url, clock });
    const { error } = await drain(tts.synthesize(TEXT, { signal: new AbortController().signal }));
    expect(error).toMatchObject({ kind: 'connectivity', code: 'tts_unavailable', retryable: true });
  });
});
