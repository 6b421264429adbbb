/**
 * Streaming sentence chunker for TTS: model deltas in, speakable pieces out as soon as they are
 * complete. TTS engines sound best on whole sentences, and the first audio should start early.
 *
 * A chunk ends at ". ! ? ; :" followed by whitespace, or at a line break. Not at:
 * - dots and colons inside a token: "3.5", "10:30", "A12.345", "example.com", "a@b.co"
 *   (the whitespace rule covers them);
 * - abbreviations: "Mr. Smith", "e.g. this", "Dr.", "St.", "No. 5"; initials "J. Smith", "U.S.";
 *   "etc." and an ellipsis end a sentence only when the next word is capitalised;
 * - a numbered-list marker at the start of a line: "1. Open the app".
 * The first chunk may end early at a comma once it has `firstChunkMinChars`, so audio starts
 * sooner. A run longer than `maxChars` without a sentence end is cut at its last comma, else its
 * last space. Chunks are trimmed; chunks with nothing to say (no letter or digit: "", ".", "---")
 * are dropped.
 */

export interface SentenceChunkerOptions {
  /** The first chunk may end at a comma once it is this long. */
  firstChunkMinChars: number;
  /** Longer runs without a sentence end are cut at a comma or a space. */
  maxChars: number;
}

export const DEFAULT_SENTENCE_CHUNKER: Readonly<SentenceChunkerOptions> = Object.freeze({
  firstChunkMinChars: 40,
  maxChars: 200,
});

/** Never end a sentence, whatever follows. Lowercase, without the final dot. */
const ABBREVIATIONS: ReadonlySet<string> = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'st', 'sr', 'jr', 'mt', 'ft', 'vs', 'e.g', 'i.e', 'approx',
  'dept', 'tel', 'ext', 'ave', 'blvd', 'apt', 'fig', 'cf',
]);

const TERMINATORS = '.!?;:…';
/** Characters that belong to the sentence they follow: closing quotes, brackets, emphasis. */
const CLOSERS = `"')]}”’»*_`;

type Verdict = 'end' | 'not_end' | 'need_more';

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);

export class SentenceChunker {
  readonly options: Readonly<SentenceChunkerOptions>;
  #buffer = '';
  /** Everything before this index in the buffer has been ruled out as a chunk end. */
  #scanned = 0;
  #emittedAny = false;

  constructor(options: Partial<SentenceChunkerOptions> = {}) {
    this.options = Object.freeze({ ...DEFAULT_SENTENCE_CHUNKER, ...options });
  }

  /** Adds model text; returns the sentences it completed, in order. */
  push(delta: string): string[] {
    this.#buffer += delta;
    return this.#drain(false);
  }

  /** End of the reply: returns what is left, split as if the text ended here. */
  flush(): string[] {
    const out = this.#drain(true);
    this.#take(this.#buffer.length, out);
    this.reset();
    return out;
  }

  reset(): void {
    this.#buffer = '';
    this.#scanned = 0;
    this.#emittedAny = false;
  }

  #drain(atEnd: boolean): string[] {
    const out: string[] = [];
    for (let cut = this.#nextCut(atEnd); cut !== undefined; cut = this.#nextCut(atEnd)) {
      this.#take(cut, out);
    }
    return out;
  }

  #take(cut: number, out: string[]): void {
    const chunk = this.#buffer.slice(0, cut).trim();
    this.#buffer = this.#buffer.slice(cut);
    this.#scanned = 0;
    if (!/[\p{L}\p{N}]/u.test(chunk)) return;
    out.push(chunk);
    this.#emittedAny = true;
  }

  /**
   * Index just past the next chunk's end, or undefined when more text is needed. A sentence end
   * past `maxChars` loses to the long-run cut, so the result does not depend on how the text was
   * split into deltas.
   */
  #nextCut(atEnd: boolean): number | undefined {
    const end = this.#nextSentenceEnd(atEnd);
    return this.#longCut(end ?? this.#buffer.length) ?? end;
  }

  #nextSentenceEnd(atEnd: boolean): number | undefined {
    const buf = this.#buffer;
    let i = this.#scanned;
    for (; i < buf.length; i++) {
      const c = buf[i] ?? '';
      if (c === '\n') return i + 1;
      if (TERMINATORS.includes(c)) {
        const end = closersEnd(buf, i + 1);
        const verdict = sentenceEndAt(buf, i, end, atEnd);
        if (verdict === 'end') return end;
        if (verdict === 'need_more') break;
        i = end - 1;
      } else if (c === ',') {
        const verdict = this.#earlyComma(buf, i);
        if (verdict === 'end') return i + 1;
        if (verdict === 'need_more') break;
      }
    }
    this.#scanned = i;
    return undefined;
  }

  /** The first chunk may end at a comma followed by a space once it is long enough. */
  #earlyComma(buf: string, i: number): Verdict {
    if (this.#emittedAny || buf.slice(0, i + 1).trimStart().length < this.options.firstChunkMinChars) {
      return 'not_end';
    }
    if (i + 1 >= buf.length) return 'need_more';
    return isSpace(buf[i + 1]) ? 'end' : 'not_end';
  }

  /** A cut for a chunk (up to `limit`) longer than `maxChars`: its last comma, else its last space. */
  #longCut(limit: number): number | undefined {
    const { maxChars } = this.options;
    const text = this.#buffer.trimStart();
    const offset = this.#buffer.length - text.length;
    if (limit - offset <= maxChars) return undefined;
    const window = text.slice(0, maxChars);
    const comma = window.lastIndexOf(', ');
    if (comma > 0) return offset + comma + 1;
    const space = window.lastIndexOf(' ');
    if (space > 0) return offset + space;
    const next = text.slice(maxChars).search(/\s/);
    return next < 0 ? undefined : offset + maxChars + next;
  }
}

