import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebhookToolSpec } from '../../src/core/agent.ts';
import { verifyOperatorSignature } from '../../src/engine/index.ts';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { type TestServer, customer, harness, json, startServer, userMessage, webhookTool } from './harness.ts';
import { ModelDouble, deltas, step, toolCall } from './model-double.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Runs one turn in which the model calls `lookup_order` with `args`; returns what came back. */
function callTool(tool: WebhookToolSpec, args: unknown, clock = new FakeClock(), context: Record<string, unknown> = {}) {
  const model = new ModelDouble([step(toolCall('c1', tool.name, args)), step(...deltas('ok'))]);
  const h = harness({ model, clock, context, agent: { tools: [tool] } });
  const turn = h.session.runTurn([userMessage('go')]);
  return {
    turn,
    result: async () => {
      await turn;
      const item = h.ofType('item').find((e) => e.item.type === 'tool_result')!.item;
      const fedBack = model.calls[1]!.prompt.at(-1)!.content[0];
      return { data: item.data, fedBack, finished: h.ofType('tool.finished')[0] };
    },
  };
}

describe('webhook tools', () => {
  it('rejects arguments that break the schema without calling the webhook', async () => {
    server = await startServer((_req, res) => json(res, 200, {}));
    const { result } = callTool(webhookTool('lookup_order', server.url), { orderId: 42 });
    const { data, fedBack, finished } = await result();
    expect(data).toEqual({ error: { code: 'tool_invalid_arguments', message: 'arguments/orderId must be string' } });
    expect(fedBack).toMatchObject({ type: 'tool-result', output: { type: 'error-json', value: data } });
    expect(finished).toMatchObject({ ok: false });
    expect(server.received).toHaveLength(0);
  });

  it('rejects arguments that are not a JSON object', async () => {
    server = await startServer((_req, res) => json(res, 200, {}));
    const { result } = callTool(webhookTool('lookup_order', server.url), '{"orderId": ');
    expect((await result()).data).toMatchObject({ error: { code: 'tool_invalid_arguments' } });
    expect(server.received).toHaveLength(0);
  });

  it('posts the call with context, customer and configured headers', async () => {
    server = await startServer((_req, res) => json(res, 200, { ok: true }));
    const tool = webhookTool('lookup_order', server.url, { headers: { 'X-Api-Key': 'k1', 'content-type': 'text/plain' } });
    const clock = new FakeClock();
    const { result } = callTool(tool, { orderId: 'A1' }, clock, { orderId: 'A1', plan: 'gold' });
    expect((await result()).data).toEqual({ ok: true });
    const [req] = server.received;
    expect(req!.method).toBe('POST');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['x-api-key']).toBe('k1');
    expect(req!.headers['x-operator-timestamp']).toBe(String(Math.floor(clock.now() / 1000)));
    expect(req!.headers['x-operator-signature']).toBeUndefined();
    expect(req!.json).toEqual({
      tool: 'lookup_order',
      arguments: { orderId: 'A1' },
      conversationId: 'conv_test',
      turnId: expect.stringMatching(/^turn_/),
      callId: 'c1',
      agent: 'support',
      channel: 'chat',
      context: { orderId: 'A1', plan: 'gold' },
      customer,
    });
  });

  it('signs the raw body so verifyOperatorSignature accepts it', async () => {
    server = await startServer((_req, res) => json(res, 200, {}));
    const clock = new FakeClock();
    const { result } = callTool(webhookTool('lookup_order', server.url, { secret: 's3cret', method: 'PUT' }), { orderId: 'A1' }, clock);
    await result();
    const req = server.received[0]!;
    const header = req.headers['x-operator-signature'] as string;
    expect(req.method).toBe('PUT');
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyOperatorSignature('s3cret', header, req.body, clock.now(), 60_000)).toBe(true);
    expect(verifyOperatorSignature('s3cret', header, Buffer.from(req.body), clock.now(), 60_000)).toBe(true);
    expect(verifyOperatorSignature('other', header, req.body, clock.now(), 60_000)).toBe(false);
    expect(verifyOperatorSignature('s3cret', header, `${req.body} `, clock.now(), 60_000)).toBe(false);
    expect(verifyOperatorSignature('s3cret', header, req.body, clock.now() + 61_000, 60_000)).toBe(false);
  });

  it('feeds back a timeout, and aborts the request', async () => {
    server = await startServer(() => undefined); // never answers
    const clock = new FakeClock();
    const call = callTool(webhookTool('lookup_order', server.url, { timeoutMs: 2000 }), { orderId: 'A1' }, clock);
    const req = await server.nextRequest();
    clock.advance(2000);
    const { data } = await call.result();
    expect(data).toEqual({ error: { code: 'tool_timeout', message: 'lookup_order did not answer within 2000 ms' } });
    await req.closed;
  });

  it('feeds back an HTTP error status', async () => {
    server = await startServer((_req, res) => json(res, 500, { oops: true }));
    const { result } = callTool(webhookTool('lookup_order', server.url), { orderId: 'A1' });
    expect((await result()).data).toEqual({ error: { code: 'tool_http_error', message: 'the tool answered HTTP 500 Internal Server Error' } });
  });

  it('feeds back an answer that is not JSON', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<html>garbage</html>');
    });
    const { result } = callTool(webhookTool('lookup_order', server.url), { orderId: 'A1' });
    expect((await result()).data).toMatchObject({ error: { code: 'tool_bad_response' } });
  });

  it('accepts 204 as a null result', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(204);
      res.end();
    });
    const { result } = callTool(webhookTool('lookup_order', server.url), { orderId: 'A1' });
    expect((await result()).data).toBeNull();
  });

  it('feeds back an unreachable webhook', async () => {
    const url = await closedPortUrl();
    const { result } = callTool(webhookTool('lookup_order', url), { orderId: 'A1' });
    expect((await result()).data).toEqual({ error: { code: 'tool_unreachable', message: 'lookup_order could not be reached: ECONNREFUSED' } });
  });

  it('feeds back an unknown tool', async () => {
    const model = new ModelDouble([step(toolCall('c1', 'nope', {})), step(...deltas('ok'))]);
    const h = harness({ model });
    await h.session.runTurn([userMessage('go')]);
    expect(h.ofType('item')[1]!.item.data).toMatchObject({ error: { code: 'tool_not_found' } });
  });
});

async function closedPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}/tool`;
}
