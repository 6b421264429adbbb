import type { LanguageModelV3CallOptions, LanguageModelV3Prompt, LanguageModelV3ToolResultOutput } from '@ai-sdk/provider';
import { stepCountIs, streamText, tool, jsonSchema } from 'ai';
import { describe, expect, it } from 'vitest';
import { createOfflineModel, describeOffline } from '../../src/models/offline.ts';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { callOptions, callTools, makeAgent, TOOLS, userPrompt } from './fixtures.ts';
import { readAll, textOf, toolCallsOf } from './helpers.ts';

// Wednesday 7 January 2026, 15:00 UTC.
const clock = new FakeClock(Date.UTC(2026, 0, 7, 15));
const model = createOfflineModel({ agent: makeAgent(), clock });

async function run(options: LanguageModelV3CallOptions) {
  const { stream } = await model.doStream(options);
  const parts = await readAll(stream);
  const finish = parts.find((p) => p.type === 'finish');
  return { parts, text: textOf(parts), calls: toolCallsOf(parts), finish: finish?.type === 'finish' ? finish : undefined };
}

const ask = (text: string) => run(callOptions(text));

function afterToolResult(toolName: string, output: LanguageModelV3ToolResultOutput): LanguageModelV3CallOptions {
  const prompt: LanguageModelV3Prompt = [
    ...userPrompt('where is order A12345'),
    { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'call_1', toolName, input: { order_id: 'A12345' } }] },
    { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', toolName, output }] },
  ];
  return { prompt, tools: callTools() };
}

describe('offline model: choosing a tool', () => {
  it('matches a message to the tool whose example it resembles and reads a pattern id', async () => {
    const r = await ask('Has my parcel shipped yet? It is a12345');
    expect(r.calls).toEqual([{ name: 'get_order_status', input: { order_id: 'A12345' }, id: 'call_1' }]);
    expect(r.text).toBe('');
    expect(r.finish?.finishReason.unified).toBe('tool-calls');
  });

  it('tells tools that share words apart (cancel vs status) and fills an id and an email', async () => {
    const r = await ask('Please cancel order 778812, my email is jo@example.com');
    expect(r.calls).toEqual([{ name: 'cancelOrder', input: { orderNumber: '778812', email: 'jo@example.com' }, id: 'call_1' }]);
  });

  it('resolves dates against the injected clock, with number words and enum values', async () => {
    const r = await ask('I would like to book an appointment for two at the airport store tomorrow');
    expect(r.calls[0]).toMatchObject({ name: 'book_appointment', input: { date: '2026-01-08', party_size: 2, store: 'airport' } });
    const friday = await ask('Can I schedule a visit to the store on Friday for 3?');
    expect(friday.calls[0]?.input).toEqual({ date: '2026-01-09', party_size: 3 });
  });

  it('reaches a builtin tool through its examples and synonyms', async () => {
    expect((await ask('can I speak to a representative')).calls.map((c) => c.name)).toEqual(['transfer_to_human']);
  });

  it("reaches the engine's call tools (transfer_call, collect_digits) through the examples the engine gives them", async () => {
    const { callToolSpecs } = await import('../../src/engine/tools/call.ts');
    const specs = callToolSpecs({ targets: { billing: { to: '+15550100200' } }, canTransfer: true, hasKeypad: true, collectDigits: () => Promise.reject(new Error('unused')) });
    const tools = [...callTools(TOOLS.filter((t) => t.name !== 'transfer_to_human')), ...specs.map((t) => ({ type: 'function' as const, name: t.name, description: t.description, inputSchema: t.parameters }))];
    const said = async (text: string) => (await run({ prompt: userPrompt(text), tools })).calls.map((c) => c.name);
    expect(await said('can i talk to a person')).toEqual(['transfer_call']);
    expect(await said('i want to speak to somebody')).toEqual(['transfer_call']);
    expect(await said('i will type in my account number')).toEqual(['collect_digits']);
    expect(await said('transfer me to billing')).toEqual(['transfer_call']);
    // A word in common with the examples is not a request to be handed over (a transfer hangs up).
    expect(await said('wait talk please')).toEqual([]);
    expect(await said('can we talk about my order')).not.toContain('transfer_call');
    expect(await said('has my package shipped yet? it is A12345')).toEqual(['get_order_status']);
  });

  it('asks for the required arguments it could not find instead of calling the tool', async () => {
    const r = await ask('Where is my order?');
    expect(r.calls).toEqual([]);
    expect(r.text).toBe('To look up the status of your order I need the order id.');
    expect(r.finish?.finishReason.unified).toBe('stop');
    const partial = await ask('cancel my order 5512');
    expect(partial.text).toBe('To cancel an order that has not shipped yet I need the email address.');
  });

  it('calls nothing when the call says toolChoice none, and only the named tool for toolChoice tool', async () => {
    expect((await run(callOptions('where is order A12345', { toolChoice: { type: 'none' } }))).calls).toEqual([]);
    const forced = await run(callOptions('where is order A12345', { toolChoice: { type: 'tool', toolName: 'transfer_to_human' } }));
    expect(forced.calls.map((c) => c.name)).toEqual(['transfer_to_human']);
  });

  it('numbers tool call ids after the calls already in the prompt', async () => {
    const prompt: LanguageModelV3Prompt = [
      ...userPrompt('where is my order A12345'),
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'call_1', toolName: 'get_order_status', input: {} }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', toolName: 'get_order_status', output: { type: 'json', value: {} } }] },
      { role: 'user', content: [{ type: 'text', text: 'and where is B54321?' }] },
    ];
    expect((await run({ prompt, tools: callTools() })).calls).toEqual([
      { name: 'get_order_status', input: { order_id: 'B54321' }, id: 'call_2' },
    ]);
  });
});

