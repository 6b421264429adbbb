import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinPhrases } from './domain-corpus.ts';

/**
 * A small bigram language model for pocketsphinx, built from what callers of this agent are
 * likely to say. The general en-us model (Debian's) is a poor fit for short phone turns — measured
 * here on espeak-ng speech, "where is my order" came out as "where we are too" with it and exactly
 * with a domain model — and it loads a 130,000-word dictionary into every call. The cost: speech
 * far outside the domain is forced onto domain words.
 */

/** Absolute discount of the bigram counts (the mass given to the unigram backoff). */
const DISCOUNT = 0.5;

/** Lowercase words, digits spelled out, punctuation dropped ("A12345?" → "a one two three four five"). */
export function normalisePhrase(text: string): string[] {
  const names = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
  return text
    .toLowerCase()
    .replace(/(\d)/g, ' $1 ')
    .replace(/\d/g, (d) => names[Number(d)]!)
    .replace(/[^a-z' ]+/g, ' ')
    .split(/\s+/)
    .filter((w) => w !== '' && w !== "'");
}

/** ARPA text of a bigram model over the sentences (only words `known` accepts). */
export function buildArpa(sentences: readonly string[], known: (word: string) => boolean): string {
  const uni = new Map<string, number>();
  const bi = new Map<string, number>();
  const add = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
  for (const sentence of sentences) {
    const words = ['<s>', ...normalisePhrase(sentence).filter(known), '</s>'];
    if (words.length === 2) continue;
    words.forEach((w) => add(uni, w));
    for (let i = 1; i < words.length; i++) add(bi, `${words[i - 1]} ${words[i]}`);
  }
  const total = [...uni.values()].reduce((a, b) => a + b, 0);
  const followers = new Map<string, { word: string; count: number }[]>();
  for (const [pair, count] of bi) {
    const [a, b] = pair.split(' ') as [string, string];
    followers.set(a, [...(followers.get(a) ?? []), { word: b, count }]);
  }
  const p1 = (w: string) => (w === '<s>' ? 0 : uni.get(w)! / total);
  const lines = ['\\data\\', `ngram 1=${uni.size}`, `ngram 2=${bi.size}`, '', '\\1-grams:'];
  for (const w of [...uni.keys()].sort()) {
    const prob = w === '<s>' ? '-99.0000' : Math.log10(p1(w)).toFixed(4);
    const next = followers.get(w);
    if (!next) {
      lines.push(`${prob} ${w}`);
      continue;
    }
    const seen = next.reduce((a, n) => a + n.count, 0);
    const reserved = (DISCOUNT * next.length) / seen;
    const unseenMass = Math.max(1e-9, 1 - next.reduce((a, n) => a + p1(n.word), 0));
    lines.push(`${prob} ${w} ${Math.log10(reserved / unseenMass).toFixed(4)}`);
  }
  lines.push('', '\\2-grams:');
  for (const [pair, count] of [...bi].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    const a = pair.split(' ')[0]!;
    const seen = followers.get(a)!.reduce((s, n) => s + n.count, 0);
    lines.push(`${Math.log10((count - DISCOUNT) / seen).toFixed(4)} ${pair}`);
  }
  lines.push('', '\\end\\', '');
  return lines.join('\n');
}

/** Pronunciations by word, from a CMU-format dictionary (`word PH ON EMES`, variants `word(2)`). */
function readDictionary(path: string): Map<string, string[]> {
  const entries = new Map<string, string[]>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const word = line.slice(0, space).replace(/\(\d+\)$/, '');
    entries.set(word, [...(entries.get(word) ?? []), line]);
  }
  return entries;
}

let dictionaryCache: { path: string; entries: Map<string, string[]> } | undefined;

/**
 * Writes (once, cached by content under the temp folder) the domain model and a dictionary of
 * just its words, and returns their paths for the decoder's `-lm` and `-dict`.
 */
export function domainModel(agentPhrases: readonly string[], fullDictionary: string, cacheDir = join(tmpdir(), 'operator-lm')): { lm: string; dict: string } {
  const sentences = [...builtinPhrases(), ...agentPhrases];
  const hash = createHash('sha256').update(fullDictionary).update('\0').update(sentences.join('\n')).digest('hex').slice(0, 16);
  const lm = join(cacheDir, `${hash}.lm`);
  const dict = join(cacheDir, `${hash}.dict`);
  if (existsSync(lm) && existsSync(dict)) return { lm, dict };
  if (dictionaryCache?.path !== fullDictionary) dictionaryCache = { path: fullDictionary, entries: readDictionary(fullDictionary) };
  const entries = dictionaryCache.entries;
  const arpa = buildArpa(sentences, (w) => entries.has(w));
  const words = new Set(arpa.split('\n').flatMap((l) => l.split(' ').slice(1, 3)).filter((w) => entries.has(w)));
  mkdirSync(cacheDir, { recursive: true });
  // Written under a temporary name and renamed: a concurrent call never reads half a file.
  const tmp = `.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(lm + tmp, arpa);
  writeFileSync(dict + tmp, [...words].sort().flatMap((w) => entries.get(w)!).join('\n') + '\n');
  renameSync(lm + tmp, lm);
  renameSync(dict + tmp, dict);
  return { lm, dict };
}
