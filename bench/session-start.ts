import type { BenchSession } from './lib/client.ts';
import { closeAll, openSessions, sleep, waitForPool } from './lib/fleet.ts';
import { cpuWindow } from './lib/proc.ts';
import { figure, latencyDetail, type BenchContext, type BenchOutput, type Benchmark, type Figure } from './lib/report.ts';
import { explain, spawnBenchServer, type BenchServer } from './lib/server.ts';
import { round, summarize } from './lib/stats.ts';

/**
 * `session.start` sent → `session.started` received: from the warm pool, with every worker cold
 * (pool size 0: each session spawns its worker thread), and for a burst of starts larger than the
 * pool.
 */
const FULL = { warmPool: 8, warmStarts: 40, coldStarts: 30, burstPool: 8, burstStarts: 32 };
const QUICK = { warmPool: 4, warmStarts: 8, coldStarts: 5, burstPool: 4, burstStarts: 8 };

async function withServer<T>(ctx: BenchContext, poolSize: number, fn: (s: BenchServer, open: BenchSession[]) => Promise<T>): Promise<{ value: T; problems: string[]; startupMs: number }> {
  const server = await spawnBenchServer({ poolSize, nodeArgs: ctx.serverNodeArgs });
  const open: BenchSession[] = [];
  try {
    const value = await fn(server, open);
    return { value, problems: server.problems(), startupMs: Math.round(server.startupMs) };
  } catch (err) {
    throw explain(server, err);
  } finally {
    await closeAll(open).catch(() => undefined);
    await server.stop();
  }
}

async function run(ctx: BenchContext): Promise<BenchOutput> {
  const p = ctx.quick ? QUICK : FULL;
  const figures: Figure[] = [];
  const problems: string[] = [];

  // Warm: before each start the pool is full again and no refill is running.
  ctx.log(`warm pool of ${p.warmPool}: ${p.warmStarts} starts, one at a time`);
  const warm = await withServer(ctx, p.warmPool, async (server, open) => {
    const ms: number[] = [];
    const failed: string[] = [];
    const cpu = cpuWindow(server.pid);
    for (let i = 0; i < p.warmStarts; i++) {
      await waitForPool(server, p.warmPool);
      await sleep(50); // the /metrics poll's own work done
      const o = await openSessions(server, 1);
      open.push(...o.sessions);
      ms.push(o.startMs[0]!);
      failed.push(...o.failedStarts);
    }
    return { ms, failed, otherCpuPct: cpu().otherCpuPct };
  });
  problems.push(...warm.problems);
  const warmS = summarize(warm.value.ms);
  figures.push(figure('session_start_warm_p50', 'session start p50, warm pool', warmS.p50, 'ms', { detail: latencyDetail(warmS) }));
  figures.push(figure('session_start_warm_p95', 'session start p95, warm pool', warmS.p95, 'ms', { detail: latencyDetail(warmS) }));

  // Cold: pool size 0, every start spawns a worker thread and loads the engine into it.
  ctx.log(`no pool: ${p.coldStarts} cold starts, one at a time`);
  const cold = await withServer(ctx, 0, async (server, open) => {
    const cpu = cpuWindow(server.pid);
    const o = await openSessions(server, p.coldStarts);
    open.push(...o.sessions);
    return { ms: o.startMs, failed: o.failedStarts, otherCpuPct: cpu().otherCpuPct };
  });
  problems.push(...cold.problems);
  const coldS = summarize(cold.value.ms);
  figures.push(figure('session_start_cold_p50', 'session start p50, pool exhausted (cold worker spawn)', coldS.p50, 'ms', { detail: latencyDetail(coldS) }));

  // A burst of starts, 4× the pool, all sent at once.
  ctx.log(`pool of ${p.burstPool}: ${p.burstStarts} starts at once`);
  const burst = await withServer(ctx, p.burstPool, async (server, open) => {
    await waitForPool(server, p.burstPool);
    const cpu = cpuWindow(server.pid);
    const t0 = performance.now();
    const o = await openSessions(server, p.burstStarts, p.burstStarts);
    open.push(...o.sessions);
    return { ms: o.startMs, failed: o.failedStarts, wallMs: performance.now() - t0, otherCpuPct: cpu().otherCpuPct };
  });
  problems.push(...burst.problems);
  const burstS = summarize(burst.value.ms);
  figures.push(figure('session_start_burst_p95', `session start p95, ${p.burstStarts} at once on a pool of ${p.burstPool}`, burstS.p95, 'ms', { detail: latencyDetail(burstS) }));

  return {
    figures,
    data: {
      parameters: p,
      warm: { poolSize: p.warmPool, startMs: warmS, failedStarts: warm.value.failed, otherProcessesCpuPct: round(warm.value.otherCpuPct, 1), serverStartupMs: warm.startupMs },
      cold: { poolSize: 0, startMs: coldS, samplesMs: cold.value.ms.map((x) => round(x, 1)), failedStarts: cold.value.failed, otherProcessesCpuPct: round(cold.value.otherCpuPct, 1) },
      burst: {
        poolSize: p.burstPool,
        starts: p.burstStarts,
        startMs: burstS,
        failedStarts: burst.value.failed,
        wallMs: round(burst.value.wallMs, 1),
        otherProcessesCpuPct: round(burst.value.otherCpuPct, 1),
        serverStartupMs: burst.startupMs,
      },
    },
    serverProblems: problems,
  };
}

export const sessionStart: Benchmark = {
  name: 'session-start',
  description: 'session.start sent → session.started received, from the warm pool and with cold worker spawns',
  run,
};
