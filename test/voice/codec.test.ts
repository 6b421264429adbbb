import { describe, expect, it } from 'vitest';
import {
  concatPcm,
  durationMs,
  mulawToPcm16,
  pcm16FromBytes,
  pcm16ToBytes,
  pcm16ToMulaw,
  peakDbfs,
  rmsDbfs,
  samplesFor,
} from '../../src/voice/codec.ts';

/**
 * G.711 μ-law written the way the standard tabulates it: find the segment whose end bounds the
 * biased magnitude, then take 4 bits of mantissa. Independent of the shipped bit-math encoder.
 */
const SEGMENT_ENDS = [0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff, 0x3fff, 0x7fff];
function referenceEncode(sample: number): number {
  const mask = sample < 0 ? 0x7f : 0xff;
  const magnitude = Math.min(Math.abs(sample), 32635) + 0x84;
  const segment = SEGMENT_ENDS.findIndex((end) => magnitude <= end);
  return ((segment << 4) | ((magnitude >> (segment + 3)) & 0x0f)) ^ mask;
}

const ALL_SAMPLES = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);

describe('G.711 μ-law', () => {
  it('decodes the standard reference points', () => {
    const decoded = mulawToPcm16(Uint8Array.from([0xff, 0x7f, 0x80, 0x00, 0xfe, 0x7e, 0xf0, 0xef, 0x6f]));
    expect([...decoded]).toEqual([0, 0, 32124, -32124, 8, -8, 120, 132, -132]);
  });

  it('encodes every PCM16 value as the segment-table reference does', () => {
    const encoded = pcm16ToMulaw(ALL_SAMPLES);
    const mismatches = ALL_SAMPLES.filter((s, i) => encoded[i] !== referenceEncode(s));
    expect(mismatches).toHaveLength(0);
    expect(encoded[32768]).toBe(0xff); // sample 0
    expect(encoded[65535]).toBe(0x80); // 32767 clips to the top code
    expect(encoded[0]).toBe(0x00); // -32768
  });

  it('round-trips every code word except negative zero', () => {
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const again = pcm16ToMulaw(mulawToPcm16(codes));
    for (let code = 0; code < 256; code++) expect(again[code]).toBe(code === 0x7f ? 0xff : code);
  });

  it('quantises within half a step of its segment, so speech keeps its shape', () => {
    const decoded = mulawToPcm16(pcm16ToMulaw(ALL_SAMPLES));
    for (let i = 0; i < ALL_SAMPLES.length; i += 7) {
      const s = ALL_SAMPLES[i]!;
      const magnitude = Math.min(Math.abs(s), 32635) + 0x84;
      const step = 1 << (Math.max(0, 31 - Math.clz32(magnitude) - 7) + 3);
      expect(Math.abs(decoded[i]! - Math.max(-32635, Math.min(32635, s)))).toBeLessThanOrEqual(step);
    }
  });

  it('handles empty frames', () => {
    expect(mulawToPcm16(new Uint8Array(0))).toHaveLength(0);
    expect(pcm16ToMulaw(new Int16Array(0))).toHaveLength(0);
  });
});

describe('PCM16 bytes', () => {
  it('reads little-endian samples as a view, without copying, when aligned', () => {
    const bytes = Uint8Array.from([0x01, 0x00, 0xff, 0xff, 0x00, 0x80, 0xff, 0x7f]);
    const pcm = pcm16FromBytes(bytes);
    expect([...pcm]).toEqual([1, -1, -32768, 32767]);
    expect(pcm.buffer).toBe(bytes.buffer);
  });

  it('copies when the bytes start at an odd offset (a slice of a larger frame)', () => {
    const backing = new Uint8Array(9);
    backing.set([0x34, 0x12, 0xcc, 0xed], 1);
    const pcm = pcm16FromBytes(backing.subarray(1, 5));
    expect([...pcm]).toEqual([0x1234, -0x1234]);
    expect(pcm.buffer).not.toBe(backing.buffer);
  });

  it('reads a Node Buffer slice', () => {
    const buf = Buffer.alloc(10);
    buf.writeInt16LE(-2, 2);
    buf.writeInt16LE(300, 4);
    expect([...pcm16FromBytes(buf.subarray(2, 6))]).toEqual([-2, 300]);
    // Bytes fe ff 2c 01 00; from offset 3: ff 2c | 01 00.
    expect([...pcm16FromBytes(buf.subarray(3, 7))]).toEqual([0x2cff, 0x0001]);
  });

  it('rejects an odd number of bytes with audio_frame_invalid', () => {
    expect(() => pcm16FromBytes(new Uint8Array(3))).toThrow(
      expect.objectContaining({ code: 'audio_frame_invalid', kind: 'invalid_request' }),
    );
  });

  it('writes samples back as the same little-endian bytes, as a view', () => {
    const pcm = Int16Array.from([1, -1, -32768, 32767]);
    const bytes = pcm16ToBytes(pcm);
    expect([...bytes]).toEqual([0x01, 0x00, 0xff, 0xff, 0x00, 0x80, 0xff, 0x7f]);
    expect(bytes.buffer).toBe(pcm.buffer);
    const middle = pcm16ToBytes(pcm.subarray(1, 3));
    expect([...middle]).toEqual([0xff, 0xff, 0x00, 0x80]);
  });
});

describe('frame measurements', () => {
  it('converts between samples and milliseconds', () => {
    expect(durationMs(160, 8000)).toBe(20);
    expect(durationMs(512, 16_000)).toBe(32);
    expect(samplesFor(20, 8000)).toBe(160);
    expect(samplesFor(20, 44_100)).toBe(882);
    expect(samplesFor(10, 22_050)).toBe(221); // 220.5 rounds up
  });

  it('measures RMS and peak in dBFS', () => {
    const square = new Int16Array(320).map((_, i) => (i % 2 ? 16_384 : -16_384));
    expect(rmsDbfs(square)).toBeCloseTo(-6.02, 2);
    expect(peakDbfs(square)).toBeCloseTo(-6.02, 2);
    const sine = new Int16Array(1600).map((_, i) => Math.round(32_767 * Math.sin((2 * Math.PI * i) / 16)));
    expect(rmsDbfs(sine)).toBeCloseTo(-3.01, 1);
    expect(peakDbfs(sine)).toBeCloseTo(0, 3);
    expect(peakDbfs(Int16Array.of(0, -32768))).toBe(0); // clipping
  });

  it('reports digital silence as -Infinity', () => {
    expect(rmsDbfs(new Int16Array(160))).toBe(-Infinity);
    expect(peakDbfs(new Int16Array(160))).toBe(-Infinity);
    expect(rmsDbfs(new Int16Array(0))).toBe(-Infinity);
  });

  it('concatenates frames in order', () => {
    const joined = concatPcm([Int16Array.of(1, 2), new Int16Array(0), Int16Array.of(3)]);
    expect([...joined]).toEqual([1, 2, 3]);
    expect(concatPcm([])).toHaveLength(0);
  });
});
