import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machineInfo } from './lib/machine.ts';
import { summarizeProfiles } from './lib/profile.ts';
import { backgroundLoad } from './lib/proc.ts';
import { renderTable, type Benchmark, type BenchOutput, type Figure } from './lib/report.ts';
import { ROOT } from './lib/server.ts';
import { asyncResume } from './async-resume.ts';
import { asyncThroughput } from './async-throughput.ts';
import { memoryPerSession } from './memory-per-session.ts';
import { memoryRecall } from './memory-recall.ts';
import { realtimeOverhead } from './realtime-overhead.ts';
import { sessionStart } from './session-start.ts';
import { suspendedMemory } from './suspended-memory.ts';
import { voiceBargeIn } from './voice-barge-in.ts';
import { voiceCapacity } from './voice-capacity.ts';
import { voiceE2eEmbedded } from './voice-e2e-embedded.ts';
import { voiceMemory } from './voice-memory.ts';
import { voiceOverhead } from './voice-overhead.ts';

/**
 * `npm run bench [-- --only NAME[,NAME]] [--quick] [--profile] [--wait-quiet] [--out DIR]`
 * Each benchmark starts its own server process (`operator start`, scripted model) and drives it
 * over loopback from this process. Full runs write bench/results/<name>.json; quick runs (short,
 * for smoke tests) write to a temp folder unless --out says otherwise.
 */
const BENCHMARKS: Benchmark[] = [realtimeOverhead, sessionStart, memoryPerSession, asyncResume, asyncThroughput, suspendedMemory, memoryRecall, voiceOverhead, voiceBargeIn, voiceCapacity, voiceMemory, voiceE2eEmbedded];

const { values } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'wait-quiet': { type: 'boolean', default: false },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(`Usage: npm run bench -- [--only NAME] [--quick] [--profile] [--wait-quiet] [--out DIR]
Benchmarks: ${BENCHMARKS.map((b) => b.name).join(', ')}
  --only NAME    run only these (repeat, or comma-separate)
  --quick        short runs for smoke-testing (results go to a temp folder unless --out)
  --profile      run the server with --cpu-prof and print where its CPU time goes
  --wait-quiet   before each benchmark, wait (up to 10 min) for the machine's other load to drop
  --out DIR      where to write <name>.json (default bench/results)
`);
  process.exit(0);
}

const only = (values.only ?? []).flatMap((v) => v.split(',')).filter(Boolean);
const unknown = only.filter((n) => !BENCHMARKS.some((b) => b.name === n));
if (unknown.length > 0) {
  process.stderr.write(`Unknown benchmark(s): ${unknown.join(', ')}. Known: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`);
  process.exit(2);
}
const selected = only.length > 0 ? BENCHMARKS.filter((b) => only.includes(b.name)) : BENCHMARKS;
const outDir = values.out ?? (values.quick ? mkdtempSync(join(tmpdir(), 'operator-bench-quick-')) : join(ROOT, 'bench/results'));
mkdirSync(outDir, { recursive: true });

const log = (m: string): void => {
  process.stdout.write(`${m}\n`);
};

/** Other processes' CPU load; the benchmark shares the machine with them. */
async function quietEnough(): Promise<Awaited<ReturnType<typeof backgroundLoad>>> {
  let load = await backgroundLoad(2000);
  if (!values['wait-quiet']) return load;
  const deadline = Date.now() + 600_000;
  while (load.busyCpuPct > 15 && Date.now() < deadline) {
    log(`  waiting for a quiet machine (other load: ${load.busyCpuPct}% CPU)`);
    await new Promise((r) => setTimeout(r, 10_000));
    load = await backgroundLoad(2000);
  }
  return load;
}

function command(name: string): string {
  return `npm run bench -- --only ${name}${values.quick ? ' --quick' : ''}`;
}

const rows: { bench: string; figure?: Figure; error?: string }[] = [];
let failed = false;
for (const bench of selected) {
  log(`\n▶ ${bench.name}: ${bench.description}`);
  const before = await quietEnough();
  if (before.busyCpuPct > 15) log(`  warning: the machine is busy with other work (${before.busyCpuPct}% CPU) — figures will be noisy`);
  const profileDir = values.profile ? mkdtempSync(join(tmpdir(), `operator-prof-${bench.name}-`)) : undefined;
  const started = performance.now();
  let output: BenchOutput | undefined;
  let error: string | undefined;
  try {
    output = await bench.run({
      quick: values.quick,
      serverNodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
      log: (m) => log(`  ${m}`),
    });
  } catch (err) {
    error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    failed = true;
    log(`  FAILED: ${error}`);
  }
  const durationS = Math.round((performance.now() - started) / 100) / 10;
  const profile = profileDir ? summarizeProfiles(profileDir) : undefined;
  if (profile) {
    for (const p of profile) {
      log(`  profile, ${p.thread} (${p.files} file(s), ${p.busyMs} ms busy):`);
      for (const x of p.byPlace.slice(0, 12)) log(`    ${String(x.pct).padStart(5)}%  ${x.place}`);
    }
    log(`  profiles: ${profileDir}`);
  }
  const result = {
    name: bench.name,
    description: bench.description,
    command: command(bench.name),
    quick: values.quick,
    machine: machineInfo(),
    conditions: {
      server: 'a separate process: node src/cli/main.ts start (PORT=0, temp OPERATOR_DATA_DIR, SQLite store, scripted model), driven over loopback WebSocket',
      sharedCores: 'the load generator (this process) and the server share the same cores; the client CPU per turn is recorded where it matters',
      otherLoadBefore: before,
      otherLoadAfter: await backgroundLoad(1000),
    },
    durationS,
    ...(output ?? {}),
    ...(profile ? { profile } : {}),
    ...(error ? { error } : {}),
  };
  writeFileSync(join(outDir, `${bench.name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  if (output) for (const f of output.figures) rows.push({ bench: bench.name, figure: f });
  else rows.push({ bench: bench.name, error: 'failed (see the log above)' });
  log(`  done in ${durationS} s`);
}

log(`\n${renderTable(rows)}\n`);
log(`Results: ${outDir}`);
process.exitCode = failed ? 1 : 0;
