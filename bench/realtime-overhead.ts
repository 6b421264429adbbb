import { closeAll, openSessions, sleep, turnEach, burst, type Burst } from './lib/fleet.ts';
import { sessionsThatFit } from './lib/proc.ts';
import { figure, latencyDetail, type BenchContext, type BenchOutput, type Benchmark, type Figure } from './lib/report.ts';
import { spawnBenchServer } from './lib/server.ts';
import { round, summarize } from './lib/stats.ts';

/**
 * Platform overhead per turn as a realtime-socket client sees it: `user.message` sent → first
 * `agent.delta` received, with the scripted model streaming 20 deltas with no delay, so every
 * millisecond measured is the platform's (socket, validation, store write, worker hand-off,
 * engine, back).
 */
const FULL = { poolSize: 8, lanes: 2, warmupTurns: 50, sequentialTurns: 2000, burstSessions: 100, burstTurns: 10, largeSessions: 500, largeTurns: 10 };
const QUICK = { poolSize: 4, lanes: 2, warmupTurns: 20, sequentialTurns: 200, burstSessions: 20, burstTurns: 5, largeSessions: 50, largeTurns: 3 };

const DESIGN = 'DESIGN.md "Performance budgets"';
const ISSUE = 'issue #2 "Benchmark"';

function burstData(b: Burst): Record<string, unknown> {
  return {
    sessions: b.sessions,
    turnsPerSession: b.turnsPerSession,
    firstDeltaMs: summarize(b.firstDeltaMs),
    agentDoneMs: summarize(b.doneMs),
    wallMs: round(b.wallMs, 1),
    turnsPerSecond: Math.round(b.turnsPerSecond),
    serverCpuMsPerTurn: round(b.serverCpuMsPerTurn),
    clientCpuMsPerTurn: round(b.clientCpuMsPerTurn),
  };
}