/** Index after the terminators and closing marks that run on from `from`. */
function closersEnd(buf: string, from: number): number {
  let end = from;
  while (end < buf.length && (TERMINATORS.includes(buf[end] ?? '') || CLOSERS.includes(buf[end] ?? ''))) end++;
  return end;
}

/**
 * Whether the terminator at `i` (with its run up to `end`) ends a sentence. `need_more` when the
 * answer depends on text that has not arrived yet.
 */
function sentenceEndAt(buf: string, i: number, end: number, atEnd: boolean): Verdict {
  if (end >= buf.length) return atEnd ? 'end' : 'need_more';
  if (!isSpace(buf[end])) return 'not_end';
  const run = buf.slice(i, end);
  if (run.includes('...') || run.includes('…')) return nextIsCapital(buf, end, atEnd);
  if (!/^\.[^.!?;:]*$/.test(run)) return 'end';
  const word = wordBefore(buf, i);
  if (word === 'etc') return nextIsCapital(buf, end, atEnd);
  if (word === 'no') return nextIsDigit(buf, end, atEnd);
  if (ABBREVIATIONS.has(word) || isInitials(buf, i, word) || isListMarker(buf, i)) return 'not_end';
  return 'end';
}

function nextNonSpace(buf: string, from: number): { char: string | undefined; newline: boolean } {
  const rest = buf.slice(from);
  const k = rest.search(/\S/);
  return { char: k < 0 ? undefined : rest[k], newline: rest.slice(0, k < 0 ? rest.length : k).includes('\n') };
}

/** "No. 5" is a number; "the answer is no. We" ends a sentence. */
function nextIsDigit(buf: string, from: number, atEnd: boolean): Verdict {
  const next = nextNonSpace(buf, from);
  if (next.char === undefined) return atEnd ? 'end' : 'need_more';
  return /\d/.test(next.char) && !next.newline ? 'not_end' : 'end';
}

/** An ellipsis or "etc." ends a sentence only before a capital: "Well... I see" vs "well... maybe". */
function nextIsCapital(buf: string, from: number, atEnd: boolean): Verdict {
  const next = nextNonSpace(buf, from);
  if (next.char === undefined) return atEnd ? 'end' : 'need_more';
  return next.newline || /[\p{Lu}\d"“]/u.test(next.char) ? 'end' : 'not_end';
}

/** "J. Smith", "U.S. law": capital initials, never a sentence end. */
function isInitials(buf: string, i: number, word: string): boolean {
  return /^(\p{L}\.)*\p{L}$/u.test(word) && /\p{Lu}/u.test(buf[i - 1] ?? '');
}

/** The word (letters and inner dots) right before index `i`, lowercased: "e.g", "mr", "j". */
function wordBefore(buf: string, i: number): string {
  const match = /[\p{L}][\p{L}.]*$/u.exec(buf.slice(Math.max(0, i - 12), i));
  return (match?.[0] ?? '').toLowerCase();
}

/** "1." (or "12.") alone at the start of a line. */
function isListMarker(buf: string, i: number): boolean {
  const lineStart = buf.lastIndexOf('\n', i - 1) + 1;
  return /^\s*\d{1,3}$/.test(buf.slice(lineStart, i));
}
