import { APICallError } from '@ai-sdk/provider';
import { OperatorError, errorMessage, isOperatorError } from '../core/errors.ts';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET']);

/**
 * Classifies a failed model call once, where it enters the engine (DESIGN.md rule 7). Provider
 * errors carry an HTTP status; network failures a system error code; anything else is a
 * `model_error` that is not worth retrying blindly.
 */
export function classifyModelError(err: unknown): OperatorError {
  if (isOperatorError(err)) return err;
  const message = errorMessage(err);
  if (APICallError.isInstance(err)) return fromStatus(err.statusCode, err.isRetryable, message, err);
  if (NETWORK_CODES.has(systemCode(err) ?? '')) {
    return new OperatorError('connectivity', 'model_unreachable', `the model could not be reached: ${message}`, { cause: err });
  }
  return new OperatorError('server', 'model_error', `the model failed: ${message}`, { cause: err, retryable: false });
}

export function modelTimeout(ms: number): OperatorError {
  return new OperatorError('connectivity', 'model_timeout', `the model did not finish within ${ms} ms`);
}

function fromStatus(status: number | undefined, retryable: boolean, message: string, cause: unknown): OperatorError {
  const options = { cause, retryable };
  if (status === 401 || status === 403) return new OperatorError('auth', 'model_auth', `the model provider refused the credentials: ${message}`, { cause });
  if (status === 429) return new OperatorError('rate_limit', 'model_rate_limited', `the model provider is rate limiting: ${message}`, { cause });
  if (status === 408) return new OperatorError('connectivity', 'model_timeout', `the model provider timed out: ${message}`, { cause });
  if (status !== undefined && status >= 500) return new OperatorError('server', 'model_unavailable', `the model provider failed: ${message}`, options);
  if (status !== undefined && status >= 400) return new OperatorError('invalid_request', 'model_bad_request', `the model provider rejected the request: ${message}`, options);
  return new OperatorError('connectivity', 'model_error', `the model call failed: ${message}`, options);
}

function systemCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
