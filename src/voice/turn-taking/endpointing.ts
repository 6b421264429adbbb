/**
 * End of the caller's turn, decided from VAD silence and the words heard so far.
 *
 * A fixed silence timeout is the classic trade-off: short, and callers reading a phone number or
 * pausing after "and" get cut off (livekit/agents#3701, #3373); long, and every answer feels slow.
 * The words tell the two apart, so the silence needed depends on how the transcript ends:
 *
 * | transcript (rules in this order)                           | silence needed                     | rule                     |
 * | ---------------------------------------------------------- | ---------------------------------- | ------------------------ |
 * | ends in "…", "-" or "," (the STT heard a trailing pause)   | `minSilenceMs + incompleteExtraMs` | `incomplete_punctuation` |
 * | is a complete short answer ("yes", "that's right", "I do") | `quickSilenceMs`                   | `complete`               |
 * | ends in a conjunction, filler, article, preposition, "is"  | `minSilenceMs + incompleteExtraMs` | `incomplete_conjunction` |
 * | ends in a whole code of the agent's (`codePatterns`)       | `minSilenceMs`                     | `complete_code`          |
 * | ends in digits or characters still being dictated          | `minSilenceMs + incompleteExtraMs` | `incomplete_number`      |
 * | is a question ("…?", "where is my order", "can you…")      | `quickSilenceMs`                   | `question`               |
 * | anything else, or nothing transcribed yet                  | `minSilenceMs`                     | `default`                |
 *
 * Everything is capped at `maxSilenceMs`: no transcript keeps the line open longer. Because
 * unfinished endings are checked before questions, "what is" or "can you tell me about" wait like
 * any other unfinished phrase. The wording heuristics are English; other languages mostly get
 * `default` timing.
 *
 * Pure: the caller feeds VAD edges and transcripts with their times, asks {@link
 * Endpointer.decisionDeadline} when to look again, and polls then (DESIGN.md rule 6).
 */
import { normaliseTranscript } from '../transcript.ts';
import { coveredByPhrases, phraseList, words } from './words.ts';

export interface EndpointingOptions {
  /** Silence after speech that ends an ordinary turn. */
  minSilenceMs: number;
  /** Silence after a finished question or a complete short answer. */
  quickSilenceMs: number;
  /** Added to `minSilenceMs` when the caller is plainly mid-sentence or mid-number. */
  incompleteExtraMs: number;
  /** Upper bound on the silence any transcript can ask for. */
  maxSilenceMs: number;
  /**
   * Codes the agent's tools take whole (their string parameters' `pattern`s, e.g. `^[A-Z][0-9]{5}$`):
   * a transcript ending in one has finished its number. Without them, "where is my order A12345"
   * waited as if half dictated: 1.6 s, the embedded end-to-end benchmark's whole p95.
   */
  codePatterns?: readonly RegExp[];
}

export const DEFAULT_ENDPOINTING: Readonly<EndpointingOptions> = Object.freeze({
  minSilenceMs: 500,
  quickSilenceMs: 350,
  incompleteExtraMs: 1300,
  maxSilenceMs: 1800,
});

export type SilenceRule =
  | 'question'
  | 'complete'
  | 'incomplete_conjunction'
  | 'incomplete_punctuation'
  | 'incomplete_number'
  | 'complete_code'
  | 'default';

export interface RequiredSilence {
  ms: number;
  reason: SilenceRule;
}

/** Words after which an English sentence cannot end. */
const TRAILING_INCOMPLETE: ReadonlySet<string> = new Set([
  // conjunctions
  'and', 'but', 'or', 'so', 'because', 'cause', 'cuz', 'if', 'then', 'than', 'when', 'while',
  'although', 'though', 'unless', 'until', 'whether', 'plus', 'nor',
  // fillers and hedges
  'um', 'umm', 'uh', 'uhh', 'uhm', 'er', 'erm', 'ah', 'like',
  // articles, possessives, determiners
  'the', 'a', 'an', 'my', 'your', 'our', 'their', 'his', 'its', 'this', 'these', 'those', 'some',
  'any', 'every', 'each', 'another',
  // prepositions
  'to', 'of', 'for', 'with', 'from', 'in', 'on', 'at', 'by', 'about', 'into', 'onto', 'as',
  // copulas ("my name is…"); other auxiliaries end answers too often ("yes I can", "I do")
  'is', 'are', 'was', 'were',
  // subject pronouns that open a clause
  'i', "i'm", "i'd", "i'll", "i've", "we're", "let's",
]);

const QUESTION_WORDS: ReadonlySet<string> = new Set([
  'what', "what's", 'where', "where's", 'when', "when's", 'why', 'who', "who's", 'whom', 'whose',
  'how', "how's", 'which',
]);

const QUESTION_AUXILIARIES: ReadonlySet<string> = new Set([
  'can', 'could', 'would', 'will', 'shall', 'should', 'may', 'do', 'does', 'did', 'is', 'are',
  'was', 'were', 'am', 'have', 'has', "can't", "won't", "don't", "doesn't", "didn't", "isn't",
  "aren't", "wasn't", "haven't", "hasn't", "couldn't", "wouldn't", "shouldn't",
]);

