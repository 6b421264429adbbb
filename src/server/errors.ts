import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { OperatorError, isOperatorError } from '../core/errors.ts';

/** Fastify's own error codes, mapped once to our stable codes (DESIGN.md rule 7). */
const FASTIFY_CODES: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large', message: 'The request body is larger than the limit' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    message: 'Send the body as application/json',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_json', message: 'The JSON body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json', message: 'The body is not valid JSON' },
};

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

export function validationError(error: z.ZodError, where: 'body' | 'query' | 'params'): OperatorError {
  const first = error.issues[0];
  const path = first && first.path.length > 0 ? `${where}.${first.path.join('.')}` : where;
  return new OperatorError('invalid_request', 'validation_failed', `${path}: ${first?.message ?? 'is invalid'}`);
}

/** Parses with a zod schema or throws a `validation_failed` error naming the field. */
export function parseOr400<T extends z.ZodType>(schema: T, value: unknown, where: 'body' | 'query' | 'params'): z.output<T> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw validationError(r.error, where);
  return r.data;
}

export function errorHandler(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  if (isOperatorError(err)) {
    if (err.status >= 500) req.log.error({ err, code: err.code }, 'request failed');
    void reply.status(err.status).send(errorBody(err.code, err.message));
    return;
  }
  const code = (err as FastifyError).code;
  const mapped = code ? FASTIFY_CODES[code] : undefined;
  if (mapped) {
    void reply.status(mapped.status).send(errorBody(mapped.code, mapped.message));
    return;
  }
  const status = (err as FastifyError).statusCode;
  if (status === 429) {
    void reply.status(429).send(errorBody('rate_limited', 'Too many requests; retry after the Retry-After delay'));
    return;
  }
  if (status && status >= 400 && status < 500) {
    void reply.status(status).send(errorBody('bad_request', err.message));
    return;
  }
  req.log.error({ err }, 'unhandled error');
  void reply.status(500).send(errorBody('internal_error', 'Something went wrong on our side; it has been logged'));
}

export function notFoundHandler(req: FastifyRequest, reply: FastifyReply): void {
  void reply.status(404).send(errorBody('route_not_found', `No route ${req.method} ${req.url.split('?')[0]}`));
}
