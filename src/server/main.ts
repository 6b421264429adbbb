import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { loadConfig, type OperatorConfig } from '../config/index.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { OperatorError } from '../core/errors.ts';
import { describeOffline } from '../models/index.ts';
import { Runtime, createMetrics } from '../runtime/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { buildApp } from './app.ts';
import { ApiKeys } from './auth.ts';
import { createLogger } from './logger.ts';

export interface ServerSettings {
  configPath: string;
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  apiKeys: ApiKeys;
  nodeId: string;
  publicUrl: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function intEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new OperatorError('invalid_request', 'config_invalid', `${name}=${raw} must be a port number (0-65535)`);
  }
  return n;
}

/** Reads the environment variables of API.md "Running"; rejects unsafe combinations. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): ServerSettings {
  const apiKeys = ApiKeys.fromEnv(env.OPERATOR_API_KEYS);
  const port = intEnv(env, 'PORT', 8080);
  const host = env.HOST || (apiKeys.enabled ? '0.0.0.0' : '127.0.0.1');
  if (!apiKeys.enabled && !LOOPBACK.has(host)) {
    throw new OperatorError(
      'invalid_request',
      'config_invalid',
      `HOST=${host} would expose the API without authentication; set OPERATOR_API_KEYS or bind to 127.0.0.1`,
    );
  }
  const dbUrl = env.DATABASE_URL?.trim();
  if (dbUrl && !/^postgres(ql)?:\/\//.test(dbUrl)) {
    throw new OperatorError('invalid_request', 'config_invalid', 'DATABASE_URL must be a postgres:// URL');
  }
  return {
    configPath: resolve(env.OPERATOR_CONFIG || 'operator.config.yaml'),
    port,
    host,
    dataDir: resolve(env.OPERATOR_DATA_DIR || '.operator'),
    ...(dbUrl ? { databaseUrl: dbUrl } : {}),
    apiKeys,
    nodeId: env.OPERATOR_NODE_ID || `${hostname()}:${port}`,
    publicUrl: env.OPERATOR_PUBLIC_URL || `http://${host}:${port}`,
  };
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  config: OperatorConfig;
  store: Store;
  runtime: Runtime;
  logger: Logger;
  close(): Promise<void>;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function exampleSecret(config: OperatorConfig): string | undefined {
  for (const a of config.agents) {
    for (const t of a.tools) if (t.kind === 'webhook' && t.url.endsWith('/examples/order-status')) return t.secret;
  }
  return undefined;
}

/**
 * Starts a node: config (all-or-nothing), store + migrations, crash recovery, warm pool, HTTP.
 * Any failure before listening closes what was opened, so an invalid setup never half-starts.
 */
export async function startServer(
  settings: ServerSettings,
  opts: { logger?: Logger; clock?: Clock; allowTestHooks?: boolean } = {},
): Promise<RunningServer> {
  const config = await loadConfig(settings.configPath);
  const logger = opts.logger ?? createLogger(config.logging);
  const clock = opts.clock ?? systemClock;
  const store = await openStore({
    ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}),
    dataDir: settings.dataDir,
    nodeId: settings.nodeId,
  });
  let runtime: Runtime | undefined;
  try {
    await store.migrate();
    const metrics = createMetrics();
    runtime = new Runtime({ config, store, metrics, logger, clock, nodeId: settings.nodeId, allowTestHooks: opts.allowTestHooks ?? false });
    await runtime.start();
    const secret = exampleSecret(config);
    const app = await buildApp({
      config, store, runtime, metrics, logger, apiKeys: settings.apiKeys, version: version(),
      ...(secret ? { exampleToolSecret: secret } : {}),
    });
    await app.listen({ port: settings.port, host: settings.host });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : settings.port;
    const url = `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`;
    logger.info(
      { url, store: store.dialect, nodeId: settings.nodeId, agents: config.agents.map((a) => a.id), auth: settings.apiKeys.enabled },
      'operator listening',
    );
    for (const a of config.agents) {
      if (a.model.provider === 'offline') logger.warn({ agent: a.id }, describeOffline());
    }
    const rt = runtime;
    return {
      app, url, config, store, runtime: rt, logger,
      async close() {
        await app.close();
        await rt.close();
        await store.close();
      },
    };
  } catch (err) {
    await runtime?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
}
