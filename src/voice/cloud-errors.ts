import { errorMessage, OperatorError, type ErrorKind } from '../core/errors.ts';

/**
 * Cloud speech failures, classified once where they leave a vendor's HTTP response, WebSocket
 * handshake, close frame or in-band error message. `<side>` is `stt` or `tts`; codes are part of
 * the public contract:
 *
 * | code                     | kind            | retryable | when                                                 |
 * | ------------------------ | --------------- | --------- | ---------------------------------------------------- |
 * | `<side>_auth_failed`     | auth            | no        | 401/403 (also on the WebSocket upgrade, or in-band)  |
 * | `<side>_quota_exceeded`  | rate_limit      | no        | 402, OpenAI `insufficient_quota`                     |
 * | `<side>_rate_limited`    | rate_limit      | yes       | 429 (too many requests or concurrent connections)    |
 * | `<side>_request_invalid` | invalid_request | no        | other 4xx; close 1003/1007/1008 (audio or message refused) |
 * | `<side>_unavailable`     | server          | yes       | 5xx; close 1011 (vendor's internal error or timeout) |
 * | `<side>_unavailable`     | connectivity    | yes       | network failure, connection dropped, engine closed   |
 * | `<side>_timeout`         | connectivity    | yes       | the vendor stopped answering for longer than allowed |
 */
export type SpeechSide = 'stt' | 'tts';

/** Where a failure comes from: `stt` + `Deepgram` gives codes `stt_*` and messages naming Deepgram. */
export interface SpeechSource {
  side: SpeechSide;
  vendor: string;
}

/** What a vendor's error body or message says, when it says anything we can read. */
export interface VendorDetail {
  message?: string;
  code?: string;
}

interface Classification {
  kind: ErrorKind;
  suffix: string;
  hint: (vendor: string) => string;
  retryable?: boolean;
}

const AUTH: Classification = {
  kind: 'auth',
  suffix: 'auth_failed',
  hint: (v) => `check the ${v} API key (and that it may use this model)`,
};
const QUOTA: Classification = {
  kind: 'rate_limit',
  suffix: 'quota_exceeded',
  hint: (v) => `the ${v} account is out of credit or quota; check its billing`,
  retryable: false,
};
const RATE: Classification = {
  kind: 'rate_limit',
  suffix: 'rate_limited',
  hint: (v) => `retry later or raise the ${v} concurrency/rate limits`,
};
const INVALID: Classification = {
  kind: 'invalid_request',
  suffix: 'request_invalid',
  hint: (v) => `check the ${v} model, voice, language and audio settings`,
};
const SERVER: Classification = { kind: 'server', suffix: 'unavailable', hint: (v) => `${v} failed; retry` };
const NETWORK: Classification = {
  kind: 'connectivity',
  suffix: 'unavailable',
  hint: (v) => `could not reach ${v} or lost the connection; check the network and the engine's baseUrl`,
};

function make(src: SpeechSource, c: Classification, detail: string, cause?: unknown): OperatorError {
  const code = `${src.side}_${c.suffix}`;
  return new OperatorError(c.kind, code, `${code}: ${src.vendor} ${detail}; ${c.hint(src.vendor)}`, {
    ...(cause === undefined ? {} : { cause }),
    ...(c.retryable === undefined ? {} : { retryable: c.retryable }),
  });
}

function byStatus(status: number, vendorCode?: string): Classification {
  if (vendorCode === 'insufficient_quota' || status === 402) return QUOTA;
  if (status === 401 || status === 403) return AUTH;
  if (status === 408) return NETWORK;
  if (status === 429) return RATE;
  if (status >= 500) return SERVER;
  return INVALID;
}

function describe(what: string, detail: VendorDetail | undefined): string {
  const said = detail?.message ?? detail?.code;
  return said ? `${what}: ${truncate(said)}` : what;
}

function truncate(s: string): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/** An HTTP status from a vendor (a request's response or a refused WebSocket upgrade). */
export function httpStatusError(src: SpeechSource, status: number, detail?: VendorDetail): OperatorError {
  return make(src, byStatus(status, detail?.code), describe(`answered HTTP ${status}`, detail));
}

/** An in-band error message carrying an HTTP-like status (Cartesia's `{"type":"error","status_code":…}`). */
export function vendorError(src: SpeechSource, status: number | undefined, detail: VendorDetail): OperatorError {
  const c = status === undefined ? SERVER : byStatus(status, detail.code);
  return make(src, c, describe(`reported an error${status === undefined ? '' : ` (${status})`}`, detail));
}

/** The connection could not be made or broke (DNS, refused, reset, TLS). */
export function networkError(src: SpeechSource, cause: unknown): OperatorError {
  if (cause instanceof OperatorError) return cause;
  return make(src, NETWORK, `connection failed: ${truncate(errorMessage(cause))}`, cause);
}

/**
 * The vendor closed a WebSocket we did not close. Codes per RFC 6455 §7.4.1: 1003/1007/1008 mean
 * it refused what we sent; 1011 is its internal error (Deepgram also uses it for `NET-0001`, no
 * audio for 10 s); anything else, 1006 (no close frame) included, is a lost connection.
 */
export function closedError(src: SpeechSource, code: number, reason: string): OperatorError {
  const c = code === 1003 || code === 1007 || code === 1008 ? INVALID : code === 1011 ? SERVER : NETWORK;
  return make(src, c, `closed the connection (${code}${reason ? ` ${truncate(reason)}` : ''})`);
}

/** The vendor did not answer within `ms`. */
export function timeoutError(src: SpeechSource, waitingFor: string, ms: number): OperatorError {
  const code = `${src.side}_timeout`;
  return new OperatorError(
    'connectivity',
    code,
    `${code}: ${src.vendor} did not ${waitingFor} within ${ms} ms; retry, or raise the engine's timeout`,
  );
}

/** The engine was closed while work was in flight. */
export function engineClosedError(src: SpeechSource): OperatorError {
  return make(src, NETWORK, 'engine was closed while a request was in flight');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Reads an error body as the vendors write it: OpenAI `{error: {message, code, type}}`, Deepgram
 * `{err_code, err_msg}`, Cartesia `{error_code, title, message}`; plain text otherwise.
 */
export function vendorDetail(body: string): VendorDetail | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    const text = body.trim();
    return text ? { message: truncate(text) } : undefined;
  }
  if (!isRecord(parsed)) return undefined;
  const inner = isRecord(parsed.error) ? parsed.error : parsed;
  const message = str(inner.message) ?? str(inner.err_msg) ?? str(inner.title) ?? str(parsed.error);
  const code = str(inner.code) ?? str(inner.err_code) ?? str(inner.error_code) ?? str(inner.type);
  if (message === undefined && code === undefined) return undefined;
  return { ...(message === undefined ? {} : { message }), ...(code === undefined ? {} : { code }) };
}
