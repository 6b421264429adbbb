import { APICallError } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import { ScriptedModel, fail } from '../../src/testing/scripted-model.ts';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { harness, settle, userMessage } from './harness.ts';
import { ModelDouble, deltas, step } from './model-double.ts';

function apiError(statusCode: number): APICallError {
  return new APICallError({ message: `HTTP ${statusCode}`, url: 'https://api.example/v1', requestBodyValues: {}, statusCode });
}

describe('model errors', () => {
  it('stop the turn mid-answer: turn.error, then turn.done with what was said', async () => {
    const model = new ModelDouble([step(...deltas('Your order '), { type: 'error', error: apiError(503) }, ...deltas('never'))]);
    const h = harness({ model });
    await h.session.runTurn([userMessage('order?')]);
    expect(h.types()).toEqual(['turn.started', 'agent.delta', 'turn.error', 'turn.done']);
    expect(h.ofType('turn.error')[0]!.error).toMatchObject({ code: 'model_unavailable', retryable: true });
    expect(h.ofType('turn.done')[0]).toMatchObject({ text: 'Your order ', interrupted: false });
  });

  it('classify a refused call before any output', async () => {
    const model = new ModelDouble([{ reject: apiError(401) }]);
    const h = harness({ model });
    await h.session.runTurn([userMessage('hi')]);
    expect(h.types()).toEqual(['turn.started', 'turn.error', 'turn.done']);
    expect(h.ofType('turn.error')[0]!.error).toMatchObject({ code: 'model_auth_failed', retryable: false });
    expect(h.session.busy).toBe(false);
  });

  it('report a failed stream of the scripted model', async () => {
    const h = harness({ model: new ScriptedModel([fail('boom', 'Hel')]) });
    await h.session.runTurn([userMessage('hi')]);
    expect(h.ofType('turn.error')[0]!.error).toMatchObject({ code: 'model_failed', retryable: false });
    expect(h.ofType('turn.done')[0]!.text).toBe('Hel');
    expect(h.types()).toEqual(['turn.started', 'agent.delta', 'turn.error', 'turn.done']);
  });

  it('time out a model stream past the turn budget', async () => {
    const clock = new FakeClock();
    const model = new ModelDouble([step(...deltas('Hmm'), { type: 'hang' })]);
    const h = harness({ model, clock, agent: { turnTimeoutMs: 10_000 } });
    const turn = h.session.runTurn([userMessage('hi')]);
    await settle();
    clock.advance(10_000);
    await turn;
    expect(model.signal(0).aborted).toBe(true);
    expect(h.ofType('turn.error')[0]!.error).toMatchObject({ code: 'model_timeout', retryable: true });
    expect(h.ofType('turn.done')[0]).toMatchObject({ text: 'Hmm', interrupted: false });
  });
});
