import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { readRssMb } from './lib/proc.ts';
import { SERVER_ROOT } from './lib/server.ts';

/**
 * What one worker thread costs, by what it loads: RSS added and time to ready, for N workers
 * started one after the other, each case in a fresh process (freed memory is not given back to
 * the OS, so cases sharing a process would hide each other's cost). Explains memory-per-session
 * and session-start.
 *   node bench/worker-cost.ts [N]
 */
const N = Number(process.argv[2] ?? 20);
const only = process.argv[3];
const dir = mkdtempSync(join(tmpdir(), 'operator-worker-cost-'));
writeFileSync(join(dir, 'plain.mjs'), 'export const a = 1;\n');
writeFileSync(join(dir, 'typed.ts'), 'export const a: number = 1;\n');
const keepAlive = "const { parentPort } = require('node:worker_threads'); parentPort.on('message', () => {}); parentPort.postMessage({ t: 'ready' });";
const importing = (url: string): string => `import(${JSON.stringify(url)}).then(() => { ${keepAlive} })`;

const cases: { name: string; code?: string; file?: URL }[] = [
  { name: 'empty worker', code: keepAlive },
  { name: 'one .mjs module', code: importing(`file://${join(dir, 'plain.mjs')}`) },
  { name: 'one .ts module (type stripping)', code: importing(`file://${join(dir, 'typed.ts')}`) },
  { name: 'zod', code: importing(`file://${join(SERVER_ROOT, 'node_modules/zod/index.js')}`) },
  { name: 'src/models/index.ts (AI SDK providers)', code: importing(`file://${join(SERVER_ROOT, 'src/models/index.ts')}`) },
  { name: 'src/engine/index.ts', code: importing(`file://${join(SERVER_ROOT, 'src/engine/index.ts')}`) },
  { name: 'conversation worker (src/runtime/worker/main.ts)', file: new URL(`file://${join(SERVER_ROOT, 'src/runtime/worker/main.ts')}`) },
];

const limits = { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 16 };

async function measure(c: (typeof cases)[number]): Promise<void> {
  await new Promise((r) => setTimeout(r, 500));
  const before = readRssMb(process.pid);
  const workers: Worker[] = [];
  const started = performance.now();
  for (let i = 0; i < N; i++) {
    const w = c.file
      ? new Worker(c.file, { workerData: { configPath: 'bench.yaml' }, resourceLimits: limits })
      : new Worker(c.code!, { eval: true, resourceLimits: limits });
    await new Promise<void>((resolve, reject) => {
      w.on('message', (m: { t?: string }) => m.t === 'ready' && resolve());
      w.once('error', reject);
    });
    workers.push(w);
  }
  const msEach = (performance.now() - started) / N;
  await new Promise((r) => setTimeout(r, 1500));
  const mbEach = (readRssMb(process.pid) - before) / N;
  process.stdout.write(`${c.name.padEnd(52)} ${mbEach.toFixed(1).padStart(6)} MB/worker ${msEach.toFixed(0).padStart(5)} ms to ready\n`);
  await Promise.all(workers.map((w) => w.terminate()));
}

if (only !== undefined) {
  await measure(cases[Number(only)]!);
} else {
  for (let i = 0; i < cases.length; i++) {
    process.stdout.write(execFileSync(process.execPath, [import.meta.filename, String(N), String(i)], { encoding: 'utf8' }));
  }
}
rmSync(dir, { recursive: true, force: true });
