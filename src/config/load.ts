import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import type { AgentSpec, ToolSpec } from '../core/agent.ts';
import { OperatorError, errorMessage } from '../core/errors.ts';
import { formatPath, substituteEnv } from './env.ts';
import { configSchema, type ParsedConfig, type ParsedTool } from './schema.ts';
import { toVoiceSettings } from './voice-schema.ts';

export type ToolImplementation = (args: Record<string, unknown>, ctx: never) => unknown;

export interface OperatorConfig {
  /** Absolute path of the file it came from (workers load `.ts` configs again for their functions). */
  path: string;
  agents: AgentSpec[];
  /** Which phone numbers and email addresses belong to which agent. */
  channels: ParsedConfig['channels'];
  pool: ParsedConfig['pool'];
  limits: ParsedConfig['limits'];
  logging: ParsedConfig['logging'];
  examples: ParsedConfig['examples'];
  /** In-process tool implementations from a `.ts` config, by agent id then tool name. */
  functions: Record<string, Record<string, ToolImplementation>>;
}

const DEFAULT_TOOL_TIMEOUT_MS = 10_000;

function invalid(message: string, cause?: unknown): OperatorError {
  return new OperatorError('invalid_request', 'config_invalid', message, { cause });
}

async function readRaw(path: string): Promise<unknown> {
  if (/\.(m?ts|m?js)$/.test(path)) {
    try {
      const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
      const value = typeof mod.default === 'function' ? await (mod.default as () => unknown)() : mod.default;
      if (value === undefined) throw invalid(`${path}: the module has no default export (export default defineConfig({...}))`);
      return value;
    } catch (err) {
      if (err instanceof OperatorError) throw err;
      throw invalid(`${path}: could not load the config module: ${errorMessage(err)}`, err);
    }
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw invalid(`${path}: cannot read the config file (${errorMessage(err)}); set OPERATOR_CONFIG to its path`, err);
  }
  try {
    return parseYaml(text, { prettyErrors: true, uniqueKeys: true }) as unknown;
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
    throw invalid(`${path}: not valid YAML${where}: ${errorMessage(err).split('\n')[0]}`, err);
  }
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('\n');
}

function toToolSpec(t: ParsedTool): ToolSpec {
  const common = {
    name: t.name,
    description: t.description,
    parameters: t.parameters,
    examples: t.examples,
    timeoutMs: t.timeout ?? t.webhook?.timeout ?? DEFAULT_TOOL_TIMEOUT_MS,
  };
  if (t.webhook) {
    return {
      ...common,
      kind: 'webhook',
      url: t.webhook.url,
      method: t.webhook.method,
      headers: t.webhook.headers,
      ...(t.webhook.secret ? { secret: t.webhook.secret } : {}),
    };
  }
  return { ...common, kind: 'function' };
}

/** Validates an already-parsed config tree (from YAML or a `.ts` module). Throws `config_invalid`. */
export function buildConfig(raw: unknown, path: string, env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  if (raw === null || typeof raw !== 'object') throw invalid(`${path}: the config must be a mapping with an "agents" key`);
  const substituted = substituteEnv(raw, env);
  const parsed = configSchema.safeParse(substituted);
  if (!parsed.success) throw invalid(`${path}:\n${formatIssues(parsed.error.issues)}`);
  const cfg = parsed.data;
  const functions: OperatorConfig['functions'] = {};
  const agents: AgentSpec[] = Object.entries(cfg.agents).map(([id, a]) => {
    functions[id] = {};
    for (const t of a.tools) if (t.execute) functions[id][t.name] = t.execute as ToolImplementation;
    return {
      id,
      name: a.name ?? id,
      ...(a.description ? { description: a.description } : {}),
      instructions: a.instructions,
      ...(a.greeting ? { greeting: a.greeting } : {}),
      model: a.model,
      modelSettings: {
        ...(a.temperature !== undefined ? { temperature: a.temperature } : {}),
        ...(a.maxOutputTokens !== undefined ? { maxOutputTokens: a.maxOutputTokens } : {}),
      },
      tools: a.tools.map(toToolSpec),
      maxSteps: a.maxSteps,
      turnTimeoutMs: a.turnTimeout,
      channelStyle: a.channelStyle,
      async: { inactivityTimeoutMs: a.async.inactivityTimeout, debounceMs: a.async.debounce },
      memory: {
        recallWindowMs: a.memory.recallWindow,
        tokenBudget: a.memory.tokenBudget,
        verbatimTurns: a.memory.verbatimTurns,
        retentionMs: a.memory.retention,
      },
      ...(a.webhook ? { webhook: a.webhook } : {}),
      voice: toVoiceSettings(a.voice),
    };
  });
  return { path, agents, channels: cfg.channels, pool: cfg.pool, limits: cfg.limits, logging: cfg.logging, examples: cfg.examples, functions };
}

/** Reads, substitutes `${ENV}` references and validates the config file. Never returns half a config. */
export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<OperatorConfig> {
  const abs = resolve(path);
  return buildConfig(await readRaw(abs), abs, env);
}
