import { z } from 'zod';
import { OperatorError } from '../../core/errors.ts';
import type { TwilioParams } from './signature.ts';

/**
 * The SMS/MMS wire format of Twilio (protocols.md §3), pure: form bodies in, our values out. No I/O;
 * sending is `TwilioRestClient`'s job and deciding what to send is the adapter's.
 */
export { splitSms, smsEncoding, smsSegments, type SmsEncoding, type SmsPart, type SplitSmsOptions } from './sms-text.ts';
export { toGsmFriendly, toPlainSms, type PlainSmsOptions } from './sms-plain.ts';

/**
 * Twilio truncates inbound messages at 1,600 characters and rejects longer outbound bodies with
 * error 21617 (help article 360033806753, "Maximum Message Length"), so a longer Body is not Twilio's.
 */
export const MAX_SMS_BODY_CHARS = 1600;
/** "Up to 10 media, 5 MB total" per message (Twilio Media resource). */
export const MAX_SMS_MEDIA = 10;
/** Twilio sends ~20 parameters and "may add new ones without notice"; a few hundred is not Twilio. */
const MAX_PARAMS = 200;
const MAX_PARAM_CHARS = 8192;

export interface SmsMedia {
  /** Twilio serves it behind HTTP Basic auth (AccountSid:AuthToken). */
  url: string;
  contentType: string;
}

export interface InboundSms {
  /** `SM…`/`MM…`: the idempotency key of the inbound message (a redelivery carries the same one). */
  messageSid: string;
  accountSid: string;
  from: string;
  to: string;
  body: string;
  media: SmsMedia[];
  messagingServiceSid?: string;
  numSegments?: number;
}

export const SMS_STATUSES = [
  'queued',
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'receiving',
  'received',
  'accepted',
  'scheduled',
  'read',
  'partially_delivered',
  'canceled',
] as const;
export type SmsStatus = (typeof SMS_STATUSES)[number];

export interface SmsStatusUpdate {
  messageSid: string;
  status: SmsStatus;
  accountSid?: string;
  /** Twilio error code (e.g. 30003 unreachable handset, 30007 carrier filtering) on failed/undelivered. */
  errorCode?: number;
  from?: string;
  to?: string;
}

const MESSAGE_SID = /^(SM|MM)[0-9a-f]{32}$/;
const ACCOUNT_SID = /^AC[0-9a-f]{32}$/;
const SERVICE_SID = /^MG[0-9a-f]{32}$/;
const CONTENT_TYPE = /^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/;
// Phone numbers in E.164, short codes, alphanumeric sender ids, `whatsapp:+…`: any printable text.
const address = (name: string) =>
  z
    .string({ error: `${name} is required` })
    .min(1, `${name} is required`)
    .max(128, `${name} is longer than 128 characters`)
    .regex(/^[^\p{Cc}]+$/u, `${name} contains control characters`);

const inboundSchema = z.object({
  MessageSid: z.string({ error: 'MessageSid is required' }).regex(MESSAGE_SID, 'MessageSid must be SM or MM followed by 32 hex digits'),
  AccountSid: z.string({ error: 'AccountSid is required' }).regex(ACCOUNT_SID, 'AccountSid must be AC followed by 32 hex digits'),
  From: address('From'),
  To: address('To'),
  Body: z
    .string({ error: 'Body must be a single value' })
    .refine((b) => [...b].length <= MAX_SMS_BODY_CHARS, `Body is longer than ${MAX_SMS_BODY_CHARS} characters`)
    .default(''),
  NumMedia: z
    .string({ error: 'NumMedia must be a single value' })
    .regex(/^\d{1,2}$/, 'NumMedia must be a whole number')
    .transform(Number)
    .refine((n) => n <= MAX_SMS_MEDIA, `NumMedia must be at most ${MAX_SMS_MEDIA}`)
    .default(0),
  NumSegments: z.string().regex(/^\d{1,3}$/).transform(Number).optional().catch(undefined),
  MessagingServiceSid: z.string().regex(SERVICE_SID).optional().catch(undefined),
});

const mediaSchema = (i: number) =>
  z.object({
    url: z
      .string({ error: `MediaUrl${i} is required (NumMedia says so)` })
      .max(2048, `MediaUrl${i} is longer than 2048 characters`)
      .regex(/^https?:\/\/[^\s]+$/, `MediaUrl${i} must be an http(s) URL`),
    contentType: z
      .string({ error: `MediaContentType${i} is required (NumMedia says so)` })
      .max(255, `MediaContentType${i} is longer than 255 characters`)
      .regex(CONTENT_TYPE, `MediaContentType${i} must be a MIME type like image/jpeg`),
  });

const statusSchema = z.object({
  MessageSid: z.string({ error: 'MessageSid is required' }).regex(MESSAGE_SID, 'MessageSid must be SM or MM followed by 32 hex digits'),
  MessageStatus: z.enum(SMS_STATUSES, { error: `MessageStatus must be one of ${SMS_STATUSES.join(', ')}` }),
  AccountSid: z.string().regex(ACCOUNT_SID).optional().catch(undefined),
  ErrorCode: z
    .string()
    .regex(/^\d{1,6}$/)
    .transform(Number)
    .optional()
    .catch(undefined),
  From: address('From').optional().catch(undefined),
  To: address('To').optional().catch(undefined),
});

