import type { LanguageModelV3CallOptions, LanguageModelV3FunctionTool, LanguageModelV3Prompt } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import type { Item } from '../../src/core/conversation.ts';
import type { EngineEvent } from '../../src/core/events.ts';
import { newId } from '../../src/core/ids.ts';
import { createSession, type CustomerServices } from '../../src/engine/index.ts';
import { createOfflineModel } from '../../src/models/offline.ts';
import { testAgent } from '../../src/testing/agent.ts';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { ScriptedModel, callTool, say } from '../../src/testing/scripted-model.ts';

/**
 * The engine's side of channel transitions: the built-in `send_message` (offered only when the
 * platform can send, idempotency key, failures as results), context added without a turn, and the
 * offline model's "text me the link".
 */

const clock = new FakeClock(Date.UTC(2026, 2, 2, 9));

function item(role: Item['role'], text: string): Item {
  return { id: newId('itm'), conversationId: 'conv_call', role, type: 'message', text, interrupted: false, createdAt: clock.now() };
}

function session(model: ScriptedModel, services?: CustomerServices) {
  const events: EngineEvent[] = [];
  const s = createSession({
    agent: testAgent({ instructions: 'You help.', maxSteps: 4, turnTimeoutMs: 30_000 }),
    conversation: {
      id: 'conv_call', agent: 'support', channel: 'voice', mode: 'realtime', status: 'active', customerId: 'cus_1',
      context: {}, createdAt: 0, updatedAt: 0,
    },
    history: [],
    ...(services ? { services } : {}),
    model,
    functions: {},
    clock,
    emit: (e) => events.push(e),
  });
  return { s, events };
}

describe('send_message in the engine', () => {
  it('is offered only with a sendMessage service; the call id and turn make its key; a refusal is the result', async () => {
    const without = new ScriptedModel([say('Hi.')]);
    await session(without).s.runTurn([item('user', 'hello')]);
    expect(without.toolNames(0)).not.toContain('send_message');

    const sent: [string, string, string][] = [];
    const services: CustomerServices = {
      sendMessage: (channel, text, key) => {
        sent.push([channel, text, key]);
        if (channel === 'email') return Promise.reject(Object.assign(new Error('no email address on file'), { code: 'no_email_address' }));
        return Promise.resolve({ sent: true, channel, to: '+15550001111', conversationId: 'conv_sms' });
      },
    };
    const model = new ScriptedModel([
      callTool('send_message', { channel: 'sms', text: 'https://track.example/A1' }, { text: "I'll text it to you." }),
      callTool('send_message', { channel: 'email', text: 'The receipt.' }),
      say('Done.'),
    ]);
    const { s, events } = session(model, services);
    await s.runTurn([item('user', 'text me the link and email me the receipt')]);
    expect(model.toolNames(0)).toContain('send_message');
    const turnId = events.find((e) => e.type === 'turn.started')!.turnId;
    expect(sent).toEqual([
      ['sms', 'https://track.example/A1', `conv_call/${turnId}/call_1_1`],
      ['email', 'The receipt.', `conv_call/${turnId}/call_2_1`],
    ]);
    const results = events.flatMap((e) => (e.type === 'item' && e.item.type === 'tool_result' ? [e.item.data] : []));
    expect(results).toEqual([
      { sent: true, channel: 'sms', to: '+15550001111', conversationId: 'conv_sms' },
      { error: { code: 'no_email_address', message: 'no email address on file' } },
    ]);
  });

  it('rejects a message over 1600 characters before it reaches the platform', async () => {
    const sent: string[] = [];
    const model = new ScriptedModel([callTool('send_message', { channel: 'sms', text: 'x'.repeat(1601) }), say('Sorry.')]);
    const { s, events } = session(model, { sendMessage: (_c, text) => (sent.push(text), Promise.resolve({ sent: true })) });
    await s.runTurn([item('user', 'text me')]);
    expect(sent).toEqual([]);
    const result = events.find((e) => e.type === 'item' && e.item.type === 'tool_result');
    expect(result?.type === 'item' && (result.item.data as { error: { code: string } }).error.code).toBe('tool_invalid_arguments');
  });
});

describe('context added to a live session', () => {
  it('starts no turn; the next turn sees it, after the answer of a turn it arrived during', async () => {
    const model = new ScriptedModel([say('One moment.'), say('Thanks, I see your text.')]);
    const { s, events } = session(model);
    s.addContext([item('user', '[SMS] before any turn')]);
    expect(events).toEqual([]);

    const first = s.runTurn([item('user', 'hello')]);
    s.addContext([item('user', '[SMS] during the turn')]);
    await first;
    expect(events.filter((e) => e.type === 'turn.started')).toHaveLength(1);

    await s.runTurn([item('user', 'did you get it?')]);
    expect(model.transcript(1).slice(1)).toEqual([
      'user: [SMS] before any turn',
      'user: hello',
      'assistant: One moment.',
      'user: [SMS] during the turn',
      'user: did you get it?',
    ]);
  });
});

describe('the offline model and send_message', () => {
  const sendMessage: LanguageModelV3FunctionTool = {
    type: 'function', name: 'send_message', description: 'Send the customer a text message or an email.',
    inputSchema: { type: 'object', properties: { channel: { type: 'string', enum: ['sms', 'email'] }, text: { type: 'string' } }, required: ['channel', 'text'] },
  };
  const model = createOfflineModel({ agent: testAgent({ tools: [] }), clock });
  const options = (prompt: LanguageModelV3Prompt): LanguageModelV3CallOptions => ({ prompt, tools: [sendMessage] });
  const conversation = (ask: string): LanguageModelV3Prompt => [
    { role: 'system', content: 'You help.' },
    { role: 'user', content: [{ type: 'text', text: 'where is my parcel' }] },
    { role: 'assistant', content: [{ type: 'text', text: 'It is on its way: https://track.example/A1' }] },
    { role: 'user', content: [{ type: 'text', text: ask }] },
  ];

  it("texts or emails the agent's previous message, with a line before", () => {
    expect(model.decide(options(conversation('can you text me the tracking link?')))).toEqual({
      text: "I'll text it to you now.",
      toolCalls: [{ toolCallId: 'call_1', toolName: 'send_message', input: { channel: 'sms', text: 'It is on its way: https://track.example/A1' } }],
    });
    expect(model.decide(options(conversation('can you send me that by email')))).toMatchObject({
      text: "I'll email it to you now.",
      toolCalls: [{ toolName: 'send_message', input: { channel: 'email', text: 'It is on its way: https://track.example/A1' } }],
    });
  });

  it('describes the result, sent or refused', () => {
    const after = (output: object): LanguageModelV3Prompt => [
      ...conversation('text me the link'),
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'call_1', toolName: 'send_message', input: {} }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', toolName: 'send_message', output: output as never }] },
    ];
    expect(model.decide(options(after({ type: 'json', value: { sent: true, channel: 'sms', to: '+15550102000', conversationId: 'conv_1' } }))).text)
      .toBe("Done: I've texted it to your number ending in 2000.");
    expect(model.decide(options(after({ type: 'error-json', value: { error: { code: 'no_phone_number', message: 'no phone number on file' } } }))).text)
      .toBe("Sorry, I couldn't send it: no phone number on file.");
  });
});
