import { describe, expect, it } from 'vitest';
import { concatPcm } from '../../src/voice/codec.ts';
import { Resampler, resampleAll } from '../../src/voice/resample.ts';

function sine(freq: number, rate: number, samples: number, amplitude = 10_000): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate));
  return out;
}

/** Deterministic white noise (xorshift), so failures reproduce. */
function noise(samples: number, amplitude: number, seed = 1): Int16Array {
  const out = new Int16Array(samples);
  let s = seed;
  for (let i = 0; i < samples; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = Math.round(((s >>> 0) / 0xffffffff - 0.5) * 2 * amplitude);
  }
  return out;
}

/** RMS of the difference over the middle of the signals (edges carry the filter's start-up). */
function rmsError(a: Int16Array, b: Int16Array, edge: number): number {
  let sum = 0;
  let n = 0;
  for (let i = edge; i < Math.min(a.length, b.length) - edge; i++) {
    const d = a[i]! - b[i]!;
    sum += d * d;
    n++;
  }
  return Math.sqrt(sum / n);
}

function rms(pcm: Int16Array, edge: number): number {
  let sum = 0;
  for (let i = edge; i < pcm.length - edge; i++) sum += pcm[i]! * pcm[i]!;
  return Math.sqrt(sum / (pcm.length - 2 * edge));
}

/** Feeds `pcm` in pseudo-random chunk sizes (including empty and one-sample chunks). */
function pushChunked(resampler: Resampler, pcm: Int16Array, seed: number): Int16Array[] {
  const outs: Int16Array[] = [];
  let offset = 0;
  let s = seed;
  while (offset < pcm.length) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const size = [0, 1, 7, 160, 320, 441, 512, 1000][(s >>> 16) % 8]!;
    outs.push(resampler.push(pcm.subarray(offset, offset + size)));
    offset += size;
  }
  return outs;
}

const PAIRS: [number, number][] = [
  [8000, 16_000],
  [16_000, 8000],
  [22_050, 16_000],
  [24_000, 16_000],
  [16_000, 24_000],
  [48_000, 16_000],
  [44_100, 16_000],
];

describe('Resampler', () => {
  it('returns the input itself when the rates are equal', () => {
    const pcm = sine(440, 16_000, 320);
    const r = new Resampler(16_000, 16_000);
    expect(r.push(pcm)).toBe(pcm);
    expect(r.flush()).toHaveLength(0);
  });

  it('rejects rates that are not positive integers in range', () => {
    expect(() => new Resampler(0, 16_000)).toThrow(expect.objectContaining({ code: 'audio_rate_invalid' }));
    expect(() => new Resampler(16_000, 22_050.5)).toThrow(/toRate/);
  });

  it.each(PAIRS)('%i -> %i keeps a 440 Hz tone: same amplitude and phase as the ideal tone at the new rate', (from, to) => {
    const out = resampleAll(sine(440, from, from), from, to);
    const ideal = sine(440, to, to);
    expect(out).toHaveLength(to);
    // Within -50 dB of the 10,000-amplitude tone away from the edges.
    expect(rmsError(out, ideal, 64)).toBeLessThan(22);
  });

  it('a 1 kHz tone survives 8 kHz -> 16 kHz -> 8 kHz with low error', () => {
    const original = sine(1000, 8000, 8000);
    const roundTrip = resampleAll(resampleAll(original, 8000, 16_000), 16_000, 8000);
    expect(roundTrip).toHaveLength(original.length);
    expect(rmsError(roundTrip, original, 64) / rms(original, 64)).toBeLessThan(0.005); // better than -46 dB
  });

  it('strongly attenuates a 6 kHz tone going from 16 kHz to 8 kHz (it would alias to 2 kHz)', () => {
    const out = resampleAll(sine(6000, 16_000, 16_000), 16_000, 8000);
    const gainDb = 20 * Math.log10(rms(out, 64) / (10_000 / Math.SQRT2));
    expect(gainDb).toBeLessThan(-60);
  });

  it('strongly attenuates content above 8 kHz going from 48 kHz and 44.1 kHz to 16 kHz', () => {
    for (const from of [48_000, 44_100]) {
      const out = resampleAll(sine(11_000, from, from), from, 16_000);
      expect(20 * Math.log10(rms(out, 64) / (10_000 / Math.SQRT2))).toBeLessThan(-60);
    }
  });

  it('keeps a constant signal constant (unity gain at DC in every phase)', () => {
    const dc = new Int16Array(4410).fill(12_345);
    const out = resampleAll(dc, 44_100, 16_000);
    expect(Math.max(...out.subarray(64, -64))).toBe(12_345);
    expect(Math.min(...out.subarray(64, -64))).toBe(12_345);
  });

  it('clamps instead of wrapping around on full-scale input', () => {
    const square = new Int16Array(1600);
    for (let i = 0; i < square.length; i++) square[i] = Math.floor(i / 40) % 2 ? 32767 : -32768;
    const out = resampleAll(square, 16_000, 8000);
    // A wrapped overshoot would flip sign in the middle of a plateau.
    for (let i = 40; i < out.length - 40; i++) {
      const plateau = Math.floor((i * 2) / 40) % 2 ? 1 : -1;
      if ((i * 2) % 40 > 8 && (i * 2) % 40 < 32) expect(Math.sign(out[i]!)).toBe(plateau);
    }
  });

  it.each(PAIRS)('%i -> %i: chunked processing equals one-shot processing, and the length follows the rate ratio', (from, to) => {
    const input = concatPcm([noise(from / 2, 8000), sine(300, from, from / 2, 20_000)]);
    const oneShot = resampleAll(input, from, to);
    const r = new Resampler(from, to);
    const chunked = concatPcm([...pushChunked(r, input, from), r.flush()]);
    expect(chunked).toHaveLength(Math.ceil((input.length * to) / from));
    expect(chunked).toHaveLength(oneShot.length);
    let maxDiff = 0;
    for (let i = 0; i < chunked.length; i++) maxDiff = Math.max(maxDiff, Math.abs(chunked[i]! - oneShot[i]!));
    expect(maxDiff).toBeLessThanOrEqual(1);
  });

  it('keeps pace over many 20 ms chunks: output lags by at most the filter, never drifts', () => {
    const r = new Resampler(44_100, 16_000);
    let inSamples = 0;
    let outSamples = 0;
    for (let i = 0; i < 3000; i++) {
      const chunk = noise(882, 1000, i + 1);
      inSamples += chunk.length;
      outSamples += r.push(chunk).length;
      const expected = (inSamples * 16_000) / 44_100;
      expect(expected - outSamples).toBeGreaterThanOrEqual(0);
      expect(expected - outSamples).toBeLessThan(24); // half the filter: ~1 ms at 16 kHz
    }
    outSamples += r.flush().length;
    expect(outSamples).toBe(Math.ceil((inSamples * 16_000) / 44_100));
  });

  it('starts afresh after flush() and reset()', () => {
    const pcm = sine(700, 8000, 800);
    const r = new Resampler(8000, 16_000);
    const first = concatPcm([r.push(pcm), r.flush()]);
    const second = concatPcm([r.push(pcm), r.flush()]);
    expect(second).toEqual(first);
    r.push(noise(333, 5000));
    r.reset();
    expect(concatPcm([r.push(pcm), r.flush()])).toEqual(first);
  });
});
