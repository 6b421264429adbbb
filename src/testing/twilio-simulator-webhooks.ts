import { encodeForm } from '../channels/twilio/form.ts';
import { signTwilioRequest, twilioRequestUrl } from '../channels/twilio/signature.ts';
import type { SmsMedia } from '../channels/twilio/sms-codec.ts';
import { smsSegments } from '../channels/twilio/sms-text.ts';
import { API_VERSION, twilioSid } from './twilio-simulator-resources.ts';

/**
 * Webhooks as Twilio sends them (protocols.md §3.1, §3.3): a form POST signed with
 * `X-Twilio-Signature` over the URL Twilio was configured with, which is the server's *public* URL;
 * the request itself may go to another address (the server's local port behind a tunnel).
 */
export interface WebhookAnswer {
  status: number;
  body: string;
  contentType: string | undefined;
}

export interface SignedPost {
  /** Where the request actually goes. */
  url: string;
  /** The URL Twilio signs; default `url`. */
  signedUrl?: string;
  authToken: string;
  params: Record<string, string | string[]>;
  /** Replaces the computed signature (to test rejection); `null` sends no header at all. */
  signature?: string | null;
  signal?: AbortSignal;
}

export async function postSignedForm(req: SignedPost): Promise<WebhookAnswer> {
  const signature = req.signature === undefined ? signTwilioRequest(req.authToken, req.signedUrl ?? req.url, req.params) : req.signature;
  const res = await fetch(req.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'TwilioProxy/1.1',
      ...(signature === null ? {} : { 'x-twilio-signature': signature }),
    },
    body: encodeForm(req.params),
    ...(req.signal ? { signal: req.signal } : {}),
  });
  return { status: res.status, body: await res.text(), contentType: res.headers.get('content-type') ?? undefined };
}

export interface InboundSmsInput {
  /** The Operator server as reachable from here, e.g. http://127.0.0.1:8080. */
  serverUrl: string;
  /** `OPERATOR_PUBLIC_URL` of that server: what the signature covers. Default `serverUrl`. */
  publicUrl?: string;
  authToken: string;
  accountSid?: string;
  from: string;
  to: string;
  body: string;
  media?: SmsMedia[];
  /** Reuse one to simulate Twilio redelivering the same message. Default: a fresh SM…/MM… sid. */
  messageSid?: string;
  /** Default `/twilio/sms`. */
  path?: string;
  /** More parameters; Twilio adds new ones without notice and signs them all. */
  extraParams?: Record<string, string>;
  signature?: string | null;
  signal?: AbortSignal;
}

export interface InboundSmsResult extends WebhookAnswer {
  messageSid: string;
  params: Record<string, string>;
}

function country(number: string): string {
  return number.startsWith('+1') ? 'US' : '';
}

/** The form of an inbound SMS/MMS webhook, with the keys of a captured real one (protocols.md §3.1). */
export function inboundSmsParams(input: Omit<InboundSmsInput, 'serverUrl' | 'authToken'>): Record<string, string> {
  const media = input.media ?? [];
  const sid = input.messageSid ?? twilioSid(media.length ? 'MM' : 'SM');
  const params: Record<string, string> = {
    ToCountry: country(input.to),
    ToState: '',
    SmsMessageSid: sid,
    NumMedia: String(media.length),
    ToCity: '',
    FromZip: '',
    SmsSid: sid,
    FromState: '',
    SmsStatus: 'received',
    FromCity: '',
    Body: input.body,
    FromCountry: country(input.from),
    To: input.to,
    ToZip: '',
    NumSegments: String(Math.max(1, smsSegments(input.body))),
    MessageSid: sid,
    AccountSid: input.accountSid ?? `AC${'0'.repeat(32)}`,
    From: input.from,
    ApiVersion: API_VERSION,
  };
  media.forEach((m, i) => {
    params[`MediaContentType${i}`] = m.contentType;
    params[`MediaUrl${i}`] = m.url;
  });
  return { ...params, ...input.extraParams };
}

/** Delivers a correctly signed inbound SMS webhook to `serverUrl + path`, as Twilio would. */
export async function sendInboundSms(input: InboundSmsInput): Promise<InboundSmsResult> {
  const path = input.path ?? '/twilio/sms';
  const params = inboundSmsParams(input);
  const answer = await postSignedForm({
    url: twilioRequestUrl(input.serverUrl, path),
    signedUrl: twilioRequestUrl(input.publicUrl ?? input.serverUrl, path),
    authToken: input.authToken,
    params,
    ...(input.signature !== undefined ? { signature: input.signature } : {}),
    ...(input.signal ? { signal: input.signal } : {}),
  });
  return { ...answer, messageSid: params.MessageSid!, params };
}

/** The form of a message status callback (SmsStatusCallbackRequest, protocols.md §3.1). */
export function messageStatusParams(
  m: { sid: string; accountSid: string; from: string; to: string },
  status: string,
  errorCode?: number,
): Record<string, string> {
  return {
    SmsSid: m.sid,
    SmsStatus: status,
    MessageStatus: status,
    To: m.to,
    MessageSid: m.sid,
    AccountSid: m.accountSid,
    From: m.from,
    ApiVersion: API_VERSION,
    ...(errorCode !== undefined ? { ErrorCode: String(errorCode) } : {}),
  };
}

/** The form of a call status callback (protocols.md §2.2). */
export function callStatusParams(
  c: { sid: string; accountSid: string; from: string; to: string },
  status: string,
  sequenceNumber: number,
  nowMs: number,
  durationSeconds?: number,
): Record<string, string> {
  return {
    Called: c.to,
    CallSid: c.sid,
    CallStatus: status,
    AccountSid: c.accountSid,
    Caller: c.from,
    From: c.from,
    To: c.to,
    Direction: 'outbound-api',
    ApiVersion: API_VERSION,
    CallbackSource: 'call-progress-events',
    SequenceNumber: String(sequenceNumber),
    Timestamp: new Date(nowMs).toUTCString().replace('GMT', '+0000'),
    ...(durationSeconds !== undefined ? { CallDuration: String(durationSeconds), Duration: String(Math.ceil(durationSeconds / 60)) } : {}),
  };
}
