import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMALL_POOL, type ApiAnswer, type Json, api, ask, openSession, serve, waitFor, words, type TestServer } from '../helpers/api.ts';
import { newId } from '../../src/core/ids.ts';
import type { RealtimeClient } from '../helpers/realtime-client.ts';

/** The HTTP API of API.md over real HTTP: system routes, listing with filters and paging, error shape. */

let srv: TestServer;
beforeAll(async () => {
  srv = await serve({
    pool: SMALL_POOL,
    limits: { bodyBytes: 2048 },
    agents: {
      talk: {
        name: 'Talker',
        description: 'Says fine.',
        instructions: 'x',
        model: { provider: 'scripted', loop: true, steps: [words('Fine.')] },
        tools: [{ name: 'lookup', description: 'Looks things up', webhook: { url: 'http://127.0.0.1:1/unused' } }],
      },
      offline: { instructions: 'x' },
    },
  });
});
afterAll(() => srv.close());

/** The API error shape: exactly `{error: {code, message}}`. */
function expectError(res: ApiAnswer, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.body).toEqual({ error: { code, message: expect.any(String) } });
  expect((res.body.error.message as string).length).toBeGreaterThan(5);
}

function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('system routes', () => {
  it('GET /healthz → 200 {"status":"ok"}', async () => {
    const res = await api(srv.url, '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /metrics: live conversations, pool idle, and first-delta latency observed after a turn', async () => {
    const before = await api(srv.url, '/metrics');
    expect(before.status).toBe(200);
    expect(before.headers.get('content-type')).toContain('text/plain');
    expect(before.text).toContain('# TYPE operator_live_conversations gauge');
    expect(before.text).toContain('# TYPE operator_turn_first_delta_seconds histogram');
    expect(metricValue(before.text, 'operator_worker_pool_idle')).toBeGreaterThanOrEqual(0);
    const countBefore = metricValue(before.text, 'operator_turn_first_delta_seconds_count', { agent: 'talk' }) ?? 0;

    const { client } = await openSession(srv.url, 'talk');
    try {
      await ask(client, 'one');
      await ask(client, 'two');
      const during = await api(srv.url, '/metrics');
      expect(metricValue(during.text, 'operator_live_conversations', { channel: 'chat' })).toBeGreaterThanOrEqual(1);
      expect(metricValue(during.text, 'operator_turn_first_delta_seconds_count', { agent: 'talk', channel: 'chat' })).toBe(countBefore + 2);
      expect(metricValue(during.text, 'operator_turn_first_delta_seconds_bucket', { agent: 'talk', le: '+Inf' })).toBe(countBefore + 2);
      expect(metricValue(during.text, 'operator_turn_duration_seconds_count', { agent: 'talk', interrupted: 'false' })).toBeGreaterThanOrEqual(2);
      const live = metricValue(during.text, 'operator_live_conversations', { channel: 'chat' })!;
      client.send({ type: 'session.end' });
      await client.next('session.ended');
      const after = await api(srv.url, '/metrics');
      expect(metricValue(after.text, 'operator_live_conversations', { channel: 'chat' })).toBe(live - 1);
      expect(metricValue(after.text, 'operator_conversations_ended_total', { reason: 'client' })).toBeGreaterThanOrEqual(1);
    } finally {
      client.close();
    }
  });

  it('GET /openapi.json: an OpenAPI 3 document with the /v1 paths and their parameters', async () => {
    const res = await api(srv.url, '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body as { openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, Json>> };
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    for (const path of ['/healthz', '/metrics', '/v1/agents', '/v1/conversations', '/v1/conversations/{id}', '/v1/conversations/{id}/end']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(Object.keys(doc.paths).some((p) => p.includes(':'))).toBe(false);
    const list = doc.paths['/v1/conversations']!.get;
    expect((list.parameters as { name: string; in: string }[]).map((p) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining(['query:status', 'query:channel', 'query:cursor', 'query:limit', 'query:customerId']),
    );
    const end = doc.paths['/v1/conversations/{id}/end']!.post;
    expect(end.parameters).toContainEqual(expect.objectContaining({ name: 'id', in: 'path', required: true }));
    expect(end.requestBody.content['application/json'].schema).toBeDefined();
    for (const ops of Object.values(doc.paths)) {
      for (const op of Object.values(ops)) expect(Object.keys(op.responses as object).some((s) => /^2\d\d$/.test(s))).toBe(true);
    }
  });

  it('GET /openapi.json: every $ref resolves within the document', async () => {
    const doc = (await api(srv.url, '/openapi.json')).body as Record<string, unknown>;
    const refs: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref' && typeof x === 'string') refs.push(x);
          else walk(x);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      let node: unknown = doc;
      for (const key of ref.replace(/^#\//, '').split('/')) node = (node as Record<string, unknown> | undefined)?.[key];
      expect(node, ref).toBeDefined();
    }
  });

  it('GET /v1/agents lists the configured agents with their tools', async () => {
    const res = await api(srv.url, '/v1/agents');
    expect(res.status).toBe(200);
    const data = res.body.data as { id: string; name: string; model: string; tools: { name: string }[] }[];
    expect(data.map((a) => a.id).sort()).toEqual(['offline', 'talk']);
    const talk = data.find((a) => a.id === 'talk')!;
    expect(talk).toMatchObject({ name: 'Talker', description: 'Says fine.', model: 'scripted' });
    expect(talk.tools.map((t) => t.name)).toEqual(['lookup']);
    expect(data.find((a) => a.id === 'offline')).toMatchObject({ name: 'offline', model: 'offline' });
  });
});

describe('GET /v1/conversations', () => {
  let fresh: TestServer;
  const ids: string[] = [];
  const ended = new Set<string>();
  let customerConv = '';
  let smsConv = '';

  beforeAll(async () => {
    fresh = await serve({ pool: SMALL_POOL, agents: { talk: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [words('Ok.')] } } } });
    const clients: RealtimeClient[] = [];
    for (let i = 0; i < 5; i++) {
      const s = await openSession(fresh.url, 'talk', i === 4 ? { customer: { email: 'grace@example.com' } } : {});
      ids.push(s.conversationId);
      clients.push(s.client);
    }
    customerConv = ids[4]!;
    for (const i of [1, 3]) {
      clients[i]!.send({ type: 'session.end' });
      await clients[i]!.next('session.ended');
      ended.add(ids[i]!);
    }
    await waitFor(async () => (await api(fresh.url, '/v1/conversations?status=ended')).body.data.length === 2, 'two ended');
    // The others stay live until the server closes. One async SMS conversation, seeded in the
    // store (the SMS channel needs a carrier), gives the channel and status filters something to tell apart.
    const now = Date.now();
    smsConv = newId('conv', now);
    await fresh.server.store.conversations.create({
      id: smsConv, agent: 'talk', channel: 'sms', mode: 'async', status: 'suspended', context: {}, createdAt: now, updatedAt: now,
    });
    ids.push(smsConv);
  });
  afterAll(() => fresh.close());

  const list = async (query: string): Promise<{ id: string; status: string; channel: string }[]> => {
    const res = await api(fresh.url, `/v1/conversations${query}`);
    expect(res.status).toBe(200);
    return res.body.data as { id: string; status: string; channel: string }[];
  };

  it('lists all, newest first', async () => {
    const data = await list('');
    expect(data.map((c) => c.id)).toEqual([...ids].reverse());
    expect(data.map((c) => c.channel)).toEqual(['sms', 'chat', 'chat', 'chat', 'chat', 'chat']);
    expect((await api(fresh.url, '/v1/conversations')).body.nextCursor).toBeNull();
  });

  it('filters by status, channel and customerId', async () => {
    expect((await list('?status=ended')).map((c) => c.id).sort()).toEqual([...ended].sort());
    const active = ids.filter((id) => !ended.has(id) && id !== smsConv);
    expect((await list('?status=active')).map((c) => c.id).sort()).toEqual(active.sort());
    expect((await list('?status=suspended')).map((c) => c.id)).toEqual([smsConv]);
    expect(await list('?channel=chat')).toHaveLength(5);
    expect((await list('?channel=sms')).map((c) => c.id)).toEqual([smsConv]);
    expect(await list('?channel=email')).toEqual([]);
    expect(await list('?channel=sms&status=active')).toEqual([]);
    const conv = await api(fresh.url, `/v1/conversations/${customerConv}`);
    const byCustomer = await list(`?customerId=${conv.body.customerId as string}`);
    expect(byCustomer.map((c) => c.id)).toEqual([customerConv]);
  });

  it('pages with cursor and limit, without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const res = await api(fresh.url, `/v1/conversations?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.status).toBe(200);
      sizes.push((res.body.data as unknown[]).length);
      seen.push(...(res.body.data as { id: string }[]).map((c) => c.id));
      cursor = res.body.nextCursor as string | null;
    } while (cursor);
    expect(sizes).toEqual([2, 2, 2]); // the last page is full, and still says there is no next one
    expect(seen).toEqual([...ids].reverse());

    const first = await api(fresh.url, '/v1/conversations?status=active&limit=2');
    expect(first.body.data).toHaveLength(2);
    const second = await api(fresh.url, `/v1/conversations?status=active&limit=2&cursor=${first.body.nextCursor as string}`);
    expect(second.body.data).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
  });

  it('rejects bad queries with 400 and the field', async () => {
    const badStatus = await api(fresh.url, '/v1/conversations?status=finished');
    expectError(badStatus, 400, 'validation_failed');
    expect(badStatus.body.error.message).toContain('status');
    expectError(await api(fresh.url, '/v1/conversations?limit=0'), 400, 'validation_failed');
    expectError(await api(fresh.url, '/v1/conversations?limit=1000'), 400, 'validation_failed');
    expectError(await api(fresh.url, '/v1/conversations?colour=red'), 400, 'validation_failed');
    expectError(await api(fresh.url, '/v1/conversations?cursor=not-a-cursor'), 400, 'invalid_cursor');
  });
});

describe('HTTP errors', () => {
  it('unknown conversation → 404 conversation_not_found (GET and POST .../end)', async () => {
    const res = await api(srv.url, '/v1/conversations/conv_doesnotexist');
    expectError(res, 404, 'conversation_not_found');
    expect(res.body.error.message).toContain('conv_doesnotexist');
    expectError(await api(srv.url, '/v1/conversations/conv_doesnotexist/end', { body: {} }), 404, 'conversation_not_found');
  });

  it('malformed JSON body on POST .../end → 400 invalid_json, the conversation unchanged', async () => {
    const { client, conversationId } = await openSession(srv.url, 'talk');
    try {
      expectError(await api(srv.url, `/v1/conversations/${conversationId}/end`, { body: '{"reason": ' }), 400, 'invalid_json');
      expect((await api(srv.url, `/v1/conversations/${conversationId}`)).body.status).toBe('active');
      expect(client.all('session.ended')).toEqual([]);
    } finally {
      client.close();
    }
  });

  it('oversized body → 413 body_too_large', async () => {
    const res = await api(srv.url, '/v1/conversations/conv_x/end', { body: { reason: 'x'.repeat(4096) } });
    expectError(res, 413, 'body_too_large');
  });

  it('a body of another media type → 415 unsupported_media_type; plain text → 400 validation_failed', async () => {
    const xml = await api(srv.url, '/v1/conversations/conv_x/end', { body: '<end/>', headers: { 'content-type': 'application/xml' } });
    expectError(xml, 415, 'unsupported_media_type');
    const text = await api(srv.url, '/v1/conversations/conv_x/end', { body: 'reason=x', headers: { 'content-type': 'text/plain' } });
    expectError(text, 400, 'validation_failed');
  });

  it('unknown route → 404 route_not_found', async () => {
    const res = await api(srv.url, '/v1/nothing-here?x=1');
    expectError(res, 404, 'route_not_found');
    expect(res.body.error.message).toContain('/v1/nothing-here');
    expect(res.body.error.message).not.toContain('x=1');
    expectError(await api(srv.url, '/healthz', { method: 'DELETE' }), 404, 'route_not_found');
  });

  it('a plain HTTP GET on the realtime endpoint does not take the server down', async () => {
    const res = await api(srv.url, '/v1/realtime');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect((await api(srv.url, '/healthz')).status).toBe(200);
  });
});
