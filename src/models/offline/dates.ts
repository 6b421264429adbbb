/**
 * Dates in a customer's words, resolved against the injected clock: ISO dates, today / tomorrow /
 * yesterday, weekday names (the next one to come), "in 3 days", "December 3rd", "3 Dec 2026".
 * Calendar days are taken in `timeZone` (IANA name, default UTC).
 */

export interface Span<T> {
  value: T;
  start: number;
  end: number;
}

const DAY_MS = 86_400_000;
const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH_RE =
  '(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)';
const SMALL_NUMBERS: Record<string, number> = { a: 1, an: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7 };

interface Ymd {
  y: number;
  m: number;
  d: number;
}

function todayIn(nowMs: number, timeZone: string): Ymd {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' })
    .formatToParts(new Date(nowMs));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  return { y: get('year'), m: get('month'), d: get('day') };
}

function dayNumber({ y, m, d }: Ymd): number {
  return Date.UTC(y, m - 1, d) / DAY_MS;
}

function iso(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function valid(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

type Rule = [RegExp, (m: RegExpExecArray, today: number, year: number) => number | undefined];

const RULES: Rule[] = [
  [
    /\b(\d{4})-(\d{1,2})-(\d{1,2})\b/gi,
    (m) => {
      const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
      return valid(y, mo, d) ? dayNumber({ y, m: mo, d }) : undefined;
    },
  ],
  [/\b(?:the\s+)?day\s+after\s+tomorrow\b/gi, (_m, today) => today + 2],
  [/\b(?:today|tonight|this\s+(?:morning|afternoon|evening))\b/gi, (_m, today) => today],
  [/\b(?:tomorrow|tmrw|tmr)\b/gi, (_m, today) => today + 1],
  [/\byesterday\b/gi, (_m, today) => today - 1],
  [
    /\bin\s+(\d+|an?|one|two|three|four|five|six|seven)\s+(days?|weeks?)\b/gi,
    (m, today) => {
      const n = SMALL_NUMBERS[m[1]!.toLowerCase()] ?? Number(m[1]);
      return today + n * (m[2]!.toLowerCase().startsWith('week') ? 7 : 1);
    },
  ],
  [
    /\b(?:(?:next|this|on|coming)\s+)?(sun|mon|tue|tues|wed|thu|thur|thurs|fri|sat)(?:day|nesday|sday|urday)?\b/gi,
    (m, today) => {
      const target = WEEKDAYS.findIndex((w) => w.startsWith(m[1]!.toLowerCase()));
      const current = new Date(today * DAY_MS).getUTCDay();
      const ahead = (target - current + 7) % 7 || 7;
      return today + ahead;
    },
  ],
  [
    new RegExp(`\\b${MONTH_RE}\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?(?:,?\\s+(\\d{4}))?\\b`, 'gi'),
    (m, today, year) => monthDay(m[1]!, Number(m[2]), m[3], today, year),
  ],
  [
    new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?(?:\\s+of)?\\s+${MONTH_RE}\\.?(?:,?\\s+(\\d{4}))?\\b`, 'gi'),
    (m, today, year) => monthDay(m[2]!, Number(m[1]), m[3], today, year),
  ],
];

/** A month and day without a year means the next such date to come (today included). */
function monthDay(month: string, d: number, yearText: string | undefined, today: number, year: number): number | undefined {
  const m = MONTHS.indexOf(month.slice(0, 3).toLowerCase()) + 1;
  if (yearText) {
    const y = Number(yearText);
    return valid(y, m, d) ? dayNumber({ y, m, d }) : undefined;
  }
  for (const y of [year, year + 1]) {
    if (valid(y, m, d) && dayNumber({ y, m, d }) >= today) return dayNumber({ y, m, d });
  }
  return undefined;
}

/** Every date mentioned in `text`, as `YYYY-MM-DD` with its position, in order of appearance. */
export function findDates(text: string, nowMs: number, timeZone = 'UTC'): Span<string>[] {
  const todayYmd = todayIn(nowMs, timeZone);
  const today = dayNumber(todayYmd);
  const found: Span<string>[] = [];
  for (const [re, resolve] of RULES) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const start = m.index;
      const end = start + m[0].length;
      if (found.some((f) => f.start < end && start < f.end)) continue;
      const day = resolve(m, today, todayYmd.y);
      if (day !== undefined) found.push({ value: iso(day), start, end });
    }
  }
  return found.sort((a, b) => a.start - b.start);
}
