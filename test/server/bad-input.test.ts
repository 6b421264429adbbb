import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SMALL_POOL, api, ask, openSession, serve, words, type TestServer } from '../helpers/api.ts';
import { RealtimeClient } from '../helpers/realtime-client.ts';

/**
 * Bad input on the realtime socket (DESIGN.md rule 8): each gets an `error` with a stable code,
 * changes nothing, and the session and the server go on.
 */

const FRAME_BYTES = 1024;
const MESSAGE_CHARS = 50;

let srv: TestServer;
beforeAll(async () => {
  srv = await serve({
    pool: SMALL_POOL,
    limits: { frameBytes: FRAME_BYTES, messageChars: MESSAGE_CHARS },
    agents: {
      talk: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [words('Fine, thanks.')] } },
      flaky: {
        instructions: 'x',
        model: {
          provider: 'scripted',
          loop: true,
          steps: [{ deltas: ['Part ', 'one, '], error: 'upstream stream broke' }, words('Recovered answer.')],
        },
      },
    },
  });
});
afterAll(() => srv.close());

const open: RealtimeClient[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

async function connect(): Promise<RealtimeClient> {
  const c = await RealtimeClient.connect(srv.url);
  open.push(c);
  return c;
}

async function started(agent = 'talk'): Promise<{ client: RealtimeClient; conversationId: string }> {
  const s = await openSession(srv.url, agent);
  open.push(s.client);
  return s;
}

/** The session still answers, and the server is healthy. */
async function stillWorks(client: RealtimeClient): Promise<void> {
  expect((await ask(client, 'still there?')).done.text).toBe('Fine, thanks.');
  expect((await api(srv.url, '/healthz')).status).toBe(200);
}

async function userTexts(conversationId: string): Promise<string[]> {
  const conv = await api(srv.url, `/v1/conversations/${conversationId}`);
  return (conv.body.items as { role: string; text: string }[]).filter((i) => i.role === 'user').map((i) => i.text);
}

describe('bad input on the realtime socket', () => {
  it('malformed JSON → invalid_json, and the socket can still start a session', async () => {
    const client = await connect();
    client.send('{"type": "session.start", ');
    expect((await client.next('error')).code).toBe('invalid_json');
    await client.start('talk');
    await stillWorks(client);
  });

  it('malformed JSON inside a session → invalid_json, nothing stored', async () => {
    const { client, conversationId } = await started();
    client.send('not json at all');
    const err = await client.next('error');
    expect(err).toMatchObject({ code: 'invalid_json', message: expect.any(String) });
    await stillWorks(client);
    expect(await userTexts(conversationId)).toEqual(['still there?']);
  });

  it('unknown type → unknown_message_type', async () => {
    const { client } = await started();
    client.send({ type: 'agent.hack', text: 'x' });
    const err = await client.next('error');
    expect(err.code).toBe('unknown_message_type');
    expect(err.message).toContain('agent.hack');
    await stillWorks(client);
  });

  it('a frame that is not an object with a type → invalid_message; a wrongly typed field → invalid_message naming it', async () => {
    const { client } = await started();
    client.send('[1,2,3]');
    expect((await client.next('error')).code).toBe('invalid_message');
    client.send({ type: 'user.message', text: 42 });
    const err = await client.next('error');
    expect(err.code).toBe('invalid_message');
    expect(err.message).toContain('text');
    client.send({ type: 'user.message', text: '   ' });
    expect((await client.next('error')).code).toBe('invalid_message');
    await stillWorks(client);
  });

  it('a first message that is not session.start → session_not_started', async () => {
    const client = await connect();
    client.send({ type: 'user.message', text: 'hello?' });
    expect((await client.next('error')).code).toBe('session_not_started');
    client.send({ type: 'session.end' });
    expect((await client.next('error')).code).toBe('session_not_started');
    await client.start('talk');
    await stillWorks(client);
  });

  it('unknown agent → agent_not_found, no conversation is created, and a valid session.start still works', async () => {
    const before = await api(srv.url, '/v1/conversations?limit=100');
    const client = await connect();
    client.send({ type: 'session.start', agent: 'nobody', mode: 'text' });
    const err = await client.next('error');
    expect(err.code).toBe('agent_not_found');
    expect(err.message).toContain('nobody');
    const after = await api(srv.url, '/v1/conversations?limit=100');
    expect(after.body.data).toHaveLength((before.body.data as unknown[]).length);
    await client.start('talk');
    await stillWorks(client);
  });

  it('oversized frame → frame_too_large, nothing stored', async () => {
    const { client, conversationId } = await started();
    client.send({ type: 'user.message', text: 'x'.repeat(FRAME_BYTES * 2) });
    const err = await client.next('error');
    expect(err.code).toBe('frame_too_large');
    expect(err.message).toContain(String(FRAME_BYTES));
    await stillWorks(client);
    expect(await userTexts(conversationId)).toEqual(['still there?']);
  });

  it('an absurdly large frame closes that socket (1009) but not the server or other sessions', async () => {
    const other = await started();
    const client = await connect();
    client.send('x'.repeat(FRAME_BYTES * 32));
    expect(await client.closed()).toBe(1009);
    await stillWorks(other.client);
  });

  it('too-long message → message_too_long, nothing stored', async () => {
    const { client, conversationId } = await started();
    client.send({ type: 'user.message', text: 'y'.repeat(MESSAGE_CHARS + 1) });
    const err = await client.next('error');
    expect(err.code).toBe('message_too_long');
    expect(err.message).toContain(String(MESSAGE_CHARS));
    await stillWorks(client);
    expect(await userTexts(conversationId)).toEqual(['still there?']);
  });

  it('binary frame in text mode → unexpected_binary', async () => {
    const { client } = await started();
    client.ws.send(Buffer.from([1, 2, 3, 4]), { binary: true });
    expect((await client.next('error')).code).toBe('unexpected_binary');
    await stillWorks(client);
  });

  it('second session.start → session_already_started; the first session goes on', async () => {
    const { client, conversationId } = await started();
    client.send({ type: 'session.start', agent: 'talk', mode: 'text' });
    expect((await client.next('error')).code).toBe('session_already_started');
    expect(client.all('session.started')).toHaveLength(1);
    await stillWorks(client);
    expect((await api(srv.url, `/v1/conversations/${conversationId}`)).body.status).toBe('active');
  });

  it('audio.mark in a text session → mode_mismatch; an odd-length audio frame in voice mode → audio_frame_invalid', async () => {
    const { client } = await started();
    client.send({ type: 'audio.mark', id: 'm1' });
    expect((await client.next('error')).code).toBe('mode_mismatch');
    await stillWorks(client);
    const voice = await connect();
    voice.send({ type: 'session.start', agent: 'talk', mode: 'voice', audio: { encoding: 'pcm16', sampleRate: 16000 } });
    await voice.next('session.started');
    voice.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await voice.next('error')).code).toBe('audio_frame_invalid');
    voice.send({ type: 'audio.mark', id: 'not-ours' });
    voice.send({ type: 'session.end' });
    expect((await voice.next('session.ended')).reason).toBe('client');
  });

  it('a model stream that errors mid-answer → error, agent.done with the partial text, and the next turn works', async () => {
    const { client, conversationId } = await started('flaky');
    client.send({ type: 'user.message', text: 'first' });
    const err = await client.next('error');
    expect(err.code).toBe('model_failed');
    const done = await client.next('agent.done');
    expect(done).toMatchObject({ text: 'Part one, ', interrupted: false });
    expect(client.all('session.ended')).toEqual([]);

    const next = await ask(client, 'second');
    expect(next.done).toMatchObject({ text: 'Recovered answer.', interrupted: false });
    const conv = await api(srv.url, `/v1/conversations/${conversationId}`);
    expect(conv.body.status).toBe('active');
    expect((conv.body.items as { role: string; text: string }[]).map((i) => `${i.role}:${i.text}`)).toEqual([
      'user:first',
      'agent:Part one, ',
      'user:second',
      'agent:Recovered answer.',
    ]);
  });
});

