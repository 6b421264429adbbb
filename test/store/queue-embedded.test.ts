import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.ts';
import {
  createEmbeddedQueue,
  openStore,
  type EmbeddedWorkQueue,
  type QueuedJob,
  type Store,
} from '../../src/store/index.ts';
import { FakeClock } from '../../src/testing/fake-clock.ts';

const DAY = 24 * 60 * 60 * 1000;

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Waits (real time, briefly) for something the queue does asynchronously. */
async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('embedded work queue', () => {
  let root: string;
  let dataDir: string;
  let store: Store;
  let clock: FakeClock;
  let queues: EmbeddedWorkQueue[];
  const warnings: string[] = [];
  const logger = { warn: (_obj: object, msg: string) => void warnings.push(msg) };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'operator-queue-'));
    dataDir = join(root, 'data');
    store = await openStore({ dataDir, nodeId: 'node-test' });
    await store.migrate();
    clock = new FakeClock();
    queues = [];
    warnings.length = 0;
  });

  afterEach(async () => {
    for (const q of queues) await q.stop();
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  function queue(on: Store = store, opts: { stopTimeoutMs?: number } = {}): EmbeddedWorkQueue {
    const q = createEmbeddedQueue(on, { clock, logger, ...opts });
    queues.push(q);
    return q;
  }

  it('runs a job sent for now at once, then deletes it', async () => {
    const q = queue();
    const started: number[] = [];
    const runs: QueuedJob[] = [];
    q.work('turn', (job) => {
      started.push(performance.now());
      runs.push(job);
      return Promise.resolve();
    });
    await q.start();

    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const before = performance.now();
      const id = await q.send({ name: 'turn', data: { i } });
      await waitFor(() => runs.length === i + 1, 'the job to run');
      latencies.push(started[i]! - before);
      expect(runs[i]).toEqual({ id, name: 'turn', data: { i }, attempt: 1 });
    }
    await q.settled();
    expect(await store.jobs.list()).toEqual([]);
    // send → handler start is one group commit (an fsync), no timer.
    latencies.sort((a, b) => a - b);
    expect(latencies[10]).toBeLessThan(20);
    expect(q.kind).toBe('embedded');
  });

  it('runs a job two days out only when the clock gets there', async () => {
    const q = queue();
    const runs: QueuedJob[] = [];
    q.work('timeout', (job) => {
      runs.push(job);
      return Promise.resolve();
    });
    await q.start();
    const id = await q.send({ name: 'timeout', data: { conversationId: 'conv_1' }, runAt: clock.now() + 2 * DAY });
    await q.settled();
    expect(runs).toEqual([]);
    expect(await store.jobs.get(id)).toMatchObject({ state: 'created', runAt: clock.now() + 2 * DAY });

    clock.advance(2 * DAY - 1);
    await q.settled();
    expect(runs).toEqual([]);

    clock.advance(1);
    await waitFor(() => runs.length === 1, 'the delayed job');
    expect(runs[0]).toMatchObject({ id, data: { conversationId: 'conv_1' }, attempt: 1 });
    await q.settled();
    expect(await store.jobs.get(id)).toBeUndefined();
  });

  it('retries a failing job with doubling backoff, then keeps it as failed', async () => {
    const q = queue();
    const attempts: number[] = [];
    q.work('send', (job) => {
      attempts.push(job.attempt);
      return Promise.reject(new Error(`provider down (attempt ${job.attempt})`));
    });
    await q.start();
    const id = await q.send({ name: 'send', data: {}, maxAttempts: 3, backoffMs: 1000 });
    await q.settled();
    expect(attempts).toEqual([1]);
    expect(await store.jobs.get(id)).toMatchObject({ state: 'created', attempts: 1, lastError: 'provider down (attempt 1)' });

    clock.advance(999);
    await q.settled();
    expect(attempts).toEqual([1]);
    clock.advance(1);
    await waitFor(() => attempts.length === 2, 'the first retry');
    await q.settled();

    clock.advance(1999); // the second retry waits twice as long
    await q.settled();
    expect(attempts).toEqual([1, 2]);
    clock.advance(1);
    await waitFor(() => attempts.length === 3, 'the second retry');
    await q.settled();

    expect(await store.jobs.get(id)).toMatchObject({ state: 'failed', attempts: 3, lastError: 'provider down (attempt 3)' });
    clock.advance(DAY);
    await q.settled();
    expect(attempts).toEqual([1, 2, 3]);
    expect(warnings).toContain('job failed for the last time');
  });

  it('succeeds on a retry and then forgets the job', async () => {
    const q = queue();
    const attempts: number[] = [];
    q.work('send', (job) => {
      attempts.push(job.attempt);
      return job.attempt === 1 ? Promise.reject(new Error('flaky')) : Promise.resolve();
    });
    await q.start();
    const id = await q.send({ name: 'send', data: {}, backoffMs: 500 });
    await q.settled();
    clock.advance(500);
    await waitFor(() => attempts.length === 2, 'the retry');
    await q.settled();
    expect(await store.jobs.get(id)).toBeUndefined();
  });

  it('never runs more than the concurrency of a handler at once', async () => {
    const q = queue();
    const gate = deferred();
    let running = 0;
    let peak = 0;
    let done = 0;
    q.work(
      'turn',
      async () => {
        running++;
        peak = Math.max(peak, running);
        await gate.promise;
        running--;
        done++;
      },
      { concurrency: 2 },
    );
    let otherRuns = 0;
    q.work('other', () => {
      otherRuns++;
      return Promise.resolve();
    });
    await q.start();
    for (let i = 0; i < 5; i++) await q.send({ name: 'turn', data: { i } });
    await waitFor(() => running === 2, 'two running');
    // A full handler does not hold up another name.
    await q.send({ name: 'other', data: {} });
    await waitFor(() => otherRuns === 1, 'the other job');
    await new Promise((r) => setTimeout(r, 20));
    expect(running).toBe(2);
    expect((await store.jobs.list({ name: 'turn', state: 'active' })).length).toBe(2);

    gate.resolve();
    await waitFor(() => done === 5, 'all five');
    expect(peak).toBe(2);
    await q.settled();
    expect(await store.jobs.list()).toEqual([]);
  });

  it('runs again, after a restart, a job that was running when the node stopped', async () => {
    const first = queue(store, { stopTimeoutMs: 20 });
    const stuck = deferred();
    let firstStarted = 0;
    first.work('turn', async () => {
      firstStarted++;
      await stuck.promise;
    });
    await first.start();
    const id = await first.send({ name: 'turn', data: { conversationId: 'conv_9' } });
    await waitFor(() => firstStarted === 1, 'the first run');
    await first.stop(); // times out: the handler is still running, as if the process died
    expect(await store.jobs.get(id)).toMatchObject({ state: 'active', attempts: 1 });
    expect(warnings).toContain('queue stopped with handlers still running');

    const second = queue();
    const runs: QueuedJob[] = [];
    second.work('turn', (job) => {
      runs.push(job);
      return Promise.resolve();
    });
    await second.start();
    await waitFor(() => runs.length === 1, 'the recovered job');
    expect(runs[0]).toEqual({ id, name: 'turn', data: { conversationId: 'conv_9' }, attempt: 2 });
    await second.settled();
    expect(await store.jobs.get(id)).toBeUndefined();
    stuck.resolve();
  });

  it('keeps a sent job across closing and reopening the store', async () => {
    const sender = queue();
    const id = await sender.send({ name: 'turn', data: { conversationId: 'conv_7' }, runAt: clock.now() + 1000 });
    await sender.stop();
    await store.close();

    store = await openStore({ dataDir, nodeId: 'node-test' });
    const q = queue();
    const runs: QueuedJob[] = [];
    q.work('turn', (job) => {
      runs.push(job);
      return Promise.resolve();
    });
    await q.start();
    await q.settled();
    expect(runs).toEqual([]);
    clock.advance(1000);
    await waitFor(() => runs.length === 1, 'the job after reopening');
    expect(runs[0]).toEqual({ id, name: 'turn', data: { conversationId: 'conv_7' }, attempt: 1 });
  });

  it('runs jobs sent before start, handlers registered after start, and rows written in a transaction', async () => {
    const q = queue();
    const runs: string[] = [];
    await q.send({ name: 'early', data: {} });
    await q.start();
    q.work('early', () => {
      runs.push('early');
      return Promise.resolve();
    });
    await waitFor(() => runs.length === 1, 'the early job');

    q.work('tx', () => {
      runs.push('tx');
      return Promise.resolve();
    });
    await q.settled();
    await store.transaction((tx) =>
      tx.jobs.insert({ id: newId('job', clock.now()), name: 'tx', data: {}, runAt: clock.now(), maxAttempts: 1, backoffMs: 0, createdAt: clock.now() }),
    );
    await q.settled();
    expect(runs).toEqual(['early']);
    clock.advance(1000); // the safety poll
    await waitFor(() => runs.length === 2, 'the job written in a transaction');
    expect(runs).toEqual(['early', 'tx']);
  });

  it('runs every one of many jobs to success exactly once, through failures and retries', async () => {
    const q = queue();
    const succeeded = new Map<string, number>();
    const attemptsSeen = new Map<string, number[]>();
    let running = 0;
    let peak = 0;
    for (const name of ['a', 'b']) {
      q.work(
        name,
        async (job) => {
          running++;
          peak = Math.max(peak, running);
          attemptsSeen.set(job.id, [...(attemptsSeen.get(job.id) ?? []), job.attempt]);
          await new Promise((r) => setImmediate(r));
          running--;
          if (Number(job.data.i) % 3 === 0 && job.attempt === 1) throw new Error('first attempt fails');
          succeeded.set(job.id, (succeeded.get(job.id) ?? 0) + 1);
        },
        { concurrency: 4 },
      );
    }
    await q.start();
    const ids = await Promise.all(
      Array.from({ length: 300 }, (_, i) => q.send({ name: i % 2 ? 'a' : 'b', data: { i }, backoffMs: 0 })),
    );
    await waitFor(() => succeeded.size === 300, 'all 300 jobs', 20_000);
    await q.settled();
    expect([...succeeded.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(succeeded.keys())).toEqual(new Set(ids));
    expect(attemptsSeen.get(ids[3]!)).toEqual([1, 2]);
    expect(attemptsSeen.get(ids[1]!)).toEqual([1]);
    expect(peak).toBeLessThanOrEqual(8);
    expect(await store.jobs.list()).toEqual([]);
  });

  it('refuses bad requests and a second handler for a name', async () => {
    const q = queue();
    await expect(q.send({ name: '', data: {} })).rejects.toMatchObject({ code: 'invalid_job' });
    await expect(q.send({ name: 'x', data: {}, maxAttempts: 0 })).rejects.toMatchObject({ code: 'invalid_job' });
    await expect(q.send({ name: 'x', data: {}, backoffMs: -1 })).rejects.toMatchObject({ code: 'invalid_job' });
    q.work('x', () => Promise.resolve());
    expect(() => q.work('x', () => Promise.resolve())).toThrow(/already registered/);
    expect(() => q.work('y', () => Promise.resolve(), { concurrency: 0 })).toThrow(/concurrency/);
    expect(await store.jobs.list()).toEqual([]);
  });
});
