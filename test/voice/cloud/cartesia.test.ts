import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/testing/fake-clock.ts';
import { CartesiaFake } from '../../../src/testing/speech-fakes/cartesia.ts';
import { toneBytes } from '../../../src/testing/speech-fakes/server.ts';
import { CartesiaTts, type CartesiaTtsOptions } from '../../../src/voice/tts/cartesia.ts';
import { drain, rejection, totalSamples } from './audio.ts';

let fake: CartesiaFake;
let clock: FakeClock;
let tts: CartesiaTts;

const TEXT = 'Hello there.'; // 12 characters × 20 ms = 240 ms
const LONG = 'Your order left our warehouse this morning and should arrive on Thursday. '.repeat(4);

function make(opts: Partial<CartesiaTtsOptions> = {}): CartesiaTts {
  return new CartesiaTts({ apiKey: 'cartesia-test-key', baseUrl: fake.url, clock, chunkTimeoutMs: 5_000, ...opts });
}

function live(): AbortSignal {
  return new AbortController().signal;
}

beforeEach(async () => {
  fake = await CartesiaFake.start();
  clock = new FakeClock();
  tts = make();
});

afterEach(async () => {
  await tts.close();
  await fake.close();
});

describe('CartesiaTts', () => {
  it('streams a context as whole pcm_s16le samples at the pipeline rate', async () => {
    expect(tts.sampleRate).toBe(16_000);
    const { items, error } = await drain(tts.synthesize(TEXT, { signal: live() }));
    expect(error).toBeUndefined();
    expect(items).toHaveLength(6); // 240 ms in 40 ms chunks
    const joined = Buffer.concat(items.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
    expect(joined).toEqual(toneBytes(3_840, 16_000));

    const [conn] = fake.connections;
    expect(conn!.headers.authorization).toBe('Bearer cartesia-test-key');
    expect(conn!.headers['cartesia-version']).toBe('2026-03-01');
    const [request] = conn!.received;
    expect(request).toEqual({
      model_id: 'sonic-2',
      transcript: TEXT,
      voice: { mode: 'id', id: 'f786b574-daa5-4673-aa0c-cbe3e8534c02' },
      output_format: { container: 'raw', encoding: 'pcm_s16le', sample_rate: 16_000 },
      language: 'en',
      context_id: fake.contexts[0]!.contextId,
      continue: false,
    });
    expect(fake.contexts[0]!.done).toBe(true);
  });

  it('reuses the socket across sentences, one context each, and honours voice, model and rate', async () => {
    tts = make({ model: 'sonic-3', sampleRate: 24_000, voice: 'voice-a', baseUrl: `${fake.url.replace(/^ws/, 'http')}/` });
    expect(tts.sampleRate).toBe(24_000);
    await tts.connect();
    const first = await drain(tts.synthesize('First.', { signal: live() }));
    const second = await drain(tts.synthesize('Second one.', { signal: live(), voice: 'voice-b' }));
    expect(totalSamples(first.items)).toBe(Math.round(6 * 20 * 24));
    expect(totalSamples(second.items)).toBe(Math.round(11 * 20 * 24));
    expect(fake.connections).toHaveLength(1);
    const [a, b] = fake.connections[0]!.received;
    expect(a).toMatchObject({ model_id: 'sonic-3', voice: { id: 'voice-a' }, output_format: { sample_rate: 24_000 } });
    expect(b).toMatchObject({ voice: { id: 'voice-b' } });
    expect(a!.context_id).not.toBe(b!.context_id);
  });

  it('on abort mid-stream stops without throwing and sends cancel for the context', async () => {
    const abort = new AbortController();
    const received: Int16Array[] = [];
    for await (const chunk of tts.synthesize(LONG, { signal: abort.signal })) {
      received.push(chunk);
      abort.abort();
    }
    expect(received).toHaveLength(1);
    const contextId = fake.contexts[0]!.contextId;
    await fake.until((f) => f.contexts[0]!.cancelled, 'the cancel');
    expect(fake.connections[0]!.received.at(-1)).toEqual({ context_id: contextId, cancel: true });
    expect(fake.contexts[0]!.done).toBe(false);

    const next = await drain(tts.synthesize(TEXT, { signal: live() })); // the socket stays usable
    expect(totalSamples(next.items)).toBe(3_840);
    expect(fake.connections).toHaveLength(1);
  });

  it('cancels the context when the consumer stops early', async () => {
    for await (const _chunk of tts.synthesize(LONG, { signal: live() })) break;
    await fake.until((f) => f.contexts[0]?.cancelled === true, 'the cancel');
  });

  it('sends nothing for an already aborted signal or blank text', async () => {
    const aborted = new AbortController();
    aborted.abort();
    expect((await drain(tts.synthesize(TEXT, { signal: aborted.signal }))).items).toEqual([]);
    expect((await drain(tts.synthesize(' ', { signal: live() }))).items).toEqual([]);
    expect(fake.upgradeAttempts).toBe(0);
  });

  it('classifies a refused key (401 on the upgrade) as tts_auth_failed and does not retry it', async () => {
    tts = make({ apiKey: 'wrong' });
    const { error } = await drain(tts.synthesize(TEXT, { signal: live() }));
    expect(error).toMatchObject({ kind: 'auth', code: 'tts_auth_failed', retryable: false });
    expect(error!.message).toContain('Invalid API key.');
    await expect(rejection(tts.connect())).resolves.toMatchObject({ code: 'tts_auth_failed' });
    expect(fake.upgradeAttempts).toBe(1);
  });

  it.each([
    [429, 'rate_limit', 'tts_rate_limited'],
    [502, 'server', 'tts_unavailable'],
  ])('classifies HTTP %i on the upgrade as retryable %s; the next sentence connects again', async (status, kind, code) => {
    fake.refuseUpgrades(status);
    const { error } = await drain(tts.synthesize(TEXT, { signal: live() }));
    expect(error).toMatchObject({ kind, code, retryable: true });
    const next = await drain(tts.synthesize(TEXT, { signal: live() }));
    expect(totalSamples(next.items)).toBe(3_840);
  });

  it.each([
    [{ status_code: 429, error_code: 'concurrency_limited', title: 'Too many concurrent requests', message: 'Limit reached.' }, 'rate_limit', 'tts_rate_limited', true],
    [{ status_code: 500, error_code: 'internal_error', title: 'Internal error', message: 'Try again.' }, 'server', 'tts_unavailable', true],
    [{ status_code: 400, error_code: 'voice_not_found', title: 'Voice not found', message: 'No such voice.' }, 'invalid_request', 'tts_request_invalid', false],
  ])('classifies an in-band error event (%#) for the context', async (event, kind, code, retryable) => {
    fake.failNext(event);
    const { items, error } = await drain(tts.synthesize(TEXT, { signal: live() }));
    expect(items).toEqual([]);
    expect(error).toMatchObject({ kind, code, retryable });
    expect(error!.message).toContain(event.title);
    const next = await drain(tts.synthesize(TEXT, { signal: live() }));
    expect(totalSamples(next.items)).toBe(3_840);
    expect(fake.connections).toHaveLength(1);
  });

  it('times out (tts_timeout) when Cartesia stops sending, and cancels the context', async () => {
    await tts.connect();
    fake.stall();
    const pending = drain(tts.synthesize(TEXT, { signal: live() }));
    await fake.until((f) => f.contexts.length === 1, 'the request');
    clock.advance(5_000);
    const { error } = await pending;
    expect(error).toMatchObject({ kind: 'connectivity', code: 'tts_timeout', retryable: true });
    await fake.until((f) => f.contexts[0]!.cancelled, 'the cancel');
  });

  it('a dropped connection fails the sentence in flight (tts_unavailable); the next one reconnects', async () => {
    const chunks = tts.synthesize(LONG, { signal: live() })[Symbol.asyncIterator]();
    await chunks.next();
    fake.dropConnections();
    let error;
    for (;;) {
      try {
        if ((await chunks.next()).done) break;
      } catch (err) {
        error = err;
        break;
      }
    }
    expect(error).toMatchObject({ kind: 'connectivity', code: 'tts_unavailable', retryable: true });
    const next = await drain(tts.synthesize(TEXT, { signal: live() }));
    expect(totalSamples(next.items)).toBe(3_840);
    expect(fake.connections).toHaveLength(2);
  });

  it('close() closes the socket and fails a sentence still streaming', async () => {
    fake.stall();
    const pending = drain(tts.synthesize(TEXT, { signal: live() }));
    await fake.until((f) => f.contexts.length === 1, 'the request');
    await tts.close();
    const { error } = await pending;
    expect(error).toMatchObject({ code: 'tts_unavailable' });
    await fake.until((f) => f.connections[0]!.closed, 'the close');
  });
});
