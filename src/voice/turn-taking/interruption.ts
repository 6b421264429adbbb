/**
 * Barge-in: what to do when the caller speaks while the agent is talking.
 *
 * How others do it. LiveKit Agents (VAD mode) interrupts once speech lasts `min_duration` (0.5 s)
 * and optional `min_words`, and resumes a "false interruption" after 2 s without words; telling a
 * backchannel from a barge-in is a cloud-only model. Pipecat interrupts on VAD speech start by
 * default and never resumes, so a cough cancels the reply (pipecat#4308: silent bot). For both,
 * backchannels and noise stopping the agent are the most reported complaint.
 *
 * Ours splits the two effects, because one is cheap and the other is not:
 *
 * - `pause` (stop playback and send `clear`) is reversible. It happens as soon as speech has lasted
 *   `minSpeechMs` with no words yet, or with words that are not a backchannel — which meets the
 *   budget "caller onset → clear < VAD minimum speech window + 20 ms" (DESIGN.md).
 * - `interrupt` (abort the turn, cut history to what was heard: DESIGN.md rules 2 and 3) is not,
 *   so it needs evidence: at least one word that is neither a backchannel nor a filler, in an
 *   utterance of at least `minSpeechMs`. "Wait, stop" interrupts; "uh-huh" does not.
 * - `resume`: paused, but the speech ended and `falseInterruptionMs` of silence passed with no
 *   interrupting word (a cough, line noise, "mm-hmm"). The agent continues from where it was heard.
 * - `ignore`: a backchannel heard while the agent kept talking; for logs and metrics only.
 *
 * Utterances shorter than `minSpeechMs` never pause or interrupt, whatever the STT made of them
 * (a click transcribed as "the"). A backchannel that goes on for `maxBackchannelMs` pauses anyway:
 * the STT may still be catching up with "okay, but wait…".
 *
 * Pure: every input carries its time and returns the decisions it triggers; `decisionDeadline()`
 * says when to `poll` next. "Agent speaking" spans the agent's whole reply, including while this
 * policy holds it paused; the caller reports `agentSpeaking(false)` when the reply ends or aborts.
 * Transcripts are per utterance: partials replace each other, the final one may arrive after the
 * VAD's end of speech and still counts for that utterance.
 */
import { coveredByPhrases, meaningfulWords, phraseList, words, type PhraseList } from './words.ts';

export { meaningfulWords } from './words.ts';

export interface BargeInOptions {
  /**
   * Caller speech shorter than this never pauses or interrupts the agent. Times count from the
   * VAD's speech start: when the VAD only reports speech after its own minimum window, use 0.
   */
  minSpeechMs: number;
  /** Acknowledgements that let the agent keep talking. Matched as whole words, any case. */
  backchannelWords: readonly string[];
  /** After a pause that produced no interrupting word, silence before the agent resumes. */
  falseInterruptionMs: number;
  /** A backchannel-only utterance that lasts this long pauses the agent anyway. */
  maxBackchannelMs: number;
}

export const DEFAULT_BACKCHANNEL_WORDS: readonly string[] = Object.freeze([
  'uh-huh', 'uh huh', 'mm-hmm', 'mhm', 'okay', 'ok', 'right', 'yeah', 'yes', 'sure', 'got it',
  'i see', 'alright',
]);

export const DEFAULT_BARGE_IN: Readonly<BargeInOptions> = Object.freeze({
  minSpeechMs: 300,
  backchannelWords: DEFAULT_BACKCHANNEL_WORDS,
  falseInterruptionMs: 1500,
  maxBackchannelMs: 1000,
});

export type BargeInDecision =
  | { type: 'pause' }
  | { type: 'interrupt' }
  | { type: 'resume' }
  | { type: 'ignore' };

/**
 * True when `text` is only backchannel phrases ("uh-huh", "okay, got it") and fillers, with at
 * least one backchannel phrase.
 */
export function isBackchannel(text: string, backchannelWords: readonly string[]): boolean {
  return coveredByPhrases(words(text), phraseList(backchannelWords));
}

/** What an utterance said so far: nothing (noise, fillers), a backchannel, or real words. */
type Heard = 'nothing' | 'backchannel' | 'words';

interface Utterance {
  startMs: number;
  endMs: number | undefined;
  heard: Heard;
  /** Logged as `ignore` already. */
  ignored: boolean;
}

type AgentState = 'silent' | 'playing' | 'paused' | 'interrupted';

