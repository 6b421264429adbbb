import { findDates, type Span } from './dates.ts';
import { humanize } from './text.ts';

/**
 * Tool arguments read out of a customer's message, guided by the tool's JSON Schema `properties`.
 * Each property is given a kind from its schema and name; kinds are filled most specific first
 * (an enum value before a pattern before an email ... before any number), and a piece of text
 * used by one argument is not reused by another.
 */

export interface ExtractContext {
  nowMs: number;
  timeZone?: string;
}

export interface Extraction {
  args: Record<string, unknown>;
  /** Required properties not found, in schema order. */
  missing: string[];
}

type Kind = 'enum' | 'pattern' | 'email' | 'phone' | 'date' | 'id' | 'number' | 'text';
const KIND_ORDER: Kind[] = ['enum', 'pattern', 'email', 'phone', 'date', 'id', 'number', 'text'];

interface Property {
  name: string;
  kind: Kind;
  schema: Record<string, unknown>;
  type: string | undefined;
}

const NUMBER_WORDS: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17,
  eighteen: 18, nineteen: 19, twenty: 20, thirty: 30, forty: 40, fifty: 50, hundred: 100, dozen: 12,
};
const ID_NAME = /(?:^|[_\s-])(?:id|ids|number|no|num|code|ref|reference|sku|tracking|confirmation|account|invoice|ticket)$/i;
const TEXT_NAME =
  /^(?:q|query|question|text|message|topic|subject|details?|description|reason|summary|issue|problem|notes?|comments?|request|search)$/i;

function schemaType(schema: Record<string, unknown>): string | undefined {
  const t = schema.type;
  if (Array.isArray(t)) return t.find((x): x is string => typeof x === 'string' && x !== 'null');
  return typeof t === 'string' ? t : undefined;
}

function kindOf(name: string, schema: Record<string, unknown>): Kind | undefined {
  const type = schemaType(schema);
  const format = typeof schema.format === 'string' ? schema.format : '';
  const words = humanize(name);
  if (Array.isArray(schema.enum)) return 'enum';
  if (type === 'number' || type === 'integer') return 'number';
  if (type !== undefined && type !== 'string') return undefined;
  if (typeof schema.pattern === 'string') return 'pattern';
  if (format === 'email' || /\be-?mail\b/.test(words)) return 'email';
  if (/\b(?:phone|mobile|cell)\b/.test(words)) return 'phone';
  if (format === 'date' || /\bdate\b/.test(words)) return 'date';
  if (ID_NAME.test(words)) return 'id';
  if (TEXT_NAME.test(name)) return 'text';
  return undefined;
}

/** Words of the message with their positions; punctuation around a word is not part of it. */
function tokens(text: string): Span<string>[] {
  const out: Span<string>[] = [];
  for (const m of text.matchAll(/[^\s,;!?()"'[\]{}<>]+/g)) {
    const lead = /^[#:]*/.exec(m[0])![0].length;
    const word = m[0].slice(lead).replace(/[.:]+$/, '');
    if (word) out.push({ value: word, start: m.index + lead, end: m.index + lead + word.length });
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** JSON Schema patterns are ECMA-262 regexes; one that does not compile simply finds nothing. */
function compilePattern(pattern: string): RegExp | undefined {
  for (const flags of ['u', '']) {
    try {
      return new RegExp(pattern, flags);
    } catch {
      // try without the unicode flag, which rejects some escapes older patterns use
    }
  }
  return undefined;
}

type Finder = (text: string, prop: Property, ctx: ExtractContext) => Span<unknown>[];

const FINDERS: Record<Kind, Finder> = {
  enum: (text, prop) => {
    const spans: Span<unknown>[] = [];
    for (const value of prop.schema.enum as unknown[]) {
      const phrase = humanize(String(value)).split(' ').map(escapeRegExp).join('[\\s_-]+');
      const m = new RegExp(`(?<![\\w])${phrase}(?![\\w])`, 'i').exec(text);
      if (m) spans.push({ value, start: m.index, end: m.index + m[0].length });
    }
    return spans.sort((a, b) => a.start - b.start);
  },
  pattern: (text, prop) => {
    const re = compilePattern(prop.schema.pattern as string);
    if (!re) return [];
    const spans: Span<unknown>[] = [];
    for (const t of tokens(text)) {
      if (re.test(t.value)) spans.push(t);
      else if (re.test(t.value.toUpperCase())) spans.push({ ...t, value: t.value.toUpperCase() });
    }
    if (spans.length === 0 && !(prop.schema.pattern as string).startsWith('^')) {
      const m = re.exec(text);
      if (m && m[0]) spans.push({ value: m[0], start: m.index, end: m.index + m[0].length });
    }
    return spans;
  },
  email: (text) =>
    [...text.matchAll(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g)].map((m) => ({
      value: m[0],
      start: m.index,
      end: m.index + m[0].length,
    })),
  phone: (text) =>
    [...text.matchAll(/\+?\d[\d\s().-]{5,}\d/g)]
      .filter((m) => m[0].replace(/\D/g, '').length >= 7)
      .map((m) => ({
        value: (m[0].startsWith('+') ? '+' : '') + m[0].replace(/\D/g, ''),
        start: m.index,
        end: m.index + m[0].length,
      })),
  date: (text, _prop, ctx) => findDates(text, ctx.nowMs, ctx.timeZone),
  id: (text) =>
    tokens(text).filter((t) => t.value.length >= 3 && /\d/.test(t.value) && /^[A-Za-z0-9][\w-]*$/.test(t.value)),
  number: (text, prop) => {
    const spans: Span<unknown>[] = [];
    const re = /(?<![\w.@$-])\$?(-?\d+(?:\.\d+)?)(?![\w@-]|\.\d)|\b([a-z]+)\b/gi;
    for (const m of text.matchAll(re)) {
      const value = m[1] !== undefined ? Number(m[1]) : NUMBER_WORDS[m[2]!.toLowerCase()];
      if (value === undefined || Number.isNaN(value)) continue;
      if (prop.type === 'integer' && !Number.isInteger(value)) continue;
      spans.push({ value, start: m.index, end: m.index + m[0].length });
    }
    return spans;
  },
  text: (text) => {
    const trimmed = text.trim();
    return trimmed ? [{ value: trimmed, start: 0, end: 0 }] : [];
  },
};

/** Reads the arguments `schema` (a JSON Schema object) asks for out of `message`. */
export function extractArguments(schema: Record<string, unknown>, message: string, ctx: ExtractContext): Extraction {
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  const props: Property[] = [];
  for (const [name, propSchema] of Object.entries(properties)) {
    const kind = kindOf(name, propSchema);
    if (kind) props.push({ name, kind, schema: propSchema, type: schemaType(propSchema) });
  }
  props.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));

  const used: { start: number; end: number }[] = [];
  const found: Record<string, unknown> = {};
  for (const prop of props) {
    const span = FINDERS[prop.kind](message, prop, ctx).find(
      (s) => s.start === s.end || !used.some((u) => u.start < s.end && s.start < u.end),
    );
    if (!span) continue;
    found[prop.name] = span.value;
    if (span.end > span.start) used.push(span);
  }
  // Keep the schema's property order in the arguments.
  const args: Record<string, unknown> = {};
  for (const name of Object.keys(properties)) if (name in found) args[name] = found[name];
  return { args, missing: required.filter((name) => !(name in args)) };
}
