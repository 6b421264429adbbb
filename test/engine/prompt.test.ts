import { afterEach, describe, expect, it } from 'vitest';
import type { Item } from '../../src/core/conversation.ts';
import { DEFAULT_CHANNEL_STYLE, INTERRUPTED_NOTE, itemsToMessages, renderTemplate } from '../../src/engine/index.ts';
import { type TestServer, harness, startServer, json, userMessage, webhookTool } from './harness.ts';
import { ModelDouble, deltas, step, toolCall } from './model-double.ts';

describe('renderTemplate', () => {
  const vars = { context: { orderId: 'A1', items: [{ sku: 'X' }], n: 3, ok: false }, channel: 'sms', agent: { name: 'Ada' } };

  it('fills dotted paths', () => {
    expect(renderTemplate('{{context.orderId}} {{ channel }} {{agent.name}} {{context.items.0.sku}} {{context.n}} {{context.ok}}', vars)).toBe(
      'A1 sms Ada X 3 false',
    );
  });

  it('renders missing values as empty and objects as JSON', () => {
    expect(renderTemplate('[{{customer.phone}}][{{context.missing.deep}}][{{context.items}}]', vars)).toBe('[][][[{"sku":"X"}]]');
  });

  it('runs no code and reaches no prototypes', () => {
    expect(renderTemplate('{{constructor.name}}{{context.toString}}{{context.orderId.length}}{{ 1 + 1 }}', vars)).toBe('{{ 1 + 1 }}');
  });
});

describe('the system prompt', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('templates the instructions with context, customer, channel, agent and time', async () => {
    const model = new ModelDouble([step(...deltas('ok'))]);
    const h = harness({
      model,
      channel: 'voice',
      context: { orderId: 'A1' },
      agent: { instructions: 'Order {{context.orderId}} for {{customer.phone}} ({{customer.name}}) on {{channel}}; I am {{agent.name}}. It is {{now}}.{{context.none}}' },
    });
    await h.session.runTurn([userMessage('hi')]);
    const system = model.calls[0]!.prompt[0]!;
    expect(system.role).toBe('system');
    const text = system.content as string;
    expect(text.startsWith('Order A1 for +15550001111 (Grace) on voice; I am Ada. It is 2026-01-01T00:00:00.000Z.\n')).toBe(true);
    expect(text).toContain(DEFAULT_CHANNEL_STYLE.voice);
    expect(text).toContain('Conversation context: {"orderId":"A1"}');
    expect(text).toContain('Customer: Grace, phone +15550001111');
  });

  it("uses the agent's style for a channel instead of the default", async () => {
    const model = new ModelDouble([step(...deltas('ok'))]);
    const h = harness({ model, channel: 'email', agent: { channelStyle: { email: 'Sign as {{agent.name}} from Acme.' } } });
    await h.session.runTurn([userMessage('hi')]);
    const text = model.calls[0]!.prompt[0]!.content as string;
    expect(text).toContain('Sign as Ada from Acme.');
    expect(text).not.toContain(DEFAULT_CHANNEL_STYLE.email);
  });

  it('gives each channel a distinct default style', () => {
    expect(DEFAULT_CHANNEL_STYLE.voice).toMatch(/no markdown/i);
    expect(DEFAULT_CHANNEL_STYLE.sms).toMatch(/no markdown/i);
    expect(DEFAULT_CHANNEL_STYLE.chat).toMatch(/markdown is allowed/i);
    expect(DEFAULT_CHANNEL_STYLE.email).toMatch(/greeting and a sign-off/);
  });

  it('sends the conversation context to webhook tools', async () => {
    server = await startServer((_req, res) => json(res, 200, {}));
    const model = new ModelDouble([step(toolCall('c1', 'lookup_order', { orderId: 'A1' })), step(...deltas('ok'))]);
    const h = harness({ model, context: { orderId: 'A1', tier: 'gold' }, agent: { tools: [webhookTool('lookup_order', server.url)] } });
    await h.session.runTurn([userMessage('hi')]);
    expect(server.received[0]!.json).toMatchObject({ context: { orderId: 'A1', tier: 'gold' }, customer: { id: 'cus_1' } });
  });
});

describe('history to messages', () => {
  const base = { conversationId: 'conv_1', interrupted: false, createdAt: 0 };
  const item = (n: number, fields: Partial<Item> & Pick<Item, 'role' | 'type'>): Item => ({ id: `itm_${n}`, text: '', ...base, ...fields });

  it('pairs tool calls with their results and marks cut answers', () => {
    const messages = itemsToMessages([
      item(1, { role: 'user', type: 'message', text: 'Where is A1?' }),
      item(2, { role: 'agent', type: 'tool_call', toolCallId: 'c1', toolName: 'lookup', data: { id: 'A1' } }),
      item(3, { role: 'tool', type: 'tool_result', toolCallId: 'c1', toolName: 'lookup', data: { status: 'shipped' } }),
      item(4, { role: 'agent', type: 'message', text: 'It shipped on', interrupted: true }),
      item(5, { role: 'user', type: 'dtmf', text: '1' }),
      item(6, { role: 'system', type: 'event', text: 'call transferred' }),
      item(7, { role: 'human', type: 'message', text: 'Hi, Bob here.' }),
    ]);
    expect(messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Where is A1?' }] },
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'lookup', input: { id: 'A1' } }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'c1', toolName: 'lookup', output: { type: 'json', value: { status: 'shipped' } } }] },
      { role: 'assistant', content: [{ type: 'text', text: `It shipped on ${INTERRUPTED_NOTE}` }] },
      { role: 'user', content: [{ type: 'text', text: '[keypad: 1]' }, { type: 'text', text: '[system: call transferred]' }] },
      { role: 'assistant', content: [{ type: 'text', text: '[human agent] Hi, Bob here.' }] },
    ]);
  });

  it('answers a tool call left without a result, so providers accept the prompt', () => {
    const messages = itemsToMessages([
      item(1, { role: 'agent', type: 'tool_call', toolCallId: 'c1', toolName: 'lookup', data: {} }),
      item(2, { role: 'user', type: 'message', text: 'hello?' }),
    ]);
    expect(messages.map((m) => m.role)).toEqual(['assistant', 'tool', 'user']);
    expect(messages[1]!.content[0]).toMatchObject({ toolCallId: 'c1', output: { type: 'error-json', value: { error: 'no_result' } } });
  });

  it('lists attachments of user messages', () => {
    const messages = itemsToMessages([
      item(1, { role: 'user', type: 'message', text: 'see photo', attachments: [{ url: 'https://x/p.jpg', contentType: 'image/jpeg' }] }),
    ]);
    expect(messages[0]!.content).toEqual([{ type: 'text', text: 'see photo\n[attachment: https://x/p.jpg (image/jpeg) https://x/p.jpg]' }]);
  });
});