/** After a question auxiliary, a subject makes a question: "can you", "is there", "do I". */
const QUESTION_SUBJECTS: ReadonlySet<string> = new Set([
  'you', 'i', 'we', 'they', 'he', 'she', 'it', 'there', 'this', 'that', 'my', 'your', 'the',
  'someone', 'somebody', 'anyone', 'anybody',
]);

/** A subject right after a wh-word makes a clause, not a question: "what I need", "where we live". */
const CLAUSE_SUBJECTS: ReadonlySet<string> = new Set(['i', 'you', 'we', 'they', 'he', 'she', 'it']);

const COMPLETE_ANSWERS = phraseList([
  'yes', 'yeah', 'yep', 'yup', 'no', 'nope', 'nah', 'sure', 'okay', 'ok', 'right', 'correct',
  // "on" would otherwise read as a preposition still waiting for its noun. ("wait" and "stop" are
  // not here: "wait, stop please" was cut after "wait".)
  'hold on', 'hang on', 'one moment', 'one second', 'just a moment',
  'exactly', 'absolutely', 'definitely', 'of course', 'perfect', 'great', 'fine', 'alright',
  'all right', 'please', 'yes please', 'no thanks', 'no thank you', 'thank you', 'thanks',
  'thank you so much', 'thanks a lot', "that's right", "that's correct", "that's it",
  "that's all", "that's fine", 'that works', 'sounds good', 'got it', 'i see', "i don't know",
  'not really', 'nothing else', 'never mind', 'bye', 'goodbye', 'bye bye', 'hello', 'hi', 'hey',
  'it is', "it isn't", 'it does', "it doesn't", 'i do', "i don't", 'i did', "i didn't",
  'i think so', 'i hope so', 'i guess so', "i don't think so", 'okay then',
]);

/** Words that announce something to be dictated: "my account number is…", "the zip is…". */
const NUMBER_CUES: ReadonlySet<string> = new Set([
  'number', 'numbers', 'account', 'phone', 'order', 'zip', 'postcode', 'code', 'pin', 'id',
  'digits', 'extension', 'card', 'reference', 'confirmation', 'ticket', 'case', 'member',
  'policy', 'routing', 'tracking', 'serial',
]);

/** Digit words of a dictated code: "five five five", "double one", "oh". */
const SPELLED_DIGITS: ReadonlySet<string> = new Set([
  'zero', 'oh', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine',
  'double', 'triple',
]);

const NUMBER_WORDS: ReadonlySet<string> = new Set([
  ...SPELLED_DIGITS, 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen',
  'seventeen', 'eighteen', 'nineteen', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy',
  'eighty', 'ninety', 'hundred', 'thousand',
]);

const isDigits = (w: string): boolean => /^\d+$/.test(w);
const isLetter = (w: string): boolean => /^\p{L}$/u.test(w);
const isNumeric = (w: string): boolean => isDigits(w) || NUMBER_WORDS.has(w);
/** A piece of a dictated code: a digit group, a digit word or a letter ("A", "five", "555"). */
const isCodePart = (w: string): boolean => isDigits(w) || SPELLED_DIGITS.has(w) || isLetter(w);

/**
 * "5 5 5 1", "A one two", "555 0100", "my order number is 12345": the caller is reading out a
 * code and may pause between groups. A lone quantity ("I'm 42", "twenty five") is not dictation.
 */
function isDictatingNumber(ws: readonly string[]): boolean {
  let start = ws.length;
  while (start > 0 && (isNumeric(ws[start - 1] ?? '') || isLetter(ws[start - 1] ?? ''))) start--;
  const run = ws.slice(start);
  if (!run.some(isNumeric)) return false;
  if (run.filter(isCodePart).length >= 2) return true;
  return ws.slice(Math.max(0, start - 3), start).some((w) => NUMBER_CUES.has(w));
}

