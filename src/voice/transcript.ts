/**
 * Spoken forms in a recogniser's transcript turned into written ones, where the written form is
 * what tools expect: runs of spoken digits ("one two three four five" → "12345") and a letter
 * before them ("a one two three four five" → "A12345", an order id). A lone number word ("I want
 * one") stays a word: only runs of two or more digits, or a letter followed by digits, change.
 */
const DIGITS: Record<string, string> = {
  zero: '0', oh: '0', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9',
};

export function normaliseTranscript(text: string): string {
  const words = text.split(/\s+/).filter(Boolean);
  const out: string[] = [];
  for (let i = 0; i < words.length; ) {
    let j = i;
    let digits = '';
    while (j < words.length && DIGITS[words[j]!.toLowerCase()] !== undefined) digits += DIGITS[words[j++]!.toLowerCase()];
    if (j - i < 2) {
      out.push(words[i]!);
      i++;
      continue;
    }
    const prev = out.at(-1)?.toLowerCase();
    // "a" and "i" are words too: they join only a run long enough to be an id.
    const joins = prev !== undefined && /^[a-z]$/.test(prev) && (!['a', 'i'].includes(prev) || j - i >= 3);
    if (joins) out[out.length - 1] = prev.toUpperCase() + digits;
    else out.push(digits);
    i = j;
  }
  return out.join(' ');
}