describe('offline model: follow-ups', () => {
  const conversation = (...turns: string[]): LanguageModelV3Prompt => [
    { role: 'system', content: 'You help Acme customers.' },
    ...turns.map((text, i) =>
      i % 2 === 0
        ? { role: 'user' as const, content: [{ type: 'text' as const, text }] }
        : { role: 'assistant' as const, content: [{ type: 'text' as const, text }] },
    ),
  ];

  it('completes a request once the customer answers the question for a missing argument', async () => {
    const prompt = conversation('Where is my order?', 'To look up the status of your order I need the order id.', 'It is A12345');
    expect((await run({ prompt, tools: callTools() })).calls).toEqual([
      { name: 'get_order_status', input: { order_id: 'A12345' }, id: 'call_1' },
    ]);
  });

  it('keeps what the earlier message gave and adds what the answer gives', async () => {
    const prompt = conversation('cancel my order 5512', 'To cancel ... I need the email address.', 'jo@example.com');
    expect((await run({ prompt, tools: callTools() })).calls[0]?.input).toEqual({ orderNumber: '5512', email: 'jo@example.com' });
  });

  it('does not carry an earlier request over to an unrelated message', async () => {
    const prompt = conversation('Where is my order?', 'To look up ... I need the order id.', 'What about the weather?');
    const r = await run({ prompt, tools: callTools() });
    expect(r.calls).toEqual([]);
    expect(r.text).toMatch(/^Sorry, I can't help with that/);
  });
});

describe('offline model: conversation', () => {
  it('says goodbye and ends the conversation when end_conversation is offered', async () => {
    for (const bye of ['goodbye', 'thanks, bye!', "ok that's all", 'Bye now']) {
      const r = await ask(bye);
      expect(r.text, bye).toMatch(/^Goodbye/);
      expect(r.calls, bye).toEqual([{ name: 'end_conversation', input: {}, id: 'call_1' }]);
    }
    const without = await run({ prompt: userPrompt('bye'), tools: callTools(TOOLS.slice(0, 2)) });
    expect(without.text).toMatch(/^Goodbye/);
    expect(without.calls).toEqual([]);
  });

  it('greets with what it can do, in plain words', async () => {
    const r = await ask('Hello there');
    expect(r.text).toBe(
      'Hello! This is Acme Support. I can look up the status of your order, cancel an order that has not shipped yet, ' +
        'book an appointment at one of our stores and transfer you to a human agent. What would you like to do?',
    );
  });

  it('says plainly it cannot help, that it is not a language model, and what it can do', async () => {
    const r = await ask('What do you think about the weather in Paris?');
    expect(r.calls).toEqual([]);
    expect(r.text).toContain("Sorry, I can't help with that.");
    expect(r.text).toContain('offline rule-based assistant, not a language model');
    expect(r.text).toContain('look up the status of your order');
    const bare = await run({ prompt: userPrompt('What is the meaning of life?') });
    expect(bare.text).toContain('No tools are set up for me yet.');
  });

  it('turns a tool result into a sentence', async () => {
    const r = await run(afterToolResult('get_order_status', { type: 'json', value: { status: 'shipped', eta: '2026-12-03' } }));
    expect(r.text).toBe('Here is what I found: status shipped, eta 2026-12-03.');
    expect(r.calls).toEqual([]);
    expect(r.finish?.finishReason.unified).toBe('stop');
  });

  it('leaves out success flags, and says plainly when nothing was found', async () => {
    const hit = await run(afterToolResult('get_order_status', { type: 'json', value: { found: true, orderId: 'A1', status: 'shipped' } }));
    expect(hit.text).toBe('Here is what I found: order id A1, status shipped.');
    const miss = await run(afterToolResult('get_order_status', { type: 'json', value: { found: false, orderId: 'A9', message: 'No order A9 was found' } }));
    expect(miss.text).toBe("I couldn't find that: No order A9 was found.");
  });

  it('describes nested objects and arrays, and text results that hold JSON', async () => {
    const value = { order: { id: 'A1', items: [{ sku: 'X', qty: 2 }, { sku: 'Y', qty: 1 }], giftWrap: false }, tags: ['a', 'b', 'c'] };
    const r = await run(afterToolResult('get_order_status', { type: 'text', value: JSON.stringify(value) }));
    expect(r.text).toBe('Here is what I found: order (id A1, items (sku X, qty 2; sku Y, qty 1), gift wrap no), tags a, b and c.');
  });

  it('says the tool failed and what it said, for error outputs and for results reporting an error', async () => {
    expect((await run(afterToolResult('get_order_status', { type: 'error-text', value: 'Order not found' }))).text).toBe(
      'Sorry, the get order status tool failed: Order not found.',
    );
    const reported = await run(afterToolResult('cancelOrder', { type: 'json', value: { ok: false, message: 'already shipped' } }));
    expect(reported.text).toBe('Sorry, the cancel order tool failed: already shipped.');
  });

  it('stays silent after end_conversation has run', async () => {
    const r = await run(afterToolResult('end_conversation', { type: 'json', value: { ended: true } }));
    expect(r.parts.map((p) => p.type)).toEqual(['stream-start', 'finish']);
  });
});

describe('offline model: the stream', () => {
  it('streams stream-start, one text block in word deltas, and a finish with usage', async () => {
    const r = await ask('What is the meaning of life?');
    const types = r.parts.map((p) => p.type);
    expect(types[0]).toBe('stream-start');
    expect(types[1]).toBe('text-start');
    expect(types.slice(-2)).toEqual(['text-end', 'finish']);
    const deltas = r.parts.filter((p) => p.type === 'text-delta');
    expect(deltas.length).toBeGreaterThan(10);
    expect(r.finish?.usage.outputTokens.total).toBe(r.text.split(/\s+/).filter(Boolean).length);
    expect(r.finish?.usage.inputTokens.total).toBe(10);
  });

  it('is deterministic: the same call gives the same parts', async () => {
    const a = await ask('book an appointment for 4 people on December 3rd downtown');
    const b = await ask('book an appointment for 4 people on December 3rd downtown');
    expect(a.parts).toEqual(b.parts);
    expect(a.calls[0]?.input).toEqual({ date: '2026-12-03', party_size: 4, store: 'downtown' });
  });

  it('stops mid-stream when aborted: the next read fails with an AbortError and nothing more arrives', async () => {
    const ac = new AbortController();
    const { stream } = await model.doStream(callOptions('What is the meaning of life?', { abortSignal: ac.signal }));
    const reader = stream.getReader();
    const first = await reader.read();
    const second = await reader.read();
    expect([first.value?.type, second.value?.type]).toEqual(['stream-start', 'text-start']);
    ac.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('refuses to start when the signal is already aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('barge-in'));
    await expect(model.doStream(callOptions('hi', { abortSignal: ac.signal }))).rejects.toMatchObject({
      name: 'AbortError',
      cause: { message: 'barge-in' },
    });
  });

  it('doGenerate returns the same decision as content', async () => {
    const result = await model.doGenerate(callOptions('where is order A12345'));
    expect(result.content).toEqual([
      { type: 'tool-call', toolCallId: 'call_1', toolName: 'get_order_status', input: '{"order_id":"A12345"}' },
    ]);
    expect(result.finishReason.unified).toBe('tool-calls');
  });
});

describe('offline model through the AI SDK', () => {
  it('runs a whole tool round with streamText: call, result, sentence', async () => {
    const lookups: unknown[] = [];
    const result = streamText({
      model,
      prompt: 'Where is my order A12345?',
      tools: {
        get_order_status: tool({
          description: TOOLS[0]!.description,
          inputSchema: jsonSchema<{ order_id: string }>(TOOLS[0]!.parameters),
          execute: (input) => {
            lookups.push(input);
            return { status: 'shipped', eta: '2026-12-03' };
          },
        }),
      },
      stopWhen: stepCountIs(3),
    });
    expect(await result.text).toBe('Here is what I found: status shipped, eta 2026-12-03.');
    expect(lookups).toEqual([{ order_id: 'A12345' }]);
    expect((await result.steps).length).toBe(2);
  });
});

describe('describeOffline', () => {
  it('tells the operator the offline model is in use and how to configure a real one', () => {
    const line = describeOffline();
    expect(line).toMatch(/offline model/);
    expect(line).toContain('not a language model');
    expect(line).toContain('model: { provider: openai, model: gpt-4o-mini, apiKey: ${OPENAI_API_KEY} }');
  });
});