async function run(ctx: BenchContext): Promise<BenchOutput> {
  const p = ctx.quick ? QUICK : FULL;
  const server = await spawnBenchServer({ poolSize: p.poolSize, nodeArgs: ctx.serverNodeArgs });
  const figures: Figure[] = [];
  const data: Record<string, unknown> = { parameters: p, serverStartupMs: Math.round(server.startupMs) };
  const open: { close(): Promise<void> }[] = [];
  try {
    // 1 session, turns one after the other.
    ctx.log(`1 session: ${p.sequentialTurns} sequential turns`);
    const one = await openSessions(server, 1);
    open.push(...one.sessions);
    const s = one.sessions[0]!;
    const firstTurn = await s.turn('hello');
    for (let i = 0; i < p.warmupTurns; i++) await s.turn('hello');
    const seq: number[] = [];
    const cpu0 = server.cpuSeconds();
    const t0 = performance.now();
    for (let i = 0; i < p.sequentialTurns; i++) seq.push((await s.turn('hello')).firstDeltaMs);
    const seqWall = performance.now() - t0;
    const seqSummary = summarize(seq);
    data.oneSession = {
      firstTurnOfSessionMs: round(firstTurn.firstDeltaMs),
      warmupTurns: p.warmupTurns,
      firstDeltaMs: seqSummary,
      turnsPerSecond: Math.round((seq.length / seqWall) * 1000),
      serverCpuMsPerTurn: round(((server.cpuSeconds() - cpu0) * 1000) / seq.length),
    };
    figures.push(figure('overhead_1_session_p95', 'overhead p95, 1 session', seqSummary.p95, 'ms', {
      detail: latencyDetail(seqSummary),
      target: { op: '<', value: 2, source: `${DESIGN}; ${ISSUE}` },
    }));
    await closeAll(one.sessions);
    open.length = 0;

    // N sessions, all turns sent at once.
    ctx.log(`${p.burstSessions} sessions: opening (${p.lanes} at a time)`);
    const fleet = await openSessions(server, p.burstSessions, p.lanes);
    open.push(...fleet.sessions);
    const rssBefore = server.rssMb();
    const firstTurns = await turnEach(fleet.sessions);
    ctx.log(`${p.burstSessions} sessions × ${p.burstTurns} turns, sent at once`);
    const b = await burst(server, fleet.sessions, p.burstTurns);
    const bSummary = summarize(b.firstDeltaMs);
    data.burst = {
      ...burstData(b),
      sessionStartMs: summarize(fleet.startMs),
      firstTurnOfSessionMs: summarize(firstTurns.map((t) => t.firstDeltaMs)),
    };
    const label = `${p.burstSessions} sessions × ${p.burstTurns} at once`;
    figures.push(figure('overhead_burst_p95', `overhead p95, ${label}`, bSummary.p95, 'ms', {
      detail: latencyDetail(bSummary),
      target: { op: '<', value: 5, source: `${ISSUE} (p95 < 5 ms at 100 sessions)` },
    }));
    figures.push(figure('overhead_burst_p95_design', `overhead p95, ${label} (DESIGN budget)`, bSummary.p95, 'ms', {
      detail: latencyDetail(bSummary),
      target: { op: '<', value: 25, source: `${DESIGN} (burst of 100 × 10: p95 < 25 ms)` },
    }));
    figures.push(figure('throughput_burst', `throughput, ${label}`, b.turnsPerSecond, 'turns/s', {
      detail: `server CPU ${round(b.serverCpuMsPerTurn)} ms/turn, client CPU ${round(b.clientCpuMsPerTurn)} ms/turn`,
      target: { op: '>=', value: 5000, source: DESIGN },
    }));

    // The large fleet: as many of the wanted sessions as memory allows.
    const mbEach = Math.max(1, (server.rssMb() - rssBefore) / p.burstSessions + (rssBefore / (p.burstSessions + p.poolSize)) * 0);
    const perSession = Math.max(mbEach, 30);
    const more = sessionsThatFit(p.largeSessions - p.burstSessions, perSession);
    const large = p.burstSessions + more;
    if (large < p.largeSessions) ctx.log(`only ${large} sessions fit in memory (wanted ${p.largeSessions})`);
    ctx.log(`${large} sessions: opening ${more} more`);
    const extra = await openSessions(server, more, p.lanes);
    open.push(...extra.sessions);
    await turnEach(extra.sessions, 4);
    await sleep(500);
    const all = [...fleet.sessions, ...extra.sessions];
    ctx.log(`${large} sessions × ${p.largeTurns} turns, sent at once`);
    const l = await burst(server, all, p.largeTurns);
    const lSummary = summarize(l.firstDeltaMs);
    data.large = {
      ...burstData(l),
      wantedSessions: p.largeSessions,
      sessionStartMs: summarize(extra.startMs),
      openWallMs: Math.round(extra.wallMs),
      serverRssMb: Math.round(server.rssMb()),
    };
    figures.push(figure('overhead_large_p95', `overhead p95, ${large} sessions × ${p.largeTurns} at once`, lSummary.p95, 'ms', {
      detail: latencyDetail(lSummary),
    }));
    figures.push(figure('throughput_large', `throughput, ${large} sessions × ${p.largeTurns} at once`, l.turnsPerSecond, 'turns/s', {
      detail: `server CPU ${round(l.serverCpuMsPerTurn)} ms/turn`,
    }));
    const starts = summarize(extra.startMs);
    figures.push(figure('session_start_large_p50', `session start p50 while opening ${large} (pool ${p.poolSize}, ${p.lanes} at a time)`, starts.p50, 'ms', {
      detail: latencyDetail(starts),
    }));
    return { figures, data, serverProblems: server.problems() };
  } finally {
    await closeAll(open as never).catch(() => undefined);
    await server.stop();
  }
}

export const realtimeOverhead: Benchmark = {
  name: 'realtime-overhead',
  description: 'user.message sent → first agent.delta received over the realtime socket (scripted model, 20 deltas, no delay)',
  run,
};
