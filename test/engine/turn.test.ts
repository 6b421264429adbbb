import type { LanguageModelV3FunctionTool } from '@ai-sdk/provider';
import { afterEach, describe, expect, it } from 'vitest';
import { isOperatorError } from '../../src/core/errors.ts';
import { STEP_LIMIT_APOLOGY, builtinToolSpecs } from '../../src/engine/index.ts';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { ScriptedModel, callTool, say } from '../../src/testing/scripted-model.ts';
import { type TestServer, harness, json, promptText, settle, startServer, userMessage, webhookTool } from './harness.ts';
import { ModelDouble, deltas, step, toolCall } from './model-double.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('a turn with a tool round', () => {
  it('streams, runs the tool, and answers with its result', async () => {
    server = await startServer((_req, res) => json(res, 200, { status: 'shipped' }));
    const model = new ModelDouble([
      step(...deltas('Let me ', 'check.'), toolCall('c1', 'lookup_order', { orderId: 'A1' })),
      step(...deltas('Your order ', 'has shipped.')),
    ]);
    const clock = new FakeClock();
    const h = harness({ model, clock, agent: { tools: [webhookTool('lookup_order', server.url)] } });

    await h.session.runTurn([userMessage('Where is my order A1?')]);

    expect(h.types()).toEqual([
      'turn.started',
      'agent.delta',
      'agent.delta',
      'item:tool_call',
      'tool.started:lookup_order',
      'tool.finished:lookup_order',
      'item:tool_result',
      'agent.delta',
      'agent.delta',
      'turn.done',
    ]);
    const done = h.ofType('turn.done')[0]!;
    expect(done).toMatchObject({ text: 'Let me check. Your order has shipped.', interrupted: false });
    expect(done.metrics.steps).toBe(2);
    expect(done.metrics.firstDeltaMs).toBe(0);

    const [call, result] = h.ofType('item').map((e) => e.item);
    const turnId = h.ofType('turn.started')[0]!.turnId;
    expect(call).toMatchObject({ role: 'agent', type: 'tool_call', toolCallId: 'c1', toolName: 'lookup_order', data: { orderId: 'A1' }, turnId, conversationId: 'conv_test', createdAt: clock.now() });
    expect(result).toMatchObject({ role: 'tool', type: 'tool_result', toolCallId: 'c1', data: { status: 'shipped' }, turnId });
    expect(call!.id).toMatch(/^itm_/);
    expect(h.ofType('tool.finished')[0]).toMatchObject({ ok: true, callId: 'c1' });

    // The first call offers the tool; the second sees its call and its result.
    const tools = model.calls[0]!.tools as LanguageModelV3FunctionTool[];
    expect(tools.map((t) => [t.type, t.name, t.inputSchema])).toEqual([
      ['function', 'lookup_order', webhookTool('x', '').parameters],
      ['function', 'end_conversation', builtinToolSpecs()[0]!.parameters],
    ]);
    const second = model.calls[1]!.prompt;
    expect(second.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(second[2]!.content).toEqual([
      { type: 'text', text: 'Let me check.' },
      { type: 'tool-call', toolCallId: 'c1', toolName: 'lookup_order', input: { orderId: 'A1' } },
    ]);
    expect(second[3]!.content).toEqual([
      { type: 'tool-result', toolCallId: 'c1', toolName: 'lookup_order', output: { type: 'json', value: { status: 'shipped' } } },
    ]);
    model.assertConsumed();
  });

  it('remembers the turn: the next prompt holds the tool items and the answer', async () => {
    server = await startServer((_req, res) => json(res, 200, { status: 'shipped' }));
    const model = new ModelDouble([
      step(toolCall('c1', 'lookup_order', { orderId: 'A1' })),
      step(...deltas('Shipped.')),
      step(...deltas('You are welcome.')),
    ]);
    const h = harness({ model, agent: { tools: [webhookTool('lookup_order', server.url)] } });
    await h.session.runTurn([userMessage('Where is A1?')]);
    await h.session.runTurn([userMessage('Thanks')]);

    const prompt = model.calls[2]!.prompt;
    expect(prompt.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant', 'user']);
    expect(promptText(prompt, 'assistant')).toBe('Shipped.');
    expect(promptText(prompt, 'user')).toBe('Where is A1?\nThanks');
  });

  it('runs the tool calls of one step in parallel', async () => {
    const held: (() => void)[] = [];
    server = await startServer((req, res) => {
      held.push(() => json(res, 200, { echo: (req.json as { arguments: unknown }).arguments }));
      if (held.length === 2) for (const release of held) release(); // both arrived before either answered
    });
    const model = new ModelDouble([
      step(toolCall('a', 'lookup_order', { orderId: 'A' }), toolCall('b', 'lookup_order', { orderId: 'B' })),
      step(...deltas('Both found.')),
    ]);
    const h = harness({ model, agent: { tools: [webhookTool('lookup_order', server.url)] } });
    await h.session.runTurn([userMessage('A and B?')]);

    expect(h.types().slice(0, 5)).toEqual([
      'turn.started',
      'item:tool_call',
      'tool.started:lookup_order',
      'item:tool_call',
      'tool.started:lookup_order',
    ]);
    const results = model.calls[1]!.prompt.at(-1)!.content;
    expect(results).toMatchObject([
      { toolCallId: 'a', output: { value: { echo: { orderId: 'A' } } } },
      { toolCallId: 'b', output: { value: { echo: { orderId: 'B' } } } },
    ]);
  });

  it('stops at maxSteps: the last step may not call tools, and a stubborn model gets an apology', async () => {
    const calls: unknown[] = [];
    const model = new ModelDouble([
      step(toolCall('1', 'ping', {})),
      step(toolCall('2', 'ping', {})),
      step(...deltas('Still'), toolCall('3', 'ping', {})),
    ]);
    const h = harness({
      model,
      agent: { maxSteps: 3, tools: [{ kind: 'function', name: 'ping', description: 'ping', parameters: { type: 'object' }, examples: [], timeoutMs: 100 }] },
      functions: { ping: (args) => calls.push(args) },
    });
    await h.session.runTurn([userMessage('go')]);

    expect(model.calls.map((c) => c.toolChoice)).toEqual([{ type: 'auto' }, { type: 'auto' }, { type: 'none' }]);
    expect(calls).toHaveLength(2);
    expect(h.ofType('item')).toHaveLength(4);
    expect(h.ofType('turn.done')[0]).toMatchObject({ text: `Still ${STEP_LIMIT_APOLOGY}`, metrics: { steps: 3 } });
  });

  it('passes model settings through and offers only the built-in tools when the agent has none', async () => {
    const model = new ModelDouble([step(...deltas('Hi'))]);
    const h = harness({ model, agent: { modelSettings: { temperature: 0.2, maxOutputTokens: 99 } } });
    await h.session.runTurn([userMessage('hello')]);
    expect(model.calls[0]).toMatchObject({ temperature: 0.2, maxOutputTokens: 99 });
    expect((model.calls[0]!.tools ?? []).map((t) => t.name)).toEqual(['end_conversation']);
  });
});