function isQuestion(text: string, ws: readonly string[]): boolean {
  if (/\?["')\]]*$/.test(text)) return true;
  const [first = '', second] = ws;
  if (QUESTION_WORDS.has(first)) return second === undefined || !CLAUSE_SUBJECTS.has(second);
  return QUESTION_AUXILIARIES.has(first) && second !== undefined && QUESTION_SUBJECTS.has(second);
}

/** Whether the transcript's last token, digits spelled out or not ("a one two three four five"), is a whole code. */
function endsInWholeCode(text: string, patterns: readonly RegExp[]): boolean {
  if (patterns.length === 0) return false;
  const tokens = normaliseTranscript(text).replace(/[.?!,;:'")\]]+$/, '').split(/\s+/);
  // "A 12345", "555 0100": the code may come in groups.
  for (let n = 1; n <= Math.min(3, tokens.length); n++) {
    const code = tokens.slice(-n).join('');
    if (/\d/.test(code) && patterns.some((p) => p.test(code) || p.test(code.toUpperCase()))) return true;
  }
  return false;
}

/** A tool parameter's JSON Schema `pattern` as a whole-token test; undefined when it does not compile. */
export function codePattern(pattern: string): RegExp | undefined {
  try {
    return new RegExp(/^\^.*\$$/.test(pattern) ? pattern : `^(?:${pattern})$`, 'u');
  } catch {
    return undefined;
  }
}

/** Which rule applies to a transcript; {@link requiredSilenceMs} turns it into milliseconds. */
export function silenceRule(transcript: string, codePatterns: readonly RegExp[] = []): SilenceRule {
  const text = transcript.trim();
  const ws = words(text);
  if (ws.length === 0) return 'default';
  if (/(\.\.\.|…|[-–—,])$/.test(text)) return 'incomplete_punctuation';
  if (coveredByPhrases(ws, COMPLETE_ANSWERS)) return 'complete';
  if (TRAILING_INCOMPLETE.has(ws[ws.length - 1] ?? '') && !text.endsWith('?')) {
    return 'incomplete_conjunction';
  }
  if (isDictatingNumber(ws)) return endsInWholeCode(text, codePatterns) ? 'complete_code' : 'incomplete_number';
  if (isQuestion(text, ws)) return 'question';
  return 'default';
}

/** The silence after the caller's speech that ends the turn, given what they have said so far. */
export function requiredSilenceMs(
  transcript: string,
  opts: EndpointingOptions = DEFAULT_ENDPOINTING,
): RequiredSilence {
  const reason = silenceRule(transcript, opts.codePatterns);
  const raw =
    reason === 'question' || reason === 'complete'
      ? opts.quickSilenceMs
      : reason === 'default' || reason === 'complete_code'
        ? opts.minSilenceMs
        : opts.minSilenceMs + opts.incompleteExtraMs;
  return { ms: Math.max(0, Math.min(raw, opts.maxSilenceMs)), reason };
}

/** `silence`: the transcript's silence passed. `max_silence`: it asked for the cap, and got it. */
export type EndOfTurnReason = 'silence' | 'max_silence';

export interface EndpointDecision {
  endOfTurn: boolean;
  reason?: EndOfTurnReason;
  /** Which transcript rule set the silence; absent while no decision is pending. */
  rule?: SilenceRule;
  /** Milliseconds until the decision; 0 once made, `Infinity` while the caller speaks or before speech. */
  waitMs: number;
}

/**
 * One caller turn. Transcripts are per utterance (one VAD speech segment): partials replace each
 * other, a final one is appended to the turn. `reset()` once the turn is taken.
 */
export class Endpointer {
  readonly options: Readonly<EndpointingOptions>;
  #speaking = false;
  #speechEndMs: number | undefined;
  #finals: string[] = [];
  #partial = '';
  #required: RequiredSilence;

  constructor(options: Partial<EndpointingOptions> = {}) {
    this.options = Object.freeze({ ...DEFAULT_ENDPOINTING, ...options });
    this.#required = requiredSilenceMs('', this.options);
  }

  /** Everything the caller said in this turn, finals then the current partial. */
  get turnText(): string {
    return [...this.#finals, this.#partial].filter((t) => t.length > 0).join(' ');
  }

  onSpeechStart(_atMs: number): void {
    this.#speaking = true;
    this.#speechEndMs = undefined;
  }

  onSpeechEnd(atMs: number): void {
    this.#speaking = false;
    this.#speechEndMs = atMs;
  }

  /**
   * A transcript of the current utterance. Text that arrives with no VAD speech at all (speech
   * too quiet for the VAD) counts as speech that ended when it arrived.
   */
  onTranscript(text: string, final: boolean, atMs: number): void {
    const trimmed = text.trim();
    if (final) {
      if (trimmed.length > 0) this.#finals.push(trimmed);
      this.#partial = '';
    } else {
      this.#partial = trimmed;
    }
    if (!this.#speaking && this.#speechEndMs === undefined && trimmed.length > 0) {
      this.#speechEndMs = atMs;
    }
    this.#required = requiredSilenceMs(this.turnText, this.options);
  }

  /** Absolute time at which the decision falls due, or undefined when none is pending. */
  decisionDeadline(): number | undefined {
    if (this.#speaking || this.#speechEndMs === undefined) return undefined;
    return this.#speechEndMs + this.#required.ms;
  }

  /** Once due, the decision stays `endOfTurn` until the caller speaks again or `reset()`. */
  poll(nowMs: number): EndpointDecision {
    const deadline = this.decisionDeadline();
    if (deadline === undefined) return { endOfTurn: false, waitMs: Number.POSITIVE_INFINITY };
    const rule = this.#required.reason;
    if (nowMs < deadline) return { endOfTurn: false, rule, waitMs: deadline - nowMs };
    const reason = this.#required.ms >= this.options.maxSilenceMs ? 'max_silence' : 'silence';
    return { endOfTurn: true, reason, rule, waitMs: 0 };
  }

  reset(): void {
    this.#speaking = false;
    this.#speechEndMs = undefined;
    this.#finals = [];
    this.#partial = '';
    this.#required = requiredSilenceMs('', this.options);
  }
}
