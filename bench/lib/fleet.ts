import { BenchSession, type TurnTiming } from './client.ts';
import { cpuWindow } from './proc.ts';
import { AGENT, type BenchServer } from './server.ts';

/** Groups of sessions on one server: opening them, warming them, and the burst of turns. */

export interface Opened {
  sessions: BenchSession[];
  /** `session.start` sent → `session.started` received, per session, in opening order. */
  startMs: number[];
  /** Starts the server refused or failed (e.g. `worker_start_timeout` under load); each was retried. */
  failedStarts: string[];
  /** The server refused a start with `at_capacity` (its `pool.maxWorkers`): opening stopped there. */
  atCapacity: boolean;
  wallMs: number;
}

/**
 * Opens `n` sessions, `lanes` at a time (each lane: connect, start, next). A failed start is
 * retried twice, then that session is given up; more than 5 % given up fails the benchmark.
 */
export async function openSessions(server: BenchServer, n: number, lanes = 1): Promise<Opened> {
  const sessions: BenchSession[] = [];
  const startMs: number[] = [];
  const failedStarts: string[] = [];
  let gaveUp = 0;
  let atCapacity = false;
  let next = 0;
  const started = performance.now();
  const openOne = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const s = await BenchSession.connect(server.wsUrl);
      try {
        startMs.push(await s.start(AGENT));
        sessions.push(s);
        return;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        await s.close().catch(() => undefined);
        if (message.includes('"code":"at_capacity"')) {
          atCapacity = true;
          return;
        }
        failedStarts.push(message);
        if (attempt < 3) continue;
        gaveUp++;
        if (gaveUp > Math.max(1, n * 0.05)) throw err;
        return;
      }
    }
  };
  const lane = async (): Promise<void> => {
    while (next < n && !atCapacity) {
      next++;
      await openOne();
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, n) }, lane));
  return { sessions, startMs, failedStarts, atCapacity, wallMs: performance.now() - started };
}

/** One turn per session, `lanes` sessions at a time; returns each turn's timing. */
export async function turnEach(sessions: readonly BenchSession[], lanes = 1): Promise<TurnTiming[]> {
  const out: TurnTiming[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < sessions.length) out.push(await sessions[next++]!.turn('hello'));
  };
  await Promise.all(Array.from({ length: Math.min(lanes, sessions.length) }, lane));
  return out;
}

export interface Burst {
  sessions: number;
  turnsPerSession: number;
  firstDeltaMs: number[];
  doneMs: number[];
  wallMs: number;
  turnsPerSecond: number;
  /** CPU the server process spent during the burst, per turn (ms, all threads). */
  serverCpuMsPerTurn: number;
  /** CPU this load generator spent during the burst, per turn (ms). */
  clientCpuMsPerTurn: number;
  /** CPU other processes on the machine used during the burst, % of all cores (interference). */
  otherCpuPct: number;
}

/**
 * All sessions send their first `user.message` in the same tick; each then sends its next one as
 * soon as its `agent.done` arrives, `turns` times. Throughput = turns / wall time of the burst.
 */
export async function burst(server: BenchServer, sessions: readonly BenchSession[], turns: number): Promise<Burst> {
  const firstDeltaMs: number[] = [];
  const doneMs: number[] = [];
  const cpu = cpuWindow(server.pid);
  const started = performance.now();
  await Promise.all(
    sessions.map(async (s) => {
      for (let i = 0; i < turns; i++) {
        const t = await s.turn('hello');
        firstDeltaMs.push(t.firstDeltaMs);
        doneMs.push(t.doneMs);
      }
    }),
  );
  const wallMs = performance.now() - started;
  const { serverCpuS, clientCpuS, otherCpuPct } = cpu();
  const n = firstDeltaMs.length;
  return {
    sessions: sessions.length,
    turnsPerSession: turns,
    firstDeltaMs,
    doneMs,
    wallMs,
    turnsPerSecond: (n / wallMs) * 1000,
    serverCpuMsPerTurn: (serverCpuS * 1000) / n,
    clientCpuMsPerTurn: (clientCpuS * 1000) / n,
    otherCpuPct,
  };
}

export async function closeAll(sessions: readonly BenchSession[]): Promise<void> {
  await Promise.all(sessions.map((s) => s.close()));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until the server's warm pool is full again (refills run in the background). */
export async function waitForPool(server: BenchServer, size: number, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while ((await server.poolIdle()) < size) {
    if (performance.now() > deadline) throw new Error(`the warm pool did not refill to ${size} in ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Other processes' CPU above this (% of all cores) during a measurement makes it a disturbed one. */
export const DISTURBED_PCT = 10;

/**
 * Runs `attempt` until `want` runs were undisturbed by other processes on the machine, at most
 * `maxTries` times; keeps the `want` least disturbed. The benchmark shares its machine with
 * other work, and a burst that competed with it measures that work, not the server.
 */
export async function undisturbed<T extends { otherCpuPct: number }>(
  want: number,
  maxTries: number,
  attempt: () => Promise<T>,
): Promise<{ kept: T[]; all: T[]; tries: number }> {
  const all: T[] = [];
  while (all.length < maxTries && all.filter((r) => r.otherCpuPct < DISTURBED_PCT).length < want) {
    all.push(await attempt());
    await sleep(300);
  }
  const kept = [...all].sort((a, b) => a.otherCpuPct - b.otherCpuPct).slice(0, want);
  return { kept: all.filter((r) => kept.includes(r)), all, tries: all.length };
}
