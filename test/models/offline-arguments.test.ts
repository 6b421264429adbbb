import { describe, expect, it } from 'vitest';
import { extractArguments } from '../../src/models/offline/arguments.ts';
import { findDates } from '../../src/models/offline/dates.ts';

// Wednesday 7 January 2026, 15:00 UTC.
const NOW = Date.UTC(2026, 0, 7, 15);
const ctx = { nowMs: NOW };

function extract(properties: Record<string, unknown>, message: string, required: string[] = Object.keys(properties)) {
  return extractArguments({ type: 'object', properties, required }, message, ctx);
}

describe('dates relative to the clock', () => {
  it.each([
    ['can we do it today', '2026-01-07'],
    ['tomorrow please', '2026-01-08'],
    ['the day after tomorrow', '2026-01-09'],
    ['on Friday', '2026-01-09'],
    ['next wednesday', '2026-01-14'],
    ['in 2 weeks', '2026-01-21'],
    ['in three days', '2026-01-10'],
    ['on 2026-03-15 if possible', '2026-03-15'],
    ['December 3rd', '2026-12-03'],
    ['the 5th of January', '2027-01-05'],
    ['3 Feb 2027', '2027-02-03'],
  ])('%s -> %s', (text, iso) => {
    expect(findDates(text, NOW).map((d) => d.value)).toEqual([iso]);
  });

  it('takes "today" in the configured time zone', () => {
    // 23:30 UTC on the 7th is already the 8th in Tokyo.
    const late = Date.UTC(2026, 0, 7, 23, 30);
    expect(findDates('today', late)[0]?.value).toBe('2026-01-07');
    expect(findDates('today', late, 'Asia/Tokyo')[0]?.value).toBe('2026-01-08');
  });

  it('ignores impossible dates and words that only look like weekdays', () => {
    expect(findDates('2026-02-30, a month, some satisfaction', NOW)).toEqual([]);
  });
});

describe('extractArguments', () => {
  it('takes the first token matching a pattern, upper-casing when that makes it match', () => {
    const props = { order_id: { type: 'string', pattern: '^[A-Z]\\d{5}$' } };
    expect(extract(props, 'not B1234 but a12345, or C99999')).toEqual({ args: { order_id: 'A12345' }, missing: [] });
    expect(extract(props, 'it was B1234')).toEqual({ args: {}, missing: ['order_id'] });
  });

  it('finds emails by format or by name, and phone numbers by name', () => {
    const props = { email: { type: 'string' }, contact: { type: 'string', format: 'email' }, phone: { type: 'string' } };
    expect(extract(props, 'Mail jo.doe+x@example.co.uk, cc ann@b.io, call +1 (415) 555-0100.').args).toEqual({
      email: 'jo.doe+x@example.co.uk',
      contact: 'ann@b.io',
      phone: '+14155550100',
    });
  });

  it('reads numbers in digits or words, integers only where the schema says integer', () => {
    const props = { party_size: { type: 'integer' }, amount: { type: 'number' } };
    expect(extract(props, 'a table for two, budget $25.50').args).toEqual({ party_size: 2, amount: 25.5 });
    expect(extract({ party_size: { type: 'integer' } }, 'for 2.5 people').missing).toEqual(['party_size']);
  });

  it('picks the enum value mentioned, including multi-word values written with underscores', () => {
    const props = { store: { enum: ['downtown', 'airport'] }, speed: { type: 'string', enum: ['standard', 'next_day'] } };
    expect(extract(props, 'ship it next day to the Airport store').args).toEqual({ store: 'airport', speed: 'next_day' });
  });

  it('takes an id-like token with a digit for a property named like an id, not the date or the email next to it', () => {
    const props = {
      date: { type: 'string', format: 'date' },
      email: { type: 'string' },
      ticketNumber: { type: 'string' },
      count: { type: 'integer' },
    };
    expect(extract(props, 'on 2026-02-01 ann@b.io reported #TK-2291 about 3 items').args).toEqual({
      date: '2026-02-01',
      email: 'ann@b.io',
      ticketNumber: 'TK-2291',
      count: 3,
    });
  });

  it('fills free-text properties named like a question with the message', () => {
    expect(extract({ question: { type: 'string' } }, ' How do returns work? ').args).toEqual({
      question: 'How do returns work?',
    });
  });

  it('lists required properties it cannot find, in schema order, and leaves unknown kinds alone', () => {
    const props = { name: { type: 'string' }, order_id: { type: 'string' }, date: { type: 'string' } };
    expect(extract(props, 'hello')).toEqual({ args: {}, missing: ['name', 'order_id', 'date'] });
  });

  it('survives a pattern that is not a valid regular expression', () => {
    expect(extract({ code: { type: 'string', pattern: '([' } }, 'code X1')).toEqual({ args: {}, missing: ['code'] });
  });
});
