import { pino, type Logger } from 'pino';

/**
 * Logs are static messages with structured fields (DESIGN.md rule 9). Customer content goes only
 * under `pii.*`, which `logging.redactPii` removes; conversation loggers are children carrying
 * `conversationId`, so every line about a conversation says which.
 */
export function createLogger(opts: { level: string; redactPii: boolean; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      level: opts.level,
      base: { pid: process.pid },
      ...(opts.redactPii ? { redact: { paths: ['pii', '*.pii', 'pii.*'], censor: '[redacted]' } } : {}),
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
