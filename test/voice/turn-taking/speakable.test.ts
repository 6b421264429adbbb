import { describe, expect, it } from 'vitest';
import {
  digitWords,
  integerWords,
  numberWords,
  ordinalWords,
  toSpeakable,
  yearWords,
} from '../../../src/voice/turn-taking/index.ts';

describe('number words', () => {
  it.each([
    [0, 'zero'],
    [7, 'seven'],
    [13, 'thirteen'],
    [20, 'twenty'],
    [42, 'forty-two'],
    [100, 'one hundred'],
    [101, 'one hundred one'],
    [999, 'nine hundred ninety-nine'],
    [1000, 'one thousand'],
    [1250, 'one thousand two hundred fifty'],
    [20_005, 'twenty thousand five'],
    [1_000_000, 'one million'],
    [3_400_021, 'three million four hundred thousand twenty-one'],
    [2_000_000_000, 'two billion'],
  ])('integerWords(%d) → %s', (n, words) => {
    expect(integerWords(n)).toBe(words);
  });

  it.each([
    [1, 'first'],
    [2, 'second'],
    [3, 'third'],
    [4, 'fourth'],
    [5, 'fifth'],
    [8, 'eighth'],
    [9, 'ninth'],
    [11, 'eleventh'],
    [12, 'twelfth'],
    [20, 'twentieth'],
    [21, 'twenty-first'],
    [23, 'twenty-third'],
    [42, 'forty-second'],
    [100, 'one hundredth'],
    [1000, 'one thousandth'],
  ])('ordinalWords(%d) → %s', (n, words) => {
    expect(ordinalWords(n)).toBe(words);
  });

  it.each([
    [2026, 'twenty twenty-six'],
    [2000, 'two thousand'],
    [2005, 'two thousand five'],
    [2010, 'twenty ten'],
    [1999, 'nineteen ninety-nine'],
    [1900, 'nineteen hundred'],
    [1905, 'nineteen oh five'],
  ])('yearWords(%d) → %s', (n, words) => {
    expect(yearWords(n)).toBe(words);
  });

  it('reads digits one by one and decimals after "point"', () => {
    expect(digitWords('5550102')).toBe('five five five zero one zero two');
    expect(numberWords('3.5')).toBe('three point five');
    expect(numberWords('0.25')).toBe('zero point two five');
    expect(numberWords('1,250.75')).toBe('one thousand two hundred fifty point seven five');
    expect(numberWords('12345678901234567')).toBe('one two three four five six seven eight nine zero one two three four five six seven');
  });
});

