import { describe, expect, it } from 'vitest';
import { SentenceChunker, type SentenceChunkerOptions } from '../../../src/voice/turn-taking/index.ts';

/** Feeds `text` in pieces of `step` characters, then flushes. */
function chunk(text: string, step = text.length, options: Partial<SentenceChunkerOptions> = {}): string[] {
  const chunker = new SentenceChunker(options);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += Math.max(1, step)) out.push(...chunker.push(text.slice(i, i + step)));
  return [...out, ...chunker.flush()];
}

const CASES: [string, string, string[]][] = [
  ['plain sentences', 'Hello there. How are you? I am fine! Thanks.', ['Hello there.', 'How are you?', 'I am fine!', 'Thanks.']],
  ['semicolon and colon', 'It is late; we close at six. Options: call or email.', ['It is late;', 'we close at six.', 'Options:', 'call or email.']],
  ['newlines', 'First line\nSecond line\n\nThird', ['First line', 'Second line', 'Third']],
  ['decimal', 'It costs 3.5 dollars. Ok.', ['It costs 3.5 dollars.', 'Ok.']],
  ['abbreviations', 'Mr. Smith and Dr. Jones met on Elm St. near the park. Done.', ['Mr. Smith and Dr. Jones met on Elm St. near the park.', 'Done.']],
  ['e.g. and i.e.', 'Bring ID, e.g. a passport, i.e. something official. Thanks.', ['Bring ID, e.g. a passport, i.e. something official.', 'Thanks.']],
  ['etc. mid-sentence', 'Apples, pears, etc. are fresh. Come by.', ['Apples, pears, etc. are fresh.', 'Come by.']],
  ['etc. at the end', 'We sell apples, pears, etc. Come by.', ['We sell apples, pears, etc.', 'Come by.']],
  ['ellipsis mid-sentence', 'Well... let me check that. One moment.', ['Well... let me check that.', 'One moment.']],
  ['ellipsis before a capital', 'I see… Let me check.', ['I see…', 'Let me check.']],
  ['url and email', 'Visit https://example.com/a.b?c=d now. Or write to a.b@example.com today.', ['Visit https://example.com/a.b?c=d now.', 'Or write to a.b@example.com today.']],
  ['url at the end of a sentence', 'Go to example.com. Then log in.', ['Go to example.com.', 'Then log in.']],
  ['time', 'We open at 10:30 tomorrow. See you.', ['We open at 10:30 tomorrow.', 'See you.']],
  ['order id', 'Order A12.345 shipped. Track it online.', ['Order A12.345 shipped.', 'Track it online.']],
  ['initials', 'J. R. Smith called. He left.', ['J. R. Smith called.', 'He left.']],
  ['No. before a number', 'Take exit No. 5 north. The answer is no. Sorry.', ['Take exit No. 5 north.', 'The answer is no.', 'Sorry.']],
  ['numbered list', 'Steps:\n1. Open the app.\n2. Tap settings', ['Steps:', '1. Open the app.', '2. Tap settings']],
  ['closing quotes and brackets', 'He said "stop." Then left. (Really!) Okay.', ['He said "stop."', 'Then left.', '(Really!)', 'Okay.']],
  ['markdown emphasis', '**Done.** Anything else?', ['**Done.**', 'Anything else?']],
  ['?! runs', 'Really?! Wow.', ['Really?!', 'Wow.']],
  ['no empty or punctuation-only chunks', '   \n\n  . \n --- \nHi.', ['Hi.']],
  ['text without a terminator', 'no punctuation at all', ['no punctuation at all']],
  ['empty', '', []],
];

describe('SentenceChunker', () => {
  it.each(CASES)('%s', (_name, text, expected) => {
    expect(chunk(text)).toEqual(expected);
  });

  it.each(CASES)('%s: the same chunks whatever the delta size', (_name, text, expected) => {
    for (const step of [1, 2, 3, 7]) expect(chunk(text, step)).toEqual(expected);
  });

  it('returns a sentence as soon as the next one starts', () => {
    const chunker = new SentenceChunker();
    expect(chunker.push('Hello')).toEqual([]);
    expect(chunker.push(' world.')).toEqual([]);
    expect(chunker.push(' How')).toEqual(['Hello world.']);
    expect(chunker.push(' are you?\n')).toEqual(['How are you?']);
    expect(chunker.flush()).toEqual([]);
  });

  it('waits for the character after a dot before deciding', () => {
    const chunker = new SentenceChunker();
    expect(chunker.push('It costs 3.')).toEqual([]);
    expect(chunker.push('5 dollars. Ok')).toEqual(['It costs 3.5 dollars.']);
    expect(chunker.push('ay e.g.')).toEqual([]);
    expect(chunker.push(' this')).toEqual([]);
    expect(chunker.flush()).toEqual(['Okay e.g. this']);
  });

  it('lets the first chunk end at a comma once it has firstChunkMinChars', () => {
    const text = 'Sure, I can definitely help you with that order today, just give me a moment, please.';
    expect(chunk(text)).toEqual([
      'Sure, I can definitely help you with that order today,',
      'just give me a moment, please.',
    ]);
    expect(chunk(text, 4, { firstChunkMinChars: 1000 })).toEqual([text]);
    expect(chunk('Sure, thanks. Next, please.')).toEqual(['Sure, thanks.', 'Next, please.']);
  });

  it('does not treat a thousands separator as an early comma', () => {
    const text = 'Your refund for the damaged item comes to 1,250 dollars, paid back to your card.';
    expect(chunk(text, 1)).toEqual(['Your refund for the damaged item comes to 1,250 dollars,', 'paid back to your card.']);
  });

  it('cuts a long run without a sentence end at its last comma, else its last space', () => {
    const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    for (const step of [1, 5, words.length]) {
      const chunks = chunk(words, step, { maxChars: 100 });
      expect(chunks.every((c) => c.length <= 100)).toBe(true);
      expect(chunks.join(' ')).toBe(words);
    }
    const withComma = `${'a'.repeat(50)}, ${'b '.repeat(40)}end.`;
    expect(chunk(withComma, 3, { maxChars: 100, firstChunkMinChars: 1000 })[0]).toBe(`${'a'.repeat(50)},`);
  });

  it('never cuts inside a word longer than maxChars', () => {
    const long = 'x'.repeat(150);
    expect(chunk(`see ${long} here`, 1, { maxChars: 100 })).toEqual(['see', long, 'here']);
    expect(chunk(long, 10, { maxChars: 100 })).toEqual([long]);
  });

  it('starts afresh after flush()', () => {
    const chunker = new SentenceChunker();
    chunker.push('Half a sent');
    expect(chunker.flush()).toEqual(['Half a sent']);
    expect(chunker.push('New reply, and it is long enough to end early here, yes. ')).toEqual([
      'New reply, and it is long enough to end early here,',
      'yes.',
    ]);
  });
});
