/**
 * The audio of a phone line as Twilio carries it (protocols.md §1.3, §1.5): G.711 μ-law, 8 kHz,
 * mono, 160 bytes per 20 ms frame. Kept here rather than imported from `src/voice` because
 * `src/testing` may not depend on it (import direction, DESIGN.md); the simulator only needs the
 * textbook codec and a plain decimator.
 */
export const SAMPLE_RATE = 8000;
export const FRAME_MS = 20;
export const FRAME_BYTES = 160;
export const BYTES_PER_MS = SAMPLE_RATE / 1000;
/** μ-law code of a zero sample: what a quiet line carries. */
export const MULAW_SILENCE = 0xff;

const BIAS = 0x84;
const CLIP = 32635;

/** One linear PCM16 sample to μ-law (ITU-T G.711, with the usual 0x84 bias and inverted bits). */
export function mulawFromSample(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (sign) s = -s;
  s = Math.min(s, CLIP) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function sampleFromMulaw(code: number): number {
  const u = ~code & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + BIAS) << ((u >> 4) & 0x07)) - BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

export function mulawEncode(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = mulawFromSample(pcm[i]!);
  return out;
}

export function mulawDecode(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = sampleFromMulaw(bytes[i]!);
  return out;
}

/** Root mean square of μ-law audio, in PCM16 units. */
export function mulawRms(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  let sum = 0;
  for (const b of bytes) sum += sampleFromMulaw(b) ** 2;
  return Math.sqrt(sum / bytes.length);
}

const TAPS = 31;

/**
 * PCM at `fromRate` (a multiple of 8 kHz) down to 8 kHz: a Hamming-windowed sinc low-pass at
 * 90 % of the new Nyquist frequency, then every n-th sample. Without the filter, speech energy
 * above 4 kHz would fold back into the band as hiss.
 */
export function downsampleTo8k(pcm: Int16Array, fromRate: number): Int16Array {
  if (fromRate === SAMPLE_RATE) return pcm.slice();
  const factor = fromRate / SAMPLE_RATE;
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`audio_rate_unsupported: ${fromRate} Hz is not a multiple of 8000 Hz`);
  const cutoff = (0.9 * SAMPLE_RATE) / 2 / fromRate;
  const half = (TAPS - 1) / 2;
  const taps = Array.from({ length: TAPS }, (_, n) => {
    const x = n - half;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    return sinc * (0.54 - 0.46 * Math.cos((2 * Math.PI * n) / (TAPS - 1)));
  });
  const gain = taps.reduce((a, b) => a + b, 0);
  const out = new Int16Array(Math.floor(pcm.length / factor));
  for (let k = 0; k < out.length; k++) {
    let acc = 0;
    for (let n = 0; n < TAPS; n++) acc += taps[n]! * (pcm[k * factor + n - half] ?? 0);
    out[k] = Math.max(-32768, Math.min(32767, Math.round(acc / gain)));
  }
  return out;
}

/**
 * What a caller says: PCM16 at 16 kHz (a bare `Int16Array`), PCM16 at another multiple of 8 kHz,
 * or μ-law bytes already on the wire format.
 */
export type CallerAudio = Int16Array | { pcm: Int16Array; sampleRate: number } | { mulaw: Uint8Array };

/** A replacement for the built-in decimator + encoder, e.g. the production codec. */
export type MulawEncoder = (pcm16k: Int16Array) => Uint8Array;

export function callerAudioToMulaw(audio: CallerAudio, encode?: MulawEncoder): Uint8Array {
  if (audio instanceof Int16Array) return encode ? encode(audio) : mulawEncode(downsampleTo8k(audio, 16000));
  if ('mulaw' in audio) return audio.mulaw;
  if (encode && audio.sampleRate === 16000) return encode(audio.pcm);
  return mulawEncode(downsampleTo8k(audio.pcm, audio.sampleRate));
}

/**
 * Seeded white noise of a given peak level, for a line that is not perfectly quiet. xorshift32:
 * the same seed gives the same hiss, so a test that fails with noise fails again.
 */
export class LineNoise {
  private state: number;
  private readonly level: number;

  constructor(level: number, seed = 0x9e3779b9) {
    this.level = level;
    this.state = seed >>> 0 || 1;
  }

  /** Adds noise to `frame` (μ-law) in place. */
  addTo(frame: Uint8Array): void {
    if (this.level <= 0) return;
    for (let i = 0; i < frame.length; i++) {
      this.state ^= this.state << 13;
      this.state ^= this.state >>> 17;
      this.state ^= this.state << 5;
      const unit = (this.state >>> 0) / 0x100000000;
      frame[i] = mulawFromSample(sampleFromMulaw(frame[i]!) + (unit * 2 - 1) * this.level);
    }
  }
}
