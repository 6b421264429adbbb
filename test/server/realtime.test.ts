import { afterEach, describe, expect, it } from 'vitest';
import { startOpenAIChatFake } from '../models/fakes/openai-chat.ts';
import { SMALL_POOL, api, ask, deltasOf, openSession, serve, startWebhook, words, type TestServer } from '../helpers/api.ts';
import type { RealtimeClient } from '../helpers/realtime-client.ts';

/** A realtime text session end to end: real socket, real worker, real SQLite file, real webhook. */

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function track<T extends { close(): unknown }>(x: T): T {
  cleanups.push(() => x.close() as Promise<unknown>);
  return x;
}

function closeClient(client: RealtimeClient): void {
  cleanups.push(() => client.close());
}

describe('realtime text session', () => {
  it('greets, streams an answer after a webhook tool call, and stores every step in order', async () => {
    const hook = track(await startWebhook(() => ({ status: 'shipped', eta: '2026-12-03' })));
    const srv: TestServer = track(
      await serve({
        pool: SMALL_POOL,
        agents: {
          shop: {
            instructions: 'You help with orders.',
            greeting: 'Hello, about order {{context.orderId}}?',
            model: {
              provider: 'scripted',
              loop: true,
              steps: [{ toolCalls: [{ name: 'order_status', args: { orderId: 'A12345' } }] }, words('Your order has shipped.')],
            },
            tools: [
              {
                name: 'order_status',
                description: 'Look up an order',
                parameters: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] },
                webhook: { url: hook.url, secret: 'a-secret-of-16-chars-or-more' },
              },
            ],
          },
        },
      }),
    );
    const { client, started, conversationId } = await openSession(srv.url, 'shop', {
      context: { orderId: 'A12345', tier: 'gold' },
      customer: { email: 'ada@example.com' },
    });
    closeClient(client);
    expect(started).toMatchObject({ type: 'session.started', agent: 'shop' });
    expect(conversationId).toMatch(/^conv_/);

    // The greeting, templated with the context, as deltas then agent.done.
    const greeting = await client.next('agent.done');
    expect(greeting.interrupted).toBe(false);
    expect(greeting.text).toBe('Hello, about order A12345?');
    expect(deltasOf(client, greeting.turnId)).toBe(greeting.text);

    const { accepted, done } = await ask(client, 'Where is my order?');
    expect(accepted.itemId).toMatch(/^itm_/);
    const deltas = client.all('agent.delta').filter((m) => m.turnId === done.turnId);
    expect(deltas.map((d) => d.text)).toEqual(['Your ', 'order ', 'has ', 'shipped.']);
    expect(done).toMatchObject({ text: 'Your order has shipped.', interrupted: false });

    const toolStarted = client.all('tool.started');
    const toolFinished = client.all('tool.finished');
    expect(toolStarted).toEqual([expect.objectContaining({ turnId: done.turnId, name: 'order_status' })]);
    expect(toolFinished).toEqual([expect.objectContaining({ turnId: done.turnId, name: 'order_status', callId: toolStarted[0]!.callId })]);
    // Events arrive in lifecycle order: started, finished, then the answer's deltas.
    const order = client.messages.map((m) => m.type);
    expect(order.indexOf('tool.started')).toBeLessThan(order.indexOf('tool.finished'));
    expect(order.lastIndexOf('tool.finished')).toBeLessThan(client.messages.indexOf(deltas[0]!));

    // The webhook got the arguments, the context passed at start and the customer, signed.
    expect(hook.calls).toHaveLength(1);
    const call = hook.calls[0]!;
    expect(call.body).toMatchObject({
      tool: 'order_status',
      arguments: { orderId: 'A12345' },
      conversationId,
      agent: 'shop',
      channel: 'chat',
      context: { orderId: 'A12345', tier: 'gold' },
    });
    expect(call.headers['x-operator-signature']).toEqual(expect.any(String));

    const conv = await api(srv.url, `/v1/conversations/${conversationId}`);
    expect(conv.status).toBe(200);
    expect(conv.body).toMatchObject({ id: conversationId, agent: 'shop', channel: 'chat', mode: 'realtime', status: 'active' });
    expect(conv.body.context).toEqual({ orderId: 'A12345', tier: 'gold' });
    expect(conv.body.customerId).toMatch(/^cus_/);
    const items = (conv.body.items as { id: string; role: string; type: string; text: string; data?: unknown }[]).map((i) => ({
      role: i.role,
      type: i.type,
      text: i.text,
    }));
    expect(items).toEqual([
      { role: 'agent', type: 'message', text: 'Hello, about order A12345?' },
      { role: 'user', type: 'message', text: 'Where is my order?' },
      { role: 'agent', type: 'tool_call', text: '' },
      { role: 'tool', type: 'tool_result', text: '' },
      { role: 'agent', type: 'message', text: 'Your order has shipped.' },
    ]);
    const stored = conv.body.items as { id: string; data?: unknown; toolName?: string; interrupted: boolean }[];
    expect(stored[1]!.id).toBe(accepted.itemId);
    expect(stored[4]!.id).toBe(done.itemId);
    expect(stored[2]).toMatchObject({ toolName: 'order_status', data: { orderId: 'A12345' } });
    expect(stored[3]).toMatchObject({ toolName: 'order_status', data: { status: 'shipped', eta: '2026-12-03' } });
    expect(stored.every((i) => !i.interrupted)).toBe(true);
  });

  it('answers turn after turn on one session, each agent.done equal to its deltas', async () => {
    const srv = track(
      await serve({ pool: SMALL_POOL, agents: { echo: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [words('one two'), words('three four five')] } } } }),
    );
    const { client } = await openSession(srv.url, 'echo');
    closeClient(client);
    const texts: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { done } = await ask(client, `message ${i}`);
      expect(done.text).toBe(deltasOf(client, done.turnId));
      texts.push(done.text as string);
    }
    expect(texts).toEqual(['one two', 'three four five', 'one two', 'three four five']);
    expect(new Set(client.all('agent.done').map((d) => d.turnId)).size).toBe(4);
  });

  it('serves concurrent sessions, each with its own ordered transcript', async () => {
    const srv = track(
      await serve({ pool: SMALL_POOL, agents: { echo: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [words('a b c'), words('d e')] } } } }),
    );
    const sessions = await Promise.all(Array.from({ length: 6 }, () => openSession(srv.url, 'echo')));
    for (const s of sessions) closeClient(s.client);
    await Promise.all(
      sessions.map(async ({ client }, n) => {
        for (let turn = 0; turn < 3; turn++) await ask(client, `s${n} t${turn}`);
      }),
    );
    expect(new Set(sessions.map((s) => s.conversationId)).size).toBe(6);
    for (const [n, s] of sessions.entries()) {
      const conv = await api(srv.url, `/v1/conversations/${s.conversationId}`);
      expect((conv.body.items as { role: string; text: string }[]).map((i) => i.text)).toEqual([
        `s${n} t0`, 'a b c', `s${n} t1`, 'd e', `s${n} t2`, 'a b c',
      ]);
    }
  });

  it('puts the context passed in session.start into the instructions the model receives', async () => {
    const model = track(await startOpenAIChatFake([{ text: ['Order ', 'A777 ', 'is noted.'] }]));
    const srv = track(
      await serve({
        pool: SMALL_POOL,
        agents: {
          llm: {
            instructions: 'You handle order {{context.orderId}} for {{context.customerName}}.',
            model: { provider: 'openai-compatible', model: 'local', baseUrl: `${model.origin}/v1`, apiKey: 'sk-test' },
          },
        },
      }),
    );
    const { client } = await openSession(srv.url, 'llm', { context: { orderId: 'A777', customerName: 'Ada' } });
    closeClient(client);
    const { done } = await ask(client, 'Hi');
    expect(done.text).toBe('Order A777 is noted.');
    expect(model.requests).toHaveLength(1);
    const messages = model.requests[0]!.body.messages as { role: string; content: string }[];
    expect(messages[0]!.role).toBe('system');
    expect(messages[0]!.content).toContain('You handle order A777 for Ada.');
    expect(messages[0]!.content).toContain('"orderId":"A777"');
    expect(messages.at(-1)).toEqual({ role: 'user', content: 'Hi' });
  });

  it('runs the offline model against a tool webhook: picks the tool, passes the id and context, phrases the result', async () => {
    const hook = track(await startWebhook((body: { arguments: { orderId: string } }) => ({ orderId: body.arguments.orderId, status: 'delivered' })));
    const srv = track(
      await serve({
        pool: SMALL_POOL,
        agents: {
          support: {
            name: 'Acme Support',
            instructions: 'Help with orders.',
            tools: [
              {
                name: 'order_status',
                description: 'Look up the shipping status of an order by its order number.',
                examples: ['where is my order A12345', 'track my order'],
                parameters: {
                  type: 'object',
                  properties: { orderId: { type: 'string', pattern: '^[A-Z][0-9]{5}$' } },
                  required: ['orderId'],
                },
                webhook: { url: hook.url },
              },
            ],
          },
        },
      }),
    );
    const { client, conversationId } = await openSession(srv.url, 'support', { context: { source: 'web' } });
    closeClient(client);
    const { done } = await ask(client, 'Where is my order B54321?');
    expect(hook.calls).toHaveLength(1);
    expect(hook.calls[0]!.body).toMatchObject({ arguments: { orderId: 'B54321' }, context: { source: 'web' }, conversationId });
    expect(String(done.text)).toMatch(/delivered/i);
    expect(client.all('tool.finished')).toEqual([expect.objectContaining({ name: 'order_status', ok: true })]);
  });

  it('a tool webhook that answers garbage or times out: tool.finished ok:false, the error is the stored result, the answer still comes', async () => {
    const garbage = track(
      await startWebhook((_body, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('<html>oops</html>');
      }),
    );
    const hanging = track(await startWebhook(() => new Promise(() => undefined)));
    const tool = (name: string, url: string) => ({ name, description: `Calls ${name}`, webhook: { url, timeout: '300ms' } });
    const srv = track(
      await serve({
        pool: SMALL_POOL,
        agents: {
          tools: {
            instructions: 'x',
            model: {
              provider: 'scripted',
              loop: true,
              steps: [{ toolCalls: [{ name: 'garbage', args: {} }, { name: 'slow', args: {} }] }, words('Both tools failed.')],
            },
            tools: [tool('garbage', garbage.url), tool('slow', hanging.url)],
          },
        },
      }),
    );
    const { client, conversationId } = await openSession(srv.url, 'tools');
    closeClient(client);
    const { done } = await ask(client, 'use the tools');
    expect(done.text).toBe('Both tools failed.');
    const finished = client.all('tool.finished');
    expect(finished.map((f) => [f.name, f.ok]).sort()).toEqual([['garbage', false], ['slow', false]]);
    expect(client.all('error')).toEqual([]);
    const conv = await api(srv.url, `/v1/conversations/${conversationId}`);
    const results = (conv.body.items as { type: string; toolName: string; data: unknown }[]).filter((i) => i.type === 'tool_result');
    const byTool = Object.fromEntries(results.map((r) => [r.toolName, JSON.stringify(r.data)]));
    expect(byTool.garbage).toContain('tool_bad_response');
    expect(byTool.slow).toContain('tool_timeout');
    expect(conv.body.status).toBe('active');
  });
});
