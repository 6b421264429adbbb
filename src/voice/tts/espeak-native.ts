/**
 * libespeak-ng (Debian `espeak-ng`, 1.51) through koffi, in AUDIO_OUTPUT_SYNCHRONOUS mode: each
 * `espeak_Synth` call runs the synth callback with PCM as it goes and returns when done. The
 * library keeps process-wide state and is not thread-safe: only the speech host's worker loads it.
 */
import type koffiModule from 'koffi';
import { errorMessage, OperatorError } from '../../core/errors.ts';
import { ESPEAK_DEFAULT_VOICE, ESPEAK_DEFAULT_WPM, ESPEAK_INSTALL, ESPEAK_RATE, plainText, type Synthesizer } from './espeak-protocol.ts';

type Koffi = typeof koffiModule;

export const ESPEAK_LIBRARY = 'libespeak-ng.so.1';

/** speak_lib.h */
const AUDIO_OUTPUT_SYNCHRONOUS = 2;
const INITIALIZE_DONT_EXIT = 0x8000;
const CHARS_UTF8 = 1;
const POS_CHARACTER = 1;
const PARAM_RATE = 1;
const EE_OK = 0;
const EE_NOT_FOUND = 2;
/** Milliseconds of audio per callback, so per chunk sent to a client. */
const CALLBACK_MS = 100;

type Fn<A extends unknown[], R> = (...args: A) => R;

interface EspeakCalls {
  setVoice: Fn<[string], number>;
  setParameter: Fn<[number, number, number], number>;
  synth: Fn<[string, number, number, number, number, number, number[], null], number>;
  terminate: Fn<[], number>;
}

/** Where the synth callback delivers, for the request being spoken. */
interface Sink {
  onChunk(pcm: Int16Array): void;
  shouldStop(): boolean;
}

/** Loads the library, initialises it and registers the callback. Throws `tts_unavailable` with the reason. */
export async function openNativeEspeak(): Promise<Synthesizer> {
  let koffi: Koffi;
  try {
    koffi = (await import('koffi')).default;
  } catch (err) {
    throw new OperatorError('server', 'tts_unavailable', `the koffi FFI package does not load (${errorMessage(err)}); run "npm install"`);
  }
  let lib: ReturnType<Koffi['load']>;
  try {
    lib = koffi.load(ESPEAK_LIBRARY);
  } catch (err) {
    throw new OperatorError('server', 'tts_unavailable', `${errorMessage(err)}; install it with "${ESPEAK_INSTALL}"`);
  }
  const SynthCallback = koffi.proto('int EspeakSynthCallback(int16_t *wav, int numsamples, void *events)');
  const initialize: Fn<[number, number, null, number], number> = lib.func('int espeak_Initialize(int output, int buflength, const char *path, int options)');
  const setCallback: Fn<[bigint], void> = lib.func('void espeak_SetSynthCallback(EspeakSynthCallback *cb)');
  const info: Fn<[null], string> = lib.func('const char *espeak_Info(const char **path)');
  const calls: EspeakCalls = {
    setVoice: lib.func('int espeak_SetVoiceByName(const char *name)'),
    setParameter: lib.func('int espeak_SetParameter(int parameter, int value, int relative)'),
    synth: lib.func(
      'int espeak_Synth(const char *text, size_t size, unsigned int position, int position_type, unsigned int end_position, unsigned int flags, _Out_ unsigned int *uid, void *user_data)',
    ),
    terminate: lib.func('int espeak_Terminate(void)'),
  };
  const rate = initialize(AUDIO_OUTPUT_SYNCHRONOUS, CALLBACK_MS, null, INITIALIZE_DONT_EXIT);
  if (rate !== ESPEAK_RATE) {
    throw new OperatorError('server', 'tts_unavailable', `espeak_Initialize returned ${rate} (its data files are missing?); reinstall with "${ESPEAK_INSTALL}"`);
  }
  const state: { sink: Sink | undefined } = { sink: undefined };
  const callback = koffi.register((wav: bigint | null, samples: number): number => {
    const sink = state.sink;
    if (!sink) return 1;
    if (wav !== null && samples > 0) sink.onChunk(new Int16Array(koffi.view(wav, samples * 2).slice(0)));
    return sink.shouldStop() ? 1 : 0;
  }, koffi.pointer(SynthCallback));
  setCallback(callback);
  const detail = `${ESPEAK_LIBRARY} (espeak-ng ${info(null)}) via koffi ${koffi.version}`;
  const native = new NativeEspeak(calls, state, detail, () => koffi.unregister(callback));
  native.use(ESPEAK_DEFAULT_VOICE, ESPEAK_DEFAULT_WPM); // so the first request does not load the voice
  return native;
}

class NativeEspeak implements Synthesizer {
  readonly mode = 'native';
  readonly detail: string;
  private readonly calls: EspeakCalls;
  private readonly state: { sink: Sink | undefined };
  private readonly release: () => void;
  private voice: string | undefined;
  private wpm: number | undefined;

  constructor(calls: EspeakCalls, state: { sink: Sink | undefined }, detail: string, release: () => void) {
    this.calls = calls;
    this.state = state;
    this.detail = detail;
    this.release = release;
  }

  synthesize(request: { text: string; voice: string; wpm: number }, onChunk: (pcm: Int16Array) => void, shouldStop: () => boolean): Promise<void> {
    try {
      this.use(request.voice, request.wpm);
      const text = plainText(request.text);
      this.state.sink = { onChunk, shouldStop };
      // Not SSML, not phonemes: plain UTF-8 text, whatever it contains.
      const rc = this.calls.synth(text, Buffer.byteLength(text) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8, [0], null);
      if (rc !== EE_OK) throw new OperatorError('server', 'tts_failed', `espeak_Synth failed (${rc})`);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.state.sink = undefined;
    }
  }

  /** Switches voice and rate only when they change (a voice switch loads its data, ~8 ms). */
  use(voice: string, wpm: number): void {
    if (voice !== this.voice) {
      const rc = this.calls.setVoice(voice);
      if (rc === EE_NOT_FOUND) throw new OperatorError('invalid_request', 'tts_voice_not_found', `espeak-ng has no voice "${voice}"`);
      if (rc !== EE_OK) throw new OperatorError('server', 'tts_failed', `espeak_SetVoiceByName failed (${rc})`);
      this.voice = voice;
      this.wpm = undefined; // a voice sets its own rate
    }
    if (wpm !== this.wpm) {
      const rc = this.calls.setParameter(PARAM_RATE, wpm, 0);
      if (rc !== EE_OK) throw new OperatorError('server', 'tts_failed', `espeak_SetParameter(rate) failed (${rc})`);
      this.wpm = wpm;
    }
  }

  close(): void {
    this.calls.terminate();
    this.release();
  }
}
