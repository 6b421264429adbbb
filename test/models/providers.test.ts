import { APICallError } from '@ai-sdk/provider';
import { generateText, RetryError, streamText } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelSpec } from '../../src/core/agent.ts';
import { classifyModelError, createModel } from '../../src/models/index.ts';
import { startAnthropicFake } from './fakes/anthropic-messages.ts';
import type { HttpFake } from './fakes/http-fake.ts';
import { startOpenAIChatFake, type ChatReply } from './fakes/openai-chat.ts';
import { makeAgent, sdkTools } from './fixtures.ts';

const agent = makeAgent();
let fake: HttpFake | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const TEXT_AND_CALL: ChatReply = {
  text: ['Let me ', 'check ', 'that.'],
  toolCalls: [{ id: 'call_abc', name: 'get_order_status', args: { order_id: 'A12345' } }],
};

async function streamThrough(spec: ModelSpec) {
  const result = streamText({
    model: createModel(spec, { agent }),
    system: 'You help Acme customers.',
    prompt: 'Where is order A12345?',
    tools: sdkTools(),
    maxRetries: 0,
  });
  return { text: await result.text, toolCalls: await result.toolCalls, finishReason: await result.finishReason };
}

describe.each([
  ['openai', (origin: string): ModelSpec => ({ provider: 'openai', model: 'gpt-4o-mini', apiKey: 'sk-test', baseUrl: `${origin}/v1` })],
  [
    'openai-compatible',
    (origin: string): ModelSpec => ({ provider: 'openai-compatible', model: 'llama3.1', apiKey: 'sk-test', baseUrl: `${origin}/v1`, name: 'ollama' }),
  ],
])('%s provider against a local Chat Completions fake', (_name, specFor) => {
  it('streams text deltas and a tool call split over several chunks', async () => {
    fake = await startOpenAIChatFake([TEXT_AND_CALL]);
    const spec = specFor(fake.origin);
    const out = await streamThrough(spec);
    expect(out.text).toBe('Let me check that.');
    expect(out.toolCalls.map((c) => ({ id: c.toolCallId, name: c.toolName, input: c.input }))).toEqual([
      { id: 'call_abc', name: 'get_order_status', input: { order_id: 'A12345' } },
    ]);
    expect(out.finishReason).toBe('tool-calls');

    const [req] = fake.requests;
    expect(req?.path).toBe('/v1/chat/completions');
    expect(req?.headers.authorization).toBe('Bearer sk-test');
    expect(req?.body).toMatchObject({
      model: 'model' in spec ? spec.model : '',
      stream: true,
      messages: [
        { role: 'system', content: 'You help Acme customers.' },
        { role: 'user', content: 'Where is order A12345?' },
      ],
    });
    const tools = req?.body.tools as { type: string; function: { name: string; parameters: unknown } }[];
    expect(tools.map((t) => t.function.name)).toEqual(agent.tools.map((t) => t.name));
    expect(tools[0]?.function.parameters).toMatchObject({ properties: { order_id: { pattern: '^[A-Z]\\d{5}$' } } });
  });

  it('classifies a 401 as model_auth_failed, not retryable', async () => {
    fake = await startOpenAIChatFake([
      { status: 401, error: { message: 'Incorrect API key provided: sk-test.', type: 'invalid_request_error', code: 'invalid_api_key' } },
    ]);
    const err = await generateText({ model: createModel(specFor(fake.origin), { agent }), prompt: 'hi', maxRetries: 0 }).catch(
      (e: unknown) => e,
    );
    expect(APICallError.isInstance(err)).toBe(true);
    const classified = classifyModelError(err);
    expect(classified).toMatchObject({ code: 'model_auth_failed', kind: 'auth', retryable: false, status: 401 });
    expect(classified.message).toContain('Incorrect API key provided');
    expect(classified.message).toContain('model.apiKey');
  });

  it('classifies a 500 as model_unavailable, retryable, also once the SDK has given up retrying', async () => {
    fake = await startOpenAIChatFake([{ status: 500, error: { message: 'The server had an error', type: 'server_error' } }]);
    const err = await generateText({ model: createModel(specFor(fake.origin), { agent }), prompt: 'hi', maxRetries: 0 }).catch(
      (e: unknown) => e,
    );
    expect(APICallError.isInstance(err) && err.statusCode).toBe(500);
    expect(classifyModelError(err)).toMatchObject({ code: 'model_unavailable', kind: 'server', retryable: true });
    // What streamText/generateText throw after their own retries (their backoff waits real seconds, so built here).
    const gaveUp = new RetryError({ message: 'Failed after 3 attempts', reason: 'maxRetriesExceeded', errors: [err, err, err] });
    expect(classifyModelError(gaveUp)).toMatchObject({ code: 'model_unavailable', retryable: true });
  });
});

