import type { TwilioParams } from './signature.ts';

/**
 * `application/x-www-form-urlencoded`, as Twilio sends and accepts it. A repeated key (`MediaUrl`,
 * `StatusCallbackEvent`) is an array; twilio-node sends arrays as repeated keys (protocols.md §2.3).
 */
export function parseForm(body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else out[k] = Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

export function encodeForm(params: TwilioParams): string {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) form.append(k, one);
  }
  return form.toString();
}
