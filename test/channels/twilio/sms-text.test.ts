import { describe, expect, it } from 'vitest';
import { smsEncoding, smsSegments, splitSms, toGsmFriendly, toPlainSms } from '../../../src/channels/twilio/sms-codec.ts';
import { OperatorError } from '../../../src/core/errors.ts';

const texts = (s: string, maxChars?: number): string[] => splitSms(s, maxChars === undefined ? {} : { maxChars }).map((p) => p.text);

/** Every word of the input, in order, with none cut (the parts rejoin to the same words). */
function words(parts: string[]): string[] {
  return parts.join(' ').split(/\s+/).filter(Boolean);
}

describe('smsEncoding and smsSegments', () => {
  it('counts GSM-7 in septets: 160 single, 153 per segment, extension characters double', () => {
    expect(smsEncoding('Hello @ £5, ok? {yes}')).toBe('GSM-7');
    expect(smsSegments('a'.repeat(160))).toBe(1);
    expect(smsSegments('a'.repeat(161))).toBe(2);
    expect(smsSegments('a'.repeat(306))).toBe(2);
    expect(smsSegments('a'.repeat(307))).toBe(3);
    expect(smsSegments('€'.repeat(80))).toBe(1); // 160 septets
    expect(smsSegments('€'.repeat(81))).toBe(2);
    // 152 septets then an escape pair that cannot straddle the segment boundary
    expect(smsSegments('a'.repeat(152) + '€' + 'a'.repeat(152))).toBe(3);
    expect(smsSegments('')).toBe(0);
  });

  it('switches the whole message to UCS-2 for one non-GSM character: 70 single, 67 per segment', () => {
    expect(smsEncoding('it’s')).toBe('UCS-2');
    expect(smsEncoding('ç')).toBe('UCS-2'); // only the capital Ç is in GSM 03.38
    expect(smsEncoding('Ç')).toBe('GSM-7');
    expect(smsSegments('ü'.repeat(160))).toBe(1); // ü is GSM-7
    expect(smsSegments('й'.repeat(70))).toBe(1);
    expect(smsSegments('й'.repeat(71))).toBe(2);
    expect(smsSegments('😀'.repeat(35))).toBe(1); // each emoji is two UTF-16 units
    expect(smsSegments('😀'.repeat(36))).toBe(2);
    expect(smsSegments('😀'.repeat(67))).toBe(3); // 33 pairs fit in 67 units: a pair never splits
  });
});

