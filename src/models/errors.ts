import { APICallError, LoadAPIKeyError } from '@ai-sdk/provider';
import { errorMessage, OperatorError, type ErrorKind } from '../core/errors.ts';

/**
 * Model failures, classified once where they leave the AI SDK (DESIGN.md rule 7). Codes are part
 * of the public contract:
 *
 * | code                    | kind            | retryable | when                                           |
 * | ----------------------- | --------------- | --------- | ---------------------------------------------- |
 * | `model_auth_failed`     | auth            | no        | 401/403, provider `authentication_error`       |
 * | `model_api_key_missing` | auth            | no        | no `apiKey` given and none in the environment  |
 * | `model_rate_limited`    | rate_limit      | yes       | 429, provider `rate_limit_error`               |
 * | `model_quota_exceeded`  | rate_limit      | no        | OpenAI `insufficient_quota` (429)              |
 * | `model_not_found`       | not_found       | no        | 404: wrong model name or base URL              |
 * | `model_request_invalid` | invalid_request | no        | other 4xx, provider `invalid_request_error`    |
 * | `model_unavailable`     | server / connectivity | yes | 5xx, 529 overloaded, timeouts, network errors  |
 * | `model_aborted`         | application     | no        | the call was aborted (not a model failure)     |
 * | `model_failed`          | server          | no        | anything else                                  |
 */

interface Classification {
  kind: ErrorKind;
  code: string;
  hint: string;
  retryable?: boolean;
}

const AUTH: Classification = {
  kind: 'auth',
  code: 'model_auth_failed',
  hint: "check the agent's model.apiKey (and that the key may use this model)",
};
const RATE: Classification = { kind: 'rate_limit', code: 'model_rate_limited', hint: 'retry later or raise the rate limit' };
const QUOTA: Classification = {
  kind: 'rate_limit',
  code: 'model_quota_exceeded',
  hint: "the provider account is out of quota; check its billing",
  retryable: false,
};
const NOT_FOUND: Classification = {
  kind: 'not_found',
  code: 'model_not_found',
  hint: "check the agent's model name and baseUrl",
};
const INVALID: Classification = {
  kind: 'invalid_request',
  code: 'model_request_invalid',
  hint: 'the provider rejected the request; check the model name, settings and tool schemas',
};
const SERVER: Classification = { kind: 'server', code: 'model_unavailable', hint: 'the provider failed; retry later' };
const NETWORK: Classification = {
  kind: 'connectivity',
  code: 'model_unavailable',
  hint: "could not reach the provider; check the network and the agent's model baseUrl",
};

/** Anthropic `error.type` and OpenAI `error.code`/`error.type` values seen in error bodies and stream error events. */
const BY_PROVIDER_TYPE: Record<string, Classification> = {
  authentication_error: AUTH,
  permission_error: AUTH,
  invalid_api_key: AUTH,
  rate_limit_error: RATE,
  rate_limit_exceeded: RATE,
  insufficient_quota: QUOTA,
  not_found_error: NOT_FOUND,
  model_not_found: NOT_FOUND,
  invalid_request_error: INVALID,
  request_too_large: INVALID,
  overloaded_error: SERVER,
  api_error: SERVER,
  server_error: SERVER,
  timeout_error: SERVER,
};

function byStatus(status: number): Classification {
  if (status === 401 || status === 403) return AUTH;
  if (status === 404) return NOT_FOUND;
  if (status === 408) return NETWORK;
  if (status === 429) return RATE;
  if (status >= 500) return SERVER;
  return INVALID;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** `{error: {type, code, message}}` / `{type, message}`, as the provider put it in a body or stream event. */
function providerError(v: unknown): { type?: string; message?: string } | undefined {
  if (!isRecord(v)) return undefined;
  const inner = isRecord(v.error) ? v.error : v;
  const type = [inner.code, inner.type].find((t): t is string => typeof t === 'string' && t in BY_PROVIDER_TYPE);
  const message = typeof inner.message === 'string' ? inner.message : undefined;
  return type === undefined && message === undefined ? undefined : { type, message };
}

function parseBody(body: string | undefined): unknown {
  if (!body) return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function make(c: Classification, detail: string, cause: unknown): OperatorError {
  return new OperatorError(c.kind, c.code, `${c.code}: ${detail}; ${c.hint}`, {
    cause,
    ...(c.retryable === undefined ? {} : { retryable: c.retryable }),
  });
}

function isAbort(err: unknown): boolean {
  return (err instanceof Error || err instanceof DOMException) && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/** fetch's own failure (`TypeError: fetch failed`, cause `ECONNREFUSED`...), when nothing wrapped it. */
function isNetworkFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof TypeError && /fetch failed|failed to fetch/i.test(err.message)) return true;
  const code = isRecord(err.cause) ? err.cause.code : (err as { code?: unknown }).code;
  return typeof code === 'string' && /^(?:ECONN|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EPIPE|UND_ERR)/.test(code);
}

/** Turns whatever a model call threw, or a stream `error` part carried, into an `OperatorError`. */
export function classifyModelError(err: unknown): OperatorError {
  if (err instanceof OperatorError) return err;
  // The AI SDK's retry wrapper (`AI_RetryError`) keeps the error that made it give up.
  if (err instanceof Error && err.name === 'AI_RetryError' && 'lastError' in err) {
    return classifyModelError(err.lastError);
  }
  if (isAbort(err)) {
    return new OperatorError('application', 'model_aborted', 'model_aborted: the model call was aborted', { cause: err });
  }
  if (LoadAPIKeyError.isInstance(err)) {
    return new OperatorError(
      'auth',
      'model_api_key_missing',
      `model_api_key_missing: ${err.message}; set the agent's model.apiKey, e.g. apiKey: \${OPENAI_API_KEY}`,
      { cause: err },
    );
  }
  if (APICallError.isInstance(err)) {
    const reported = providerError(err.data) ?? providerError(parseBody(err.responseBody));
    const c =
      err.statusCode === undefined
        ? NETWORK
        : err.statusCode === 429 && reported?.type === 'insufficient_quota'
          ? QUOTA
          : byStatus(err.statusCode);
    const status = err.statusCode === undefined ? 'no response' : `HTTP ${err.statusCode}`;
    return make(c, `${status} from ${err.url}: ${reported?.message ?? err.message}`, err);
  }
  if (isNetworkFailure(err)) return make(NETWORK, errorMessage(err), err);
  const reported = providerError(err);
  if (reported?.type !== undefined) {
    return make(BY_PROVIDER_TYPE[reported.type]!, reported.message ?? reported.type, err);
  }
  const message = reported?.message ?? errorMessage(err);
  return new OperatorError('server', 'model_failed', `model_failed: ${message}`, { cause: err, retryable: false });
}
