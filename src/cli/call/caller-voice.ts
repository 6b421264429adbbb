import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { errorMessage } from '../../core/errors.ts';
import { resampleAll } from '../../voice/resample.ts';
import { parseWav } from '../../voice/wav.ts';

/**
 * The caller's voice: typed text to PCM16 at 16 kHz. `espeak` is real (if robotic) speech that a
 * real recogniser on the server can follow; `tone` is a loud buzz as long as the text would take
 * to say, which only an energy VAD and a scripted STT make sense of: deterministic, for tests and
 * for servers whose agent uses `stt: { engine: scripted }`.
 */
export type VoiceKind = 'espeak' | 'tone';

export const CALLER_RATE = 16_000;
const ESPEAK = 'espeak-ng';
export const ESPEAK_FIX = 'apt-get install espeak-ng';

export interface CallerVoice {
  readonly kind: VoiceKind;
  speak(text: string): Promise<Int16Array>;
}

/** Checks that the voice can speak here; rejects with what to install when espeak-ng is missing. */
export async function openCallerVoice(kind: VoiceKind): Promise<CallerVoice> {
  if (kind === 'tone') return { kind, speak: (text) => Promise.resolve(toneFor(text)) };
  try {
    await promisify(execFile)(ESPEAK, ['--version'], { timeout: 5_000 });
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${ESPEAK} is not installed` : `${ESPEAK} --version failed (${errorMessage(err)})`;
    throw new Error(`${why}: the caller's voice needs it. Install it with "${ESPEAK_FIX}", or speak a tone with --voice tone (only a scripted STT understands that).`, { cause: err });
  }
  return { kind, speak: espeakSpeak };
}

/** One `espeak-ng --stdout` per line: a WAV at 22,050 Hz on stdout, resampled to 16 kHz. */
function espeakSpeak(text: string): Promise<Int16Array> {
  return new Promise((resolve, reject) => {
    // The text goes on stdin, not as an argument, so that a line starting with "-" is not an option.
    const child = spawn(ESPEAK, ['--stdout', '-b', '1', '-v', 'en-us'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', (err) => reject(new Error(`${ESPEAK} did not start (${err.message}); install it with "${ESPEAK_FIX}"`)));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${ESPEAK} exited with ${code}: ${stderr.trim() || 'no message'}`));
      try {
        const wav = parseWav(new Uint8Array(Buffer.concat(out)));
        resolve(trimQuiet(resampleAll(wav.samples, wav.sampleRate, CALLER_RATE)));
      } catch (err) {
        reject(new Error(`${ESPEAK} wrote audio that could not be read: ${errorMessage(err)}`));
      }
    });
    child.stdin.on('error', () => undefined); // EPIPE if it exits early; 'close' says why
    child.stdin.end(text);
  });
}

/** |sample| below this (about -40 dBFS) counts as quiet at the ends of espeak's output. */
const QUIET_LEVEL = 300;
const KEEP_MS = 20;

/**
 * Without the ~300 ms of quiet espeak-ng adds after the words: "end of your speech", from which
 * the latency is measured, is then the end of the voice, not of a silent tail.
 */
export function trimQuiet(pcm: Int16Array): Int16Array {
  let last = pcm.length - 1;
  while (last >= 0 && Math.abs(pcm[last]!) < QUIET_LEVEL) last--;
  return pcm.subarray(0, Math.min(pcm.length, last + 1 + (KEEP_MS * CALLER_RATE) / 1000));
}

const MS_PER_CHAR = 70;
const MIN_MS = 500;
const MAX_MS = 6_000;
const FADE_MS = 10;

/**
 * A buzz of three partials at about -17 dBFS (RMS), 70 ms per character (about espeak's pace): loud
 * enough for any energy VAD, with short fades so that its edges do not click.
 */
export function toneFor(text: string): Int16Array {
  const ms = Math.min(MAX_MS, Math.max(MIN_MS, text.length * MS_PER_CHAR));
  const n = Math.round((ms * CALLER_RATE) / 1000);
  const fade = (FADE_MS * CALLER_RATE) / 1000;
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / CALLER_RATE;
    const gain = Math.min(1, i / fade, (n - 1 - i) / fade);
    const s = 6000 * Math.sin(2 * Math.PI * 300 * t) + 3000 * Math.sin(2 * Math.PI * 900 * t) + 1500 * Math.sin(2 * Math.PI * 1700 * t);
    out[i] = Math.round(gain * s);
  }
  return out;
}