describe('splitSms', () => {
  it('keeps a short reply whole and reports its encoding and segments', () => {
    expect(splitSms('  Your order shipped.  ')).toEqual([{ text: 'Your order shipped.', encoding: 'GSM-7', segments: 1 }]);
    expect(splitSms('Thanks 🙏')).toEqual([{ text: 'Thanks 🙏', encoding: 'UCS-2', segments: 1 }]);
    expect(splitSms('   \n ')).toEqual([]);
  });

  it('defaults to parts of at most 320 characters', () => {
    const sentence = 'This sentence is exactly fifty characters long ok. ';
    const parts = texts(sentence.repeat(20));
    expect(parts.length).toBeGreaterThan(3);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(320);
    expect(texts('x '.repeat(160).trim())).toHaveLength(1); // 319 characters
  });

  it('prefers paragraph boundaries, then sentences, then words', () => {
    const text = 'First paragraph is here. It has two sentences.\n\nSecond paragraph follows with more words in it. And another sentence that keeps going.\n\nThird.';
    expect(texts(text, 60)).toEqual([
      'First paragraph is here. It has two sentences.',
      'Second paragraph follows with more words in it.',
      'And another sentence that keeps going.\n\nThird.',
    ]);
    expect(texts('One two three four five six seven eight nine ten eleven twelve', 20)).toEqual([
      'One two three four',
      'five six seven eight',
      'nine ten eleven',
      'twelve',
    ]);
  });

  it('keeps list items whole by breaking at line ends', () => {
    const list = 'Your options:\n- Refund to card (3-5 days)\n- Store credit (instant)\n- Exchange for another size';
    const parts = texts(list, 50);
    expect(parts).toEqual(['Your options:\n- Refund to card (3-5 days)', '- Store credit (instant)', '- Exchange for another size']);
  });

  it('does not make a tiny part to reach a stronger boundary', () => {
    const parts = texts('Ok. ' + 'word '.repeat(30), 40);
    expect(parts[0]!.length).toBeGreaterThan(20);
  });

  it('never cuts inside a word unless the word alone is longer than a part', () => {
    const text = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau';
    for (const max of [8, 11, 17, 30]) {
      const parts = texts(text, max);
      expect(words(parts)).toEqual(text.split(' '));
      for (const p of parts) expect(p.length).toBeLessThanOrEqual(max);
    }
    const url = 'https://example.com/' + 'a'.repeat(100);
    const parts = texts(`See ${url} for details`, 50);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(50);
    expect(parts.join('')).toContain('a'.repeat(20));
    expect(parts.join('').replace(/\s/g, '')).toBe(`See${url}fordetails`);
  });

  it('never splits a surrogate pair', () => {
    const parts = texts('😀'.repeat(30), 7);
    for (const p of parts) expect(p).toMatch(/^(😀)+$/u);
    expect(parts.join('')).toBe('😀'.repeat(30));
  });

  it('reports UCS-2 per part: one part can be GSM-7 while another is not', () => {
    const parts = splitSms(`${'Plain text here. '.repeat(3).trim()}\n\nCafé crème — très bon ☕`, { maxChars: 60 });
    expect(parts.map((p) => p.encoding)).toEqual(['GSM-7', 'UCS-2']);
    expect(parts[1]!.segments).toBe(1);
  });

  it('numbers the parts when asked, within the limit', () => {
    const parts = texts('word '.repeat(100), 60);
    const numbered = splitSms('word '.repeat(100), { maxChars: 60, numbered: true }).map((p) => p.text);
    expect(numbered.length).toBeGreaterThanOrEqual(parts.length);
    numbered.forEach((p, i) => {
      expect(p.length).toBeLessThanOrEqual(60);
      expect(p.endsWith(` (${i + 1}/${numbered.length})`)).toBe(true);
    });
    expect(splitSms('short', { numbered: true })[0]!.text).toBe('short');
  });

  it('refuses limits Twilio would not take', () => {
    for (const maxChars of [0, 1601, 2.5, Number.NaN]) {
      expect(() => splitSms('x', { maxChars })).toThrow(OperatorError);
    }
    expect(texts('x'.repeat(3200), 1600)).toHaveLength(2);
  });
});

describe('toPlainSms', () => {
  it('strips markdown to what a person would type', () => {
    const md = [
      '# Your order',
      '',
      'It **shipped** on _Monday_ and ~~might~~ will arrive `Friday`.',
      'Track it [here](https://track.example/t?a=1&b_c=2) or at <https://track.example>.',
      '',
      '* one',
      '* two',
      '  + nested',
      '',
      '3. third',
      '4. fourth',
      '',
      '> Note: keep the box.',
      '',
      '---',
      '',
      '```',
      'CODE-123',
      '```',
    ].join('\n');
    expect(toPlainSms(md)).toBe(
      [
        'Your order',
        '',
        'It shipped on Monday and might will arrive Friday.',
        'Track it here (https://track.example/t?a=1&b_c=2) or at https://track.example.',
        '',
        '- one',
        '- two',
        '  - nested',
        '',
        '3. third',
        '4. fourth',
        '',
        'Note: keep the box.',
        '',
        'CODE-123',
      ].join('\n'),
    );
  });

  it('leaves identifiers, e-mail addresses, entities and plain text alone', () => {
    expect(toPlainSms('Order snake_case_id for a@b.com, AT&T &amp; co. 5 > 3')).toBe('Order snake_case_id for a@b.com, AT&T & co. 5 > 3');
    expect(toPlainSms('Just a sentence.')).toBe('Just a sentence.');
    expect(toPlainSms('![receipt](https://x.example/r.png)')).toBe('receipt (https://x.example/r.png)');
    expect(toPlainSms('- [x] paid\n- [ ] shipped')).toBe('- [x] paid\n- [ ] shipped');
    expect(toPlainSms('a <b>bold</b> move')).toBe('a bold move');
  });

  it('replaces typographic characters so the reply stays GSM-7, unless told not to', () => {
    const md = 'It’s “ready” — pick it up…';
    expect(toPlainSms(md)).toBe('It\'s "ready" - pick it up...');
    expect(smsEncoding(toPlainSms(md))).toBe('GSM-7');
    expect(toPlainSms(md, { gsmFriendly: false })).toBe(md);
    expect(toGsmFriendly('• a\u00a0b\u200b')).toBe('- a b');
    expect(toPlainSms('Café 😀')).toBe('Café 😀'); // what has no look-alike stays
  });
});
