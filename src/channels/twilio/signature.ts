import { getExpectedTwilioSignature, validateRequest } from 'twilio/lib/webhooks/webhooks.js';

/**
 * `X-Twilio-Signature` (protocols.md §3.3): base64(HMAC-SHA1(AuthToken, url + each POST param, sorted
 * by name, as `name + value`)). The URL is the one Twilio requested — scheme, host, path and query —
 * which behind a proxy or tunnel is `OPERATOR_PUBLIC_URL`, not the address we listen on. The maths
 * is the official package's; this file only fixes how we call it. (The webhooks module is imported
 * alone: loading the package root pulls in the whole REST SDK.)
 */
export const TWILIO_SIGNATURE_HEADER = 'x-twilio-signature';

/** A form body as Fastify or `URLSearchParams` hands it over; a repeated key becomes an array. */
export type TwilioParams = Record<string, string | string[] | undefined>;

function defined(params: TwilioParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * The URL Twilio signed for a request we received: the public base URL plus the request's path and
 * query exactly as received (`request.url` in Fastify), so `?a=1` stays byte-for-byte what Twilio
 * hashed. A base with a path prefix (`https://example.com/operator`) keeps it.
 */
export function twilioRequestUrl(publicBaseUrl: string, pathAndQuery: string): string {
  const base = publicBaseUrl.replace(/\/+$/, '');
  return base + (pathAndQuery.startsWith('/') ? pathAndQuery : `/${pathAndQuery}`);
}

/**
 * True when `header` is Twilio's signature of `url` and `params` under `authToken`. Constant-time;
 * tolerant of the port variants Twilio itself produces (`:443` present or not). A missing header,
 * an empty token or an unparsable URL is simply invalid — never an exception.
 */
export function validTwilioSignature(
  authToken: string,
  url: string,
  params: TwilioParams,
  header: string | string[] | undefined,
): boolean {
  if (!authToken || typeof header !== 'string' || header === '') return false;
  try {
    return validateRequest(authToken, header, url, defined(params));
  } catch {
    return false;
  }
}

/** The `X-Twilio-Signature` value Twilio would send for this request (for simulators and tests). */
export function signTwilioRequest(authToken: string, url: string, params: TwilioParams): string {
  return getExpectedTwilioSignature(authToken, url, defined(params));
}
