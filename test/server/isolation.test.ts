import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, ask, openSession, serve, type TestServer } from '../helpers/api.ts';
import type { RealtimeClient } from '../helpers/realtime-client.ts';

/**
 * Worker isolation (DESIGN.md "Isolated worker per live conversation"): a tool that kills its
 * worker or blows its memory limit ends that one conversation with `error` + `session.ended`
 * (reason "error"), keeps its transcript, and the server and other conversations go on.
 */

// A `.ts` config: its tool functions run inside the conversation's worker.
const CONFIG = `
const step = (tool: string) => ({ deltas: ['Let me ', 'check. '], toolCalls: [{ name: tool, args: {} }] });
export default {
  pool: { size: 2, maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
  agents: {
    exits: {
      instructions: 'x',
      model: { provider: 'scripted', loop: true, steps: [step('explode'), { deltas: ['never said'] }] },
      tools: [{ name: 'explode', description: 'Exits the thread', execute: () => { process.exit(1); } }],
    },
    hog: {
      instructions: 'x',
      model: { provider: 'scripted', loop: true, steps: [step('hog'), { deltas: ['never said'] }] },
      tools: [{
        name: 'hog',
        description: 'Allocates without limit',
        execute: () => {
          const keep: number[][] = [];
          for (;;) keep.push(new Array(100_000).fill(Math.random()));
        },
      }],
    },
    throws: {
      instructions: 'x',
      model: { provider: 'scripted', loop: true, steps: [step('fails'), { deltas: ['The tool failed, sorry.'] }] },
      tools: [{ name: 'fails', description: 'Throws', execute: () => { throw new Error('tool bug'); } }],
    },
    calm: {
      instructions: 'x',
      model: { provider: 'scripted', loop: true, steps: [{ deltas: ['All ', 'good.'] }] },
    },
  },
};
`;

let srv: TestServer;
beforeAll(async () => {
  srv = await serve(CONFIG, { fileName: 'operator.config.ts' });
});
afterAll(() => srv.close());

async function crashScenario(agent: string, code: string): Promise<void> {
  const bystander = await openSession(srv.url, 'calm');
  let victim: RealtimeClient | undefined;
  try {
    expect((await ask(bystander.client, 'before')).done.text).toBe('All good.');

    const v = await openSession(srv.url, agent);
    victim = v.client;
    v.client.send({ type: 'user.message', text: 'please run the tool' });
    const accepted = await v.client.next('user.accepted');
    const error = await v.client.next('error');
    expect(error.code).toBe(code);
    expect(error.message).toEqual(expect.any(String));
    const ended = await v.client.next('session.ended');
    expect(ended.reason).toBe('error');
    expect(await v.client.closed()).toBe(1000);

    // The transcript up to the crash is kept, and the conversation is ended, not left active.
    const conv = await api(srv.url, `/v1/conversations/${v.conversationId}`);
    expect(conv.body).toMatchObject({ status: 'ended', endedReason: 'error' });
    const items = conv.body.items as { id: string; role: string; type: string; text: string; interrupted: boolean }[];
    expect(items[0]).toMatchObject({ id: accepted.itemId, role: 'user', text: 'please run the tool' });
    const said = v.client.all('agent.delta').map((d) => d.text as string).join('');
    expect(said).toBe('Let me check. ');
    expect(items).toContainEqual(expect.objectContaining({ role: 'agent', type: 'message', text: said, interrupted: true }));
    expect(items.map((i) => i.text)).not.toContain('never said');

    // The server and the other conversation go on.
    expect((await api(srv.url, '/healthz')).body).toEqual({ status: 'ok' });
    expect((await ask(bystander.client, 'after')).done.text).toBe('All good.');
    const fresh = await openSession(srv.url, 'calm');
    expect((await ask(fresh.client, 'new one')).done.text).toBe('All good.');
    fresh.client.close();
  } finally {
    victim?.close();
    bystander.client.close();
  }
}

describe('worker isolation', () => {
  it('a tool that calls process.exit(1) ends only its conversation: error worker_crashed, session.ended "error"', async () => {
    await crashScenario('exits', 'worker_crashed');
  });

  it('a tool that exceeds the worker memory limit: error worker_out_of_memory, session.ended "error"', async () => {
    await crashScenario('hog', 'worker_out_of_memory');
  });

  it('counts crashes in /metrics', async () => {
    const metrics = await api(srv.url, '/metrics');
    const line = metrics.text.split('\n').find((l) => l.startsWith('operator_worker_crashes_total'));
    expect(Number(line?.split(' ')[1])).toBeGreaterThanOrEqual(2);
  });

  it('a tool that throws is an error the model reads, not a crash', async () => {
    const { client, conversationId } = await openSession(srv.url, 'throws');
    try {
      const { done } = await ask(client, 'try it');
      expect(done.text).toBe('Let me check. The tool failed, sorry.');
      expect(client.all('tool.finished')).toEqual([expect.objectContaining({ name: 'fails', ok: false })]);
      expect(client.all('error')).toEqual([]);
      const conv = await api(srv.url, `/v1/conversations/${conversationId}`);
      expect(conv.body.status).toBe('active');
      const result = (conv.body.items as { type: string; data?: unknown }[]).find((i) => i.type === 'tool_result');
      expect(JSON.stringify(result?.data)).toContain('tool bug');
    } finally {
      client.close();
    }
  });
});
