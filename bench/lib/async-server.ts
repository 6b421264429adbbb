import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import { processCpuSeconds, readRssMb } from './proc.ts';
import { NODE24, SERVER_ROOT, type BenchServer } from './server.ts';

/**
 * The server under test for the async benchmarks (issues 3 and 5): `operator start` as its own
 * process, like bench/lib/server.ts, but with a config and environment of the benchmark's choosing
 * (Twilio pointed at a simulator in the bench process, OPERATOR_PUBLIC_URL, DATABASE_URL, a data
 * folder seeded beforehand) and, when asked, the V8 inspector on loopback so the benchmark can
 * force a full GC before reading the heap (a flag the bench passes to node; nothing in the product).
 */

export const ASYNC_AGENT = 'bench';
/** The number customers text (config `channels.sms`). */
export const SUPPORT_NUMBER = '+15557654321';
/** What "Twilio" was told the server is at: webhook signatures cover it, requests go to the real port. */
export const PUBLIC_URL = 'https://operator.bench.test';
/** The zero-latency scripted model of the async benchmarks: one short answer, no delay, looping. */
export const ASYNC_MODEL = { provider: 'scripted', steps: [{ deltas: ['Sure.'] }], loop: true };

/** The benchmark agent on every async channel: no debounce, so a text is answered as soon as it is stored. */
export function asyncConfig(poolSize: number): object {
  return {
    pool: { size: poolSize },
    // The default per-IP limits are meant for the internet; every benchmark client is 127.0.0.1.
    limits: { rateLimitPerMinute: 1_000_000, sessionsPerIp: 100_000 },
    logging: { level: 'info' },
    channels: { sms: [{ number: SUPPORT_NUMBER, agent: ASYNC_AGENT }] },
    agents: {
      [ASYNC_AGENT]: {
        instructions: 'You are a benchmark agent.',
        model: ASYNC_MODEL,
        async: { debounce: { sms: 0, chat: 0, email: 0 } },
      },
    },
  };
}

/** Environment the server must not inherit from the shell that runs the benchmark. */
const SCRUBBED = [
  'DATABASE_URL', 'OPERATOR_PGBOSS_SCHEMA', 'OPERATOR_PUBLIC_URL', 'OPERATOR_API_KEYS', 'OPERATOR_NODE_ID',
  'TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_API_URL', 'SMTP_OUTBOUND_URL', 'NODE_OPTIONS',
];

export interface AsyncServerOptions {
  config: object;
  /** The folder holding the config and `data/` (seeded beforehand, or empty); a temp one by default. */
  dir?: string;
  /** DATABASE_URL, TWILIO_*, OPERATOR_PUBLIC_URL… */
  env?: Record<string, string>;
  nodeArgs?: string[];
  /** Open the V8 inspector on 127.0.0.1 (random port) to force GCs and read the heap. */
  inspect?: boolean;
  startTimeoutMs?: number;
}

export interface AsyncBenchServer extends BenchServer {
  /** Present when started with `inspect`. */
  inspector?: Inspector;
  /** A line of /proc/<pid>/status memory: VmRSS split into anonymous, file-backed and shared pages (MB). */
  rssParts(): { rssMb: number; anonMb: number; fileMb: number; shmemMb: number; threads: number };
}

