/**
 * An agent's voice settings as the runtime sees them (validated by `src/config/voice-schema.ts`).
 * Plain data: it crosses into the call's worker. Durations in ms.
 */

export type SttSpec =
  /**
   * `languageModel: domain` (default): a small model of what callers of this agent say (its tool
   * examples, greeting, transfer targets, `phrases`, and common customer-service turns); `general`:
   * the packaged en-us model.
   */
  | { engine: 'pocketsphinx'; modelDir?: string; languageModel: 'domain' | 'general'; phrases: string[] }
  | { engine: 'deepgram'; apiKey?: string; baseUrl?: string; model?: string; language?: string }
  | { engine: 'openai'; apiKey?: string; baseUrl?: string; model?: string; language?: string; prompt?: string }
  /**
   * Test double (src/voice/scripted.ts): each utterance is recognised as the next of `transcripts`
   * (then as nothing), after `latencyMs`; a transcript equal to `failOn` fails instead (`stt_failed`).
   */
  | { engine: 'scripted'; transcripts: string[]; latencyMs: number; failOn?: string };

export type TtsSpec =
  | { engine: 'espeak'; voice?: string; rate?: number }
  | { engine: 'cartesia'; apiKey?: string; baseUrl?: string; model?: string; voice?: string; language?: string }
  | { engine: 'openai'; apiKey?: string; baseUrl?: string; model?: string; voice?: string }
  /**
   * Test double: a tone as long as the text would take to say, after `latencyMs`. Text containing
   * `failOn` fails (`tts_failed`); text containing `stallOn` never produces audio.
   */
  | { engine: 'scripted'; latencyMs: number; failOn?: string; stallOn?: string };

export interface TransferTarget {
  /** E.164 number or `sip:` address. */
  to: string;
  description?: string;
}

export interface VoiceSettings {
  stt: SttSpec;
  tts: TtsSpec;
  /** `energy` is a level threshold (tests, or where onnxruntime cannot load). */
  vad: { engine: 'silero' | 'energy'; threshold: number; minSpeechMs: number; minSilenceMs: number };
  endpointing: { minSilenceMs: number; maxSilenceMs: number; questionSilenceMs: number };
  interruption: {
    enabled: boolean;
    /** Caller speech shorter than this never interrupts (the barge-in window). */
    minSpeechMs: number;
    backchannels: string[];
    /** Paused for speech that produced no words: resume after this much silence. */
    falseInterruptionMs: number;
  };
  silence: {
    /** Re-prompt a silent caller after this long (0 = never). */
    repromptMs: number;
    repromptText: string;
    /** End the call politely after this long without the caller saying anything. */
    hangupMs: number;
    goodbyeText: string;
  };
  /** Calls end after this long (0 = no limit). */
  maxDurationMs: number;
  /** Targets of the `transfer_call` tool, by name. */
  transfer: Record<string, TransferTarget>;
}

/** `collect_digits`: what to collect (the engine's tool) and what the call's keypad gave (the pipeline). */
export interface DigitRequest {
  /** Stop after this many digits. */
  count?: number;
  /** Stop at this key (not included in the result). */
  terminator?: string;
  /** Give up this long after the prompt finished playing, or after the last key. */
  timeoutMs: number;
}

export interface DigitResult {
  digits: string;
  /** `count` reached or terminator pressed (false: timed out). */
  complete: boolean;
}

/**
 * What callers say to the built-in call tools, by tool name: the engine offers them as the tools'
 * examples, the offline model matches callers' words against them, and the embedded recogniser's
 * domain language model learns them. Here so that the engine and the models layer share one list.
 */
export const CALL_TOOL_EXAMPLES: Readonly<Record<'transfer_call' | 'collect_digits', readonly string[]>> = Object.freeze({
  transfer_call: Object.freeze(['can I talk to a person', 'transfer me to a human', 'I want to speak to someone', 'put me through to a real person', 'connect me to an agent']),
  collect_digits: Object.freeze(['enter my account number', 'I will type it in', 'let me key in my PIN', 'I want to type my account number']),
});
