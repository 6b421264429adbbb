import { execFileSync } from 'node:child_process';
import { resampleAll } from '../../src/voice/resample.ts';
import { parseWav } from '../../src/voice/wav.ts';

/** What the benchmark callers say, as PCM16 at 16 kHz (the simulator encodes it to μ-law 8 kHz). */

export const RATE = 16_000;

/**
 * `ms` of a loud, steady chord (250, 750 and 1,600 Hz; about −17 dBFS RMS) that the energy VAD
 * scores as speech from its first window to its last: a "caller" with sharp edges, so the speech
 * end is a known instant.
 */
export function toneSpeech(ms: number): Int16Array {
  const n = Math.round((RATE * ms) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    out[i] = Math.round(5500 * Math.sin(2 * Math.PI * 250 * t) + 3500 * Math.sin(2 * Math.PI * 750 * t) + 1800 * Math.sin(2 * Math.PI * 1600 * t));
  }
  return out;
}

export interface SpokenClip {
  text: string;
  pcm: Int16Array;
  /** Length after trimming the synthesiser's leading and trailing silence. */
  ms: number;
}

/** Whether `espeak-ng` can be run here. */
export function espeakAvailable(): boolean {
  try {
    execFileSync('espeak-ng', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * `text` spoken by `espeak-ng --stdout` (its WAV parsed, resampled to 16 kHz), with the silence it
 * puts before and after the words cut off, so the clip starts at the speech onset and ends at the
 * speech end (both within 2 ms).
 */
export function espeakSpeech(text: string, opts: { voice?: string; rate?: number; amplitude?: number } = {}): SpokenClip {
  const args = ['--stdout', '-v', opts.voice ?? 'en-us', '-s', String(opts.rate ?? 160), '-a', String(opts.amplitude ?? 120), text];
  const wav = parseWav(new Uint8Array(execFileSync('espeak-ng', args, { maxBuffer: 64 * 1024 * 1024 })));
  const pcm = trimSilence(resampleAll(wav.samples, wav.sampleRate, RATE));
  return { text, pcm, ms: (pcm.length * 1000) / RATE };
}

/** Cuts leading and trailing samples quieter than −50 dBFS (in 2 ms steps). */
export function trimSilence(pcm: Int16Array, level = 100): Int16Array {
  const step = RATE / 500;
  const loud = (at: number): boolean => {
    for (let i = at; i < Math.min(pcm.length, at + step); i++) if (Math.abs(pcm[i]!) > level) return true;
    return false;
  };
  let start = 0;
  while (start < pcm.length && !loud(start)) start += step;
  let end = pcm.length;
  while (end > start && !loud(end - step)) end -= step;
  return pcm.slice(start, end);
}

/** Silence, for padding a clip to a whole number of 20 ms frames. */
export function padToFrames(pcm: Int16Array, frameMs = 20): Int16Array {
  const frame = (RATE * frameMs) / 1000;
  const n = Math.ceil(pcm.length / frame) * frame;
  if (n === pcm.length) return pcm;
  const out = new Int16Array(n);
  out.set(pcm);
  return out;
}
