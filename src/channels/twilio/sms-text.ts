import { OperatorError } from '../../core/errors.ts';

/**
 * SMS length arithmetic (3GPP TS 23.038 alphabets; Twilio's "Maximum Message Length" article):
 * a text made only of GSM-7 characters travels as 160 septets per single SMS or 153 per segment of
 * a concatenated one; any other character switches the whole message to UCS-2, 70 UTF-16 units
 * single or 67 per segment. Segments are what the customer's carrier bills and reassembles.
 */
export type SmsEncoding = 'GSM-7' | 'UCS-2';

const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
/** The extension table: each costs an escape septet plus itself. */
const GSM_EXTENDED = new Set('^{}\\[~]|€\f');

export function smsEncoding(text: string): SmsEncoding {
  for (const ch of text) if (!GSM_BASIC.has(ch) && !GSM_EXTENDED.has(ch)) return 'UCS-2';
  return 'GSM-7';
}

/** How many SMS segments `text` takes. An escape pair or a surrogate pair never straddles two segments. */
export function smsSegments(text: string): number {
  if (text === '') return 0;
  const gsm = smsEncoding(text) === 'GSM-7';
  const units = [...text].map((ch) => (gsm ? (GSM_EXTENDED.has(ch) ? 2 : 1) : ch.length));
  const total = units.reduce((a, b) => a + b, 0);
  const single = gsm ? 160 : 70;
  if (total <= single) return 1;
  const perSegment = gsm ? 153 : 67;
  let segments = 1;
  let used = 0;
  for (const u of units) {
    if (used + u > perSegment) {
      segments++;
      used = 0;
    }
    used += u;
  }
  return segments;
}

export interface SplitSmsOptions {
  /**
   * Longest part, in UTF-16 units (how Twilio counts its 1,600-character Body limit; an emoji counts
   * 2). Default 320: Twilio recommends SMS of at most 320 characters "to ensure the best
   * deliverability and user experience" (help article 360033806753). At most 1,600.
   */
  maxChars?: number;
  /**
   * Append " (1/3)" to each part when there are several. Separate messages are not guaranteed to
   * arrive in order (only the segments of one message are reassembled); numbering lets the reader
   * restore it. Off by default.
   */
  numbered?: boolean;
}

export interface SmsPart {
  text: string;
  encoding: SmsEncoding;
  segments: number;
}

export const DEFAULT_SMS_PART_CHARS = 320;
const TWILIO_MAX_BODY = 1600;

/**
 * Break points from strongest to weakest. `sep` is the whitespace dropped at the break; the part
 * before keeps any punctuation.
 */
const BREAKS: RegExp[] = [
  /(?<sep>\n[ \t]*\n\s*)/g, // paragraph
  /(?<sep>\n\s*)/g, // line (list items)
  /[.!?…:;]["'”’)\]]*(?<sep>\s+)/g, // sentence or clause
  /(?<sep>\s+)/g, // word
];

interface Cut {
  headEnd: number;
  restStart: number;
}

function lastBreak(window: string, re: RegExp, minHead: number, max: number): Cut | undefined {
  let found: Cut | undefined;
  for (const m of window.matchAll(re)) {
    const sep = m.groups?.sep ?? '';
    const headEnd = m.index + m[0].length - sep.length;
    if (headEnd > max) break;
    if (headEnd >= minHead && headEnd > 0) found = { headEnd, restStart: m.index + m[0].length };
  }
  return found;
}

/**
 * Where to cut `text` (longer than `max`): the strongest boundary that still fills a third of a
 * part — a list item a little short beats a part ending mid-item with one word left over.
 */
function cutPoint(text: string, max: number): Cut {
  const window = text.slice(0, max + 1);
  for (const re of BREAKS) {
    const cut = lastBreak(window, re, Math.ceil(max / 3), max);
    if (cut) return cut;
  }
  const anyWord = lastBreak(window, BREAKS[BREAKS.length - 1]!, 1, max);
  if (anyWord) return anyWord;
  // A single word longer than a part (a long URL): cut it, but never between a surrogate pair.
  const code = text.charCodeAt(max - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  return { headEnd: end, restStart: end };
}

function splitWithin(text: string, max: number): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const { headEnd, restStart } = cutPoint(rest, max);
    parts.push(rest.slice(0, headEnd).trimEnd());
    rest = rest.slice(restStart).trimStart();
  }
  if (rest) parts.push(rest);
  return parts;
}

function normalise(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * Splits a reply into SMS-sized parts at paragraph, line, sentence or word boundaries — inside a
 * word only when the word alone is longer than a part. Reports each part's encoding and segments.
 */
export function splitSms(text: string, options: SplitSmsOptions = {}): SmsPart[] {
  const max = options.maxChars ?? DEFAULT_SMS_PART_CHARS;
  if (!Number.isInteger(max) || max < (options.numbered ? 20 : 1) || max > TWILIO_MAX_BODY) {
    throw new OperatorError(
      'invalid_request',
      'sms_split_invalid',
      `maxChars must be a whole number from ${options.numbered ? 20 : 1} to ${TWILIO_MAX_BODY} (Twilio's Body limit), not ${max}`,
    );
  }
  const clean = normalise(text);
  if (!clean) return [];
  let parts = splitWithin(clean, max);
  if (options.numbered && parts.length > 1) {
    // Reserve room for " (n/N)"; more parts can mean a wider counter, so settle the width first.
    let width = 0;
    while (` (${parts.length}/${parts.length})`.length > width) {
      width = ` (${parts.length}/${parts.length})`.length;
      parts = splitWithin(clean, max - width);
    }
    parts = parts.map((p, i) => `${p} (${i + 1}/${parts.length})`);
  }
  return parts.map((p) => ({ text: p, encoding: smsEncoding(p), segments: smsSegments(p) }));
}
