/**
 * Word-level reading of transcripts, shared by endpointing and barge-in. Transcripts come from
 * different STT engines with different casing, punctuation and hyphenation ("uh-huh", "Uh huh.",
 * "uh huh"), so everything is compared as lists of lowercase words.
 */

/**
 * Hesitation sounds. They carry no meaning on their own: an utterance made only of these is noise
 * for barge-in, and a trailing one means the caller is still thinking.
 */
export const FILLER_WORDS: ReadonlySet<string> = new Set([
  'um', 'umm', 'uh', 'uhh', 'uhm', 'er', 'erm', 'ah', 'ahh', 'eh', 'hm', 'hmm', 'mm', 'mmm', 'huh',
]);

/**
 * Lowercase words of `text`, punctuation stripped. Apostrophes stay inside words ("that's");
 * hyphens separate words, so "uh-huh" and "uh huh" read the same.
 */
export function words(text: string): string[] {
  return text.toLowerCase().replace(/[’‘`]/g, "'").match(/[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*/gu) ?? [];
}

/** Words of `text` that are not fillers ("um", "uh", "hmm"…). */
export function meaningfulWords(text: string): string[] {
  return words(text).filter((w) => !FILLER_WORDS.has(w));
}

/** A phrase list, pre-split into words and longest first so that matching is greedy. */
export type PhraseList = readonly (readonly string[])[];

export function phraseList(phrases: readonly string[]): PhraseList {
  return phrases
    .map((p) => words(p))
    .filter((p) => p.length > 0)
    .sort((a, b) => b.length - a.length);
}

function matchesAt(ws: readonly string[], at: number, phrase: readonly string[]): boolean {
  return phrase.every((w, k) => ws[at + k] === w);
}

/**
 * True when `ws` is made only of phrases from `list` (repeats allowed: "okay okay", "yeah, right")
 * and fillers, with at least one phrase. Greedy longest match, which is enough for short lists of
 * short phrases.
 */
export function coveredByPhrases(ws: readonly string[], list: PhraseList): boolean {
  let phrases = 0;
  let i = 0;
  while (i < ws.length) {
    const phrase = list.find((p) => matchesAt(ws, i, p));
    if (phrase) {
      phrases++;
      i += phrase.length;
    } else if (FILLER_WORDS.has(ws[i] ?? '')) {
      i++;
    } else {
      return false;
    }
  }
  return phrases > 0;
}
