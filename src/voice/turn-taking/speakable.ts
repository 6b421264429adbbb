/**
 * Voice style: turns a model's text into text that a TTS engine reads the way a person would say
 * it. Markdown goes (a voice cannot be bold), links become their text or their domain, emoji go,
 * symbols become words and numbers are spelled out in context (speakable-numbers.ts).
 *
 * Applied per sentence chunk on the way to TTS, so it is deterministic, stateless and fast: a
 * fixed list of regex passes, each linear in the text. Text written for chat (transcripts, SMS)
 * does not pass through here.
 */
import { speakNumbers } from './speakable-numbers.ts';

/** Markdown table delimiter rows: "|---|:---:|". */
const TABLE_RULE = /^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*$/gm;

function tableRow(_all: string, row: string): string {
  return row
    .split('|')
    .map((cell) => cell.trim())
    .filter((cell) => cell.length > 0)
    .join(', ');
}

/** Markdown syntax out, its text kept. Code is kept too: the agent's prompt should avoid it. */
function stripMarkdown(text: string): string {
  return text
    .replace(/```[^\n`]*\n?([\s\S]*?)```/g, '$1')
    .replace(/```[^\n`]*/g, '')
    .replace(/`([^`\n]*)`/g, '$1')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/<((?:https?:\/\/|mailto:)[^>\s]+)>/g, '$1')
    .replace(/^[ \t]{0,3}#{1,6}[ \t]+/gm, '')
    .replace(/^[ \t]*>[ \t]?/gm, '')
    .replace(/^[ \t]*(?:[-*_][ \t]*){3,}$/gm, '')
    .replace(/^[ \t]*[-*+•][ \t]+/gm, '')
    .replace(TABLE_RULE, '')
    .replace(/^[ \t]*\|(.*)\|[ \t]*$/gm, tableRow)
    .replace(/(\*\*|__)(?=\S)(.*?\S)\1/g, '$2')
    .replace(/~~(?=\S)(.*?\S)~~/g, '$1')
    .replace(/(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/g, '$1')
    .replace(/(?<!\w)_(?=\S)([^_\n]*?\S)_(?!\w)/g, '$1');
}

/** "www.example.com" → "example dot com". */
function spokenHost(host: string): string {
  return host.replace(/^www\./i, '').split('.').join(' dot ');
}

const EMAIL = /\b([\w+-]+(?:\.[\w+-]+)*)@([a-z0-9-]+(?:\.[a-z0-9-]+)+)\b/gi;
const LINK = /\b(?:https?:\/\/|www\.)[^\s<>"')\]]*[^\s<>"')\].,;:!?]/gi;
const TLDS = 'com|org|net|io|co|ai|app|dev|gov|edu|info|biz|us|uk|ca|de|fr|eu';
const BARE_DOMAIN = new RegExp(String.raw`\b((?:[a-z0-9-]+\.)+(?:${TLDS}))\b(?:\/[^\s]*[^\s.,;:!?])?`, 'gi');

/**
 * Addresses are said, not spelled: emails as "help at example dot com", links (bare or not) as
 * their domain — a caller cannot click, and a path read aloud helps nobody.
 */
function addresses(text: string): string {
  return text
    .replace(/\bmailto:/gi, '')
    .replace(EMAIL, (_all, local: string, host: string) => `${local.split('.').join(' dot ')} at ${spokenHost(host)}`)
    .replace(LINK, (url) => spokenHost(url.replace(/^https?:\/\//i, '').split(/[/?#:]/)[0] ?? ''))
    .replace(BARE_DOMAIN, (_all, host: string) => spokenHost(host));
}

/** Pictographs, flags, skin tones, variation selectors and joiners. */
const EMOJI =
  /\p{Extended_Pictographic}|[\u{1F1E6}-\u{1F1FF}]|[\u{1F3FB}-\u{1F3FF}]|\u{FE0F}|\u{200D}|\u{20E3}/gu;

const PER_UNITS: Readonly<Record<string, string>> = {
  mo: 'month', yr: 'year', wk: 'week', hr: 'hour', h: 'hour', min: 'minute', sec: 'second',
};
const PER =
  /\/\s?(month|mo|year|yr|week|wk|day|night|hour|hr|h|minute|min|second|sec|person|user|seat|item|unit)\b/gi;

/** Symbols and abbreviations a TTS engine reads badly or literally. */
function symbols(text: string): string {
  return text
    .replace(/&amp;/g, '&')
    .replace(/\s*&\s*/g, ' and ')
    .replace(/\b24\/7\b/g, 'twenty-four seven')
    .replace(/\band\/or\b/gi, 'and or')
    .replace(PER, (_all, unit: string) => ` per ${PER_UNITS[unit.toLowerCase()] ?? unit}`)
    .replace(/\b(\p{L}{2,})\/(\p{L}{2,})\b/gu, '$1 or $2')
    .replace(/#\s?(?=\d)/g, 'number ')
    .replace(/~\s?(?=\d)/g, 'about ')
    .replace(/\be\.g\.(?!\w)/gi, 'for example')
    .replace(/\bi\.e\.(?!\w)/gi, 'that is')
    .replace(/\betc\b/gi, 'et cetera')
    .replace(/\bvs\.?(?=\s)/gi, 'versus')
    .replace(/[*#]+/g, '')
    .replace(/_+/g, ' ');
}

/** A line break ends a spoken sentence: "- eggs\n- milk" reads "eggs. milk". */
function lineBreaks(text: string): string {
  return text.replace(/([^\s.!?:;,])[ \t]*(?:\r?\n)+/g, '$1. ').replace(/\s*\n\s*/g, ' ');
}

function tidy(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/\s+([,.!?;:])/g, '$1')
    .replace(/\(\s*\)/g, '')
    .trim();
}

/** Model output as text a voice can say. */
export function toSpeakable(text: string): string {
  const prose = lineBreaks(symbols(addresses(stripMarkdown(text)).replace(EMOJI, '')).trim());
  return tidy(speakNumbers(prose));
}
