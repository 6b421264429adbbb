import { OperatorError, type ErrorKind } from '../../core/errors.ts';

/**
 * Failures of Twilio's REST API, classified once where they leave `fetch` (DESIGN.md rule 7).
 *
 * | code                  | kind            | retryable | when                                                |
 * | --------------------- | --------------- | --------- | --------------------------------------------------- |
 * | `twilio_auth_failed`  | auth            | no        | 401/403: wrong TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN |
 * | `twilio_rejected`     | invalid_request | no        | other 4xx; Twilio's error code is in `twilioCode`   |
 * | `twilio_not_found`    | not_found       | no        | 404: unknown call or message sid (error 20404)      |
 * | `twilio_rate_limited` | rate_limit      | yes       | 429 (error 20429)                                   |
 * | `twilio_unavailable`  | server          | yes       | 5xx                                                 |
 * | `twilio_bad_response` | server          | no        | a 2xx answer without a resource sid: not Twilio     |
 * | `twilio_request_invalid` | invalid_request | no     | refused before sending (no body, both url and twiml) |
 * | `twilio_unreachable`  | connectivity    | yes       | no HTTP answer: DNS failure, refused or reset        |
 * | `twilio_timeout`      | connectivity    | yes       | no answer within `timeoutMs`: it may have been sent |
 * | `twilio_aborted`      | application     | no        | the caller's signal aborted the request            |
 *
 * After `twilio_timeout`, `twilio_unavailable` or a reset connection Twilio may have accepted the request; a retry can
 * duplicate a message. Deduplication on our side comes from the outbound record written before the
 * send (DESIGN.md rule 4): the retry happens only if that record says it has not been sent.
 */
export class TwilioApiError extends OperatorError {
  /** Twilio's error code (https://www.twilio.com/docs/errors/<code>), when the answer carried one. */
  readonly twilioCode: number | undefined;
  readonly httpStatus: number | undefined;

  constructor(
    kind: ErrorKind,
    code: string,
    message: string,
    options: { twilioCode?: number; httpStatus?: number; cause?: unknown; retryable?: boolean } = {},
  ) {
    super(kind, code, message, {
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      ...(options.retryable === undefined ? {} : { retryable: options.retryable }),
    });
    this.name = 'TwilioApiError';
    this.twilioCode = options.twilioCode;
    this.httpStatus = options.httpStatus;
  }
}

/** Twilio error codes worth a sentence of advice. */
const ADVICE: Record<number, string> = {
  20003: 'check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN',
  21211: "the 'To' number is not a valid phone number",
  21408: 'the account has no permission to send to this region (Messaging geographic permissions)',
  21606: "the 'From' number is not an SMS-capable number of this account",
  21610: 'the recipient replied STOP; they must text START before they can be messaged again',
  21612: "the 'To' number cannot be reached from this 'From' number",
  21614: "the 'To' number is not a mobile number",
  21617: 'the body is longer than 1600 characters',
};

export interface TwilioErrorBody {
  code?: number;
  message?: string;
  more_info?: string;
  status?: number;
}

function parseErrorBody(text: string): TwilioErrorBody {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object') return v;
  } catch {
    // not JSON: a proxy's HTML page, an empty body
  }
  return {};
}

/** The classified error for a non-2xx answer. `what` names the request: "send the message". */
export function httpError(what: string, status: number, bodyText: string): TwilioApiError {
  const body = parseErrorBody(bodyText);
  const twilioCode = typeof body.code === 'number' ? body.code : undefined;
  const said = body.message ? `: ${body.message}` : '';
  const tag = twilioCode !== undefined ? ` (Twilio error ${twilioCode}${said})` : said ? ` (${said.slice(2)})` : '';
  const advice = twilioCode !== undefined && ADVICE[twilioCode] ? `; ${ADVICE[twilioCode]}` : '';
  const more = twilioCode !== undefined ? ` — see ${body.more_info ?? `https://www.twilio.com/docs/errors/${twilioCode}`}` : '';
  const opts = { httpStatus: status, ...(twilioCode !== undefined ? { twilioCode } : {}) };
  const msg = (head: string): string => `${head}${tag}${advice}${more}`;
  if (status === 401 || status === 403) {
    return new TwilioApiError('auth', 'twilio_auth_failed', msg(`Twilio refused the credentials to ${what}, HTTP ${status}`) + (advice ? '' : '; check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN'), opts);
  }
  if (status === 404) return new TwilioApiError('not_found', 'twilio_not_found', msg(`Twilio found nothing to ${what}, HTTP 404`), opts);
  if (status === 429) return new TwilioApiError('rate_limit', 'twilio_rate_limited', msg(`Twilio rate-limited the request to ${what}; retry later`), opts);
  if (status >= 500) return new TwilioApiError('server', 'twilio_unavailable', msg(`Twilio failed to ${what}, HTTP ${status}; retry later`), opts);
  return new TwilioApiError('invalid_request', 'twilio_rejected', msg(`Twilio rejected the request to ${what}, HTTP ${status}`), opts);
}

/** The classified error for a request that got no HTTP answer. */
export function transportError(what: string, baseUrl: string, err: unknown, callerAborted: boolean): TwilioApiError {
  if (callerAborted) return new TwilioApiError('application', 'twilio_aborted', `the request to ${what} was cancelled`, { cause: err });
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new TwilioApiError('connectivity', 'twilio_timeout', `Twilio did not answer the request to ${what} in time (it may still have been carried out)`, { cause: err });
  }
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const detail = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause);
  return new TwilioApiError(
    'connectivity',
    'twilio_unreachable',
    `could not reach Twilio at ${baseUrl} to ${what} (${detail}); check the network and TWILIO_API_URL`,
    { cause: err },
  );
}
