import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createPgBossQueue, type PgBossQueueOptions, type QueuedJob, type WorkQueue } from '../../src/store/index.ts';

const url = process.env.OPERATOR_TEST_DATABASE_URL;

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (url === undefined || url === '') {
  console.warn('OPERATOR_TEST_DATABASE_URL is not set: the pg-boss queue tests are skipped.');
  describe.skip('pg-boss work queue (set OPERATOR_TEST_DATABASE_URL)', () => {
    it('runs against a real Postgres', () => {});
  });
} else {
  const databaseUrl = url;
  describe('pg-boss work queue', () => {
    // One pg-boss schema for this run, dropped afterwards; each test uses its own queue names.
    const schema = `pgboss_t${randomBytes(5).toString('hex')}`;
    const admin = new pg.Pool({ connectionString: url, max: 2 });
    let queues: WorkQueue[] = [];

    function queue(opts: Partial<PgBossQueueOptions> = {}): WorkQueue {
      const q = createPgBossQueue({ databaseUrl, schema, stopTimeoutMs: 2000, ...opts });
      queues.push(q);
      return q;
    }

    afterEach(async () => {
      await Promise.all(queues.map((q) => q.stop()));
      queues = [];
    });

    afterAll(async () => {
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    });

    async function jobRow(id: string): Promise<{ state: string; retry_count: number; output: unknown } | undefined> {
      const { rows } = await admin.query<{ state: string; retry_count: number; output: unknown }>(
        `select state, retry_count, output from ${schema}.job where id = $1`,
        [id],
      );
      return rows[0];
    }

    it('runs a sent job on a worker, promptly', async () => {
      const q = queue();
      expect(q.kind).toBe('pg-boss');
      const runs: QueuedJob[] = [];
      let startedAt = 0;
      q.work('hello', (job) => {
        startedAt = performance.now();
        runs.push(job);
        return Promise.resolve();
      });
      await q.start();
      await sleep(100); // let the workers' first empty poll pass
      const sentAt = performance.now();
      const id = await q.send({ name: 'hello', data: { text: 'hi', n: 1 } });
      await waitFor(() => runs.length === 1, 'the job');
      expect(runs[0]).toEqual({ id, name: 'hello', data: { text: 'hi', n: 1 }, attempt: 1 });
      // This node's idle worker is woken by send, not left to its 0.5 s poll.
      expect(startedAt - sentAt).toBeLessThan(400);
    });

    it('holds a delayed job until its time', async () => {
      const q = queue();
      const runs: number[] = [];
      q.work('later', () => {
        runs.push(Date.now());
        return Promise.resolve();
      });
      await q.start();
      const runAt = Date.now() + 1500;
      await q.send({ name: 'later', data: {}, runAt });
      await sleep(1000);
      expect(runs).toEqual([]);
      await waitFor(() => runs.length === 1, 'the delayed job', 5000);
      expect(runs[0]!).toBeGreaterThanOrEqual(runAt - 50);
    });

    it('retries a failing job, then succeeds', async () => {
      const q = queue();
      const attempts: number[] = [];
      q.work('flaky', (job) => {
        attempts.push(job.attempt);
        return job.attempt === 1 ? Promise.reject(new Error('provider down')) : Promise.resolve();
      });
      await q.start();
      const id = await q.send({ name: 'flaky', data: {}, maxAttempts: 3, backoffMs: 1000 });
      await waitFor(() => attempts.length === 2, 'the retry', 8000);
      expect(attempts).toEqual([1, 2]);
      await waitFor(async () => (await jobRow(id))?.state === 'completed', 'completion');
    });

    it('marks a job failed after maxAttempts, keeping the error', async () => {
      const q = queue();
      const attempts: number[] = [];
      q.work('doomed', (job) => {
        attempts.push(job.attempt);
        return Promise.reject(new Error(`no luck ${job.attempt}`));
      });
      await q.start();
      const id = await q.send({ name: 'doomed', data: {}, maxAttempts: 2, backoffMs: 0 });
      await waitFor(() => attempts.length === 2, 'two attempts', 8000);
      await waitFor(async () => (await jobRow(id))?.state === 'failed', 'the failed state');
      await sleep(1000);
      expect(attempts).toEqual([1, 2]);
      const row = await jobRow(id);
      expect(JSON.stringify(row?.output)).toContain('no luck 2');
    });

    it('shares the work between two nodes, running no job twice', async () => {
      const [a, b] = [queue(), queue()];
      const byNode: Record<string, string[]> = { a: [], b: [] };
      let running = 0;
      let peak = 0;
      for (const [node, q] of [['a', a], ['b', b]] as const) {
        q.work(
          'turn',
          async (job) => {
            running++;
            peak = Math.max(peak, running);
            byNode[node]!.push(job.id);
            await sleep(30);
            running--;
          },
          { concurrency: 2 },
        );
      }
      await Promise.all([a.start(), b.start()]);
      const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).send({ name: 'turn', data: { i } })));
      await waitFor(() => byNode.a!.length + byNode.b!.length >= 40, 'all jobs', 20_000);
      await sleep(700); // anything run twice would show up by now
      const ran = [...byNode.a!, ...byNode.b!];
      expect(ran).toHaveLength(40);
      expect(new Set(ran)).toEqual(new Set(ids));
      expect(byNode.a!.length).toBeGreaterThan(0);
      expect(byNode.b!.length).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(4);
    });

    it('gives a job stuck on one node to another after its expiry', async () => {
      const fast = { expireInSeconds: 1, maintenanceIntervalSeconds: 1 };
      const [a, b] = [queue(fast), queue(fast)];
      const stuck = new Promise<void>(() => {});
      const seen: Array<[string, number]> = [];
      a.work('expiring', (job) => {
        seen.push(['a', job.attempt]);
        return stuck; // a hung (or dead) node: the job stays active
      });
      await a.start();
      await a.send({ name: 'expiring', data: {}, backoffMs: 0 });
      await waitFor(() => seen.length === 1, 'the first run');
      b.work('expiring', (job) => {
        seen.push(['b', job.attempt]);
        return Promise.resolve();
      });
      await b.start();
      await waitFor(() => seen.length === 2, 'the run on the other node', 10_000);
      expect(seen).toEqual([
        ['a', 1],
        ['b', 2],
      ]);
    });

    it('stops while a handler runs: waits for it, and later sends are refused', async () => {
      const q = queue();
      let finished = false;
      let started = false;
      q.work('slow', async () => {
        started = true;
        await sleep(300);
        finished = true;
      });
      await q.start();
      await q.send({ name: 'slow', data: {} });
      await waitFor(() => started, 'the handler');
      const t = Date.now();
      await q.stop();
      expect(finished).toBe(true);
      expect(Date.now() - t).toBeLessThan(3000);
      await expect(q.send({ name: 'slow', data: {} })).rejects.toThrow(/stopped/);
    });
  });
}
