import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMALL_POOL, api, serve, waitFor, words, type TestServer } from '../helpers/api.ts';
import { NODE24, ROOT, tempDir } from '../helpers/server.ts';

/** The CLI (`operator …`) as a user runs it: a child process on Node 24, real stdin/stdout. */

const MAIN = join(ROOT, 'src/cli/main.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE24, [MAIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

// Each run loads the whole CLI (~0.5 s): they run concurrently, with the test's own `expect`.
describe.concurrent('operator CLI', () => {
  it('--help prints the usage and the commands, exit 0', async ({ expect }) => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: operator <command>');
    for (const cmd of ['start', 'chat', 'migrate']) expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd}\\s`, 'm'));
  });

  it.for<[string, string[]]>([
    ['start', ['--config', '--port', 'OPERATOR_CONFIG']],
    ['chat', ['operator chat <agent>', '--url', '--token', '--context']],
    ['migrate', ['operator migrate', '--data-dir']],
  ])('%s --help prints its usage, exit 0', async ([cmd, expected], { expect }) => {
    const r = await cli([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: operator ${cmd}`);
    for (const e of expected) expect(r.stdout).toContain(e);
  });

  it('an unknown command exits 2 with the usage on stderr', async ({ expect }) => {
    const r = await cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Unknown command "frobnicate"');
    expect(r.stderr).toContain('Usage: operator <command>');
    expect(r.stdout).toBe('');
  });

  it('an unknown option exits 2', async ({ expect }) => {
    const r = await cli(['migrate', '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--no-such-flag');
  });

  it('migrate applies the migrations to a fresh data dir, then reports it up to date', async ({ expect }) => {
    const dir = tempDir();
    const first = await cli(['migrate'], { OPERATOR_DATA_DIR: dir });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/Applied \d+ migration\(s\): 0001_init/);
    const second = await cli(['migrate', '--data-dir', dir]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('up to date');
  });
});

describe('operator chat', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await serve({
      pool: SMALL_POOL,
      agents: {
        talk: {
          instructions: 'x',
          greeting: 'Welcome to the terminal.',
          model: { provider: 'scripted', loop: true, steps: [words('Streamed reply number one.'), words('And a second reply.')] },
        },
      },
    });
  });
  afterAll(() => srv.close());

  it('holds a conversation over piped stdin, prints the streamed answers, and ends it on /quit', async () => {
    const child = spawn(NODE24, [MAIN, 'chat', 'talk', '--url', srv.url, '--context', '{"orderId":"A1"}'], {
      cwd: ROOT,
      env: { ...process.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await waitFor(() => out.includes('Welcome to the terminal.'), `the greeting; got:\n${out}`);
      const conversationId = /conversation (conv_\w+)/.exec(out)?.[1];
      expect(conversationId).toBeDefined();

      child.stdin.write('hello there\n');
      await waitFor(() => out.includes('Streamed reply number one.'), 'the first answer');
      child.stdin.write('and again\n');
      await waitFor(() => out.includes('And a second reply.'), 'the second answer');
      child.stdin.write('/quit\n');
      expect(await exited).toBe(0);
      expect(out).toContain('[conversation ended: client]');

      const conv = await api(srv.url, `/v1/conversations/${conversationId!}`);
      expect(conv.body).toMatchObject({ status: 'ended', endedReason: 'client', context: { orderId: 'A1' } });
      expect((conv.body.items as { role: string; text: string }[]).map((i) => `${i.role}:${i.text}`)).toEqual([
        'agent:Welcome to the terminal.',
        'user:hello there',
        'agent:Streamed reply number one.',
        'user:and again',
        'agent:And a second reply.',
      ]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('exits non-zero when it cannot connect', async () => {
    const r = await cli(['chat', 'talk', '--url', 'http://127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Could not connect');
  });

  it('reports an unknown agent and ends', async () => {
    const child = spawn(NODE24, [MAIN, 'chat', 'nobody', '--url', srv.url], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await waitFor(() => out.includes('agent_not_found'), 'the error');
    } finally {
      child.stdin.end();
      await new Promise((resolve) => child.once('exit', resolve));
    }
    expect(out).toContain('[error agent_not_found]');
  });
});
