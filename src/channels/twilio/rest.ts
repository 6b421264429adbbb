import { httpError, transportError, TwilioApiError } from './rest-errors.ts';
import { encodeForm } from './form.ts';
import type { TwilioParams } from './signature.ts';

export { TwilioApiError } from './rest-errors.ts';

/**
 * A small client of Twilio's REST API (protocols.md §2.3, §2.4, §3.2) over `fetch`: form-encoded
 * bodies with repeated keys for arrays, HTTP Basic auth, JSON answers. The official SDK has no
 * base-URL option, and `TWILIO_API_URL` must point tests at the simulator.
 */
export interface TwilioRestOptions {
  accountSid: string;
  authToken: string;
  /** `TWILIO_API_URL`; default https://api.twilio.com. */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Per request, connection to last byte. Default 10 s (Twilio answers in well under a second). */
  timeoutMs?: number;
}

export interface SendMessageInput {
  from: string;
  to: string;
  body?: string;
  mediaUrl?: string[];
  statusCallback?: string;
  /**
   * Sent as `I-Twilio-Idempotency-Token`. Twilio documents that header on its webhooks; on the REST
   * API it is harmless and shows up in request logs. It does not make Twilio deduplicate: that is
   * the outbound record written before the send (DESIGN.md rule 4).
   */
  idempotencyKey?: string;
}

export interface SentMessage {
  sid: string;
  status: string;
  numSegments?: number;
}

/** Filters of `GET …/Messages.json` (protocols.md §3.2; Twilio's "Read multiple Message resources"). */
export interface ListMessagesFilter {
  to?: string;
  from?: string;
  /**
   * Only messages sent on or after this day (UTC): Twilio's `DateSent>=YYYY-MM-DD` filter, which
   * has day precision; narrow further on `dateCreated`.
   */
  dateSentAfter?: Date | number;
  /** Per page, 1 to 1000; default 50. */
  pageSize?: number;
  /** Stop after this many messages (newest first, as Twilio lists them); default 200. */
  limit?: number;
}

/** A message as the list answers it (the fields Operator reads). */
export interface MessageResource {
  sid: string;
  to: string;
  from: string;
  body: string;
  status: string;
  /** `outbound-api`, `outbound-reply`, `inbound`, … */
  direction: string;
  /** Epoch ms (Twilio's RFC 2822 dates have second precision). */
  dateCreated: number;
  dateSent?: number;
}

export type CallStatusEvent = 'initiated' | 'ringing' | 'answered' | 'completed';

export interface CreateCallInput {
  from: string;
  to: string;
  /** Exactly one of `url` (Twilio fetches TwiML there) and `twiml` (at most 4,000 characters). */
  url?: string;
  twiml?: string;
  statusCallback?: string;
  /** Default (Twilio's): only `completed`. */
  statusCallbackEvent?: CallStatusEvent[];
  /** Seconds to let it ring; Twilio's default 60, max 600. */
  timeoutSeconds?: number;
  machineDetection?: 'Enable' | 'DetectMessageEnd';
  idempotencyKey?: string;
}

/** Exactly one of: new TwiML (a `<Dial>` transfer), a TwiML URL, or `status` to end the call. */
export type UpdateCallInput = { twiml: string } | { url: string } | { status: 'completed' | 'canceled' };

export interface CallResource {
  sid: string;
  status: string;
}

const MAX_TWIML_CHARS = 4000;
const DEFAULT_BASE_URL = 'https://api.twilio.com';

function invalid(message: string): TwilioApiError {
  return new TwilioApiError('invalid_request', 'twilio_request_invalid', message);
}

export class TwilioRestClient {
  readonly baseUrl: string;
  private readonly accountSid: string;
  private readonly authorization: string;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;

