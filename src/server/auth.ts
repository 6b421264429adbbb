import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { OperatorError } from '../core/errors.ts';

/**
 * API keys from OPERATOR_API_KEYS. Keys are compared as SHA-256 digests with `timingSafeEqual`, so
 * neither the content nor the length of a key leaks through timing.
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map((k) => digest(k));
  }

  static fromEnv(value: string | undefined): ApiKeys {
    return new ApiKeys((value ?? '').split(',').map((k) => k.trim()).filter((k) => k.length > 0));
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  accepts(key: string | undefined): boolean {
    if (!key) return false;
    const d = digest(key);
    let ok = false;
    for (const k of this.digests) ok = timingSafeEqual(k, d) || ok; // no early exit
    return ok;
  }

  /** A stable, non-secret id of the request's key when it is an accepted one (for rate limits). */
  rateKey(req: FastifyRequest): string | undefined {
    const token = this.token(req);
    return token !== undefined && this.accepts(token) ? `key:${digest(token).toString('hex').slice(0, 16)}` : undefined;
  }

  private token(req: FastifyRequest): string | undefined {
    const header = req.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const token = bearer ?? (req.query as Record<string, unknown> | undefined)?.token;
    return typeof token === 'string' && token.length > 0 ? token : undefined;
  }

  /** Throws 401 unless the request carries an accepted key (Bearer header or `?token=` for browsers). */
  check(req: FastifyRequest): void {
    if (!this.enabled) return;
    const token = this.token(req);
    if (token === undefined) {
      throw new OperatorError('auth', 'unauthorized', 'Send an API key as "Authorization: Bearer <key>"');
    }
    if (!this.accepts(token)) throw new OperatorError('auth', 'invalid_api_key', 'The API key is not valid');
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
