import { z } from 'zod';
import { parseDurationMs } from './duration.ts';

/** A duration key: `500ms`, `10s`, `5m`, `24h` or a number of ms; parsed to ms. */
export const duration = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const ms = parseDurationMs(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be a duration like 500ms, 10s, 5m, 24h (got ${JSON.stringify(v)})` });
      return z.NEVER;
    }
    return ms;
  });
