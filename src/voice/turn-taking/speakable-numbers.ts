/**
 * Numbers, dates, times, money and codes as a voice would say them. Each rule is one regex pass;
 * {@link speakNumbers} runs them in an order where earlier, more specific rules turn their digits
 * into words before the general ones can misread them (a date is not a subtraction, a phone
 * number is not a quantity).
 */
import { digitWords, integerWords, numberWords, ordinalWords, yearWords } from './number-words.ts';

const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
  'October', 'November', 'December',
];

/** "2026-12-03" → "December third, twenty twenty-six". */
function isoDates(text: string): string {
  return text.replace(/\b(\d{4})-(\d{2})-(\d{2})\b/g, (all, y: string, m: string, d: string) => {
    const month = MONTHS[Number(m) - 1];
    const day = Number(d);
    if (!month || day < 1 || day > 31) return all;
    return `${month} ${ordinalWords(day)}, ${yearWords(Number(y))}`;
  });
}

const MONTH_NAME = [
  'Jan(?:uary)?', 'Feb(?:ruary)?', 'Mar(?:ch)?', 'Apr(?:il)?', 'May', 'June?', 'July?', 'Aug(?:ust)?',
  'Sep(?:t(?:ember)?)?', 'Oct(?:ober)?', 'Nov(?:ember)?', 'Dec(?:ember)?',
].join('|');
const MONTH_DAY = new RegExp(String.raw`\b(${MONTH_NAME})\.? (\d{1,2})(?:st|nd|rd|th)?\b(?:,? (\d{4})\b)?`, 'g');

/** "December 3, 2026" / "Dec 3rd" → "December third, twenty twenty-six" / "Dec third". */
function monthDays(text: string): string {
  return text.replace(MONTH_DAY, (all, name: string, d: string, y: string | undefined) => {
    const day = Number(d);
    if (day < 1 || day > 31) return all;
    return `${name} ${ordinalWords(day)}${y ? `, ${yearWords(Number(y))}` : ''}`;
  });
}

/** "am", "PM", "a.m.": a dot after the "m" is taken only in the dotted form ("at 5 pm." keeps its period). */
const MERIDIEM = String.raw`\s?([AaPp])(?:\.\s?[Mm]\.?|\s?[Mm])(?!\p{L})`;
const CLOCK_TIME = new RegExp(String.raw`\b(\d{1,2}):(\d{2})(?![:\d])(?:${MERIDIEM})?`, 'gu');
const BARE_HOUR = new RegExp(String.raw`\b(\d{1,2})${MERIDIEM}`, 'gu');

function hourWords(hour: number, minutes: number, meridiem: string | undefined): string {
  const h = integerWords(hour);
  const suffix = meridiem ? ` ${meridiem.toUpperCase()}M` : '';
  if (minutes > 0) return `${h} ${minutes < 10 ? 'oh ' : ''}${integerWords(minutes)}${suffix}`;
  if (meridiem) return `${h}${suffix}`;
  return hour > 12 ? `${h} hundred` : `${h} o'clock`;
}

/** "10:30" → "ten thirty", "3:05 pm" → "three oh five PM", "9am" → "nine AM", "14:00" → "fourteen hundred". */
function times(text: string): string {
  return text
    .replace(CLOCK_TIME, (all, h: string, m: string, ap: string | undefined) => {
      const hour = Number(h);
      const minutes = Number(m);
      if (hour > 23 || minutes > 59) return all;
      return hourWords(hour, minutes, ap);
    })
    .replace(BARE_HOUR, (all, h: string, ap: string) => (Number(h) > 12 ? all : hourWords(Number(h), 0, ap)));
}

const CURRENCIES: Readonly<Record<string, readonly [string, string, string, string]>> = {
  $: ['dollar', 'dollars', 'cent', 'cents'],
  '€': ['euro', 'euros', 'cent', 'cents'],
  '£': ['pound', 'pounds', 'penny', 'pence'],
};
const SCALE_WORDS: Readonly<Record<string, string>> = { k: 'thousand', m: 'million', b: 'billion' };

function plural(n: number, one: string, many: string): string {
  return `${integerWords(n)} ${n === 1 ? one : many}`;
}

function moneyWords(symbol: string, amount: string, scale: string | undefined): string {
  const [one, many, cent, cents] = CURRENCIES[symbol] ?? ['', '', '', ''];
  if (scale) {
    const word = SCALE_WORDS[scale.toLowerCase()] ?? scale.toLowerCase();
    return `${numberWords(amount)} ${word} ${many}`;
  }
  const [whole = '0', fraction = ''] = amount.replace(/,/g, '').split('.');
  if (fraction.length > 2) return `${numberWords(amount)} ${many}`;
  const units = Number(whole);
  const hundredths = Number(fraction.padEnd(2, '0'));
  if (hundredths === 0) return plural(units, one, many);
  if (units === 0) return plural(hundredths, cent, cents);
  return `${plural(units, one, many)} and ${plural(hundredths, cent, cents)}`;
}

const NUMBER = String.raw`\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?`;
const MONEY = new RegExp(
  String.raw`([$€£])\s?(${NUMBER})(?:\s?(thousand|million|billion|trillion)\b|([kmb])(?![\p{L}\p{N}]))?`,
  'giu',
);

