import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMALL_POOL, api, ask, openSession, serve, words, type TestServer } from '../helpers/api.ts';
import { RealtimeClient } from '../helpers/realtime-client.ts';

/** API keys (OPERATOR_API_KEYS) on HTTP and on the realtime upgrade, and the rate limit. */

const KEY = 'k_test_0123456789abcdef';
const OTHER_KEY = 'k_second_key_0000';
const AGENTS = { talk: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [words('Authorised answer.')] } } };

describe('API keys', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await serve({ pool: SMALL_POOL, agents: AGENTS }, { apiKeys: [KEY, OTHER_KEY] });
  });
  afterAll(() => srv.close());

  it('a request without a key → 401 unauthorized; with a wrong key → 401 invalid_api_key', async () => {
    const none = await api(srv.url, '/v1/agents');
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    const wrong = await api(srv.url, '/v1/agents', { headers: { authorization: 'Bearer not-the-key' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: { code: 'invalid_api_key', message: expect.any(String) } });
    const prefix = await api(srv.url, '/v1/agents', { headers: { authorization: `Bearer ${KEY.slice(0, -1)}` } });
    expect(prefix.body.error.code).toBe('invalid_api_key');
    const notBearer = await api(srv.url, '/v1/agents', { headers: { authorization: `Basic ${KEY}` } });
    expect(notBearer.status).toBe(401);
  });

  it('every configured key is accepted, as a Bearer header or ?token=', async () => {
    for (const key of [KEY, OTHER_KEY]) {
      const res = await api(srv.url, '/v1/agents', { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      expect(res.body.data[0].id).toBe('talk');
    }
    // ?token= is for clients that cannot set headers (browsers: WebSocket, EventSource).
    expect((await api(srv.url, `/v1/agents?token=${KEY}`)).status).toBe(200);
    expect((await api(srv.url, '/v1/agents?token=wrong')).body.error.code).toBe('invalid_api_key');
  });

  it('protects /metrics and the conversations API; /healthz and /openapi.json stay public', async () => {
    expect((await api(srv.url, '/metrics')).status).toBe(401);
    expect((await api(srv.url, '/v1/conversations')).status).toBe(401);
    expect((await api(srv.url, '/v1/conversations/conv_x/end', { body: {} })).status).toBe(401);
    expect((await api(srv.url, '/healthz')).status).toBe(200);
    expect((await api(srv.url, '/openapi.json')).status).toBe(200);
  });

  it('the realtime upgrade without a key (or with a wrong one) is refused', async () => {
    await expect(RealtimeClient.connect(srv.url)).rejects.toThrow('HTTP 401');
    await expect(RealtimeClient.connect(srv.url, { token: 'wrong' })).rejects.toThrow('HTTP 401');
  });

  it('the realtime socket accepts ?token= and the Bearer header, and the session works', async () => {
    const byToken = await openSession(srv.url, 'talk', {}, { token: KEY });
    try {
      expect((await ask(byToken.client, 'hi')).done.text).toBe('Authorised answer.');
    } finally {
      byToken.client.close();
    }
    const byHeader = await openSession(srv.url, 'talk', {}, { headers: { authorization: `Bearer ${OTHER_KEY}` } });
    try {
      expect((await ask(byHeader.client, 'hi')).done.text).toBe('Authorised answer.');
      const conv = await api(srv.url, `/v1/conversations/${byHeader.conversationId}`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(conv.status).toBe(200);
      expect(conv.body.items).toHaveLength(2);
    } finally {
      byHeader.client.close();
    }
  });
});

describe('rate limit', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await serve({ pool: { ...SMALL_POOL, size: 1 }, limits: { rateLimitPerMinute: 3 }, agents: AGENTS });
  });
  afterAll(() => srv.close());

  it('past limits.rateLimitPerMinute → 429 rate_limited with Retry-After, and the server goes on', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await api(srv.url, '/v1/agents')).status);
    expect(statuses).toEqual([200, 200, 200]);
    const limited = await api(srv.url, '/v1/agents');
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await api(srv.url, '/v1/conversations')).status).toBe(429);
  });

  it('varying the Authorization header does not escape the limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await api(srv.url, '/healthz', { headers: { authorization: `Bearer guess-${i}` } })).status);
    }
    expect(statuses.slice(3)).toEqual([429, 429]);
  });
});
