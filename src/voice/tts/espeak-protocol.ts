/**
 * What the espeak-ng speech host and its clients say to each other over a MessagePort, and the
 * limits both sides check. Audio crosses as transferred `Int16Array`s at {@link ESPEAK_RATE}.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ErrorKind } from '../../core/errors.ts';

/** espeak-ng's own voices all speak at this rate (espeak_Initialize returns it). */
export const ESPEAK_RATE = 22_050;
export const ESPEAK_DEFAULT_VOICE = 'en-us';
/** Words per minute; espeak-ng's default and its range. */
export const ESPEAK_DEFAULT_WPM = 175;
export const ESPEAK_MIN_WPM = 80;
export const ESPEAK_MAX_WPM = 450;
/** The longest text one request may carry: ~10 minutes of speech (the pipeline sends sentences). */
export const ESPEAK_MAX_TEXT_CHARS = 10_000;
export const ESPEAK_INSTALL = 'apt-get install espeak-ng';

/** A voice name or identifier as espeak-ng spells them (`en-us`, `en-us+m3`, `fr`). */
const VOICE_NAME = /^[\w.+-]{1,64}$/;

export type EspeakHostMode = 'native' | 'cli';

/** One synthesis, client -> host. `stop` is a 1-element Int32Array on a SharedArrayBuffer: 1 = stop. */
export interface SynthRequest {
  t: 'synth';
  id: number;
  text: string;
  voice: string;
  wpm: number;
  stop: Int32Array;
}

/** Cancelling is setting `stop`: the host sees it mid-synthesis, between two callbacks. */
export type ToHost = SynthRequest;

export type FromHost =
  | { t: 'chunk'; id: number; pcm: Int16Array }
  | { t: 'end'; id: number }
  | { t: 'error'; id: number; kind: ErrorKind; code: string; message: string };

/** Host worker <-> the thread that started it. */
export type HostControl = { t: 'connect'; port: MessagePort } | { t: 'close' };
export type HostReport = { t: 'ready'; mode: EspeakHostMode; detail: string } | { t: 'failed'; message: string };

export interface HostWorkerData {
  mode: 'auto' | EspeakHostMode;
}

/** Why a request is not acceptable, or undefined when it is. */
export function requestProblem(text: unknown, voice: unknown, wpm: unknown): { code: string; message: string } | undefined {
  if (typeof text !== 'string') return { code: 'tts_text_invalid', message: 'text must be a string' };
  if (text.length > ESPEAK_MAX_TEXT_CHARS) {
    return { code: 'tts_text_too_long', message: `text is ${text.length} characters; espeak-ng takes at most ${ESPEAK_MAX_TEXT_CHARS} per request` };
  }
  if (typeof voice !== 'string' || !VOICE_NAME.test(voice)) {
    return { code: 'tts_voice_invalid', message: `voice must be an espeak-ng voice name like "en-us" or "en-us+m3" (got ${JSON.stringify(voice)})` };
  }
  if (typeof wpm !== 'number' || !Number.isInteger(wpm) || wpm < ESPEAK_MIN_WPM || wpm > ESPEAK_MAX_WPM) {
    return { code: 'tts_rate_invalid', message: `rate must be a whole number of words per minute from ${ESPEAK_MIN_WPM} to ${ESPEAK_MAX_WPM}` };
  }
  return undefined;
}

/**
 * The text as plain words for espeak-ng: C0 controls and DEL (NUL would end the C string) become
 * spaces; `<`, `&` and the like stay literal, since requests are never parsed as SSML.
 */
export function plainText(text: string): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, ' ');
}

/** What the host asks of the native library or of the binary. */
export interface Synthesizer {
  readonly mode: EspeakHostMode;
  readonly detail: string;
  /**
   * Speaks `text`, handing each piece of PCM to `onChunk` as it is produced; stops early once
   * `shouldStop()` returns true. Rejects with an `OperatorError` when espeak-ng fails.
   */
  synthesize(request: { text: string; voice: string; wpm: number }, onChunk: (pcm: Int16Array) => void, shouldStop: () => boolean): Promise<void>;
  close(): void;
}
