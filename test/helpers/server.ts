import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import type { Clock } from '../../src/core/clock.ts';
import { ApiKeys } from '../../src/server/auth.ts';
import { startServer, type RunningServer } from '../../src/server/main.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const NODE24 = join(ROOT, 'node_modules/.bin/node');

export function tempDir(prefix = 'operator-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes a YAML config (from an object) into `dir` and returns its path. */
export function writeConfig(dir: string, config: object | string, name = 'operator.config.yaml'): string {
  const path = join(dir, name);
  writeFileSync(path, typeof config === 'string' ? config : stringify(config));
  return path;
}

/** A scripted agent: replies stream these deltas, in order, looping. */
export function scriptedAgent(steps: object[], extra: object = {}): object {
  return { instructions: 'You are a test agent.', model: { provider: 'scripted', steps, loop: true }, ...extra };
}

export interface InProcessOptions {
  configPath: string;
  dataDir?: string;
  databaseUrl?: string;
  apiKeys?: string[];
  nodeId?: string;
  allowTestHooks?: boolean;
  /** Twilio credentials (the REST API at `twilio.apiUrl`, e.g. a TwilioSimulator). */
  twilio?: { accountSid: string; authToken: string; apiUrl: string };
  /** Public base URL carriers sign over; default the server's own URL is unknown before listen, so tests pass it. */
  publicUrl?: string;
  smtpOutboundUrl?: string;
  clock?: Clock;
}

/** The real server (HTTP, WebSocket, workers, store) in this process, on an ephemeral port. */
export async function startInProcess(opts: InProcessOptions): Promise<RunningServer> {
  return startServer(
    {
      configPath: opts.configPath,
      port: 0,
      host: '127.0.0.1',
      dataDir: opts.dataDir ?? tempDir(),
      ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
      apiKeys: new ApiKeys(opts.apiKeys ?? []),
      nodeId: opts.nodeId ?? 'test-node',
      publicUrl: opts.publicUrl ?? 'http://127.0.0.1',
      ...(opts.twilio ? { twilio: opts.twilio } : {}),
      smtpPort: 0,
      smtpHost: '127.0.0.1',
      ...(opts.smtpOutboundUrl ? { smtpOutboundUrl: opts.smtpOutboundUrl } : {}),
    },
    {
      logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
      allowTestHooks: opts.allowTestHooks ?? false,
      ...(opts.clock ? { clock: opts.clock } : {}),
    },
  );
}

export interface ChildServer {
  url: string;
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

/** The server as a separate process (`operator start`), for crash and restart tests. */
export async function spawnServer(env: Record<string, string>, timeoutMs = 20_000): Promise<ChildServer> {
  const child = spawn(NODE24, [join(ROOT, 'src/cli/main.ts'), 'start'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // not left running behind the failed test
      rej(new Error(`server did not start:\n${output.join('')}`));
    }, timeoutMs);
    const onData = (buf: Buffer): void => {
      const text = buf.toString();
      output.push(text);
      for (const line of text.split('\n')) {
        if (!line.includes('operator listening')) continue;
        clearTimeout(timer);
        res((JSON.parse(line) as { url: string }).url);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (b: Buffer) => output.push(b.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`server exited with ${code}:\n${output.join('')}`));
    });
  });
  return { url, child, output, exited };
}
