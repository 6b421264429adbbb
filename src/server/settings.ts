import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { OperatorError } from '../core/errors.ts';
import { ApiKeys } from './auth.ts';

export interface ServerSettings {
  configPath: string;
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  /** Postgres schema of the pg-boss work queue (with `databaseUrl`); default 'pgboss'. */
  queueSchema?: string;
  apiKeys: ApiKeys;
  nodeId: string;
  publicUrl: string;
  twilio?: { accountSid: string; authToken: string; apiUrl: string };
  smtpPort: number;
  smtpHost: string;
  smtpOutboundUrl?: string;
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

function twilioFromEnv(env: NodeJS.ProcessEnv): Pick<ServerSettings, 'twilio'> {
  const accountSid = env.TWILIO_ACCOUNT_SID?.trim();
  const authToken = env.TWILIO_AUTH_TOKEN?.trim();
  if (!accountSid && !authToken) return {};
  if (!accountSid || !authToken) {
    throw new OperatorError('invalid_request', 'config_invalid', 'Set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or neither)');
  }
  const apiUrl = (env.TWILIO_API_URL || 'https://api.twilio.com').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(apiUrl)) throw new OperatorError('invalid_request', 'config_invalid', 'TWILIO_API_URL must be an http(s) URL');
  return { twilio: { accountSid, authToken, apiUrl } };
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
  const queueSchema = env.OPERATOR_PGBOSS_SCHEMA?.trim();
  if (queueSchema && !/^[a-z_][a-z0-9_]{0,62}$/.test(queueSchema)) {
    throw new OperatorError('invalid_request', 'config_invalid', `OPERATOR_PGBOSS_SCHEMA=${queueSchema} must be a Postgres schema name (a-z, 0-9, _)`);
  }
  return {
    configPath: resolve(env.OPERATOR_CONFIG || 'operator.config.yaml'),
    port,
    host,
    dataDir: resolve(env.OPERATOR_DATA_DIR || '.operator'),
    ...(dbUrl ? { databaseUrl: dbUrl } : {}),
    ...(queueSchema ? { queueSchema } : {}),
    apiKeys,
    nodeId: env.OPERATOR_NODE_ID || `${hostname()}:${port}`,
    publicUrl: (env.OPERATOR_PUBLIC_URL || `http://${host}:${port}`).replace(/\/+$/, ''),
    ...twilioFromEnv(env),
    smtpPort: intEnv(env, 'SMTP_PORT', 2525),
    smtpHost: env.SMTP_HOST || host,
    ...(env.SMTP_OUTBOUND_URL ? { smtpOutboundUrl: env.SMTP_OUTBOUND_URL } : {}),
  };
}

