/**
 * English number words for speech: cardinals ("one thousand two hundred fifty", American style,
 * without "and"), ordinals, years, digit-by-digit reading and decimals.
 */

const ONES = [
  'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven',
  'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen',
];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const SCALES: readonly [number, string][] = [
  [1e12, 'trillion'],
  [1e9, 'billion'],
  [1e6, 'million'],
  [1e3, 'thousand'],
];

/** Largest integer {@link integerWords} reads as a quantity; longer ones are read digit by digit. */
export const MAX_CARDINAL = 999_999_999_999_999;

function belowHundred(n: number): string {
  if (n < 20) return ONES[n] ?? '';
  const tens = TENS[Math.floor(n / 10)] ?? '';
  return n % 10 === 0 ? tens : `${tens}-${ONES[n % 10] ?? ''}`;
}

function belowThousand(n: number): string {
  const hundreds = Math.floor(n / 100);
  const rest = n % 100;
  const parts = hundreds > 0 ? [`${ONES[hundreds] ?? ''} hundred`] : [];
  if (rest > 0 || hundreds === 0) parts.push(belowHundred(rest));
  return parts.join(' ');
}

/** 42 → "forty-two", 1250 → "one thousand two hundred fifty". Integers 0..{@link MAX_CARDINAL}. */
export function integerWords(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_CARDINAL) return digitWords(String(n));
  if (n < 1000) return belowThousand(n);
  const parts: string[] = [];
  let rest = n;
  for (const [size, name] of SCALES) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${belowThousand(count)} ${name}`);
    rest %= size;
  }
  if (rest > 0) parts.push(belowThousand(rest));
  return parts.join(' ');
}

const IRREGULAR_ORDINALS: Readonly<Record<string, string>> = {
  one: 'first', two: 'second', three: 'third', five: 'fifth', eight: 'eighth', nine: 'ninth',
  twelve: 'twelfth',
};

/** 1 → "first", 23 → "twenty-third", 100 → "one hundredth". */
export function ordinalWords(n: number): string {
  const cardinal = integerWords(n);
  const match = /^(.*?)([a-z]+)$/.exec(cardinal);
  if (!match) return cardinal;
  const [, head = '', last = ''] = match;
  const ordinal = IRREGULAR_ORDINALS[last] ?? (last.endsWith('y') ? `${last.slice(0, -1)}ieth` : `${last}th`);
  return head + ordinal;
}

/** 2026 → "twenty twenty-six", 2005 → "two thousand five", 1900 → "nineteen hundred". */
export function yearWords(year: number): string {
  if (year < 1000 || year > 9999 || (year >= 2000 && year < 2010)) return integerWords(year);
  const high = Math.floor(year / 100);
  const low = year % 100;
  if (low === 0) return `${belowHundred(high)} hundred`;
  return `${belowHundred(high)} ${low < 10 ? `oh ${ONES[low] ?? ''}` : belowHundred(low)}`;
}

/** "5550" → "five five five zero". Non-digits are skipped. */
export function digitWords(digits: string): string {
  return [...digits]
    .filter((c) => c >= '0' && c <= '9')
    .map((c) => ONES[Number(c)] ?? '')
    .join(' ');
}

/**
 * A written number ("1,250", "3.5", "0.25") as words: the integer part as a quantity (digit by
 * digit past {@link MAX_CARDINAL}), the fraction digit by digit after "point".
 */
export function numberWords(written: string): string {
  const [whole = '', fraction] = written.replace(/,/g, '').split('.');
  const value = Number(whole === '' ? '0' : whole);
  const head = value <= MAX_CARDINAL ? integerWords(value) : digitWords(whole);
  return fraction ? `${head} point ${digitWords(fraction)}` : head;
}
