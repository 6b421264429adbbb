import { describe, expect, it } from 'vitest';
import { OperatorError } from '../../src/core/errors.ts';
import { END_CONVERSATION, builtinToolSpecs } from '../../src/engine/index.ts';
import type { ToolContext } from '../../src/engine/index.ts';
import { ScriptedModel, callTool, say } from '../../src/testing/scripted-model.ts';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { functionTool, harness, settle, userMessage } from './harness.ts';
import { ModelDouble, deltas, step, toolCall } from './model-double.ts';

describe('function tools', () => {
  it('get their arguments and the tool context', async () => {
    let seen: { args: unknown; ctx: ToolContext } | undefined;
    const model = new ModelDouble([step(toolCall('c1', 'refund', { amount: 5 })), step(...deltas('Done.'))]);
    const h = harness({
      model,
      context: { orderId: 'A1' },
      agent: { tools: [functionTool('refund', { parameters: { type: 'object', properties: { amount: { type: 'number' } } } })] },
      functions: {
        refund: (args, ctx) => {
          seen = { args, ctx };
          return { refunded: args.amount };
        },
      },
    });
    await h.session.runTurn([userMessage('refund me')]);
    expect(seen?.args).toEqual({ amount: 5 });
    expect(seen?.ctx).toMatchObject({ conversationId: 'conv_test', agentId: 'support', channel: 'chat', callId: 'c1', context: { orderId: 'A1' }, customer: { id: 'cus_1' } });
    expect(seen?.ctx.turnId).toBe(h.ofType('turn.started')[0]!.turnId);
    expect(h.ofType('item')[1]!.item.data).toEqual({ refunded: 5 });
  });

  it('turn a missing function, a throw and a timeout into results the model reads', async () => {
    const clock = new FakeClock();
    const model = new ModelDouble([
      step(toolCall('a', 'missing', {}), toolCall('b', 'broken', {}), toolCall('c', 'coded', {}), toolCall('d', 'stuck', {})),
      step(...deltas('Sorry.')),
    ]);
    const h = harness({
      model,
      clock,
      agent: { tools: ['missing', 'broken', 'coded', 'stuck'].map((name) => functionTool(name, { timeoutMs: 500 })) },
      functions: {
        broken: () => {
          throw new Error('database down');
        },
        coded: () => Promise.reject(new OperatorError('application', 'order_locked', 'the order is locked')),
        stuck: () => new Promise(() => undefined),
      },
    });
    const turn = h.session.runTurn([userMessage('go')]);
    await settle();
    clock.advance(500);
    await turn;
    const results = Object.fromEntries(h.ofType('item').filter((e) => e.item.type === 'tool_result').map((e) => [e.item.toolCallId, e.item.data]));
    expect(results).toEqual({
      a: { error: { code: 'tool_not_implemented', message: 'no function is registered for the tool missing' } },
      b: { error: { code: 'tool_failed', message: 'database down' } },
      c: { error: { code: 'order_locked', message: 'the order is locked' } },
      d: { error: { code: 'tool_timeout', message: 'stuck did not finish within 500 ms' } },
    });
    expect(h.ofType('turn.done')[0]).toMatchObject({ text: 'Sorry.', interrupted: false });
  });

  it('refuses an agent whose tool schema is not a JSON Schema', () => {
    expect.assertions(1);
    try {
      harness({ model: new ModelDouble([]), agent: { tools: [functionTool('bad', { parameters: { type: 'nonsense' } })] } });
    } catch (err) {
      expect((err as OperatorError).code).toBe('tool_schema_invalid');
    }
  });
});

describe('end_conversation', () => {
  const spec = builtinToolSpecs()[0]!;

  it('is described for the config layer', () => {
    expect(spec).toMatchObject({ kind: 'builtin', name: END_CONVERSATION });
    expect(spec.examples).toEqual(expect.arrayContaining(['goodbye', "that's all, thanks"]));
    expect(spec.description.length).toBeGreaterThan(20);
  });

  it('ends the conversation after the turn that said goodbye', async () => {
    const events: string[] = [];
    let turnId = '';
    const model = new ScriptedModel([callTool(END_CONVERSATION, { reason: 'customer is done' }), say('Goodbye, Grace!')]);
    const h = harness({ model, agent: { tools: [spec] } });
    await h.session.runTurn([userMessage("that's all, thanks")]);
    for (const e of h.events) {
      events.push(e.type === 'item' ? `item:${e.item.type}` : e.type);
      if (e.type === 'turn.started') turnId = e.turnId;
    }
    expect(events).toEqual([
      'turn.started',
      'item:tool_call',
      'tool.started',
      'tool.finished',
      'item:tool_result',
      'agent.delta',
      'agent.delta',
      'turn.done',
      'conversation.end',
    ]);
    expect(h.events.at(-1)).toEqual({ type: 'conversation.end', reason: 'agent', turnId });
    expect(h.ofType('turn.done')[0]!.text).toBe('Goodbye, Grace!');
    model.assertConsumed();
  });

  it('needs no further model step when the goodbye came with the call', async () => {
    const model = new ModelDouble([step(...deltas('Goodbye!'), toolCall('c1', END_CONVERSATION, {}))]);
    const h = harness({ model, agent: { tools: [spec] } });
    await h.session.runTurn([userMessage('bye')]);
    model.assertConsumed();
    expect(h.types().slice(-2)).toEqual(['turn.done', 'conversation.end']);
    expect(h.ofType('turn.done')[0]).toMatchObject({ text: 'Goodbye!', metrics: { steps: 1 } });
  });

  it('does not end the conversation when the goodbye is interrupted', async () => {
    const model = new ModelDouble([step(toolCall('c1', END_CONVERSATION, {})), step(...deltas('Good'), { type: 'hang' })]);
    const h = harness({
      model,
      agent: { tools: [spec] },
      onEvent: (event, session) => {
        if (event.type === 'agent.delta') session.interrupt('BargeIn');
      },
    });
    await h.session.runTurn([userMessage('bye')]);
    expect(h.types().at(-1)).toBe('turn.done');
    expect(h.ofType('conversation.end')).toHaveLength(0);
  });
});
