import { BenchSession, type TurnTiming } from './client.ts';
import { processCpuSeconds } from './proc.ts';
import { AGENT, type BenchServer } from './server.ts';

/** Groups of sessions on one server: opening them, warming them, and the burst of turns. */

export interface Opened {
  sessions: BenchSession[];
  /** `session.start` sent → `session.started` received, per session, in opening order. */
  startMs: number[];
  wallMs: number;
}

/** Opens `n` sessions, `lanes` at a time (each lane: connect, start, next). */
export async function openSessions(server: BenchServer, n: number, lanes = 1): Promise<Opened> {
  const sessions: BenchSession[] = [];
  const startMs: number[] = [];
  let next = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < n) {
      next++;
      const s = await BenchSession.connect(server.wsUrl);
      startMs.push(await s.start(AGENT));
      sessions.push(s);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, n) }, lane));
  return { sessions, startMs, wallMs: performance.now() - started };
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
}

/**
 * All sessions send their first `user.message` in the same tick; each then sends its next one as
 * soon as its `agent.done` arrives, `turns` times. Throughput = turns / wall time of the burst.
 */
export async function burst(server: BenchServer, sessions: readonly BenchSession[], turns: number): Promise<Burst> {
  const firstDeltaMs: number[] = [];
  const doneMs: number[] = [];
  const cpu0 = processCpuSeconds(server.pid);
  const client0 = process.cpuUsage();
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
  const serverCpuS = processCpuSeconds(server.pid) - cpu0;
  const client = process.cpuUsage(client0);
  const n = firstDeltaMs.length;
  return {
    sessions: sessions.length,
    turnsPerSession: turns,
    firstDeltaMs,
    doneMs,
    wallMs,
    turnsPerSecond: (n / wallMs) * 1000,
    serverCpuMsPerTurn: (serverCpuS * 1000) / n,
    clientCpuMsPerTurn: (client.user + client.system) / 1000 / n,
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