function invalid(message: string): OperatorError {
  return new OperatorError('invalid_request', 'invalid_sms_webhook', message);
}

/** Count and size limits on the raw form, before any field is looked at (DESIGN.md rule 8). */
function checkFormSize(form: TwilioParams): void {
  const keys = Object.keys(form);
  if (keys.length > MAX_PARAMS) throw invalid(`the webhook has ${keys.length} parameters; at most ${MAX_PARAMS} are accepted`);
  for (const k of keys) {
    const v = form[k];
    const size = Array.isArray(v) ? v.reduce((n, s) => n + s.length, 0) : (v ?? '').length;
    if (size > MAX_PARAM_CHARS) throw invalid(`parameter ${k.slice(0, 64)} is longer than ${MAX_PARAM_CHARS} characters`);
  }
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? issue.message : 'the form body is not a Twilio message webhook';
}

/** An inbound SMS/MMS webhook (`POST /twilio/sms`), or `invalid_sms_webhook` saying what is wrong. */
export function parseInboundSms(form: TwilioParams): InboundSms {
  checkFormSize(form);
  const head = inboundSchema.safeParse(form);
  if (!head.success) throw invalid(firstIssue(head.error));
  const p = head.data;
  const media: SmsMedia[] = [];
  for (let i = 0; i < p.NumMedia; i++) {
    const m = mediaSchema(i).safeParse({ url: form[`MediaUrl${i}`], contentType: form[`MediaContentType${i}`] });
    if (!m.success) throw invalid(firstIssue(m.error));
    media.push(m.data);
  }
  return {
    messageSid: p.MessageSid,
    accountSid: p.AccountSid,
    from: p.From,
    to: p.To,
    body: p.Body,
    media,
    ...(p.MessagingServiceSid ? { messagingServiceSid: p.MessagingServiceSid } : {}),
    ...(p.NumSegments !== undefined ? { numSegments: p.NumSegments } : {}),
  };
}

/** A message status callback (`POST /twilio/sms/status`). `SmsStatus` stands in for an absent `MessageStatus`. */
export function parseSmsStatus(form: TwilioParams): SmsStatusUpdate {
  checkFormSize(form);
  const parsed = statusSchema.safeParse({ ...form, MessageStatus: form.MessageStatus ?? form.SmsStatus });
  if (!parsed.success) throw invalid(firstIssue(parsed.error));
  const p = parsed.data;
  return {
    messageSid: p.MessageSid,
    status: p.MessageStatus,
    ...(p.AccountSid ? { accountSid: p.AccountSid } : {}),
    ...(p.ErrorCode !== undefined ? { errorCode: p.ErrorCode } : {}),
    ...(p.From ? { from: p.From } : {}),
    ...(p.To ? { to: p.To } : {}),
  };
}

/**
 * Progress of an outbound message. Callbacks can arrive out of order (a `sent` after `delivered`):
 * apply an update only when its rank is higher. The final states share the top rank but `read`.
 */
const STATUS_RANK: Record<SmsStatus, number> = {
  scheduled: 0,
  accepted: 1,
  queued: 2,
  sending: 3,
  sent: 4,
  receiving: 4,
  received: 5,
  partially_delivered: 5,
  delivered: 6,
  undelivered: 6,
  failed: 6,
  canceled: 6,
  read: 7,
};

/** Whether a callback reporting `next` moves a message that is at `current` forward. */
export function smsStatusAdvances(current: SmsStatus | undefined, next: SmsStatus): boolean {
  return current === undefined || STATUS_RANK[next] > STATUS_RANK[current];
}

export type SmsKeyword = 'stop' | 'start' | 'help';

/**
 * Twilio's default keywords on long codes and toll-free numbers (help article 223134027, "Twilio
 * support for opt-out keywords"). Twilio acts only on a message that is the keyword alone ("STOP
 * PLEASE" does nothing), any case. We also accept trailing `.`/`!` ("Stop.") — treating that as an
 * opt-out errs on the side the law cares about.
 */
const KEYWORDS: Record<string, SmsKeyword> = {
  STOP: 'stop',
  STOPALL: 'stop',
  UNSUBSCRIBE: 'stop',
  CANCEL: 'stop',
  END: 'stop',
  QUIT: 'stop',
  START: 'start',
  YES: 'start',
  UNSTOP: 'start',
  HELP: 'help',
  INFO: 'help',
};

export function keyword(body: string): SmsKeyword | undefined {
  const word = body.trim().replace(/[.!]+$/, '').toUpperCase();
  return Object.hasOwn(KEYWORDS, word) ? KEYWORDS[word] : undefined;
}

/** The webhook acknowledgement: an empty TwiML response (the reply goes out later through REST). */
export function twimlEmpty(): string {
  return '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';
}