describe('anthropic provider against a local Messages fake', () => {
  it('streams text deltas and a tool_use block with its input in JSON pieces', async () => {
    fake = await startAnthropicFake([
      { text: ['Checking ', 'now.'], toolUses: [{ id: 'toolu_01', name: 'get_order_status', input: { order_id: 'A12345' } }] },
    ]);
    const out = await streamThrough({ provider: 'anthropic', model: 'claude-sonnet-4-5', apiKey: 'sk-ant-test', baseUrl: `${fake.origin}/v1` });
    expect(out.text).toBe('Checking now.');
    expect(out.toolCalls.map((c) => ({ id: c.toolCallId, name: c.toolName, input: c.input }))).toEqual([
      { id: 'toolu_01', name: 'get_order_status', input: { order_id: 'A12345' } },
    ]);
    expect(out.finishReason).toBe('tool-calls');

    const [req] = fake.requests;
    expect(req?.path).toBe('/v1/messages');
    expect(req?.headers['x-api-key']).toBe('sk-ant-test');
    expect(req?.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(req?.body).toMatchObject({ model: 'claude-sonnet-4-5', stream: true, system: [{ type: 'text', text: 'You help Acme customers.' }] });
    const tools = req?.body.tools as { name: string; input_schema: unknown }[];
    expect(tools.map((t) => t.name)).toEqual(agent.tools.map((t) => t.name));
  });

  it('classifies authentication_error (401) and overloaded_error (529)', async () => {
    fake = await startAnthropicFake([
      { status: 401, error: { type: 'authentication_error', message: 'invalid x-api-key' } },
      { status: 529, error: { type: 'overloaded_error', message: 'Overloaded' } },
    ]);
    const model = createModel({ provider: 'anthropic', model: 'claude-sonnet-4-5', apiKey: 'bad', baseUrl: `${fake.origin}/v1` }, { agent });
    const auth = await generateText({ model, prompt: 'hi', maxRetries: 0 }).catch((e: unknown) => e);
    expect(classifyModelError(auth)).toMatchObject({ code: 'model_auth_failed', retryable: false });
    expect(classifyModelError(auth).message).toContain('invalid x-api-key');
    const overloaded = await generateText({ model, prompt: 'hi', maxRetries: 0 }).catch((e: unknown) => e);
    expect(classifyModelError(overloaded)).toMatchObject({ code: 'model_unavailable', kind: 'server', retryable: true });
  });
});

describe('createModel', () => {
  it('passes the injected fetch to HTTP providers', async () => {
    fake = await startOpenAIChatFake([{ text: ['ok'] }]);
    const seen: string[] = [];
    const spy: typeof fetch = (input, init) => {
      seen.push(String(input instanceof Request ? input.url : input));
      return fetch(input, init);
    };
    const model = createModel({ provider: 'openai', model: 'gpt-4o-mini', apiKey: 'k', baseUrl: `${fake.origin}/v1` }, { agent, fetch: spy });
    expect(await streamText({ model, prompt: 'hi' }).text).toBe('ok');
    expect(seen).toEqual([`${fake.origin}/v1/chat/completions`]);
  });

  it('builds the offline and scripted models without any network', async () => {
    const offline = createModel({ provider: 'offline' }, { agent });
    expect([offline.provider, offline.modelId]).toEqual(['offline', 'offline-rules']);
    expect((await generateText({ model: offline, prompt: 'hello', tools: sdkTools() })).text).toMatch(/^Hello! This is Acme Support/);
    const scripted = createModel({ provider: 'scripted', steps: [{ deltas: ['Hi', '!'] }], loop: false }, { agent });
    expect((await generateText({ model: scripted, prompt: 'x' })).text).toBe('Hi!');
  });
});