export class BargeInPolicy {
  readonly options: Readonly<BargeInOptions>;
  readonly #backchannels: PhraseList;
  #agent: AgentState = 'silent';
  #callerSpeaking = false;
  /** The caller's latest utterance during this reply; kept after it ends for its late final. */
  #utterance: Utterance | undefined;

  constructor(options: Partial<BargeInOptions> = {}) {
    this.options = Object.freeze({ ...DEFAULT_BARGE_IN, ...options });
    this.#backchannels = phraseList(this.options.backchannelWords);
  }

  /** The agent started (`true`) or ended (`false`) a reply. A new reply starts undisturbed. */
  agentSpeaking(speaking: boolean, atMs: number): BargeInDecision[] {
    this.#agent = speaking ? 'playing' : 'silent';
    this.#utterance = speaking && this.#callerSpeaking ? newUtterance(atMs) : undefined;
    return speaking ? this.#evaluate(atMs) : [];
  }

  speechStart(atMs: number): BargeInDecision[] {
    const out = this.#evaluate(atMs);
    this.#callerSpeaking = true;
    const open = this.#utterance !== undefined && this.#utterance.endMs === undefined;
    if (!open && (this.#agent === 'playing' || this.#agent === 'paused')) this.#utterance = newUtterance(atMs);
    return [...out, ...this.#evaluate(atMs)];
  }

  speechEnd(atMs: number): BargeInDecision[] {
    const out = this.#evaluate(atMs);
    this.#callerSpeaking = false;
    if (this.#utterance && this.#utterance.endMs === undefined) this.#utterance.endMs = atMs;
    return [...out, ...this.#evaluate(atMs)];
  }

  transcript(text: string, _final: boolean, atMs: number): BargeInDecision[] {
    const out = this.#evaluate(atMs);
    if (this.#utterance) this.#utterance.heard = this.#classify(text);
    return [...out, ...this.#evaluate(atMs)];
  }

  poll(nowMs: number): BargeInDecision[] {
    return this.#evaluate(nowMs);
  }

  /** Absolute time at which a decision falls due, or undefined when none is pending. */
  decisionDeadline(): number | undefined {
    const u = this.#utterance;
    if (!u) return undefined;
    if (this.#agent === 'playing' && u.endMs === undefined) return u.startMs + this.#pauseAfterMs(u);
    if (this.#agent === 'paused' && u.endMs !== undefined && !this.#callerSpeaking) {
      return u.endMs + this.options.falseInterruptionMs;
    }
    return undefined;
  }

  #classify(text: string): Heard {
    if (coveredByPhrases(words(text), this.#backchannels)) return 'backchannel';
    return meaningfulWords(text).length > 0 ? 'words' : 'nothing';
  }

  /** How long an utterance that is still going on may last before it pauses the agent. */
  #pauseAfterMs(u: Utterance): number {
    const { minSpeechMs, maxBackchannelMs } = this.options;
    return u.heard === 'backchannel' ? Math.max(minSpeechMs, maxBackchannelMs) : minSpeechMs;
  }

  /** Every decision due at `nowMs`, applied to the state. */
  #evaluate(nowMs: number): BargeInDecision[] {
    const u = this.#utterance;
    if (!u || (this.#agent !== 'playing' && this.#agent !== 'paused')) return [];
    const spokenMs = (u.endMs ?? nowMs) - u.startMs;
    if (u.heard === 'words' && spokenMs >= this.options.minSpeechMs) {
      const wasPlaying = this.#agent === 'playing';
      this.#agent = 'interrupted';
      return wasPlaying ? [{ type: 'pause' }, { type: 'interrupt' }] : [{ type: 'interrupt' }];
    }
    if (this.#agent === 'playing' && u.endMs === undefined && spokenMs >= this.#pauseAfterMs(u)) {
      this.#agent = 'paused';
      return [{ type: 'pause' }];
    }
    if (this.#agent === 'playing' && u.endMs !== undefined && u.heard === 'backchannel' && !u.ignored) {
      u.ignored = true;
      return [{ type: 'ignore' }];
    }
    const deadline = this.decisionDeadline();
    if (this.#agent === 'paused' && deadline !== undefined && nowMs >= deadline) {
      this.#agent = 'playing';
      this.#utterance = undefined;
      return [{ type: 'resume' }];
    }
    return [];
  }
}

function newUtterance(startMs: number): Utterance {
  return { startMs, endMs: undefined, heard: 'nothing', ignored: false };
}