/** "$12.50" → "twelve dollars and fifty cents", "$1.5 million" → "one point five million dollars". */
function money(text: string): string {
  return text.replace(MONEY, (_all, symbol: string, amount: string, word?: string, letter?: string) =>
    moneyWords(symbol, amount, word ?? letter),
  );
}

const PERCENT = new RegExp(String.raw`\b(${NUMBER})\s?%`, 'g');

/** "50%" → "fifty percent". */
function percents(text: string): string {
  return text.replace(PERCENT, (_all, n: string) => `${numberWords(n)} percent`);
}

/** "1st" → "first", "23rd" → "twenty-third". */
function ordinals(text: string): string {
  return text.replace(/\b(\d+)(?:st|nd|rd|th)\b/gi, (_all, n: string) => ordinalWords(Number(n)));
}

/**
 * Phone numbers: "+1 555 010 2000", "(555) 010-2000", "555-0100". Seven digits or more in three
 * groups or more, or with "+" or "(", or a local 3-4 number; read digit by digit with a pause
 * between groups. "2025-2026" is a span of years, not a phone number.
 */
function phoneNumbers(text: string): string {
  const re = /(?<![\w.,])\+?\(?\d{1,4}\)?(?:[ .-]\(?\d{1,4}\)?){1,5}(?![\w]|[.,]\d)/g;
  return text.replace(re, (all) => {
    const groups = all.match(/\d+/g) ?? [];
    const digits = groups.join('').length;
    const local = groups.length === 2 && groups[0]?.length === 3 && groups[1]?.length === 4;
    const phoneLike = /[+(]/.test(all) || groups.length >= 3 || local;
    if (digits < 7 || !phoneLike) return all;
    const spoken = groups.map(digitWords).join(', ');
    return all.startsWith('+') ? `plus ${spoken}` : spoken;
  });
}

/**
 * Codes: "A12345", "ORD-2024-00123", "12345". Five digits or more make a code, not a quantity:
 * digits are read one by one, short capital runs are spelled, "-" and "." are said. A comma
 * follows letters so that TTS engines read a lone "A" as the letter, not the article.
 */
function codes(text: string): string {
  return text.replace(/\b[A-Za-z0-9]+(?:[-.][A-Za-z0-9]+)*\b/g, (token) => {
    if ((token.match(/\d/g) ?? []).length < 5 || /^\d+\.\d+$/.test(token)) return token;
    return token
      .split(/([-.])/)
      .map((part) => (part === '-' ? 'dash' : part === '.' ? 'dot' : codePart(part)))
      .join(' ')
      .replace(/, (dash|dot)\b/g, ' $1');
  });
}

function codePart(part: string): string {
  const runs = part.match(/\d+|\p{L}+/gu) ?? [];
  return runs
    .map((run) => {
      if (/^\d/.test(run)) return digitWords(run);
      const spelled = /^\p{Lu}{1,3}$/u.test(run) ? [...run].join(' ') : run;
      return `${spelled},`;
    })
    .join(' ')
    .replace(/,$/, '');
}

/** "2-3 days" → "two to three days"; "-5" → "minus five". */
function rangesAndSigns(text: string): string {
  return text
    .replace(/\b(\d+(?:\.\d+)?) ?[-–] ?(\d+(?:\.\d+)?)\b/g, '$1 to $2')
    .replace(/(?<![\w)])-(?=\d)/g, 'minus ');
}

const YEAR = String.raw`(1[1-9]\d\d|20\d\d)`;
const YEAR_CUE = 'in|since|until|by|from|year|before|after|during|of';
const YEARS = new RegExp(
  String.raw`\b(${YEAR_CUE})\s+${YEAR}(?:(\s+(?:to|and|through)\s+|\s?[-–]\s?)${YEAR})?\b`,
  'gi',
);

/**
 * "in 2026" → "in twenty twenty-six"; "from 2020 to 2024" and "in 2025-2026" read as years too.
 * Without such a cue 2026 stays a quantity ("2026 items").
 */
function years(text: string): string {
  return text.replace(YEARS, (_all, cue: string, y: string, joiner?: string, y2?: string) => {
    const first = `${cue} ${yearWords(Number(y))}`;
    if (!joiner || !y2) return first;
    return `${first}${/[-–]/.test(joiner) ? ' to ' : joiner}${yearWords(Number(y2))}`;
  });
}

/** Whatever digits are left: "42" → "forty-two", "1,250" → "one thousand two hundred fifty", "3.5". */
const QUANTITY = new RegExp(String.raw`(?<![\w.])(?:${NUMBER})(?![\w]|[.,]\d)`, 'g');

function quantities(text: string): string {
  return text.replace(QUANTITY, (n) => numberWords(n));
}

const RULES: readonly ((text: string) => string)[] = [
  isoDates, monthDays, times, money, percents, ordinals, years, phoneNumbers, codes,
  rangesAndSigns, quantities,
];

/** Every number in `text` as words, in the order described above. */
export function speakNumbers(text: string): string {
  if (!/\d/.test(text)) return text;
  return RULES.reduce((acc, rule) => rule(acc), text);
}
