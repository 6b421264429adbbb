import { z } from 'zod';
import type { VoiceSettings } from '../core/voice.ts';
import { duration } from './duration-schema.ts';

/** An agent's `voice:` block (docs/configuration.md#voice). Every key has a working default. */

/** What every cloud engine takes: its key (or the vendor's env variable), base URL and model. */
const cloud = {
  apiKey: z.string().optional(),
  baseUrl: z.url().optional(),
  model: z.string().optional(),
};

const stt = z.discriminatedUnion('engine', [
  z
    .object({
      engine: z.literal('pocketsphinx'),
      modelDir: z.string().optional(),
      languageModel: z.enum(['domain', 'general']).default('domain'),
      /** Extra phrases callers say (product names, menu options), for the domain model. */
      phrases: z.array(z.string().min(1).max(200)).max(2000).default([]),
    })
    .strict(),
  z.object({ engine: z.literal('deepgram'), ...cloud, language: z.string().optional() }).strict(),
  /** `prompt`: vocabulary to bias the transcription (product names). */
  z.object({ engine: z.literal('openai'), ...cloud, language: z.string().optional(), prompt: z.string().optional() }).strict(),
  z
    .object({
      engine: z.literal('scripted'),
      transcripts: z.array(z.string()).default([]),
      latencyMs: z.number().int().min(0).default(0),
      failOn: z.string().optional(),
    })
    .strict(),
]);

const tts = z.discriminatedUnion('engine', [
  z.object({ engine: z.literal('espeak'), voice: z.string().optional(), rate: z.number().int().min(80).max(450).optional() }).strict(),
  z.object({ engine: z.literal('cartesia'), ...cloud, voice: z.string().optional(), language: z.string().optional() }).strict(),
  z.object({ engine: z.literal('openai'), ...cloud, voice: z.string().optional() }).strict(),
  z
    .object({
      engine: z.literal('scripted'),
      latencyMs: z.number().int().min(0).default(0),
      failOn: z.string().optional(),
      stallOn: z.string().optional(),
    })
    .strict(),
]);

const target = z
  .union([
    z.string(),
    z.object({ to: z.string(), description: z.string().optional() }).strict(),
  ])
  .transform((t) => (typeof t === 'string' ? { to: t } : t))
  .refine((t) => /^\+[1-9][0-9]{6,14}$/.test(t.to) || /^sips?:[^\s@]+@[^\s]+$/.test(t.to), {
    message: 'must be an E.164 number like +15550100 or a SIP address like sip:agent@pbx.example.com',
  });

export const voiceSchema = z
  .object({
    stt: stt.default({ engine: 'pocketsphinx', languageModel: 'domain', phrases: [] }),
    tts: tts.default({ engine: 'espeak' }),
    vad: z
      .object({
        engine: z.enum(['silero', 'energy']).default('silero'),
        threshold: z.number().min(0.05).max(0.95).default(0.5),
        minSpeech: duration.default(150),
        minSilence: duration.default(250),
      })
      .strict()
      .prefault({}),
    endpointing: z
      .object({
        /** Silence after speech that ends a turn when the words sound finished. */
        minSilence: duration.default(500),
        /** An unfinished sentence ("and…", half a number) waits up to this long. */
        maxSilence: duration.default(1600),
        /** A finished question goes sooner. */
        questionSilence: duration.default(350),
      })
      .strict()
      .prefault({}),
    interruption: z
      .object({
        enabled: z.boolean().default(true),
        minSpeech: duration.default(300),
        backchannels: z
          .array(z.string().min(1))
          .default(['uh-huh', 'uh huh', 'mm-hmm', 'mhm', 'okay', 'ok', 'right', 'yeah', 'yes', 'sure', 'got it', 'i see', 'alright']),
        falseInterruption: duration.default(1500),
      })
      .strict()
      .prefault({}),
    silence: z
      .object({
        reprompt: duration.default(8000),
        repromptText: z.string().min(1).default('Are you still there?'),
        hangup: duration.default(30_000),
        goodbyeText: z.string().min(1).default("I haven't heard from you, so I'll end the call now. Goodbye!"),
      })
      .strict()
      .prefault({}),
    maxDuration: duration.default(30 * 60_000),
    transfer: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'target names use a-z, 0-9, _ and -'), target).default({}),
  })
  .strict()
  .prefault({});

export type ParsedVoice = z.output<typeof voiceSchema>;

/** The runtime's shape of a parsed `voice:` block. */
export function toVoiceSettings(v: ParsedVoice): VoiceSettings {
  return {
    stt: v.stt,
    tts: v.tts,
    vad: { engine: v.vad.engine, threshold: v.vad.threshold, minSpeechMs: v.vad.minSpeech, minSilenceMs: v.vad.minSilence },
    endpointing: {
      minSilenceMs: v.endpointing.minSilence,
      maxSilenceMs: v.endpointing.maxSilence,
      questionSilenceMs: v.endpointing.questionSilence,
    },
    interruption: {
      enabled: v.interruption.enabled,
      minSpeechMs: v.interruption.minSpeech,
      backchannels: v.interruption.backchannels,
      falseInterruptionMs: v.interruption.falseInterruption,
    },
    silence: {
      repromptMs: v.silence.reprompt,
      repromptText: v.silence.repromptText,
      hangupMs: v.silence.hangup,
      goodbyeText: v.silence.goodbyeText,
    },
    maxDurationMs: v.maxDuration,
    transfer: v.transfer,
  };
}

/** Every default of the `voice:` block (an agent that has none). */
export function defaultVoiceSettings(): VoiceSettings {
  return toVoiceSettings(voiceSchema.parse(undefined));
}
