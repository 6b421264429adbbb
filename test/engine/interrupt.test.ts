import { afterEach, describe, expect, it } from 'vitest';
import { ENGINE_EVENT_CLASS, TurnAborted } from '../../src/core/events.ts';
import { INTERRUPTED_NOTE } from '../../src/engine/index.ts';
import type { ToolContext } from '../../src/engine/index.ts';
import { type TestServer, functionTool, harness, promptText, settle, startServer, userMessage, webhookTool } from './harness.ts';
import { ModelDouble, deltas, step, toolCall } from './model-double.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('interruption', () => {
  it('aborts the model stream mid-answer; nothing is said after', async () => {
    const model = new ModelDouble([step(...deltas('One, ', 'two, '), { type: 'hang' }, ...deltas('three.'))]);
    const h = harness({
      model,
      onEvent: (event, session) => {
        if (event.type === 'agent.delta' && event.text === 'two, ') session.interrupt('BargeIn');
      },
    });
    await h.session.runTurn([userMessage('count')]);

    const signal = model.signal(0);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(TurnAborted);
    expect((signal.reason as TurnAborted).kind).toBe('BargeIn');
    expect(h.types()).toEqual(['turn.started', 'agent.delta', 'agent.delta', 'turn.done']);
    expect(h.ofType('turn.done')[0]).toMatchObject({ text: 'One, two, ', interrupted: true, metrics: { steps: 1 } });
  });

  it('stops waiting on a model that ignores its signal', async () => {
    let release!: () => void;
    const model = new ModelDouble([step(...deltas('a'), { type: 'wait', until: new Promise<void>((r) => (release = r)) }, ...deltas('b'))]);
    const h = harness({ model });
    const turn = h.session.runTurn([userMessage('x')]);
    await settle();
    h.session.interrupt('NewUserMessage');
    await turn;
    expect(model.cancelled).toEqual([expect.any(TurnAborted)]);
    release();
    await settle();
    expect(h.ofType('agent.delta').map((e) => e.text)).toEqual(['a']);
    expect(h.ofType('turn.done')[0]!.interrupted).toBe(true);
  });

  it('aborts a slow function tool; the call ends as cancelled', async () => {
    let toolSignal: AbortSignal | undefined;
    const slow = (_args: unknown, ctx: ToolContext) => {
      toolSignal = ctx.signal;
      return new Promise(() => undefined); // never settles on its own
    };
    const model = new ModelDouble([step(...deltas('Checking.'), toolCall('c1', 'slow', {}))]);
    const h = harness({ model, agent: { tools: [functionTool('slow', { timeoutMs: 60_000 })] }, functions: { slow } });
    const turn = h.session.runTurn([userMessage('x')]);
    await settle();
    expect(h.types().at(-1)).toBe('tool.started:slow');
    h.session.interrupt('BargeIn');
    await turn;

    expect(toolSignal?.aborted).toBe(true);
    expect((toolSignal?.reason as TurnAborted).kind).toBe('BargeIn');
    expect(h.types()).toEqual(['turn.started', 'agent.delta', 'item:tool_call', 'tool.started:slow', 'item:tool_result', 'turn.done']);
    expect(h.ofType('item')[1]!.item).toMatchObject({ type: 'tool_result', toolCallId: 'c1', data: { error: 'cancelled' } });
    expect(h.ofType('turn.done')[0]).toMatchObject({ text: 'Checking.', interrupted: true });
    expect(model.calls).toHaveLength(1);
  });

  it('aborts a slow webhook request', async () => {
    server = await startServer(() => undefined);
    const model = new ModelDouble([step(toolCall('c1', 'lookup_order', { orderId: 'A1' }))]);
    const h = harness({ model, agent: { tools: [webhookTool('lookup_order', server.url)] } });
    const turn = h.session.runTurn([userMessage('x')]);
    const req = await server.nextRequest();
    h.session.interrupt('NewUserMessage');
    await turn;
    await req.closed;
    expect(h.ofType('item')[1]!.item.data).toEqual({ error: 'cancelled' });
  });

  it('emits no data events for the turn once it is aborted', async () => {
    const model = new ModelDouble([step(...deltas('a'), toolCall('c1', 'slow', {}), toolCall('c2', 'slow', {}))]);
    const h = harness({
      model,
      agent: { tools: [functionTool('slow')] },
      functions: { slow: () => new Promise(() => undefined) },
    });
    const turn = h.session.runTurn([userMessage('x')]);
    await settle();
    const cut = h.events.length;
    h.session.interrupt('BargeIn');
    await turn;
    const after = h.events.slice(cut).map((e) => ENGINE_EVENT_CLASS[e.type]);
    expect(after).toEqual(['durable', 'durable', 'durable']);
  });
});

describe('history holds what was delivered', () => {
  it('cuts a finished turn to the delivered text, and the next prompt says so', async () => {
    const model = new ModelDouble([step(...deltas('Your balance is forty dollars ', 'and your next bill is due Friday.')), step(...deltas('Sure.'))]);
    const h = harness({ model });
    await h.session.runTurn([userMessage('balance?')]);
    const turnId = h.ofType('turn.done')[0]!.turnId;
    h.session.interrupt('BargeIn', { turnId, text: 'Your balance is forty' });
    await h.session.runTurn([userMessage('wait, what?')]);

    const prompt = model.calls[1]!.prompt;
    expect(promptText(prompt, 'assistant')).toBe(`Your balance is forty ${INTERRUPTED_NOTE}`);
    expect(promptText(prompt, 'system')).toContain('cut off');
    expect(h.ofType('turn.done')[0]!.interrupted).toBe(false);
  });

  it('cuts a running turn to the delivered text once it winds down', async () => {
    const model = new ModelDouble([step(...deltas('Hello there, ', 'how can I help?'), { type: 'hang' }), step(...deltas('OK'))]);
    const h = harness({
      model,
      onEvent: (event, session) => {
        if (event.type === 'agent.delta' && event.text === 'how can I help?') {
          session.interrupt('BargeIn', { turnId: event.turnId, text: 'Hello' });
        }
      },
    });
    await h.session.runTurn([userMessage('hi')]);
    expect(h.ofType('turn.done')[0]).toMatchObject({ text: 'Hello there, how can I help?', interrupted: true });
    await h.session.runTurn([userMessage('yes')]);
    expect(promptText(model.calls[1]!.prompt, 'assistant')).toBe(`Hello ${INTERRUPTED_NOTE}`);
  });

  it('keeps an answer interrupted before anything was heard as a bare note', async () => {
    const model = new ModelDouble([step({ type: 'hang' }), step(...deltas('OK'))]);
    const h = harness({ model });
    const turn = h.session.runTurn([userMessage('hi')]);
    await settle();
    h.session.interrupt('NewUserMessage');
    await turn;
    await h.session.runTurn([userMessage('hello?')]);
    expect(model.calls[1]!.prompt.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(promptText(model.calls[1]!.prompt, 'assistant')).toBe(INTERRUPTED_NOTE);
  });
});
