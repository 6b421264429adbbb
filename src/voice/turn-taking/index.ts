/**
 * Spoken turn-taking, as pure decisions: when the caller's turn ends (endpointing), what the
 * caller's speech does to the agent's (barge-in), and how the agent's text is cut and worded for
 * TTS. No I/O and no clock: inputs carry their times in milliseconds (DESIGN.md rule 6).
 */
export {
  DEFAULT_ENDPOINTING,
  Endpointer,
  codePattern,
  requiredSilenceMs,
  silenceRule,
  type EndOfTurnReason,
  type EndpointDecision,
  type EndpointingOptions,
  type RequiredSilence,
  type SilenceRule,
} from './endpointing.ts';
export {
  BargeInPolicy,
  DEFAULT_BACKCHANNEL_WORDS,
  DEFAULT_BARGE_IN,
  isBackchannel,
  meaningfulWords,
  type BargeInDecision,
  type BargeInOptions,
} from './interruption.ts';
export { DEFAULT_SENTENCE_CHUNKER, SentenceChunker, type SentenceChunkerOptions } from './sentences.ts';
export { toSpeakable } from './speakable.ts';
export { digitWords, integerWords, numberWords, ordinalWords, yearWords } from './number-words.ts';
export { FILLER_WORDS, words } from './words.ts';
