import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook tool requests are signed like Stripe's: `X-Operator-Signature: t=<unix seconds>,v1=<hex>`
 * where the hex is HMAC-SHA256(secret, "<t>.<raw body>"). Binding the timestamp into the MAC lets
 * receivers reject replays older than their tolerance.
 */
export const SIGNATURE_HEADER = 'X-Operator-Signature';
export const TIMESTAMP_HEADER = 'X-Operator-Timestamp';

export function operatorSignature(secret: string, timestampSeconds: number, rawBody: string | Uint8Array): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestampSeconds}.`);
  mac.update(rawBody);
  return mac.digest('hex');
}

export function signatureHeader(secret: string, timestampSeconds: number, rawBody: string): string {
  return `t=${timestampSeconds},v1=${operatorSignature(secret, timestampSeconds, rawBody)}`;
}

/**
 * Checks an `X-Operator-Signature` header against the raw request body, for receivers of webhook
 * tools. True when one `v1` entry matches and `t` is within `toleranceMs` of `nowMs`.
 */
export function verifyOperatorSignature(
  secret: string,
  header: string | undefined,
  rawBody: string | Uint8Array,
  nowMs: number,
  toleranceMs: number = 5 * 60_000,
): boolean {
  if (!header) return false;
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const entry of header.split(',')) {
    const [key, value] = entry.trim().split('=', 2);
    if (key === 't' && value && /^\d+$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && value) candidates.push(value);
  }
  if (timestamp === undefined || Math.abs(nowMs - timestamp * 1000) > toleranceMs) return false;
  const expected = Buffer.from(operatorSignature(secret, timestamp, rawBody), 'hex');
  return candidates.some((hex) => {
    const given = Buffer.from(hex, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
