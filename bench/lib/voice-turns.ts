import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { PlacedCall, VoiceSplit } from './voice-calls.ts';
import { RATE } from './voice-audio.ts';
import { sleep } from './fleet.ts';

/**
 * Caller turns timed at the simulator, and how they line up with the server's own split.
 *
 * The server dates the end of the caller's speech by its VAD, which scores 32 ms windows of the
 * stream: `speech.end` is the end of the last window that held speech, 0–28 ms after the real
 * end here (frames are 20 ms, so the phase moves in 4 ms steps), plus 2 ms because the inbound
 * resampler (8 → 16 kHz) holds back half its filter and the listener maps stream time to the
 * clock by the samples it has. The simulator knows the real end (when the frame
 * carrying the last sample left), so "client latency − endpointingMs" carries that rounding. Its
 * amount per turn follows from where the VAD's window grid sits on the line, which depends only on
 * how many 20 ms frames the server had not yet listened to when the call went live (a multiple of
 * 4 ms, mod 32); each call's turns start at chosen frame phases so their rounding covers the 8
 * possible values, and the grid is the one of the 8 candidates that explains the turns best.
 */

export const WINDOW_MS = 32;
export const FRAME_MS = 20;

export interface ClientTurn {
  call: number;
  turn: number;
  /** Line time (ms since the stream's first frame) at which the speech started and ended. */
  startLineMs: number;
  endLineMs: number;
  /** Monotonic ms (this process): the last speech frame sent; the agent's first non-silent frame received. */
  endMs: number;
  audioAtMs: number;
  latencyMs: number;
}

/**
 * Speaks `pcm` starting at a frame whose index is `residue` mod 8 (so the speech end falls at a
 * chosen 4 ms phase of the 32 ms grid when its length is a multiple of 160 ms); returns the turn
 * once the agent's first non-silent audio after the speech end arrived.
 */
export async function timedTurn(c: PlacedCall, turn: number, pcm: Int16Array, residue: number, timeoutMs = 15_000): Promise<ClientTurn> {
  const stream = c.call.stream;
  if (!stream) throw new Error(`call ${c.index} has no stream`);
  // Frame n leaves at startedAtMs + (n + 1) × 20 ms; aim midway between two departures. A late
  // timer (a busy loop) just means the next round of 8 frames.
  for (let tries = 0; tries < 20 && stream.framesSent % 8 !== residue; tries++) {
    const target = stream.framesSent + ((((residue - stream.framesSent) % 8) + 8) % 8);
    await sleep(Math.max(1, stream.startedAtMs + target * FRAME_MS + FRAME_MS / 2 - performance.now()));
  }
  // The next frame the line sends carries the first samples: its index dates the speech exactly.
  const startLineMs = stream.framesSent * FRAME_MS;
  const endMs = await c.call.say({ pcm, sampleRate: RATE });
  const audio = await c.call.waitForAudio(endMs, timeoutMs);
  const speechMs = (pcm.length * 1000) / RATE;
  return { call: c.index, turn, startLineMs, endLineMs: startLineMs + speechMs, endMs, audioAtMs: audio.atMs, latencyMs: audio.latencyMs };
}

/** How far after the real speech end the VAD's window (grid offset `grid`, ms) dates it. */
export function rounding(grid: number, endLineMs: number): number {
  // A window ending exactly at the speech end is the last one: the resampler's smear past it is
  // far below the VAD's threshold (checked by feeding the pipeline's own InboundAudio, EnergyVad
  // and SpeechDetector a tone ending at each of the 8 phases).
  return (((grid - endLineMs) % WINDOW_MS) + WINDOW_MS) % WINDOW_MS;
}

export interface GridFit {
  grid: number;
  /** Mean absolute deviation from the median of (client − server latency − rounding) over the call's turns, at the best grid and the runner-up. */
  spreadMs: number;
  runnerUpSpreadMs: number;
  distinctPhases: number;
}

/**
 * The grid that makes (client latency − server totalMs − rounding) most nearly constant over a
 * call's turns; what is left per turn is the transport both ways, which does not depend on the
 * phase. Absolute deviations from the median, so a turn delayed by a busy machine does not pull
 * the fit.
 */
export function fitGrid(turns: readonly { endLineMs: number; clientMinusServerMs: number }[]): GridFit {
  const scored = Array.from({ length: WINDOW_MS / 4 }, (_, i) => i * 4).map((grid) => {
    const r = turns.map((t) => t.clientMinusServerMs - rounding(grid, t.endLineMs)).sort((a, b) => a - b);
    const median = r[Math.floor((r.length - 1) / 2)]!;
    return { grid, spread: r.reduce((a, b) => a + Math.abs(b - median), 0) / r.length };
  });
  scored.sort((a, b) => a.spread - b.spread);
  const distinctPhases = new Set(turns.map((t) => ((t.endLineMs % WINDOW_MS) + WINDOW_MS) % WINDOW_MS)).size;
  return { grid: scored[0]!.grid, spreadMs: scored[0]!.spread, runnerUpSpreadMs: scored[1]!.spread, distinctPhases };
}

/** One answered turn, seen from both ends. */
export interface TurnRecord extends ClientTurn {
  server: VoiceSplit;
  /** totalMs − endpointingMs: end of turn decided → first frame handed to the transport (server clock). */
  serverOverheadMs: number;
  /** Client latency − endpointingMs, as is (includes the VAD's window rounding). */
  clientRawMs: number;
  /** The VAD's rounding of this turn's speech end, from the call's fitted grid. */
  roundingMs: number;
  /** Client latency − endpointingMs − rounding: the platform as the caller's line sees it. */
  clientOverheadMs: number;
  /** Client latency − totalMs − rounding: the hops not in the server's figure (inbound audio path, worker → socket → simulator). */
  transportMs: number;
}

/**
 * Pairs a call's client turns with the server's splits (the last `turns.length` of them, in order)
 * and removes the VAD rounding with the call's fitted grid.
 */
export function pairTurns(turns: readonly ClientTurn[], splits: readonly VoiceSplit[]): { records: TurnRecord[]; fit: GridFit } | { error: string } {
  if (splits.length < turns.length) return { error: `call ${turns[0]?.call}: ${turns.length} turns timed but ${splits.length} answered turns stored` };
  const mine = splits.slice(splits.length - turns.length);
  const fit = fitGrid(turns.map((t, i) => ({ endLineMs: t.endLineMs, clientMinusServerMs: t.latencyMs - mine[i]!.totalMs })));
  const records = turns.map((t, i): TurnRecord => {
    const server = mine[i]!;
    const roundingMs = rounding(fit.grid, t.endLineMs);
    return {
      ...t,
      server,
      serverOverheadMs: server.totalMs - server.endpointingMs,
      clientRawMs: t.latencyMs - server.endpointingMs,
      roundingMs,
      clientOverheadMs: t.latencyMs - server.endpointingMs - roundingMs,
      transportMs: t.latencyMs - server.totalMs - roundingMs,
    };
  });
  return { records, fit };
}

/** A fitted grid is trusted when the runner-up explains the turns at least this much worse. */
export const FIT_MARGIN = 2;

/**
 * The simulator's own event-loop delay over a phase (it stamps every frame it receives, so its
 * lateness would read as the server's): call the result to stop, in ms.
 */
export function loopLag(): () => { p50Ms: number; p99Ms: number; maxMs: number } {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  return () => {
    h.disable();
    const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
    return { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
  };
}

/** A random permutation of 0..n−1 (each call's turns visit every frame phase once). */
export function shuffled(n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
