import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { mapCount, maxMapCount, processCpuSeconds, readRssMb } from './proc.ts';

/**
 * The server under test, as its own process (`operator start`), so the load generator's CPU is
 * not counted as server time. Adapted from test/helpers/server.ts (bench/ does not import test/).
 */
export const ROOT = resolve(import.meta.dirname, '../..');
export const NODE24 = join(ROOT, 'node_modules/.bin/node');
export const AGENT = 'bench';

/**
 * The checkout whose server is measured: this repository, or another one (a clean snapshot, an
 * older commit to compare with) given by BENCH_SERVER_ROOT. It needs its own node_modules.
 */
export const SERVER_ROOT = resolve(process.env.BENCH_SERVER_ROOT || ROOT);

/** The scripted answer of every benchmark: 20 deltas, no delay, looping. */
export const DELTAS = Array.from({ length: 20 }, (_, i) => (i === 0 ? 'Token' : ` token${i}`));

export interface BenchServerOptions {
  /** Workers kept warm (`pool.size`). */
  poolSize: number;
  /** Extra arguments for the server's `node` (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  startTimeoutMs?: number;
}

export interface BenchServer {
  url: string;
  wsUrl: string;
  pid: number;
  /** Milliseconds from spawn to the "operator listening" line (the warm pool is full by then). */
  startupMs: number;
  dataDir: string;
  /** Resident set of the whole server process (main thread + all workers), in MB. */
  rssMb(): number;
  /** CPU seconds the server process (all threads) has used so far. */
  cpuSeconds(): number;
  /** Prewarmed workers ready right now (the `operator_worker_pool_idle` gauge of /metrics). */
  poolIdle(): Promise<number>;
  /** How the server process ended, if it ended before `stop()` (a crash, a signal from outside). */
  unexpectedExit(): string | undefined;
  /** Server log lines at warn level or above (pino JSON), for the results. */
  problems(): string[];
  /** SIGTERM, wait for the exit, remove the temp folder. */
  stop(): Promise<void>;
}

/** Whether the measured checkout knows `pool.maxWorkers` (older ones reject the key: strict config). */
function hasWorkerCap(): boolean {
  try {
    return readFileSync(join(SERVER_ROOT, 'src/config/schema.ts'), 'utf8').includes('maxWorkers');
  } catch {
    return false;
  }
}

export function benchConfig(poolSize: number): object {
  return {
    // maxWorkers: the product caps a node at 350 conversations (pool.maxWorkers); the large fleet
    // goes to 400, still under the ~460 workers where vm.max_map_count makes V8 abort.
    pool: { size: poolSize, ...(hasWorkerCap() ? { maxWorkers: 400 } : {}) },
    // The default per-IP limits are meant for the internet; every benchmark client is 127.0.0.1.
    limits: { rateLimitPerMinute: 1_000_000, sessionsPerIp: 100_000 },
    logging: { level: 'info' },
    agents: {
      [AGENT]: {
        instructions: 'You are a benchmark agent.',
        model: { provider: 'scripted', steps: [{ deltas: DELTAS }], loop: true },
      },
    },
  };
}

export async function spawnBenchServer(opts: BenchServerOptions): Promise<BenchServer> {
  const dir = mkdtempSync(join(tmpdir(), 'operator-bench-'));
  const configPath = join(dir, 'operator.config.yaml');
  writeFileSync(configPath, stringify(benchConfig(opts.poolSize)));
  const started = performance.now();
  const child = spawn(NODE24, [...(opts.nodeArgs ?? []), join(SERVER_ROOT, 'src/cli/main.ts'), 'start'], {
    cwd: dir,
    env: { ...process.env, PORT: '0', SMTP_PORT: '0', HOST: '127.0.0.1', OPERATOR_CONFIG: configPath, OPERATOR_DATA_DIR: join(dir, 'data') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stopping = false;
  let exitedHow: string | undefined;
  const exited = new Promise<number | null>((res) =>
    child.once('exit', (code, signal) => {
      if (!stopping) exitedHow = `the server process exited unexpectedly (code ${code}, signal ${signal})`;
      res(code);
    }),
  );
  const problems: string[] = [];
  watchProblems(child, problems);
  const url = await listeningUrl(child, exited, opts.startTimeoutMs ?? 120_000);
  const startupMs = performance.now() - started;
  const pid = child.pid!;
  return {
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/v1/realtime`,
    pid,
    startupMs,
    dataDir: dir,
    rssMb: () => readRssMb(pid),
    problems: () => problems,
    unexpectedExit: () => exitedHow,
    cpuSeconds: () => processCpuSeconds(pid),
    async poolIdle() {
      const text = await (await fetch(`${url}/metrics`)).text();
      const m = /^operator_worker_pool_idle (\d+)/m.exec(text);
      if (!m) throw new Error('no operator_worker_pool_idle in /metrics');
      return Number(m[1]);
    },
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits for the "operator listening" JSON line; keeps draining output so the pipe never blocks. */
function listeningUrl(child: ChildProcess, exited: Promise<number | null>, timeoutMs: number): Promise<string> {
  const tail: string[] = [];
  return new Promise<string>((res, rej) => {
    let found = false;
    const timer = setTimeout(() => rej(new Error(`server did not start:\n${tail.join('')}`)), timeoutMs);
    let pending = '';
    child.stdout!.on('data', (buf: Buffer) => {
      if (found) return;
      const text = buf.toString();
      tail.push(text);
      const lines = (pending + text).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes('operator listening')) continue;
        found = true;
        clearTimeout(timer);
        res((JSON.parse(line) as { url: string }).url);
      }
    });
    child.stderr!.on('data', (b: Buffer) => {
      if (!found) tail.push(b.toString());
    });
    void exited.then((code) => {
      clearTimeout(timer);
      if (!found) rej(new Error(`server exited with ${code}:\n${tail.join('')}`));
    });
  });
}

/** Keeps the server's warn/error lines (level >= 40), at most 200, and drains everything else. */
function watchProblems(child: ChildProcess, into: string[]): void {
  let pending = '';
  const onData = (buf: Buffer): void => {
    const lines = (pending + buf.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const level = /"level":(\d+)/.exec(line);
      if ((level ? Number(level[1]) >= 40 : line.trim() !== '') && into.length < 200) into.push(line);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
}

/** The error of a failed benchmark, saying whether the server was still up and what it logged. */
export function explain(server: BenchServer, err: unknown): Error {
  let why = server.unexpectedExit();
  if (!why) {
    try {
      why = `the server process was still running, holding ${mapCount(server.pid)} of ${maxMapCount()} memory mappings`;
    } catch {
      why = 'the server process was exiting';
    }
  }
  const last = server.problems().slice(-5).map((l) => l.slice(0, 500));
  return new Error([`${err instanceof Error ? err.message : String(err)} — ${why}`, ...last].join('\n'), { cause: err });
}
