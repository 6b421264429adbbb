import type { BenchSession } from './lib/client.ts';
import { closeAll, openSessions, sleep, turnEach, waitForPool } from './lib/fleet.ts';
import { fleetCap, mapCount, processCpuSeconds } from './lib/proc.ts';
import { figure, type BenchContext, type BenchOutput, type Benchmark } from './lib/report.ts';
import { explain, spawnBenchServer, type BenchServer } from './lib/server.ts';
import { round } from './lib/stats.ts';

/**
 * RSS of the server process (main thread + every worker thread) with 0, 100 and 500 idle live
 * sessions open. The warm pool (4 workers) is full at every reading, so the difference between
 * readings is what the live sessions cost.
 */
const FULL = { poolSize: 4, lanes: 4, steps: [100, 500], settleMs: 2000, idleCpuMs: 5000 };
const QUICK = { poolSize: 4, lanes: 2, steps: [10, 30], settleMs: 1000, idleCpuMs: 1000 };

/** Median of three readings, after the pool refilled and the heap had time to settle. */
async function settledRss(server: BenchServer, poolSize: number, settleMs: number): Promise<number> {
  await waitForPool(server, poolSize);
  await sleep(settleMs);
  const r: number[] = [];
  for (let i = 0; i < 3; i++) {
    r.push(server.rssMb());
    await sleep(200);
  }
  return r.sort((a, b) => a - b)[1]!;
}

async function run(ctx: BenchContext): Promise<BenchOutput> {
  const p = ctx.quick ? QUICK : FULL;
  const server = await spawnBenchServer({ poolSize: p.poolSize, nodeArgs: ctx.serverNodeArgs });
  const open: BenchSession[] = [];
  try {
    const readings: { sessions: number; rssMb: number }[] = [];
    const rss0 = await settledRss(server, p.poolSize, p.settleMs);
    readings.push({ sessions: 0, rssMb: round(rss0, 1) });
    ctx.log(`0 sessions: ${Math.round(rss0)} MB`);
    let perSession = 35;
    let mapsEach = 150;
    const maps0 = mapCount(server.pid);
    let limitedBy: string | undefined;
    const failedStarts: string[] = [];
    for (const target of p.steps) {
      const cap = fleetCap(server.pid, target - open.length, { mb: perSession * 1.2, maps: mapsEach * 1.05 }, p.poolSize);
      const fit = cap.more;
      if (cap.limitedBy) {
        limitedBy = cap.limitedBy;
        ctx.log(`only ${open.length + fit} sessions (wanted ${target}), limited by ${cap.limitedBy}`);
      }
      const o = await openSessions(server, fit, p.lanes);
      open.push(...o.sessions);
      failedStarts.push(...o.failedStarts);
      if (o.atCapacity) {
        limitedBy = `the server's pool.maxWorkers: it refused session ${open.length + 1} with at_capacity`;
        ctx.log(`the server refused more sessions (at_capacity) at ${open.length}`);
      }
      const rss = await settledRss(server, p.poolSize, p.settleMs);
      readings.push({ sessions: open.length, rssMb: round(rss, 1) });
      perSession = (rss - rss0) / open.length;
      mapsEach = (mapCount(server.pid) - maps0) / open.length;
      ctx.log(`${open.length} sessions: ${Math.round(rss)} MB (${round(perSession, 1)} MB each)`);
    }
    const cpu0 = processCpuSeconds(server.pid);
    await sleep(p.idleCpuMs);
    const idleCpuPct = ((processCpuSeconds(server.pid) - cpu0) / (p.idleCpuMs / 1000)) * 100;

    ctx.log(`one turn in each of the ${open.length} sessions`);
    await turnEach(open, 4);
    const rssAfterTurn = await settledRss(server, p.poolSize, p.settleMs);

    const last = readings.at(-1)!;
    const first = readings[1]!;
    const mbPer = (last.rssMb - rss0) / last.sessions;
    const figures = [
      figure('memory_per_live_session', `RSS per idle live session (0 → ${last.sessions})`, mbPer, 'MB', {
        detail: readings.map((r) => `${r.sessions}: ${Math.round(r.rssMb)} MB`).join(', '),
        target: { op: '<', value: 15, source: 'DESIGN.md "Performance budgets" (Memory); issue #2' },
      }),
      figure('memory_per_live_session_small', `RSS per idle live session (0 → ${first.sessions})`, (first.rssMb - rss0) / first.sessions, 'MB'),
      figure('memory_per_session_after_turn', `RSS per live session after one turn each (0 → ${last.sessions})`, (rssAfterTurn - rss0) / last.sessions, 'MB'),
      figure('idle_cpu', `server CPU with ${last.sessions} idle live sessions`, idleCpuPct, '% of a core'),
    ];
    return {
      figures,
      data: {
        parameters: p,
        readings,
        wantedSessions: p.steps.at(-1),
        ...(limitedBy ? { limitedBy } : {}),
        mappingsPerSession: Math.round(mapsEach),
        failedStarts,
        rssAfterOneTurnEachMb: round(rssAfterTurn, 1),
        mbPerSession: round(mbPer, 2),
        idleCpuPctOfOneCore: round(idleCpuPct, 2),
        serverStartupMs: Math.round(server.startupMs),
      },
      serverProblems: server.problems(),
    };
  } catch (err) {
    throw explain(server, err);
  } finally {
    await closeAll(open).catch(() => undefined);
    await server.stop();
  }
}

export const memoryPerSession: Benchmark = {
  name: 'memory-per-session',
  description: 'RSS of the server process (main thread + workers) with 0, 100 and 500 idle live sessions',
  run,
};
