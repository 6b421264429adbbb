import { afterEach, describe, expect, it } from 'vitest';
import { api, ask, openSession, words } from '../helpers/api.ts';
import { spawnServer, tempDir, writeConfig, type ChildServer } from '../helpers/server.ts';

/**
 * `kill -9` of the server mid-conversation (DESIGN.md rule 4): after a restart on the same data
 * dir, every item the client saw acknowledged is there, and the conversation that was live is
 * ended with reason "server_restart" instead of being left active.
 */

const SLOW = { deltas: Array.from({ length: 40 }, (_, i) => `slow${i} `), delayMs: 50 };
const CONFIG = {
  pool: { size: 1 },
  logging: { level: 'info' },
  agents: {
    talk: {
      instructions: 'x',
      greeting: 'Hello there.',
      model: { provider: 'scripted', loop: true, steps: [words('First answer.'), words('Second answer.'), words('Third answer.'), SLOW] },
    },
  },
};

const children: ChildServer[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
});

async function start(env: Record<string, string>): Promise<ChildServer> {
  const s = await spawnServer(env);
  children.push(s);
  return s;
}

describe('kill -9 mid-conversation', () => {
  it('keeps every acknowledged item and ends the conversation with server_restart after restart', async () => {
    const dir = tempDir();
    const env = {
      OPERATOR_CONFIG: writeConfig(dir, CONFIG),
      OPERATOR_DATA_DIR: dir,
      OPERATOR_NODE_ID: 'node-kill9',
    };
    const first = await start(env);
    const { client, conversationId } = await openSession(first.url, 'talk');
    const acknowledged: { id: string; role: string; text: string }[] = [];
    const greeting = await client.next('agent.done');
    acknowledged.push({ id: greeting.itemId as string, role: 'agent', text: greeting.text as string });
    for (const text of ['one', 'two', 'three']) {
      const { accepted, done } = await ask(client, text);
      acknowledged.push({ id: accepted.itemId as string, role: 'user', text });
      acknowledged.push({ id: done.itemId as string, role: 'agent', text: done.text as string });
    }
    expect(acknowledged.map((i) => i.text)).toEqual([
      'Hello there.', 'one', 'First answer.', 'two', 'Second answer.', 'three', 'Third answer.',
    ]);

    // The fourth answer streams slowly: kill the server while it does.
    client.send({ type: 'user.message', text: 'four' });
    const accepted = await client.next('user.accepted');
    acknowledged.push({ id: accepted.itemId as string, role: 'user', text: 'four' });
    await client.next('agent.delta');
    await client.next('agent.delta');
    first.child.kill('SIGKILL');
    await first.exited;
    expect(first.child.signalCode).toBe('SIGKILL');
    await client.closed();
    expect(client.all('session.ended')).toEqual([]); // it died: no goodbye was sent

    const second = await start(env);
    const res = await api(second.url, `/v1/conversations/${conversationId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: conversationId, status: 'ended', endedReason: 'server_restart' });
    const items = res.body.items as { id: string; role: string; text: string }[];
    for (const ack of acknowledged) {
      expect(items).toContainEqual(expect.objectContaining(ack));
    }
    // Stored in the order they were acknowledged.
    const positions = acknowledged.map((a) => items.findIndex((i) => i.id === a.id));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    // Nothing of the cut answer is stored as if it had been delivered whole.
    expect(items.map((i) => i.text)).not.toContain(SLOW.deltas.join(''));

    // The restarted node serves new conversations on the same store.
    const again = await openSession(second.url, 'talk');
    try {
      await again.client.next('agent.done');
      expect((await ask(again.client, 'hello again')).done.text).toBe('First answer.');
    } finally {
      again.client.close();
    }
    const listed = await api(second.url, '/v1/conversations?status=active');
    expect((listed.body.data as { id: string }[]).map((c) => c.id)).toEqual([again.conversationId]);
  });

  it('a restart under another node id leaves that node\'s conversations alone', async () => {
    const dir = tempDir();
    const config = writeConfig(dir, CONFIG);
    const first = await start({ OPERATOR_CONFIG: config, OPERATOR_DATA_DIR: dir, OPERATOR_NODE_ID: 'node-a' });
    const { client, conversationId } = await openSession(first.url, 'talk');
    await client.next('agent.done');
    first.child.kill('SIGKILL');
    await first.exited;

    const other = await start({ OPERATOR_CONFIG: config, OPERATOR_DATA_DIR: dir, OPERATOR_NODE_ID: 'node-b' });
    expect((await api(other.url, `/v1/conversations/${conversationId}`)).body.status).toBe('active');
    other.child.kill('SIGTERM');
    expect(await other.exited).toBe(0);

    const back = await start({ OPERATOR_CONFIG: config, OPERATOR_DATA_DIR: dir, OPERATOR_NODE_ID: 'node-a' });
    expect((await api(back.url, `/v1/conversations/${conversationId}`)).body).toMatchObject({
      status: 'ended',
      endedReason: 'server_restart',
    });
  });
});
