import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig, loadConfig } from '../../src/config/index.ts';
import { OperatorError } from '../../src/core/errors.ts';
import { ROOT, tempDir } from '../helpers/server.ts';

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OperatorError);
    expect((err as OperatorError).code).toBe('config_invalid');
    return (err as Error).message;
  }
  throw new Error('expected config_invalid');
}

const minimal = { agents: { support: { instructions: 'Help.' } } };

describe('config', () => {
  it('loads the example config that npm start uses', async () => {
    const cfg = await loadConfig(join(ROOT, 'operator.config.yaml'), { PORT: '9999' });
    expect(cfg.agents.map((a) => a.id)).toEqual(['support']);
    const agent = cfg.agents[0]!;
    expect(agent.model).toEqual({ provider: 'offline' });
    expect(agent.tools[0]).toMatchObject({ kind: 'webhook', name: 'order_status', url: 'http://127.0.0.1:9999/examples/order-status', timeoutMs: 5000 });
  });

  it('applies defaults', () => {
    const cfg = buildConfig(minimal, 'x.yaml', {});
    expect(cfg.agents[0]).toMatchObject({ id: 'support', name: 'support', maxSteps: 8, turnTimeoutMs: 60_000, tools: [] });
    expect(cfg.pool.size).toBe(4);
  });

  it('points at the exact key that is wrong', () => {
    const msg = configError(() =>
      buildConfig(
        { agents: { support: { instructions: 'x', tools: [{ name: 't', description: 'd', webhook: { url: 'not a url' } }] } } },
        'x.yaml',
        {},
      ),
    );
    expect(msg).toContain('agents.support.tools[0].webhook.url: must be an absolute http(s) URL');
  });

  it('rejects unknown keys, so typos do not pass silently', () => {
    const msg = configError(() => buildConfig({ agents: { support: { instructions: 'x', greting: 'hi' } } }, 'x.yaml', {}));
    expect(msg).toMatch(/agents\.support.*greting/);
  });

  it('needs exactly one implementation per tool', () => {
    const msg = configError(() => buildConfig({ agents: { a: { instructions: 'x', tools: [{ name: 't', description: 'd' }] } } }, 'x.yaml', {}));
    expect(msg).toContain('agents.a.tools[0]: needs exactly one of "webhook"');
  });

  it('rejects duplicate tool names and shadowing a built-in', () => {
    const tool = { name: 'end_conversation', description: 'd', webhook: { url: 'http://x.test/' } };
    const msg = configError(() => buildConfig({ agents: { a: { instructions: 'x', tools: [tool] } } }, 'x.yaml', {}));
    expect(msg).toContain('agents.a.tools[0].name: "end_conversation" is already defined');
  });

  it('substitutes ${ENV} and ${ENV:-default}, and names a missing variable', () => {
    const raw = { agents: { a: { instructions: 'x', model: { provider: 'openai', model: 'gpt-4o-mini', apiKey: '${OPENAI_API_KEY}' } } } };
    expect(buildConfig(raw, 'x.yaml', { OPENAI_API_KEY: 'sk-1' }).agents[0]!.model).toMatchObject({ apiKey: 'sk-1' });
    const msg = configError(() => buildConfig(raw, 'x.yaml', {}));
    expect(msg).toContain('agents.a.model.apiKey: environment variable OPENAI_API_KEY is not set');
    const withDefault = { agents: { a: { instructions: '${GREETING:-hello}' } } };
    expect(buildConfig(withDefault, 'x.yaml', {}).agents[0]!.instructions).toBe('hello');
  });

  it('reports YAML syntax errors with the line', async () => {
    const dir = tempDir();
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'agents:\n  a:\n    instructions: "unterminated\n');
    await expect(loadConfig(path, {})).rejects.toThrow(/not valid YAML at line \d/);
  });

  it('reports a missing file with what to do', async () => {
    await expect(loadConfig('/nonexistent/operator.config.yaml', {})).rejects.toThrow(/cannot read the config file.*OPERATOR_CONFIG/);
  });

  it('loads a .ts config with in-process tool functions', async () => {
    const dir = tempDir();
    const path = join(dir, 'operator.config.ts');
    writeFileSync(
      path,
      `export default {
        agents: { a: { instructions: 'x', tools: [{ name: 'add', description: 'Add numbers',
          parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } },
          execute: (args) => ({ sum: args.a + args.b }) }] } },
      };\n`,
    );
    const cfg = await loadConfig(path, {});
    expect(cfg.agents[0]!.tools[0]).toMatchObject({ kind: 'function', name: 'add' });
    expect(cfg.functions.a!.add!({ a: 2, b: 3 }, undefined as never)).toEqual({ sum: 5 });
  });

  it('rejects a config without agents', () => {
    expect(configError(() => buildConfig({ agents: {} }, 'x.yaml', {}))).toContain('agents: must declare at least one agent');
    expect(configError(() => buildConfig('just a string', 'x.yaml', {}))).toContain('must be a mapping');
  });
});
