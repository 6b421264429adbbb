import { jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { createModel, ScriptedModel as ScriptedModelCore } from '../../src/models/index.ts';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { callTool, fail, say, ScriptedModel, ScriptExhaustedError } from '../../src/testing/scripted-model.ts';
import { callOptions, makeAgent, sdkTools } from './fixtures.ts';
import { readAll, settle, textOf, toolCallsOf } from './helpers.ts';

describe('ScriptedModel', () => {
  it('consumes one step per call: deltas first, then tool calls', async () => {
    const model = new ScriptedModel([
      { deltas: ['Let me ', 'check.'], toolCalls: [{ name: 'get_order_status', args: { order_id: 'A12345' } }] },
      say('It shipped yesterday.'),
    ]);
    const first = await readAll((await model.doStream(callOptions('where is A12345'))).stream);
    expect(first.map((p) => p.type)).toEqual([
      'stream-start', 'text-start', 'text-delta', 'text-delta', 'text-end', 'tool-call', 'finish',
    ]);
    expect(textOf(first)).toBe('Let me check.');
    expect(toolCallsOf(first)).toEqual([{ name: 'get_order_status', input: { order_id: 'A12345' }, id: 'call_1_1' }]);
    const second = await readAll((await model.doStream(callOptions('thanks'))).stream);
    expect(second.filter((p) => p.type === 'text-delta').map((p) => p.type === 'text-delta' && p.delta)).toEqual([
      'It ', 'shipped ', 'yesterday.',
    ]);
    expect(second.at(-1)).toMatchObject({ type: 'finish', finishReason: { unified: 'stop' } });
    model.assertConsumed();
  });

  it('records every call so tests can assert what the model was given', async () => {
    const model = new ScriptedModel([callTool('get_order_status', { order_id: 'A12345' }), say('Shipped.')]);
    const result = streamText({
      model,
      system: 'Be brief.',
      prompt: 'Where is A12345?',
      tools: sdkTools(),
    });
    await result.consumeStream();
    expect(model.calls).toHaveLength(1);
    expect(model.transcript(0)).toEqual(['system: Be brief.', 'user: Where is A12345?']);
    expect(model.toolNames(0)).toContain('get_order_status');
    expect(model.lastCall?.prompt).toBe(model.calls[0]!.prompt);
  });

  it('shows tool calls and results of later calls in the transcript', async () => {
    const model = new ScriptedModel([callTool('lookup', { id: 'A1' }), say('Shipped.')]);
    const result = streamText({
      model,
      prompt: 'Where is A1?',
      tools: { lookup: tool({ inputSchema: jsonSchema<{ id: string }>({ type: 'object' }), execute: () => ({ status: 'shipped' }) }) },
      stopWhen: stepCountIs(3),
    });
    expect(await result.text).toBe('Shipped.');
    expect(model.transcript(1)).toEqual([
      'user: Where is A1?',
      'call lookup: {"id":"A1"}',
      'tool lookup: {"status":"shipped"}',
    ]);
    model.assertConsumed();
  });

  it('assertConsumed complains about steps nobody asked for, and calls past the script fail', async () => {
    const model = new ScriptedModel([say('one'), say('two')]);
    await readAll((await model.doStream(callOptions('hi'))).stream);
    expect(() => model.assertConsumed()).toThrow(/1 unconsumed step\(s\) of 2/);
    await readAll((await model.doStream(callOptions('hi'))).stream);
    model.assertConsumed();
    await expect(model.doStream(callOptions('hi'))).rejects.toBeInstanceOf(ScriptExhaustedError);
  });

  it('loops over its steps when asked to', async () => {
    const model = new ScriptedModel([say('a'), say('b')], { loop: true });
    const texts: string[] = [];
    for (let i = 0; i < 5; i++) texts.push(textOf(await readAll((await model.doStream(callOptions('x'))).stream)));
    expect(texts).toEqual(['a', 'b', 'a', 'b', 'a']);
    model.assertConsumed();
  });

  it('fails the stream after the deltas when the step has an error, and doGenerate throws it', async () => {
    const model = new ScriptedModel([fail('upstream exploded', 'Partial'), fail('again')]);
    const parts = await readAll((await model.doStream(callOptions('x'))).stream);
    expect(parts.map((p) => p.type)).toEqual(['stream-start', 'text-start', 'text-delta', 'text-end', 'error', 'finish']);
    expect(parts[4]).toMatchObject({ type: 'error', error: { name: 'ScriptedModelError', message: 'upstream exploded' } });
    expect(parts[5]).toMatchObject({ finishReason: { unified: 'error' } });
    await expect(model.doGenerate(callOptions('x'))).rejects.toThrow('again');
  });

  it('waits delayMs on the injected clock before each delta and tool call, never on real time', async () => {
    const clock = new FakeClock();
    const model = new ScriptedModel([{ deltas: ['a', 'b'], toolCalls: [{ name: 't', args: {} }], delayMs: 100 }], { clock });
    const reader = (await model.doStream(callOptions('x'))).stream.getReader();
    expect((await reader.read()).value?.type).toBe('stream-start');
    expect((await reader.read()).value?.type).toBe('text-start');
    let delta: unknown;
    const pending = reader.read().then((r) => (delta = r.value));
    await settle();
    expect(delta).toBeUndefined();
    expect(clock.pending()).toBe(1);
    clock.advance(99);
    await settle();
    expect(delta).toBeUndefined();
    clock.advance(1);
    await pending;
    expect(delta).toMatchObject({ type: 'text-delta', delta: 'a' });
    const next = reader.read();
    await settle();
    clock.advance(100);
    expect((await next).value).toMatchObject({ type: 'text-delta', delta: 'b' });
    expect((await reader.read()).value?.type).toBe('text-end');
    const call = reader.read();
    await settle();
    clock.advance(100);
    expect((await call).value).toMatchObject({ type: 'tool-call', toolName: 't' });
    expect(clock.monotonic()).toBe(300);
  });

  it('stops promptly when aborted while waiting: the read fails, the timer is cancelled, nothing more comes', async () => {
    const clock = new FakeClock();
    const model = new ScriptedModel([{ deltas: ['a', 'b', 'c'], delayMs: 50 }], { clock });
    const ac = new AbortController();
    const reader = (await model.doStream(callOptions('x', { abortSignal: ac.signal }))).stream.getReader();
    await reader.read();
    await reader.read();
    const waiting = reader.read();
    await settle();
    expect(clock.pending()).toBe(1);
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    expect(clock.pending()).toBe(0);
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('stops between parts when aborted without delays, and refuses calls on an aborted signal', async () => {
    const model = new ScriptedModel([say('one two three four'), say('never')]);
    const ac = new AbortController();
    const reader = (await model.doStream(callOptions('x', { abortSignal: ac.signal }))).stream.getReader();
    const seen = [(await reader.read()).value?.type, (await reader.read()).value?.type, (await reader.read()).value?.type];
    expect(seen).toEqual(['stream-start', 'text-start', 'text-delta']);
    ac.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
    await expect(model.doStream(callOptions('x', { abortSignal: ac.signal }))).rejects.toMatchObject({ name: 'AbortError' });
    expect(model.calls).toHaveLength(1);
  });

  it('cancelling the stream cancels a pending delay timer', async () => {
    const clock = new FakeClock();
    const model = new ScriptedModel([{ deltas: ['a'], delayMs: 10 }], { clock });
    const { stream } = await model.doStream(callOptions('x'));
    const reader = stream.getReader();
    await reader.read();
    await reader.read();
    void reader.read().catch(() => undefined);
    await settle();
    expect(clock.pending()).toBe(1);
    await reader.cancel();
    expect(clock.pending()).toBe(0);
  });

  it('uses no timers at all without delayMs (the benchmark path)', async () => {
    const clock = new FakeClock();
    const deltas = Array.from({ length: 20 }, (_, i) => `w${i} `);
    const model = createModel({ provider: 'scripted', steps: [{ deltas }], loop: true }, { agent: makeAgent(), clock });
    for (let i = 0; i < 50; i++) {
      const parts = await readAll((await model.doStream(callOptions('x'))).stream);
      expect(parts).toHaveLength(24);
    }
    expect(clock.pending()).toBe(0);
    expect(clock.monotonic()).toBe(0);
    // A config's scripted model keeps no history: benchmarks call it for as long as they run.
    expect(model).toBeInstanceOf(ScriptedModelCore);
    expect((model as ScriptedModelCore).calls).toHaveLength(0);
    expect((model as ScriptedModelCore).callsMade).toBe(50);
  });
});
