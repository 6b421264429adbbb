import type { MessagePort } from 'node:worker_threads';
import type { Clock } from '../core/clock.ts';
import { OperatorError } from '../core/errors.ts';
import type { SttSpec, TtsSpec, VoiceSettings } from '../core/voice.ts';
import { ScriptedStt, ScriptedTts } from './scripted.ts';
import { Endpointer, codePattern } from './turn-taking/endpointing.ts';
import type { SttEngine, TtsEngine } from './types.ts';
import { SpeechDetector, createVad, type Vad } from './vad/index.ts';
import { PIPELINE_RATE } from './types.ts';

/** One call's engines, made from the agent's `voice:` settings. */
export interface SpeechEngines {
  stt: SttEngine;
  tts: TtsEngine;
  vad: Vad;
  detector: SpeechDetector;
  endpointer: Endpointer;
  /** Fallbacks in use, for the log (e.g. the energy VAD because onnxruntime could not load). */
  notes: string[];
  close(): Promise<void>;
}

export interface EngineContext {
  clock: Clock;
  /** A port to the process's espeak-ng host (`tts.engine: espeak`). */
  espeakPort?: MessagePort;
  env?: NodeJS.ProcessEnv;
  /** What callers of this agent say (tool examples, greeting…), for the embedded recogniser's domain model. */
  phrases?: string[];
  /** `pattern`s of the agent's tools' string parameters: codes the endpointer knows complete. */
  codePatterns?: string[];
  /** The caller's audio came through a phone line (8 kHz): the embedded recogniser adapts to it. */
  band?: 'wide' | 'phone';
}

function key(given: string | undefined, envName: string, env: NodeJS.ProcessEnv, what: string): string {
  const k = given ?? env[envName];
  if (!k) throw new OperatorError('invalid_request', 'speech_key_missing', `${what} needs an API key: set apiKey in the agent's voice config or ${envName}`);
  return k;
}

/** Cloud engines are imported on demand: a call that does not use them does not load them. */
export async function createStt(spec: SttSpec, ctx: EngineContext): Promise<SttEngine> {
  const env = ctx.env ?? process.env;
  switch (spec.engine) {
    case 'pocketsphinx': {
      const [{ PocketsphinxStt }, { resolveModel }, { domainModel }] = await Promise.all([
        import('./stt/pocketsphinx.ts'),
        import('./stt/pocketsphinx-native.ts'),
        import('./stt/domain-lm.ts'),
      ]);
      const base = spec.modelDir ? { modelDir: spec.modelDir } : {};
      const domain = spec.languageModel === 'domain' ? domainModel([...(ctx.phrases ?? []), ...spec.phrases], resolveModel(base).dict) : {};
      return PocketsphinxStt.create({ ...base, ...domain, sampleRate: PIPELINE_RATE, band: ctx.band ?? 'wide' });
    }
    case 'deepgram': {
      const { DeepgramStt } = await import('./stt/deepgram.ts');
      return new DeepgramStt({ ...spec, apiKey: key(spec.apiKey, 'DEEPGRAM_API_KEY', env, 'Deepgram'), sampleRate: PIPELINE_RATE, clock: ctx.clock });
    }
    case 'openai': {
      const { OpenAiStt } = await import('./stt/openai.ts');
      return new OpenAiStt({ ...spec, apiKey: key(spec.apiKey, 'OPENAI_API_KEY', env, 'OpenAI speech-to-text'), clock: ctx.clock });
    }
    case 'scripted':
      return new ScriptedStt({ ...spec, clock: ctx.clock });
  }
}

export async function createTts(spec: TtsSpec, ctx: EngineContext): Promise<TtsEngine> {
  const env = ctx.env ?? process.env;
  switch (spec.engine) {
    case 'espeak': {
      if (!ctx.espeakPort) throw new OperatorError('server', 'tts_unavailable', 'the espeak-ng speech host is not running');
      const { EspeakTts } = await import('./tts/espeak.ts');
      return new EspeakTts(ctx.espeakPort, { ...(spec.voice ? { voice: spec.voice } : {}), ...(spec.rate ? { rate: spec.rate } : {}) });
    }
    case 'cartesia': {
      const { CartesiaTts } = await import('./tts/cartesia.ts');
      return new CartesiaTts({ ...spec, apiKey: key(spec.apiKey, 'CARTESIA_API_KEY', env, 'Cartesia'), sampleRate: PIPELINE_RATE, clock: ctx.clock });
    }
    case 'openai': {
      const { OpenAiTts } = await import('./tts/openai.ts');
      return new OpenAiTts({ ...spec, apiKey: key(spec.apiKey, 'OPENAI_API_KEY', env, 'OpenAI text-to-speech'), clock: ctx.clock });
    }
    case 'scripted':
      return new ScriptedTts({ ...spec, clock: ctx.clock });
  }
}

/** Loads a call's engines; on failure, closes whatever it had opened and throws. */
export async function createSpeechEngines(settings: VoiceSettings, ctx: EngineContext): Promise<SpeechEngines> {
  const notes: string[] = [];
  const opened: { close(): Promise<void> }[] = [];
  try {
    const [created, stt, tts] = await Promise.all([
      createVad({ sampleRate: PIPELINE_RATE, engine: settings.vad.engine === 'energy' ? 'energy' : 'auto' }).then((v) => (opened.push(v.vad), v)),
      createStt(settings.stt, ctx).then((s) => (opened.push(s), s)),
      createTts(settings.tts, ctx).then((t) => (opened.push(t), t)),
    ]);
    if (created.reason) notes.push(created.reason);
    const detector = new SpeechDetector({
      windowMs: created.vad.windowMs,
      threshold: settings.vad.threshold,
      minSpeechMs: settings.vad.minSpeechMs,
      minSilenceMs: settings.vad.minSilenceMs,
    });
    const endpointer = new Endpointer({
      minSilenceMs: settings.endpointing.minSilenceMs,
      quickSilenceMs: settings.endpointing.questionSilenceMs,
      maxSilenceMs: settings.endpointing.maxSilenceMs,
      incompleteExtraMs: Math.max(0, settings.endpointing.maxSilenceMs - settings.endpointing.minSilenceMs),
      codePatterns: (ctx.codePatterns ?? []).map(codePattern).filter((p) => p !== undefined),
    });
    const close = async () => {
      await Promise.allSettled(opened.map((o) => o.close()));
    };
    return { stt, tts, vad: created.vad, detector, endpointer, notes, close };
  } catch (err) {
    await Promise.allSettled(opened.map((o) => o.close()));
    throw err;
  }
}
