import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, it, type ExpectStatic } from 'vitest';
import { api } from '../helpers/api.ts';
import { spawnServer, tempDir, writeConfig, type ChildServer } from '../helpers/server.ts';
import { freePort } from '../helpers/ports.ts';

/** An invalid config never half-starts: `operator start` exits non-zero, names the key, and nothing listens. */

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

const children: ChildServer[] = [];
afterAll(() => {
  for (const c of children.splice(0)) if (c.child.exitCode === null) c.child.kill('SIGKILL');
});

/**
 * Starts `operator start` expecting it to fail. Returns its output, after checking that it exited
 * with 1, that nothing listens on its port and that no store was created.
 */
async function failingStart(expect: ExpectStatic, config: object | string, fileName?: string): Promise<string> {
  const dir = tempDir();
  const port = await freePort();
  const env = { OPERATOR_CONFIG: writeConfig(dir, config, fileName), OPERATOR_DATA_DIR: dir, PORT: String(port) };
  const error = await spawnServer(env).then(
    (s) => {
      children.push(s);
      return new Error(`the server started at ${s.url}`);
    },
    (err: unknown) => err as Error,
  );
  expect(error.message).toMatch(/^server exited with 1:/);
  expect(await refused(port)).toBe(true);
  // Nothing was opened either: the store is created only after the config is valid.
  expect(existsSync(join(dir, 'operator.db'))).toBe(false);
  return error.message;
}

// Each case starts a Node process (~1 s): they run concurrently, with the test's own `expect`.
describe.concurrent('invalid config', () => {
  it('a wrong value: config_invalid naming the exact key, exit 1, nothing listening', async ({ expect }) => {
    const output = await failingStart(expect, {
      agents: {
        support: {
          instructions: 'Help.',
          tools: [{ name: 'lookup', description: 'Looks up', webhook: { url: 'not a url' } }],
        },
      },
    });
    expect(output).toContain('config_invalid');
    expect(output).toContain('agents.support.tools[0].webhook.url');
    expect(output).toContain('must be an absolute http(s) URL');
  });

  it('an unknown key (a typo) is an error, not ignored', async ({ expect }) => {
    const output = await failingStart(expect, { agents: { support: { instructions: 'Help.', greting: 'Hi' } } });
    expect(output).toContain('config_invalid');
    expect(output).toMatch(/agents\.support.*greting/);
  });

  it('a limit out of range names the key', async ({ expect }) => {
    const output = await failingStart(expect, { pool: { size: -1 }, agents: { a: { instructions: 'x' } } });
    expect(output).toContain('config_invalid');
    expect(output).toContain('pool.size');
  });

  it('YAML that does not parse: config_invalid with the line', async ({ expect }) => {
    const output = await failingStart(expect, 'agents:\n  a:\n    instructions: [unclosed\n');
    expect(output).toContain('config_invalid');
    expect(output).toMatch(/not valid YAML at line \d+/);
  });

  it('a missing config file: config_invalid saying how to point at one', async ({ expect }) => {
    const dir = tempDir();
    const port = await freePort();
    const err = await spawnServer({ OPERATOR_CONFIG: join(dir, 'missing.yaml'), OPERATOR_DATA_DIR: dir, PORT: String(port) }).then(
      () => new Error('started'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toContain('config_invalid');
    expect(err.message).toContain('OPERATOR_CONFIG');
    expect(await refused(port)).toBe(true);
  });

  it('a .ts config that throws while loading: config_invalid', async ({ expect }) => {
    const output = await failingStart(expect, "throw new Error('broken module');\nexport default {};\n", 'operator.config.ts');
    expect(output).toContain('config_invalid');
    expect(output).toContain('broken module');
  });

  it('a valid config on a chosen port starts and serves', async ({ expect }) => {
    const dir = tempDir();
    const port = await freePort();
    const s = await spawnServer({
      OPERATOR_CONFIG: writeConfig(dir, { pool: { size: 1 }, agents: { a: { instructions: 'x' } } }),
      OPERATOR_DATA_DIR: dir,
      PORT: String(port),
    });
    children.push(s);
    expect(s.url).toBe(`http://127.0.0.1:${port}`);
    expect((await api(s.url, '/healthz')).body).toEqual({ status: 'ok' });
  });
});