describe('with the shared ScriptedModel', () => {
  it('runs a tool round the model sees in its next prompt', async () => {
    server = await startServer((_req, res) => json(res, 200, { status: 'shipped' }));
    const model = new ScriptedModel([callTool('lookup_order', { orderId: 'A1' }, { text: 'One moment.' }), say('It has shipped.')]);
    const h = harness({ model, agent: { tools: [webhookTool('lookup_order', server.url)] } });
    await h.session.runTurn([userMessage('Where is A1?')]);
    expect(model.toolNames(0)).toEqual(['lookup_order', 'end_conversation']);
    expect(model.transcript(1).slice(1)).toEqual([
      'user: Where is A1?',
      'assistant: One moment.',
      'call lookup_order: {"orderId":"A1"}',
      'tool lookup_order: {"status":"shipped"}',
    ]);
    expect(h.ofType('turn.done')[0]!.text).toBe('One moment. It has shipped.');
    model.assertConsumed();
  });

  it('is interrupted between paced deltas on a fake clock', async () => {
    const clock = new FakeClock();
    const model = new ScriptedModel([say('one two three', { delayMs: 100 })], { clock });
    const h = harness({ model, clock });
    const turn = h.session.runTurn([userMessage('count')]);
    await settle();
    clock.advance(100);
    await settle();
    expect(h.ofType('agent.delta').map((e) => e.text)).toEqual(['one ']);
    h.session.interrupt('BargeIn');
    await turn;
    clock.advance(1000);
    await settle();
    expect(model.lastCall?.abortSignal?.aborted).toBe(true);
    expect(h.ofType('agent.delta').map((e) => e.text)).toEqual(['one ']);
    expect(h.ofType('turn.done')[0]).toMatchObject({ text: 'one ', interrupted: true });
  });
});

