import { metricSum, metricsText } from './lib/async-server.ts';
import { sleep, waitForPool } from './lib/fleet.ts';
import { processCpuSeconds } from './lib/proc.ts';
import { figure, type BenchContext, type BenchOutput, type Benchmark, type Figure } from './lib/report.ts';
import { explain } from './lib/server.ts';
import { round } from './lib/stats.ts';
import { hangUpAll, placeCalls, startVoiceBench, voiceConfig, type PlacedCall, type VoiceAgentOptions, type VoiceBench } from './lib/voice-calls.ts';

/**
 * Memory per live call (DESIGN.md "Performance budgets": < 60 MB per live call): the server
 * process's resident memory (VmRSS of the main thread and every worker thread, split into
 * anonymous and file-backed pages) and its main thread's JS heap (/metrics), with the warm pool
 * full and no call, then with N calls connected and idle (greeting played, the caller's line
 * carrying silence in real time, which the VAD keeps scoring), then after they hung up. Per call =
 * (RSS with N − RSS with none) / N. Two agents:
 * - Silero VAD with the scripted STT/TTS (what a call costs the platform itself), N = 50;
 * - the same with the energy VAD, N = 50 (the difference is the Silero model session's share);
 * - the embedded engines: Silero, pocketsphinx (a decoder per call) and espeak-ng (one host thread
 *   per process), N = 20, when they load here (`npx operator doctor`).
 * Each reading is the median of three, after the pool refilled and `settleMs`.
 */
const FULL = { poolSize: 4, lanes: 4, scriptedCalls: 50, embeddedCalls: 20, settleMs: 3000, idleCpuMs: 5000 };
const QUICK = { poolSize: 2, lanes: 2, scriptedCalls: 5, embeddedCalls: 3, settleMs: 1500, idleCpuMs: 2000 };
type Params = typeof FULL;

const TARGET = { op: '<' as const, value: 60, source: 'DESIGN.md "Performance budgets" (Memory: < 60 MB per live call)' };

interface Reading {
  calls: number;
  rssMb: number;
  anonMb: number;
  fileMb: number;
  threads: number;
  mainHeapUsedMb: number;
  mainExternalMb: number;
}

async function reading(bench: VoiceBench, calls: number, p: Params): Promise<Reading> {
  await waitForPool(bench.server, p.poolSize);
  await sleep(p.settleMs);
  const rs: ReturnType<typeof bench.server.rssParts>[] = [];
  for (let i = 0; i < 3; i++) {
    rs.push(bench.server.rssParts());
    await sleep(300);
  }
  const r = rs.sort((a, b) => a.rssMb - b.rssMb)[1]!;
  const metrics = await metricsText(bench.server.url);
  return {
    calls,
    rssMb: round(r.rssMb, 1),
    anonMb: round(r.anonMb, 1),
    fileMb: round(r.fileMb, 1),
    threads: r.threads,
    mainHeapUsedMb: round(metricSum(metrics, 'nodejs_heap_size_used_bytes') / 2 ** 20, 1),
    mainExternalMb: round(metricSum(metrics, 'nodejs_external_memory_bytes') / 2 ** 20, 1),
  };
}

interface Variant {
  name: string;
  readings: Reading[];
  perCallMb: number;
  perCallAnonMb: number;
  idleCpuPctPerCall: number;
  connectMs: number[];
  serverProblems: string[];
}

