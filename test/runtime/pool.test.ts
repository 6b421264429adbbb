import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { OperatorError } from '../../src/core/errors.ts';
import { WorkerPool } from '../../src/runtime/pool.ts';
import { tempDir } from '../helpers/server.ts';

/** A minimal worker that speaks the pool's start-up handshake. */
function workerScript(): URL {
  const path = join(tempDir(), 'worker.mjs');
  writeFileSync(path, "import { parentPort } from 'node:worker_threads';\nparentPort.postMessage({ t: 'ready' });\nparentPort.on('message', () => {});\n");
  return new URL(`file://${path}`);
}

let pool: WorkerPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

function makePool(size: number, maxWorkers: number): WorkerPool {
  return new WorkerPool({ size, maxWorkers, script: workerScript(), workerData: {}, resourceLimits: { maxOldGenerationSizeMb: 32 } });
}

describe('WorkerPool', () => {
  it('reuses a released worker and gives its lease back, so capacity is never used up', async () => {
    pool = makePool(1, 1);
    await pool.start();
    const first = await pool.acquire();
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'at_capacity' } satisfies Partial<OperatorError>);
    pool.release(first.worker);
    expect(pool.busy).toBe(0);
    for (let i = 0; i < 20; i++) {
      const lease = await pool.acquire();
      expect(lease.worker.threadId).toBe(first.worker.threadId); // the same thread, no new spawn
      pool.release(lease.worker);
    }
    expect(pool.idle).toBe(1);
    expect(first.worker.listenerCount('exit')).toBeLessThanOrEqual(1); // reuse adds no listeners
  });

  it('frees the lease of a worker that dies, and does not take a dead worker back', async () => {
    pool = makePool(1, 1);
    await pool.start();
    const lease = await pool.acquire();
    await lease.worker.terminate();
    await new Promise((r) => setImmediate(r));
    expect(pool.busy).toBe(0);
    pool.release(lease.worker); // no effect: it is gone
    const next = await pool.acquire();
    expect(next.worker.threadId).not.toBe(lease.worker.threadId);
  });
});