describe('greet', () => {
  it('speaks the templated greeting as its own turn without calling the model', async () => {
    const model = new ModelDouble([step(...deltas('Sure.'))]);
    const h = harness({ model, agent: { greeting: 'Hi {{customer.name}}, this is {{agent.name}}.' } });
    await h.session.greet();
    expect(h.types()).toEqual(['turn.started', 'agent.delta', 'turn.done']);
    expect(h.ofType('agent.delta')[0]!.text).toBe('Hi Grace, this is Ada.');
    expect(h.ofType('turn.done')[0]).toMatchObject({ text: 'Hi Grace, this is Ada.', interrupted: false, metrics: { steps: 0 } });
    expect(model.calls).toHaveLength(0);

    await h.session.runTurn([userMessage('hello')]);
    expect(model.calls[0]!.prompt.map((m) => m.role)).toEqual(['system', 'assistant', 'user']);
    expect(promptText(model.calls[0]!.prompt, 'assistant')).toBe('Hi Grace, this is Ada.');
  });

  it('does nothing without a greeting', async () => {
    const h = harness({ model: new ModelDouble([]) });
    await h.session.greet();
    expect(h.events).toEqual([]);
  });
});

describe('one turn at a time', () => {
  it('refuses a turn while another runs', async () => {
    expect.assertions(3);
    const model = new ModelDouble([step(...deltas('a'), { type: 'hang' })]);
    const h = harness({ model });
    const first = h.session.runTurn([userMessage('one')]);
    expect(h.session.busy).toBe(true);
    try {
      await h.session.runTurn([userMessage('two')]);
    } catch (err) {
      expect(isOperatorError(err) && [err.kind, err.code]).toEqual(['conflict', 'turn_in_progress']);
    }
    h.session.interrupt('NewUserMessage');
    await first;
    expect(h.session.busy).toBe(false);
  });

  it('starts the next turn once an interrupted one has wound down', async () => {
    const model = new ModelDouble([step(...deltas('a'), { type: 'hang' }), step(...deltas('b'))]);
    const h = harness({ model });
    const first = h.session.runTurn([userMessage('one')]);
    await new Promise((resolve) => setImmediate(resolve));
    h.session.interrupt('NewUserMessage');
    const second = h.session.runTurn([userMessage('two')]);
    await Promise.all([first, second]);
    expect(h.types()).toEqual(['turn.started', 'agent.delta', 'turn.done', 'turn.started', 'agent.delta', 'turn.done']);
    expect(h.ofType('turn.done').map((e) => e.interrupted)).toEqual([true, false]);
  });

  it('emits nothing after close, and refuses new turns', async () => {
    expect.assertions(3);
    const model = new ModelDouble([step(...deltas('a'), { type: 'hang' })]);
    const h = harness({ model });
    const turn = h.session.runTurn([userMessage('one')]);
    await new Promise((resolve) => setImmediate(resolve));
    const before = h.events.length;
    h.session.close();
    await turn;
    expect(h.events).toHaveLength(before);
    expect(model.signal(0).aborted).toBe(true);
    await h.session.runTurn([userMessage('two')]).catch((err: unknown) => {
      expect(isOperatorError(err) && err.code).toBe('session_closed');
    });
  });
});