async function variant(ctx: BenchContext, p: Params, name: string, agent: VoiceAgentOptions, n: number): Promise<Variant> {
  const bench = await startVoiceBench(voiceConfig({ poolSize: p.poolSize, agent }), ctx.serverNodeArgs);
  const calls: PlacedCall[] = [];
  try {
    const none = await reading(bench, 0, p);
    ctx.log(`${name}: 0 calls ${Math.round(none.rssMb)} MB; placing ${n}`);
    calls.push(...(await placeCalls(bench, n, p.lanes)));
    await sleep(2000); // the greetings end; the lines carry silence
    const live = await reading(bench, n, p);
    const cpu0 = processCpuSeconds(bench.server.pid);
    await sleep(p.idleCpuMs);
    const idleCpuPct = ((processCpuSeconds(bench.server.pid) - cpu0) / (p.idleCpuMs / 1000)) * 100;
    const down = calls.splice(0);
    await hangUpAll(down);
    const after = await reading(bench, 0, p);
    const perCallMb = (live.rssMb - none.rssMb) / n;
    ctx.log(`${name}: ${n} calls ${Math.round(live.rssMb)} MB (${round(perCallMb, 1)} MB each), after hang-up ${Math.round(after.rssMb)} MB`);
    return {
      name,
      readings: [none, live, { ...after, calls: 0 }],
      perCallMb: round(perCallMb, 2),
      perCallAnonMb: round((live.anonMb - none.anonMb) / n, 2),
      idleCpuPctPerCall: round(idleCpuPct / n, 2),
      connectMs: down.map((c) => round(c.connectMs, 1)),
      serverProblems: bench.server.problems(),
    };
  } catch (err) {
    throw explain(bench.server, err);
  } finally {
    await hangUpAll(calls);
    await bench.close();
  }
}

async function run(ctx: BenchContext): Promise<BenchOutput> {
  const p = ctx.quick ? QUICK : FULL;
  const figures: Figure[] = [];
  const variants: Variant[] = [];
  const scripted = await variant(ctx, p, 'silero-scripted', { vad: 'silero', transcripts: [] }, p.scriptedCalls);
  variants.push(scripted);
  figures.push(
    figure('voice_memory_per_call_scripted', `RSS per idle live call, Silero VAD + scripted STT/TTS (0 → ${p.scriptedCalls})`, scripted.perCallMb, 'MB', {
      detail: scripted.readings.map((r, i) => `${i === 2 ? 'after hang-up' : `${r.calls} calls`}: ${Math.round(r.rssMb)} MB`).join(', '),
      target: TARGET,
    }),
  );
  // The same without Silero: what the VAD's model session adds to a call, in memory and CPU.
  const energy = await variant(ctx, p, 'energy-scripted', { vad: 'energy', transcripts: [] }, p.scriptedCalls);
  variants.push(energy);
  figures.push(
    figure('voice_memory_per_call_energy', `RSS per idle live call, energy VAD + scripted STT/TTS (0 → ${p.scriptedCalls})`, energy.perCallMb, 'MB', {
      detail: energy.readings.map((r, i) => `${i === 2 ? 'after hang-up' : `${r.calls} calls`}: ${Math.round(r.rssMb)} MB`).join(', '),
    }),
  );
  let embeddedError: string | undefined;
  try {
    const embedded = await variant(ctx, p, 'embedded', { vad: 'silero', stt: { engine: 'pocketsphinx' }, tts: { engine: 'espeak' } }, p.embeddedCalls);
    variants.push(embedded);
    figures.push(
      figure('voice_memory_per_call_embedded', `RSS per idle live call, Silero + pocketsphinx + espeak-ng (0 → ${p.embeddedCalls})`, embedded.perCallMb, 'MB', {
        detail: embedded.readings.map((r, i) => `${i === 2 ? 'after hang-up' : `${r.calls} calls`}: ${Math.round(r.rssMb)} MB`).join(', '),
        target: TARGET,
      }),
    );
  } catch (err) {
    embeddedError = err instanceof Error ? err.message : String(err);
    ctx.log(`embedded engines: ${embeddedError}`);
  }
  for (const v of variants) {
    figures.push(figure(`voice_idle_cpu_per_call_${v.name}`, `server CPU per idle live call (${v.name})`, v.idleCpuPctPerCall, '% of a core'));
  }
  return {
    figures,
    data: {
      parameters: p,
      variants,
      ...(embeddedError ? { embeddedError } : {}),
      notes: 'RSS = VmRSS of the server process (main thread + all worker threads); anon/file from RssAnon/RssFile; heap = the main thread only (nodejs_heap_size_used_bytes of /metrics; a call\'s worker heap is in the RSS)',
    },
    serverProblems: variants.flatMap((v) => v.serverProblems),
  };
}

export const voiceMemory: Benchmark = {
  name: 'voice-memory',
  description: 'server RSS and CPU per idle live phone call (Silero or energy VAD + scripted engines; Silero + pocketsphinx + espeak-ng)',
  run,
};
