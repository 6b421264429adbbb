import { randomBytes } from 'node:crypto';
import { smsSegments } from '../channels/twilio/sms-text.ts';

/**
 * The JSON Twilio's REST API answers with (protocols.md §2.3, §3.2; twilio-oai): snake_case
 * resources, RFC 2822 dates, error bodies `{code, message, more_info, status}`.
 */
export const API_VERSION = '2010-04-01';

export function twilioSid(prefix: 'SM' | 'MM' | 'CA' | 'AC' | 'MG'): string {
  return prefix + randomBytes(16).toString('hex');
}

/** Twilio's date format: "Thu, 30 Jul 2015 20:12:31 +0000". */
export function twilioDate(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000');
}

export interface TwilioErrorJson {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

export function errorJson(status: number, code: number, message: string): TwilioErrorJson {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

/** Status codes and bodies for injected failures. */
export function injectedError(status: number): TwilioErrorJson {
  if (status === 401) return errorJson(401, 20003, 'Authenticate');
  if (status === 404) return errorJson(404, 20404, 'The requested resource was not found');
  if (status === 429) return errorJson(429, 20429, 'Too Many Requests');
  if (status >= 500) return errorJson(status, 20500, 'Internal Server Error');
  return errorJson(status, 21211, "Invalid 'To' Phone Number");
}

/** A message the code under test asked the simulator to send (`POST …/Messages.json`). */
export interface SimulatedMessage {
  sid: string;
  accountSid: string;
  from: string;
  to: string;
  body: string;
  mediaUrls: string[];
  statusCallback?: string;
  /** The `I-Twilio-Idempotency-Token` header, if sent. */
  idempotencyToken?: string;
  status: string;
  numSegments: number;
  createdAt: number;
  /** The form exactly as received. */
  params: Record<string, string | string[]>;
}

export interface SimulatedCall {
  sid: string;
  accountSid: string;
  from: string;
  to: string;
  url?: string;
  twiml?: string;
  statusCallback?: string;
  statusCallbackEvent: string[];
  status: string;
  /** `inbound` for calls the simulator placed to the server; default `outbound-api`. */
  direction?: 'inbound' | 'outbound-api';
  createdAt: number;
  params: Record<string, string | string[]>;
}

export interface SimulatedCallUpdate {
  sid: string;
  twiml?: string;
  url?: string;
  status?: string;
  params: Record<string, string | string[]>;
}

export function messageJson(m: SimulatedMessage, updatedAt: number): Record<string, unknown> {
  const base = `/${API_VERSION}/Accounts/${m.accountSid}/Messages/${m.sid}`;
  return {
    account_sid: m.accountSid,
    api_version: API_VERSION,
    body: m.body,
    date_created: twilioDate(m.createdAt),
    date_sent: null,
    date_updated: twilioDate(updatedAt),
    direction: 'outbound-api',
    error_code: null,
    error_message: null,
    from: m.from,
    messaging_service_sid: null,
    num_media: String(m.mediaUrls.length),
    num_segments: String(m.numSegments),
    price: null,
    price_unit: 'USD',
    sid: m.sid,
    status: m.status,
    subresource_uris: { media: `${base}/Media.json` },
    to: m.to,
    uri: `${base}.json`,
  };
}

export function callJson(c: SimulatedCall, updatedAt: number): Record<string, unknown> {
  return {
    account_sid: c.accountSid,
    answered_by: null,
    api_version: API_VERSION,
    caller_name: null,
    date_created: twilioDate(c.createdAt),
    date_updated: twilioDate(updatedAt),
    direction: c.direction ?? 'outbound-api',
    duration: null,
    end_time: null,
    forwarded_from: null,
    from: c.from,
    from_formatted: c.from,
    group_sid: null,
    parent_call_sid: null,
    phone_number_sid: null,
    price: null,
    price_unit: 'USD',
    sid: c.sid,
    start_time: null,
    status: c.status,
    subresource_uris: {},
    to: c.to,
    to_formatted: c.to,
    trunk_sid: null,
    uri: `/${API_VERSION}/Accounts/${c.accountSid}/Calls/${c.sid}.json`,
  };
}

export function segmentsOf(body: string): number {
  return Math.max(1, smsSegments(body));
}

/**
 * `GET …/Messages.json`: Twilio's list of messages, newest first, filtered by `To`, `From` and the
 * day they were sent (`DateSent`, `DateSent<`, `DateSent>`: YYYY-MM-DD, inclusive, or an ISO
 * instant), in pages of `PageSize` (default 50, at most 1000) numbered by `Page` from 0, with
 * Twilio's paging fields. The simulator dates a message's sending at its creation.
 */
export function messageListJson(
  all: readonly SimulatedMessage[], params: Record<string, string | string[]>, accountSid: string, now: number,
): { status: number; json: unknown } {
  const one = (k: string): string | undefined => (Array.isArray(params[k]) ? params[k][0] : params[k]);
  const bounds = (k: string): [number, number] | undefined | 'invalid' => {
    const v = one(k);
    if (v === undefined) return undefined;
    const ms = Date.parse(v);
    if (!Number.isFinite(ms)) return 'invalid';
    return /^\d{4}-\d{2}-\d{2}$/.test(v) ? [ms, ms + 86_400_000 - 1] : [ms, ms];
  };
  const on = bounds('DateSent');
  const before = bounds('DateSent<');
  const after = bounds('DateSent>');
  if (on === 'invalid' || before === 'invalid' || after === 'invalid') return { status: 400, json: errorJson(400, 20001, 'Invalid DateSent filter') };
  const pageSize = Math.min(Math.max(Number(one('PageSize') ?? 50) || 50, 1), 1000);
  const page = Math.max(Number(one('Page') ?? 0) || 0, 0);
  const matching = all
    .filter((m) => (one('To') === undefined || m.to === one('To')) && (one('From') === undefined || m.from === one('From')))
    .filter((m) => (!on || (m.createdAt >= on[0] && m.createdAt <= on[1])) && (!before || m.createdAt <= before[1]) && (!after || m.createdAt >= after[0]))
    .sort((a, b) => b.createdAt - a.createdAt);
  const slice = matching.slice(page * pageSize, (page + 1) * pageSize);
  const filters = new URLSearchParams();
  for (const k of ['To', 'From', 'DateSent', 'DateSent<', 'DateSent>']) if (one(k) !== undefined) filters.set(k, one(k)!);
  filters.set('PageSize', String(pageSize));
  const uri = (p: number) => `/${API_VERSION}/Accounts/${accountSid}/Messages.json?${filters.toString()}&Page=${p}`;
  return {
    status: 200,
    json: {
      messages: slice.map((m) => messageJson(m, now)),
      start: page * pageSize,
      end: page * pageSize + Math.max(slice.length - 1, 0),
      page,
      page_size: pageSize,
      uri: uri(page),
      first_page_uri: uri(0),
      previous_page_uri: page > 0 ? uri(page - 1) : null,
      next_page_uri: matching.length > (page + 1) * pageSize ? `${uri(page + 1)}&PageToken=PA${page + 1}` : null,
    },
  };
}
