import { APICallError, LoadAPIKeyError } from '@ai-sdk/provider';
import { streamText } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { OperatorError } from '../../src/core/errors.ts';
import { abortError, classifyModelError, createModel } from '../../src/models/index.ts';
import { startAnthropicFake } from './fakes/anthropic-messages.ts';
import type { HttpFake } from './fakes/http-fake.ts';
import { startOpenAIChatFake } from './fakes/openai-chat.ts';
import { makeAgent } from './fixtures.ts';

const agent = makeAgent();
let fake: HttpFake | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function apiError(statusCode: number | undefined, responseBody?: string): APICallError {
  return new APICallError({
    message: 'provider said no',
    url: 'https://api.example.test/v1/chat/completions',
    requestBodyValues: {},
    statusCode,
    responseBody,
  });
}

describe('classifyModelError', () => {
  it.each([
    [401, 'model_auth_failed', 'auth', false],
    [403, 'model_auth_failed', 'auth', false],
    [404, 'model_not_found', 'not_found', false],
    [400, 'model_request_invalid', 'invalid_request', false],
    [422, 'model_request_invalid', 'invalid_request', false],
    [408, 'model_unavailable', 'connectivity', true],
    [429, 'model_rate_limited', 'rate_limit', true],
    [500, 'model_unavailable', 'server', true],
    [503, 'model_unavailable', 'server', true],
    [529, 'model_unavailable', 'server', true],
  ] as const)('HTTP %i -> %s', (status, code, kind, retryable) => {
    const err = classifyModelError(apiError(status));
    expect(err).toMatchObject({ code, kind, retryable });
    expect(err.message).toMatch(new RegExp(`^${code}: HTTP ${status} from https://api\\.example\\.test/`));
    expect(err.cause).toBeInstanceOf(APICallError);
  });

  it('tells an exhausted quota (no point retrying) from a rate limit', () => {
    const body = JSON.stringify({ error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } });
    expect(classifyModelError(apiError(429, body))).toMatchObject({ code: 'model_quota_exceeded', kind: 'rate_limit', retryable: false });
    expect(classifyModelError(apiError(429, body)).message).toContain('You exceeded your current quota');
  });

  it('a missing API key says which setting to fill in', () => {
    const err = classifyModelError(new LoadAPIKeyError({ message: 'OpenAI API key is missing.' }));
    expect(err).toMatchObject({ code: 'model_api_key_missing', kind: 'auth', retryable: false });
    expect(err.message).toContain('model.apiKey');
  });

  it('an abort is not a model failure', () => {
    const ac = new AbortController();
    ac.abort();
    expect(classifyModelError(abortError(ac.signal))).toMatchObject({ code: 'model_aborted', retryable: false });
  });

  it('keeps an existing OperatorError and calls anything unknown model_failed, not retryable', () => {
    const known = new OperatorError('rate_limit', 'model_rate_limited', 'slow down');
    expect(classifyModelError(known)).toBe(known);
    expect(classifyModelError(new Error('boom'))).toMatchObject({ code: 'model_failed', kind: 'server', retryable: false, message: 'model_failed: boom' });
    expect(classifyModelError('a string')).toMatchObject({ code: 'model_failed' });
  });

  it('a server that is not listening is model_unavailable (connectivity), retryable', async () => {
    fake = await startOpenAIChatFake([{ text: ['never'] }]);
    const baseUrl = `${fake.origin}/v1`;
    await fake.close();
    fake = undefined;
    const model = createModel({ provider: 'openai-compatible', model: 'm', baseUrl }, { agent });
    const errors: unknown[] = [];
    await streamText({ model, prompt: 'hi', maxRetries: 0, onError: ({ error }) => void errors.push(error) }).consumeStream();
    expect(errors).toHaveLength(1);
    expect(classifyModelError(errors[0])).toMatchObject({ code: 'model_unavailable', kind: 'connectivity', retryable: true });
  });

  it('an error event in the middle of an Anthropic stream is classified by its type', async () => {
    fake = await startAnthropicFake([{ text: ['Let me '], streamError: { type: 'overloaded_error', message: 'Overloaded' } }]);
    const model = createModel({ provider: 'anthropic', model: 'claude-sonnet-4-5', apiKey: 'k', baseUrl: `${fake.origin}/v1` }, { agent });
    const errors: unknown[] = [];
    const result = streamText({ model, prompt: 'hi', maxRetries: 0, onError: ({ error }) => void errors.push(error) });
    await result.consumeStream();
    expect(errors).toHaveLength(1);
    expect(classifyModelError(errors[0])).toMatchObject({ code: 'model_unavailable', kind: 'server', retryable: true });
    expect(classifyModelError(errors[0]).message).toContain('Overloaded');
  });
});
