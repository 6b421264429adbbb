import { describe, expect, it } from 'vitest';
import { Pcm16Assembler } from '../../../src/voice/cloud-audio.ts';
import { closedError, httpStatusError, networkError, timeoutError, vendorDetail, vendorError } from '../../../src/voice/cloud-errors.ts';

const STT = { side: 'stt', vendor: 'Deepgram' } as const;
const TTS = { side: 'tts', vendor: 'OpenAI' } as const;

describe('cloud speech error classification', () => {
  it.each([
    [401, 'auth', 'stt_auth_failed', false],
    [403, 'auth', 'stt_auth_failed', false],
    [402, 'rate_limit', 'stt_quota_exceeded', false],
    [429, 'rate_limit', 'stt_rate_limited', true],
    [400, 'invalid_request', 'stt_request_invalid', false],
    [404, 'invalid_request', 'stt_request_invalid', false],
    [408, 'connectivity', 'stt_unavailable', true],
    [500, 'server', 'stt_unavailable', true],
    [503, 'server', 'stt_unavailable', true],
  ])('HTTP %i → %s %s (retryable %s)', (status, kind, code, retryable) => {
    expect(httpStatusError(STT, status)).toMatchObject({ kind, code, retryable });
  });

  it('treats OpenAI insufficient_quota (429) as out of quota, not retryable', () => {
    const detail = vendorDetail(JSON.stringify({ error: { message: 'You exceeded your current quota.', type: 'insufficient_quota', code: 'insufficient_quota' } }));
    expect(httpStatusError(TTS, 429, detail)).toMatchObject({ kind: 'rate_limit', code: 'tts_quota_exceeded', retryable: false });
  });

  it('reads the error bodies of OpenAI, Deepgram and Cartesia', () => {
    expect(vendorDetail('{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}')).toEqual({
      message: 'Incorrect API key provided',
      code: 'invalid_api_key',
    });
    expect(vendorDetail('{"err_code":"INVALID_AUTH","err_msg":"Invalid credentials.","request_id":"x"}')).toEqual({
      message: 'Invalid credentials.',
      code: 'INVALID_AUTH',
    });
    expect(vendorDetail('{"error_code":"concurrency_limited","title":"Too many","message":"Limit.","request_id":"x"}')).toEqual({
      message: 'Limit.',
      code: 'concurrency_limited',
    });
    expect(vendorDetail('Bad Gateway')).toEqual({ message: 'Bad Gateway' });
    expect(vendorDetail('')).toBeUndefined();
  });

  it('puts the vendor, what it said and what to do in the message', () => {
    const err = httpStatusError(STT, 401, { message: 'Invalid credentials.', code: 'INVALID_AUTH' });
    expect(err.message).toBe('stt_auth_failed: Deepgram answered HTTP 401: Invalid credentials.; check the Deepgram API key (and that it may use this model)');
  });

  it.each([
    [1008, 'invalid_request', 'stt_request_invalid'],
    [1011, 'server', 'stt_unavailable'],
    [1006, 'connectivity', 'stt_unavailable'],
    [1000, 'connectivity', 'stt_unavailable'],
  ])('close code %i → %s %s', (code, kind, errCode) => {
    expect(closedError(STT, code, 'NET-0001')).toMatchObject({ kind, code: errCode });
  });

  it('classifies network failures, timeouts and in-band errors', () => {
    expect(networkError(TTS, new TypeError('fetch failed'))).toMatchObject({ kind: 'connectivity', code: 'tts_unavailable', retryable: true });
    expect(timeoutError(TTS, 'answer', 10_000)).toMatchObject({ kind: 'connectivity', code: 'tts_timeout', retryable: true });
    expect(vendorError(TTS, undefined, { message: 'odd' })).toMatchObject({ kind: 'server', code: 'tts_unavailable' });
    expect(vendorError(TTS, 429, { code: 'concurrency_limited' })).toMatchObject({ kind: 'rate_limit', code: 'tts_rate_limited' });
  });
});

describe('Pcm16Assembler', () => {
  it('carries an odd trailing byte into the next chunk and drops nothing else', () => {
    const bytes = Buffer.alloc(10);
    for (let i = 0; i < 5; i++) bytes.writeInt16LE(-1000 * (i + 1), i * 2);
    const pcm = new Pcm16Assembler();
    const parts = [pcm.push(bytes.subarray(0, 3)), pcm.push(bytes.subarray(3, 4)), pcm.push(bytes.subarray(4, 9)), pcm.push(bytes.subarray(9))];
    expect(parts.map((p) => Array.from(p))).toEqual([[-1000], [-2000], [-3000, -4000], [-5000]]);
  });
});
