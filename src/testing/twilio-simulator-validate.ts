import { errorJson, type TwilioErrorJson } from './twilio-simulator-resources.ts';

/**
 * What Twilio's REST API refuses, with its error codes (twilio-oai CreateMessage/CreateCall;
 * https://www.twilio.com/docs/errors): 21200 "Calls Resource" for a call without instructions,
 * 21205 an invalid Url, 32018 inline TwiML over 4,000 characters. Twilio checks more than this (geo
 * permissions, number ownership), which a simulator cannot know.
 */
type Form = Record<string, string | string[]>;

const E164 = /^\+[1-9]\d{1,14}$/;
const ADDRESS = /^(\+[1-9]\d{1,14}|(whatsapp|messenger|rcs):\S+|client:\S+|sip:\S+|\d{3,8})$/;
const HTTP_URL = /^https?:\/\/\S+$/;

function one(form: Form, key: string): string | undefined {
  const v = form[key];
  return Array.isArray(v) ? v[0] : v;
}

function many(form: Form, key: string): string[] {
  const v = form[key];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export interface MessageRequest {
  to: string;
  from: string;
  body: string;
  mediaUrls: string[];
  statusCallback?: string;
}

export function validateMessage(form: Form, optedOut: ReadonlySet<string>): MessageRequest | TwilioErrorJson {
  const to = one(form, 'To');
  const from = one(form, 'From') ?? one(form, 'MessagingServiceSid');
  const body = one(form, 'Body') ?? '';
  const mediaUrls = many(form, 'MediaUrl');
  const statusCallback = one(form, 'StatusCallback');
  if (!to) return errorJson(400, 21604, "A 'To' phone number is required.");
  if (!from) return errorJson(400, 21603, "A 'From' phone number is required.");
  if (!body && mediaUrls.length === 0) return errorJson(400, 21619, 'A text message body or media urls must be specified.');
  if (!ADDRESS.test(to)) return errorJson(400, 21211, `Invalid 'To' Phone Number: ${to.slice(0, 40)}`);
  if ([...body].length > 1600) return errorJson(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
  if (mediaUrls.length > 10) return errorJson(400, 21623, 'Number of media files exceeds allowed limit.');
  if (mediaUrls.some((u) => !HTTP_URL.test(u))) return errorJson(400, 21620, 'Invalid media URL(s).');
  if (statusCallback !== undefined && !HTTP_URL.test(statusCallback)) return errorJson(400, 21609, 'Invalid StatusCallback url.');
  if (optedOut.has(to)) return errorJson(400, 21610, 'Attempt to send to unsubscribed recipient');
  return { to, from, body, mediaUrls, ...(statusCallback ? { statusCallback } : {}) };
}

export interface CallRequest {
  to: string;
  from: string;
  url?: string;
  twiml?: string;
  statusCallback?: string;
  statusCallbackEvent: string[];
}

export function validateCall(form: Form): CallRequest | TwilioErrorJson {
  const to = one(form, 'To');
  const from = one(form, 'From');
  const url = one(form, 'Url');
  const twiml = one(form, 'Twiml');
  const statusCallback = one(form, 'StatusCallback');
  if (!to) return errorJson(400, 21201, "No 'To' number is specified");
  if (!from) return errorJson(400, 21213, "No 'From' number is specified");
  if (!ADDRESS.test(to)) return errorJson(400, 21211, `Invalid 'To' Phone Number: ${to.slice(0, 40)}`);
  if (E164.test(to) && !E164.test(from) && !from.startsWith('client:')) return errorJson(400, 21212, `Invalid 'From' Phone Number: ${from.slice(0, 40)}`);
  if (!url && !twiml && !one(form, 'ApplicationSid')) return errorJson(400, 21200, 'A call needs Url, Twiml or ApplicationSid.');
  if (url && !HTTP_URL.test(url)) return errorJson(400, 21205, `Invalid Url: ${url.slice(0, 80)}`);
  if (twiml && twiml.length > 4000) return errorJson(400, 32018, 'Twiml size exceeded maximum allowed value of 4000 characters');
  if (statusCallback !== undefined && !HTTP_URL.test(statusCallback)) return errorJson(400, 21609, 'Invalid StatusCallback url.');
  return {
    to,
    from,
    // "If both twiml and url are provided then twiml parameter will be ignored." (CreateCall)
    ...(url ? { url } : twiml ? { twiml } : {}),
    ...(statusCallback ? { statusCallback } : {}),
    statusCallbackEvent: many(form, 'StatusCallbackEvent'),
  };
}

export interface CallUpdateRequest {
  twiml?: string;
  url?: string;
  status?: 'completed' | 'canceled';
}

const ENDED = new Set(['completed', 'canceled', 'failed', 'busy', 'no-answer']);

export function validateCallUpdate(form: Form, currentStatus: string): CallUpdateRequest | TwilioErrorJson {
  const twiml = one(form, 'Twiml');
  const url = one(form, 'Url');
  const status = one(form, 'Status');
  if (twiml && url) return errorJson(400, 21220, 'Twiml and Url parameters are mutually exclusive.');
  if (status !== undefined && status !== 'completed' && status !== 'canceled') {
    return errorJson(400, 21200, `Invalid Status: ${status.slice(0, 20)}; expected completed or canceled`);
  }
  if (ENDED.has(currentStatus) && (twiml || url)) return errorJson(400, 21220, 'Call is not in-progress. Cannot redirect.');
  if (url && !HTTP_URL.test(url)) return errorJson(400, 21205, `Invalid Url: ${url.slice(0, 80)}`);
  return { ...(twiml ? { twiml } : {}), ...(url ? { url } : {}), ...(status ? { status } : {}) };
}

export function isTwilioError(v: object): v is TwilioErrorJson {
  return 'code' in v && 'more_info' in v;
}
