import { describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.ts';
import type { NewJob } from '../../src/store/index.ts';
import { T0 } from './builders.ts';
import type { ContractContext } from './contract.ts';

/** The embedded queue's table; the queue itself is tested in queue-embedded.test.ts. */
export function jobContract(ctx: ContractContext): void {
  function job(overrides: Partial<NewJob> = {}): NewJob {
    return { id: newId('job', T0), name: 'turn', data: { conversationId: 'conv_1' }, runAt: T0, maxAttempts: 3, backoffMs: 100, createdAt: T0, ...overrides };
  }

  describe('jobs', () => {
    it('claims due jobs in run order, up to the limit, once', async () => {
      const late = job({ runAt: T0 + 10 });
      const early = job({ runAt: T0 + 5 });
      const future = job({ runAt: T0 + 1000 });
      const other = job({ name: 'send' });
      for (const j of [late, early, future, other]) await ctx.store.jobs.insert(j);

      expect(await ctx.store.jobs.dueNames(['turn', 'send', 'none'], T0 + 10)).toEqual(expect.arrayContaining(['turn', 'send']));
      expect(await ctx.store.jobs.dueNames(['turn'], T0)).toEqual([]);
      expect(await ctx.store.jobs.nextRunAt(['turn'])).toBe(T0 + 5);
      expect(await ctx.store.jobs.nextRunAt(['none'])).toBeUndefined();

      const claimed = await ctx.store.jobs.claimDue('turn', T0 + 10, 5);
      expect(claimed.map((j) => j.id)).toEqual([early.id, late.id]);
      expect(claimed[0]).toMatchObject({ state: 'active', attempts: 1, data: { conversationId: 'conv_1' }, maxAttempts: 3, backoffMs: 100 });
      expect(await ctx.store.jobs.claimDue('turn', T0 + 10, 5)).toEqual([]);
      expect(await ctx.store.jobs.nextRunAt(['turn'])).toBe(T0 + 1000);
    });

    it('gives each job to one of several concurrent claimers', async () => {
      const jobs = Array.from({ length: 20 }, (_, i) => job({ runAt: T0 + i }));
      for (const j of jobs) await ctx.store.jobs.insert(j);
      const other = await ctx.open('node-other');
      const claims = await Promise.all([ctx.store, other, ctx.store, other].map((s) => s.jobs.claimDue('turn', T0 + 100, 8)));
      const ids = claims.flat().map((j) => j.id);
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
    });

    it('completes, retries, fails and recovers interrupted jobs', async () => {
      const [a, b, c, d] = [job(), job(), job(), job({ maxAttempts: 1 })];
      for (const j of [a, b, c, d]) await ctx.store.jobs.insert(j);
      await ctx.store.jobs.claimDue('turn', T0, 10);
      await ctx.store.jobs.complete(a.id);
      await ctx.store.jobs.retry(b.id, T0 + 500, 'boom');
      expect(await ctx.store.jobs.get(a.id)).toBeUndefined();
      expect(await ctx.store.jobs.get(b.id)).toMatchObject({ state: 'created', runAt: T0 + 500, attempts: 1, lastError: 'boom' });

      // c and d were interrupted: c goes back, d was on its last attempt and fails.
      expect(await ctx.store.jobs.recoverActive()).toBe(1);
      expect(await ctx.store.jobs.get(c.id)).toMatchObject({ state: 'created', attempts: 1 });
      expect(await ctx.store.jobs.get(d.id)).toMatchObject({ state: 'failed', lastError: expect.stringContaining('restart') });

      await ctx.store.jobs.fail(c.id, 'gave up');
      expect((await ctx.store.jobs.list({ state: 'failed' })).map((j) => j.id)).toEqual([c.id, d.id]);
      expect((await ctx.store.jobs.list({ name: 'turn' })).map((j) => j.id)).toEqual([b.id, c.id, d.id]);
    });

    it('can be inserted atomically with other writes', async () => {
      const j = job();
      await expect(
        ctx.store.transaction(async (tx) => {
          await tx.jobs.insert(j);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await ctx.store.jobs.get(j.id)).toBeUndefined();
    });
  });
}