export function benchDir(prefix = 'operator-bench-async-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function spawnAsyncServer(opts: AsyncServerOptions): Promise<AsyncBenchServer> {
  const dir = opts.dir ?? benchDir();
  mkdirSync(join(dir, 'data'), { recursive: true });
  const configPath = join(dir, 'operator.config.yaml');
  writeFileSync(configPath, stringify(opts.config));
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of SCRUBBED) delete env[k];
  const nodeArgs = [...(opts.inspect ? ['--inspect=127.0.0.1:0'] : []), ...(opts.nodeArgs ?? [])];
  const started = performance.now();
  const child = spawn(NODE24, [...nodeArgs, join(SERVER_ROOT, 'src/cli/main.ts'), 'start'], {
    cwd: dir,
    env: {
      ...env, PORT: '0', SMTP_PORT: '0', HOST: '127.0.0.1', OPERATOR_CONFIG: configPath, OPERATOR_DATA_DIR: join(dir, 'data'),
      OPERATOR_NODE_ID: 'bench-node', ...opts.env,
    },
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
  const inspectorUrl = opts.inspect ? inspectorAddress(child) : undefined;
  let url: string;
  try {
    url = await listeningUrl(child, exited, opts.startTimeoutMs ?? 120_000);
  } catch (err) {
    child.kill('SIGKILL');
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const startupMs = performance.now() - started;
  const pid = child.pid!;
  const inspector = inspectorUrl ? await Inspector.connect(await inspectorUrl) : undefined;
  return {
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/v1/realtime`,
    pid,
    startupMs,
    dataDir: dir,
    ...(inspector ? { inspector } : {}),
    rssMb: () => readRssMb(pid),
    rssParts: () => rssParts(pid),
    problems: () => problems,
    unexpectedExit: () => exitedHow,
    cpuSeconds: () => processCpuSeconds(pid),
    async poolIdle() {
      const m = /^operator_worker_pool_idle (\d+)/m.exec(await metricsText(url));
      if (!m) throw new Error('no operator_worker_pool_idle in /metrics');
      return Number(m[1]);
    },
    async stop() {
      stopping = true;
      inspector?.close();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

/** Sum of a Prometheus counter/histogram-count over the series whose labels contain `labelFilter`. */
export function metricSum(text: string, name: string, labelFilter = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labelFilter && !line.includes(labelFilter)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

function rssParts(pid: number): { rssMb: number; anonMb: number; fileMb: number; shmemMb: number; threads: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: field('VmRSS') / 1024, anonMb: field('RssAnon') / 1024, fileMb: field('RssFile') / 1024, shmemMb: field('RssShmem') / 1024, threads: field('Threads') };
}

/** Resolves with the inspector's WebSocket URL from "Debugger listening on ws://…" (stderr). */
function inspectorAddress(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no inspector address from the server:\n${text}`)), 60_000);
    const onData = (b: Buffer): void => {
      text += b.toString();
      const m = /Debugger listening on (ws:\/\/\S+)/.exec(text);
      if (!m) return;
      clearTimeout(timer);
      child.stderr!.off('data', onData);
      resolve(m[1]!);
    };
    child.stderr!.on('data', onData);
  });
}

/** A minimal Chrome DevTools Protocol client (the server's main thread). */
export class Inspector {
  private readonly ws: WebSocket;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
      const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id!);
      if (msg.error) p.reject(new Error(`inspector: ${msg.error.message}`));
      else p.resolve(msg.result);
    });
    ws.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('inspector socket closed'));
      this.pending.clear();
    });
  }

  static connect(url: string): Promise<Inspector> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Inspector(ws)));
      ws.once('error', reject);
    });
  }

  call(method: string, params: object = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** A full, compacting GC of the main thread's heap (`HeapProfiler.collectGarbage`). */
  async collectGarbage(): Promise<void> {
    await this.call('HeapProfiler.collectGarbage');
  }

  /** `process.memoryUsage()` of the server's main thread, in bytes. */
  async memoryUsage(): Promise<NodeJS.MemoryUsage> {
    const r = (await this.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as {
      result: { value: string };
    };
    return JSON.parse(r.result.value) as NodeJS.MemoryUsage;
  }

  close(): void {
    this.ws.close();
  }
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

/** The inspector's own lines on stderr are not problems of the server. */
const INSPECTOR_NOISE = /^(Debugger listening on|For help, see: https:\/\/nodejs\.org|Debugger attached\.|Waiting for the debugger)/;

/** Keeps the server's warn/error lines (level >= 40), at most 200, and drains everything else. */
function watchProblems(child: ChildProcess, into: string[]): void {
  const watch = (stream: NodeJS.ReadableStream): void => {
    let pending = '';
    stream.on('data', (buf: Buffer) => {
      const lines = (pending + buf.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (INSPECTOR_NOISE.test(line.trim())) continue;
        const level = /"level":(\d+)/.exec(line);
        if ((level ? Number(level[1]) >= 40 : line.trim() !== '') && into.length < 200) into.push(line);
      }
    });
  };
  watch(child.stdout!);
  watch(child.stderr!);
}

/** The filesystem a path is on (`ext4 /dev/vda on /`), from /proc/mounts: SQLite's fsyncs cost what it costs. */
export function filesystemOf(path: string): string {
  try {
    let best: string[] | undefined;
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [dev, mount, type] = line.split(' ');
      if (!dev || !mount || !type) continue;
      if ((path === mount || path.startsWith(mount.endsWith('/') ? mount : `${mount}/`)) && (!best || mount.length > best[1]!.length)) best = [dev, mount, type];
    }
    return best ? `${best[2]} ${best[0]} on ${best[1]}` : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** How the async benchmarks drive the server (the runner's `conditions.server` describes the realtime ones). */
export function asyncConditions(dataDir: string, extra = ''): string {
  return [
    'server: a separate process, node src/cli/main.ts start (PORT=0, scripted model "Sure." with no delay, async debounce 0)',
    'inbound: Twilio-signed SMS webhooks (or API requests) over loopback HTTP from this process',
    'replies: the server\'s Twilio REST client → a TwilioSimulator in this process (TWILIO_API_URL)',
    `store: SQLite (WAL, synchronous=FULL) in a temp folder on ${filesystemOf(dataDir)}`,
    extra,
  ].filter(Boolean).join('; ');
}