describe('toSpeakable', () => {
  const cases: [string, string, string][] = [
    // markdown
    ['bold', '**Great news!** It shipped.', 'Great news! It shipped.'],
    ['italics', 'This is *really* _quite_ good.', 'This is really quite good.'],
    ['bold underscores and strike', '__Note__: ~~old~~ new', 'Note: old new'],
    ['headers', '## Your options\nPick one', 'Your options. Pick one'],
    ['bullets', '- eggs\n- milk\n* bread', 'eggs. milk. bread'],
    ['numbered list', '1. Open the app\n2. Tap Help', 'one. Open the app. two. Tap Help'],
    ['blockquote', '> Quoted text', 'Quoted text'],
    ['code fence', 'Run this:\n```bash\nnpm start\n```', 'Run this: npm start'],
    ['inline code', 'Type `help` to begin.', 'Type help to begin.'],
    ['link', 'See [our help page](https://example.com/help) today.', 'See our help page today.'],
    ['image', '![a cat](cat.png)', 'a cat'],
    ['table', '| Plan | Price |\n|---|---|\n| Basic | $5 |', 'Plan, Price. Basic, five dollars'],
    ['snake_case keeps its words', 'Set order_id now', 'Set order id now'],
    // addresses
    ['bare url', 'Go to https://www.example.com/account?x=1 now.', 'Go to example dot com now.'],
    ['www url', 'Visit www.shop.example.org.', 'Visit shop dot example dot org.'],
    ['bare domain', 'Log in at example.com today.', 'Log in at example dot com today.'],
    ['email', 'Write to help.desk@example.co.uk please.', 'Write to help dot desk at example dot co dot uk please.'],
    // emoji and symbols
    ['emoji', 'Thanks! 😊🎉 See you 👋🏽.', 'Thanks! See you.'],
    ['flags and keycaps', 'Made in 🇺🇸 ❤️', 'Made in'],
    ['ampersand', 'Terms & conditions at AT&T', 'Terms and conditions at AT and T'],
    ['and/or', 'Call and/or email us.', 'Call and or email us.'],
    ['slash between words', 'Answer yes/no.', 'Answer yes or no.'],
    ['per unit', 'It is $5/month or $50/yr.', 'It is five dollars per month or fifty dollars per year.'],
    ['24/7', 'We are open 24/7.', 'We are open twenty-four seven.'],
    ['hash before digits', 'Ticket #42 is open.', 'Ticket number forty-two is open.'],
    ['tilde', 'It takes ~5 minutes.', 'It takes about five minutes.'],
    ['latin abbreviations', 'Bring ID, e.g. a passport, i.e. photo ID, etc.', 'Bring ID, for example a passport, that is photo ID, et cetera.'],
    // numbers
    ['integer', 'You have 42 points.', 'You have forty-two points.'],
    ['decimal', 'It is 3.5 times faster.', 'It is three point five times faster.'],
    ['thousands separator', 'We shipped 1,250 orders.', 'We shipped one thousand two hundred fifty orders.'],
    ['millions', 'Over 2,500,000 users.', 'Over two million five hundred thousand users.'],
    ['zero', 'You owe 0 dollars.', 'You owe zero dollars.'],
    ['range', 'Allow 2-3 business days.', 'Allow two to three business days.'],
    ['negative', 'It is -5 outside.', 'It is minus five outside.'],
    ['ordinals', 'The 1st, 2nd, 3rd and 23rd.', 'The first, second, third and twenty-third.'],
    ['percent', 'Save 50% or 12.5 %.', 'Save fifty percent or twelve point five percent.'],
    // money
    ['dollars and cents', 'That is $12.50 total.', 'That is twelve dollars and fifty cents total.'],
    ['one dollar', 'Only $1.', 'Only one dollar.'],
    ['cents only', 'Just $0.99.', 'Just ninety-nine cents.'],
    ['one cent', 'Add $2.01.', 'Add two dollars and one cent.'],
    ['dollars with separator', 'A $1,250 refund.', 'A one thousand two hundred fifty dollars refund.'],
    ['short decimal cents', 'Pay $12.5 now.', 'Pay twelve dollars and fifty cents now.'],
    ['scale word', 'Raised $1.5 million.', 'Raised one point five million dollars.'],
    ['scale letter', 'A $5k budget.', 'A five thousand dollars budget.'],
    ['capitalised scale', 'Raised $2 Million and $3B.', 'Raised two million dollars and three billion dollars.'],
    ['euros and pounds', 'It is €3 or £3.20.', 'It is three euros or three pounds and twenty pence.'],
    // times
    ['clock time', 'We open at 10:30.', 'We open at ten thirty.'],
    ['time with pm', 'Call at 3:05 pm.', 'Call at three oh five PM.'],
    ['time with dotted am', 'From 9 a.m. to 5 p.m. daily.', 'From nine AM to five PM daily.'],
    ['bare am', 'Open 9am sharp.', 'Open nine AM sharp.'],
    ['o clock', 'See you at 10:00.', "See you at ten o'clock."],
    ['noon with meridiem', 'Lunch is 12:00 PM.', 'Lunch is twelve PM.'],
    ['24-hour', 'Departs 14:00 or 18:45.', 'Departs fourteen hundred or eighteen forty-five.'],
    ['chapter and verse read like a time', 'See John 3:16.', 'See John three sixteen.'],
    ['minutes past 59 are not a time', 'Score 25:99.', 'Score twenty-five:ninety-nine.'],
    // dates and years
    ['iso date', 'Delivery on 2026-12-03.', 'Delivery on December third, twenty twenty-six.'],
    ['iso date 2000s', 'Since 2005-01-01.', 'Since January first, two thousand five.'],
    ['month day year', 'Due December 3, 2026.', 'Due December third, twenty twenty-six.'],
    ['month ordinal', 'Due Jan 21st.', 'Due Jan twenty-first.'],
    ['year after a cue', 'Founded in 1998, renewed in 2026.', 'Founded in nineteen ninety-eight, renewed in twenty twenty-six.'],
    ['year range', 'Open from 2020 to 2024.', 'Open from twenty twenty to twenty twenty-four.'],
    ['year span with a dash', 'Valid in 2025-2026.', 'Valid in twenty twenty-five to twenty twenty-six.'],
    ['four digits without a cue stay a quantity', 'We have 2026 items.', 'We have two thousand twenty-six items.'],
    // codes and phone numbers
    ['order id', 'Your order A12345 shipped.', 'Your order A, one two three four five shipped.'],
    ['long number', 'Account 12345678 is active.', 'Account one two three four five six seven eight is active.'],
    ['five digits', 'Zip 94107.', 'Zip nine four one zero seven.'],
    ['dashed code', 'Ref ORD-2024-00123.', 'Ref O R D dash two zero two four dash zero zero one two three.'],
    ['dotted code', 'Order A12.345 is ready.', 'Order A, one two dot three four five is ready.'],
    ['lowercase code', 'Use code save20251.', 'Use code save, two zero two five one.'],
    ['hash code', 'Order #123456.', 'Order number one two three four five six.'],
    ['international phone', 'Call +1 555 010 2000.', 'Call plus one, five five five, zero one zero, two zero zero zero.'],
    ['us phone', 'Call (555) 010-2000 now.', 'Call five five five, zero one zero, two zero zero zero now.'],
    ['short phone', 'Dial 555-0100.', 'Dial five five five, zero one zero zero.'],
    ['four-digit groups are not a phone', 'Seats 10 20 and 30.', 'Seats ten twenty and thirty.'],
    ['digits glued to letters stay', 'Get 4G or an MP3.', 'Get 4G or an MP3.'],
    // whitespace and nothing to do
    ['plain text unchanged', 'How can I help you today?', 'How can I help you today?'],
    ['spaces collapse', '  Hello   there ,  friend  ', 'Hello there, friend'],
    ['empty', '', ''],
  ];

  it.each(cases)('%s', (_name, input, expected) => {
    expect(toSpeakable(input)).toBe(expected);
  });

  it('is deterministic and fast on a long reply', () => {
    const reply = cases.map(([, input]) => input).join(' ').repeat(20);
    const first = toSpeakable(reply);
    const start = performance.now();
    for (let i = 0; i < 20; i++) expect(toSpeakable(reply)).toBe(first);
    // ~30 KB of dense markdown and numbers, 20 times: a generous bound, not a benchmark.
    expect(performance.now() - start).toBeLessThan(2000);
  });
});