  constructor(options: TwilioRestOptions) {
    if (!options.accountSid || !options.authToken) {
      throw new TwilioApiError('auth', 'twilio_credentials_missing', 'set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to use Twilio');
    }
    this.accountSid = options.accountSid;
    this.authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
    this.baseUrl = (options.baseUrl || DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** `POST …/Messages.json` → 201 `{sid, status: "queued", …}`. */
  async sendMessage(input: SendMessageInput, signal?: AbortSignal): Promise<SentMessage> {
    if (!input.body && !input.mediaUrl?.length) throw invalid('a message needs a body or a media URL (Twilio error 21619)');
    const json = await this.post(
      'send the message',
      'Messages.json',
      { To: input.to, From: input.from, Body: input.body, MediaUrl: input.mediaUrl, StatusCallback: input.statusCallback },
      input.idempotencyKey,
      signal,
    );
    const segments = Number(json.num_segments);
    return { sid: String(json.sid), status: String(json.status), ...(Number.isFinite(segments) && segments > 0 ? { numSegments: segments } : {}) };
  }

  /**
   * `GET …/Messages.json?To=…&From=…&DateSent>=YYYY-MM-DD&PageSize=…` → 200 `{messages, next_page_uri}`,
   * following `next_page_uri` until `limit` messages. Newest first, as Twilio lists them.
   */
  async listMessages(filter: ListMessagesFilter, signal?: AbortSignal): Promise<MessageResource[]> {
    const limit = filter.limit ?? 200;
    const pageSize = Math.min(Math.max(1, filter.pageSize ?? 50), 1000, limit);
    const after = filter.dateSentAfter === undefined ? undefined : new Date(filter.dateSentAfter).toISOString().slice(0, 10);
    const query = encodeForm({ To: filter.to, From: filter.from, 'DateSent>': after, PageSize: String(pageSize) });
    let url: string | undefined = `${this.accountUrl()}/Messages.json?${query}`;
    const out: MessageResource[] = [];
    while (url && out.length < limit) {
      const { status, text } = await this.request('list messages', 'GET', url, undefined, undefined, signal);
      const page = parseMessagePage(status, text, this.baseUrl);
      out.push(...page.messages.slice(0, limit - out.length));
      // Relative to the API's origin; only ever a page of this account's messages.
      url = page.next?.startsWith(`/2010-04-01/Accounts/${encodeURIComponent(this.accountSid)}/Messages.json?`) ? `${this.baseUrl}${page.next}` : undefined;
    }
    return out;
  }

  /** `POST …/Calls.json` → 201: an outbound call that runs `url`'s or `twiml`'s TwiML when answered. */
  async createCall(input: CreateCallInput, signal?: AbortSignal): Promise<CallResource> {
    if ((input.url === undefined) === (input.twiml === undefined)) throw invalid('give a call exactly one of url and twiml');
    if (input.twiml !== undefined && input.twiml.length > MAX_TWIML_CHARS) {
      throw invalid(`inline TwiML is limited to ${MAX_TWIML_CHARS} characters by Twilio; serve it from a url instead`);
    }
    const json = await this.post(
      'create the call',
      'Calls.json',
      {
        To: input.to,
        From: input.from,
        Url: input.url,
        Twiml: input.twiml,
        StatusCallback: input.statusCallback,
        StatusCallbackEvent: input.statusCallbackEvent,
        Timeout: input.timeoutSeconds === undefined ? undefined : String(input.timeoutSeconds),
        MachineDetection: input.machineDetection,
      },
      input.idempotencyKey,
      signal,
    );
    return { sid: String(json.sid), status: String(json.status) };
  }

  /** `POST …/Calls/{Sid}.json` → 200: redirect a live call (transfer) or hang it up (`status: 'completed'`). */
  async updateCall(callSid: string, input: UpdateCallInput, signal?: AbortSignal): Promise<CallResource> {
    if (!/^CA[0-9a-f]{32}$/.test(callSid)) throw invalid(`"${callSid.slice(0, 40)}" is not a Twilio call sid (CA + 32 hex digits)`);
    const given = (['twiml', 'url', 'status'] as const).filter((k) => k in input);
    if (given.length !== 1) throw invalid('update a call with exactly one of twiml, url and status');
    if ('twiml' in input && input.twiml.length > MAX_TWIML_CHARS) throw invalid(`inline TwiML is limited to ${MAX_TWIML_CHARS} characters by Twilio`);
    const params: TwilioParams =
      'twiml' in input ? { Twiml: input.twiml } : 'url' in input ? { Url: input.url } : { Status: input.status };
    const json = await this.post('update the call', `Calls/${callSid}.json`, params, undefined, signal);
    return { sid: String(json.sid), status: String(json.status) };
  }

  private accountUrl(): string {
    return `${this.baseUrl}/2010-04-01/Accounts/${encodeURIComponent(this.accountSid)}`;
  }

  private async post(
    what: string,
    resource: string,
    params: TwilioParams,
    idempotencyKey: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Record<string, unknown>> {
    const { status, text } = await this.request(what, 'POST', `${this.accountUrl()}/${resource}`, encodeForm(params), idempotencyKey, signal);
    return this.resource(what, status, text);
  }

  /** One request; a transport failure or a non-2xx answer is thrown classified. */
  private async request(
    what: string,
    method: 'GET' | 'POST',
    url: string,
    body: string | undefined,
    idempotencyKey: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; text: string }> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let status: number;
    let text: string;
    try {
      const res = await this.fetchFn(url, {
        method,
        headers: {
          authorization: this.authorization,
          ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
          accept: 'application/json',
          ...(idempotencyKey ? { 'i-twilio-idempotency-token': idempotencyKey } : {}),
        },
        ...(body === undefined ? {} : { body }),
        signal: combined,
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      throw transportError(what, this.baseUrl, err, signal?.aborted === true);
    }
    if (status < 200 || status > 299) throw httpError(what, status, text);
    return { status, text };
  }

  private resource(what: string, status: number, text: string): Record<string, unknown> {
    try {
      const json = JSON.parse(text) as unknown;
      if (json && typeof json === 'object' && typeof (json as { sid?: unknown }).sid === 'string') return json as Record<string, unknown>;
    } catch {
      // fall through
    }
    // Not retried: the request may have succeeded, and an answer that is not Twilio's will not become one.
    throw new TwilioApiError(
      'server',
      'twilio_bad_response',
      `Twilio answered the request to ${what} with HTTP ${status} but no resource sid; is TWILIO_API_URL (${this.baseUrl}) Twilio's API?`,
      { httpStatus: status, retryable: false },
    );
  }
}

function parseMessagePage(status: number, text: string, baseUrl: string): { messages: MessageResource[]; next: string | undefined } {
  let json: { messages?: unknown; next_page_uri?: unknown } | undefined;
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    json = undefined;
  }
  if (!json || !Array.isArray(json.messages)) {
    throw new TwilioApiError(
      'server', 'twilio_bad_response',
      `Twilio answered the request to list messages with HTTP ${status} but no message list; is TWILIO_API_URL (${baseUrl}) Twilio's API?`,
      { httpStatus: status, retryable: false },
    );
  }
  const date = (v: unknown): number | undefined => (typeof v === 'string' && Number.isFinite(Date.parse(v)) ? Date.parse(v) : undefined);
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const messages = (json.messages as Record<string, unknown>[]).map((m): MessageResource => {
    const sent = date(m.date_sent);
    return {
      sid: str(m.sid), to: str(m.to), from: str(m.from), body: str(m.body), status: str(m.status),
      direction: str(m.direction), dateCreated: date(m.date_created) ?? 0, ...(sent === undefined ? {} : { dateSent: sent }),
    };
  });
  return { messages, next: typeof json.next_page_uri === 'string' ? json.next_page_uri : undefined };
}
