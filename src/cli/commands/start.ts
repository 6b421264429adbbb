import { settingsFromEnv, startServer } from '../../server/main.ts';
import type { Command } from '../args.ts';

export const startCommand: Command = {
  name: 'start',
  summary: 'Start the server (HTTP API, realtime socket) with the config file',
  usage: 'operator start [--config FILE] [--port N] [--host ADDR]',
  help: `
Options (each overrides the environment variable in brackets):
  -c, --config FILE      Config file, YAML or .ts [OPERATOR_CONFIG, default operator.config.yaml]
  -p, --port N           HTTP/WebSocket port [PORT, default 8080]
      --host ADDR        Bind address [HOST, default 127.0.0.1 without API keys]
      --data-dir DIR     Folder of the embedded SQLite store [OPERATOR_DATA_DIR, default .operator]

Environment: DATABASE_URL (PostgreSQL instead of SQLite), OPERATOR_API_KEYS (comma-separated keys;
without them the server binds to loopback only), OPERATOR_PUBLIC_URL, OPERATOR_NODE_ID.
The server stops gracefully on SIGINT/SIGTERM: live conversations end with reason "server_shutdown".`,
  options: {
    config: { type: 'string', short: 'c' },
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    'data-dir': { type: 'string' },
  },
  async run(values) {
    const env = { ...process.env };
    if (typeof values.config === 'string') env.OPERATOR_CONFIG = values.config;
    if (typeof values.port === 'string') env.PORT = values.port;
    if (typeof values.host === 'string') env.HOST = values.host;
    if (typeof values['data-dir'] === 'string') env.OPERATOR_DATA_DIR = values['data-dir'];
    // The config file's ${PORT} references must see the port actually used.
    if (env.PORT !== undefined) process.env.PORT = env.PORT;
    const server = await startServer(settingsFromEnv(env));
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) process.exit(130); // a second Ctrl-C does not wait
        stopping = true;
        server.logger.info({ signal }, 'shutting down');
        server.close().then(resolve, resolve);
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
    return 0;
  },
};
