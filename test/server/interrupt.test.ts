import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMALL_POOL, api, ask, deltasOf, openSession, serve, startWebhook, words, type TestServer } from '../helpers/api.ts';

/**
 * Interruption over the real socket (API.md `user.message`, DESIGN.md rule 3): a message while the
 * agent answers cuts the answer at what was delivered, and that is what history keeps.
 */

const SLOW = { deltas: Array.from({ length: 30 }, (_, i) => `w${i} `), delayMs: 50 };
const FULL_SLOW_TEXT = SLOW.deltas.join('');

let srv: TestServer;
let hanging: Awaited<ReturnType<typeof startWebhook>>;
beforeAll(async () => {
  hanging = await startWebhook(() => new Promise(() => undefined));
  srv = await serve({
    pool: SMALL_POOL,
    agents: {
      slow: { instructions: 'x', model: { provider: 'scripted', loop: true, steps: [SLOW, words('Quick answer.')] } },
      slowtool: {
        instructions: 'x',
        model: {
          provider: 'scripted',
          loop: true,
          steps: [{ deltas: ['Checking ', 'now. '], toolCalls: [{ name: 'wait', args: {} }] }, words('Done waiting.'), words('Second.')],
        },
        tools: [{ name: 'wait', description: 'Waits a long time', webhook: { url: hanging.url, timeout: '30s' } }],
      },
    },
  });
});
afterAll(async () => {
  await srv.close();
  await hanging.close();
});

describe('interruption', () => {
  it('cuts the answer at the delivered deltas, drops the rest, answers the new message, stores the cut text', async () => {
    const { client, conversationId } = await openSession(srv.url, 'slow');
    try {
      client.send({ type: 'user.message', text: 'Tell me everything' });
      const first = await client.next('user.accepted');
      // Wait for a few deltas of the slow answer, then interrupt.
      const firstDelta = await client.next('agent.delta');
      await client.next('agent.delta');
      await client.next('agent.delta');
      client.send({ type: 'user.message', text: 'Stop, quick question' });

      const cut = await client.next('agent.done');
      expect(cut.turnId).toBe(firstDelta.turnId);
      expect(cut.interrupted).toBe(true);
      const cutIndex = client.messages.indexOf(cut);
      const before = client.messages
        .slice(0, cutIndex)
        .filter((m) => m.type === 'agent.delta' && m.turnId === cut.turnId)
        .map((m) => m.text as string)
        .join('');
      expect(cut.text).toBe(before);
      expect(String(cut.text).length).toBeGreaterThanOrEqual('w0 w1 w2 '.length);
      expect(cut.text).not.toBe(FULL_SLOW_TEXT);
      expect(FULL_SLOW_TEXT.startsWith(String(cut.text))).toBe(true);

      const second = await client.next('user.accepted');
      const answer = await client.next('agent.done');
      expect(answer).toMatchObject({ interrupted: false, text: 'Quick answer.' });
      expect(answer.turnId).not.toBe(cut.turnId);
      expect(deltasOf(client, answer.turnId)).toBe('Quick answer.');
      // Nothing of the cut turn after its agent.done, and only one agent.done for it.
      const after = client.messages.slice(cutIndex + 1);
      expect(after.filter((m) => m.turnId === cut.turnId)).toEqual([]);
      expect(client.all('agent.done').filter((m) => m.turnId === cut.turnId)).toHaveLength(1);

      const conv = await api(srv.url, `/v1/conversations/${conversationId}`);
      const items = conv.body.items as { id: string; role: string; text: string; interrupted: boolean }[];
      expect(items.map((i) => [i.role, i.text, i.interrupted])).toEqual([
        ['user', 'Tell me everything', false],
        ['agent', cut.text, true],
        ['user', 'Stop, quick question', false],
        ['agent', 'Quick answer.', false],
      ]);
      expect(items[0]!.id).toBe(first.itemId);
      expect(items[1]!.id).toBe(cut.itemId);
      expect(items[2]!.id).toBe(second.itemId);
    } finally {
      client.close();
    }
  });

  it('cancels a pending tool call when the customer writes again, and the next turn answers', async () => {
    const { client, conversationId } = await openSession(srv.url, 'slowtool');
    try {
      client.send({ type: 'user.message', text: 'Please wait for it' });
      const started = await client.next('tool.started');
      client.send({ type: 'user.message', text: 'Never mind' });
      const cut = await client.next('agent.done');
      expect(cut).toMatchObject({ turnId: started.turnId, interrupted: true, text: 'Checking now. ' });
      // The answer to "Never mind" is the script's next step; the cut turn never reached "Done waiting.".
      const next = await client.next('agent.done');
      expect(next).toMatchObject({ interrupted: false, text: 'Done waiting.' });
      expect(client.all('tool.finished').filter((m) => m.turnId === cut.turnId)).toEqual([]);

      const conv = await api(srv.url, `/v1/conversations/${conversationId}`);
      const items = conv.body.items as { role: string; type: string; text: string; interrupted: boolean; data?: unknown }[];
      expect(items.map((i) => `${i.role}/${i.type}`)).toEqual([
        'user/message',
        'agent/tool_call',
        'agent/message',
        'user/message',
        'tool/tool_result',
        'agent/message',
      ]);
      expect(items[2]).toMatchObject({ text: 'Checking now. ', interrupted: true });
      expect(items[4]!.data).toEqual({ error: 'cancelled' });
    } finally {
      client.close();
    }
  });

  it('after an interruption, later turns run to completion (no stale interrupt)', async () => {
    const { client } = await openSession(srv.url, 'slow');
    try {
      client.send({ type: 'user.message', text: 'a' });
      await client.next('agent.delta');
      client.send({ type: 'user.message', text: 'b' });
      const cut = await client.next('agent.done');
      expect(cut.interrupted).toBe(true);
      const answer = await client.next('agent.done');
      expect(answer).toMatchObject({ interrupted: false, text: 'Quick answer.' });
      // The script loops back to the slow step; let it finish this time.
      const { done } = await ask(client, 'c');
      expect(done).toMatchObject({ interrupted: false, text: FULL_SLOW_TEXT });
    } finally {
      client.close();
    }
  });

  it('two messages sent back to back: every turn that streamed has one agent.done equal to its deltas; both messages stored first', async () => {
    const { client, conversationId } = await openSession(srv.url, 'slow');
    try {
      client.send({ type: 'user.message', text: 'first' });
      client.send({ type: 'user.message', text: 'second' });
      const a = await client.next('user.accepted');
      const b = await client.next('user.accepted');
      let final;
      do final = await client.next('agent.done');
      while (final.interrupted === true);
      for (const turnId of new Set(client.all('agent.delta').map((d) => d.turnId))) {
        const dones = client.all('agent.done').filter((d) => d.turnId === turnId);
        expect(dones).toHaveLength(1);
        expect(dones[0]!.text).toBe(deltasOf(client, turnId));
      }
      const conv = await api(srv.url, `/v1/conversations/${conversationId}`);
      const items = conv.body.items as { id: string; role: string; text: string }[];
      expect(items.slice(0, 2).map((i) => i.id)).toEqual([a.itemId, b.itemId]);
      expect(items.at(-1)).toMatchObject({ role: 'agent', text: final.text });
      for (const cut of client.all('agent.done').filter((d) => d.interrupted === true && d.text !== '')) {
        expect(items).toContainEqual(expect.objectContaining({ id: cut.itemId, text: cut.text, interrupted: true }));
      }
    } finally {
      client.close();
    }
  });
});