describe('per-client session cap', () => {
  it('refuses a socket over limits.sessionsPerIp with too_many_sessions, and frees the slot on close', async () => {
    const capped = await serve({
      pool: SMALL_POOL,
      limits: { sessionsPerIp: 2 },
      agents: { talk: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [words('Ok.')] } } },
    });
    try {
      const a = await RealtimeClient.connect(capped.url);
      const b = await RealtimeClient.connect(capped.url);
      const c = await RealtimeClient.connect(capped.url);
      expect((await c.next('error')).code).toBe('too_many_sessions');
      expect(await c.closed()).toBe(1013);
      b.close();
      await b.closed();
      // The server sees the close a moment after the client: retry until the slot is free.
      let d = await RealtimeClient.connect(capped.url);
      for (let i = 0; i < 50 && (await Promise.race([d.closed(200).catch(() => 0)])) === 1013; i++) {
        d = await RealtimeClient.connect(capped.url);
      }
      expect(d.closeCode).toBeUndefined();
      await d.start('talk');
      a.close();
      d.close();
    } finally {
      await capped.close();
    }
  });
});

describe('node capacity', () => {
  it('refuses a conversation over pool.maxWorkers with at_capacity instead of risking the process, and recovers', async () => {
    const small = await serve({
      pool: { ...SMALL_POOL, size: 1, maxWorkers: 2 },
      agents: { talk: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [words('Ok.')] } } },
    });
    try {
      const a = await openSession(small.url, 'talk');
      const b = await openSession(small.url, 'talk');
      const c = await RealtimeClient.connect(small.url);
      c.send({ type: 'session.start', agent: 'talk', mode: 'text' });
      const err = await c.next('error');
      expect(err.code).toBe('at_capacity');
      expect(c.closeCode).toBeUndefined(); // the socket stays: the client may try again
      a.client.send({ type: 'session.end' });
      await a.client.next('session.ended');
      c.close();
      // The ended conversation's worker is gone; the next start succeeds (allow its exit to land).
      let started = false;
      for (let i = 0; i < 50 && !started; i++) {
        const d = await RealtimeClient.connect(small.url);
        d.send({ type: 'session.start', agent: 'talk', mode: 'text' });
        await new Promise((r) => setTimeout(r, 100));
        started = d.all('session.started').length === 1;
        d.close();
      }
      expect(started).toBe(true);
      b.client.close();
    } finally {
      await small.close();
    }
  });
});
