import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/testing/fake-clock.ts';
import { OpenAiSpeechFake } from '../../../src/testing/speech-fakes/openai.ts';
import { OpenAiStt } from '../../../src/voice/stt/openai.ts';
import type { SttStream } from '../../../src/voice/types.ts';
import { frames, rejection, speech } from './audio.ts';

let fake: OpenAiSpeechFake;
let clock: FakeClock;
let stt: OpenAiStt;

beforeEach(async () => {
  fake = await OpenAiSpeechFake.start({ transcripts: ['Where is my order?', 'Thanks.'] });
  clock = new FakeClock();
  stt = new OpenAiStt({ apiKey: 'openai-test-key', baseUrl: fake.url, clock, timeoutMs: 15_000 });
});

afterEach(async () => {
  await stt.close();
  await fake.close();
});

function say(stream: SttStream, ms: number, rate = 16_000): void {
  for (const frame of frames(speech(ms, rate), rate)) stream.write(frame);
}

describe('OpenAiStt', () => {
  it('uploads the utterance as a 16-bit mono WAV at finish() and returns the transcript, with no partials', async () => {
    const partials: string[] = [];
    const stream = stt.start({ sampleRate: 16_000, onPartial: (t) => partials.push(t) });
    say(stream, 1_000);
    await expect(stream.finish()).resolves.toEqual({ text: 'Where is my order?' });
    expect(partials).toEqual([]);

    const [upload] = fake.transcriptions;
    expect(upload!.headers.authorization).toBe('Bearer openai-test-key');
    expect(upload!.fields).toEqual({ model: 'gpt-4o-mini-transcribe', response_format: 'json' });
    expect(upload!.file).toEqual({ name: 'utterance.wav', type: 'audio/wav', bytes: 44 + 32_000 });
    expect(upload!.wav).toEqual({ sampleRate: 16_000, channels: 1, bitsPerSample: 16, samples: 16_000 });
  });

  it('keeps the stream rate in the WAV header and sends model, language and prompt as given', async () => {
    stt = new OpenAiStt({ apiKey: 'openai-test-key', baseUrl: fake.url, model: 'whisper-1', language: 'en', prompt: 'Acme, SKU', clock });
    const stream = stt.start({ sampleRate: 8_000 });
    say(stream, 500, 8_000);
    await expect(stream.finish()).resolves.toEqual({ text: 'Where is my order?' });
    expect(fake.transcriptions[0]!.fields).toEqual({ model: 'whisper-1', response_format: 'json', language: 'en', prompt: 'Acme, SKU' });
    expect(fake.transcriptions[0]!.wav).toMatchObject({ sampleRate: 8_000, samples: 4_000 });
  });

  it('copies written frames, so a pipeline reusing its buffer does not corrupt the upload', async () => {
    const stream = stt.start({ sampleRate: 16_000 });
    const frame = new Int16Array(320).fill(1_000);
    stream.write(frame);
    frame.fill(0);
    stream.write(frame);
    await stream.finish();
    expect(fake.transcriptions[0]!.wav?.samples).toBe(640);
  });

  it('answers an utterance without audio with empty text and no request', async () => {
    await expect(stt.start({ sampleRate: 16_000 }).finish()).resolves.toEqual({ text: '' });
    expect(fake.transcriptions).toEqual([]);
  });

  it('cancel() during the upload aborts the request; finish() resolves with no text', async () => {
    fake.inject({ stall: 'headers' });
    const stream = stt.start({ sampleRate: 16_000 });
    say(stream, 300);
    const result = stream.finish();
    await fake.until((f) => f.transcriptions.length === 1, 'the upload');
    stream.cancel();
    await expect(result).resolves.toEqual({ text: '' });
    await fake.until((f) => f.transcriptions[0]!.aborted, 'the client to hang up');
  });

  it('classifies a rejected key as stt_auth_failed', async () => {
    stt = new OpenAiStt({ apiKey: 'sk-wrong', baseUrl: fake.url, clock });
    const stream = stt.start({ sampleRate: 16_000 });
    say(stream, 100);
    await expect(rejection(stream.finish())).resolves.toMatchObject({ kind: 'auth', code: 'stt_auth_failed', retryable: false });
  });

  it.each([
    [429, 'rate_limit', 'stt_rate_limited'],
    [500, 'server', 'stt_unavailable'],
  ])('classifies HTTP %i as retryable %s; the next utterance works', async (status, kind, code) => {
    fake.inject({ status });
    const failed = stt.start({ sampleRate: 16_000 });
    say(failed, 100);
    await expect(rejection(failed.finish())).resolves.toMatchObject({ kind, code, retryable: true });
    const next = stt.start({ sampleRate: 16_000 });
    say(next, 100);
    await expect(next.finish()).resolves.toEqual({ text: 'Where is my order?' });
  });

  it('times out (stt_timeout) when the transcription never comes', async () => {
    fake.inject({ stall: 'headers' });
    const stream = stt.start({ sampleRate: 16_000 });
    say(stream, 100);
    const result = rejection(stream.finish());
    await fake.until((f) => f.transcriptions.length === 1, 'the upload');
    clock.advance(15_000);
    await expect(result).resolves.toMatchObject({ kind: 'connectivity', code: 'stt_timeout', retryable: true });
  });

  it('rejects a second finish()', async () => {
    const stream = stt.start({ sampleRate: 16_000 });
    await stream.finish();
    await expect(rejection(stream.finish())).resolves.toMatchObject({ code: 'stt_stream_ended' });
  });
});
