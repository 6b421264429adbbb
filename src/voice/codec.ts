/**
 * Audio sample formats at the edge of the voice pipeline: G.711 μ-law (telephony) and PCM16
 * little-endian bytes (browsers, engines) to and from the pipeline's `Int16Array`, plus frame
 * measurements. Pure and allocation-light: these run on every 20 ms frame of every call.
 */
import { OperatorError } from '../core/errors.ts';

/** ITU-T G.711 μ-law: the bias added before the segment search, and the largest magnitude encoded. */
const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;

/** Every μ-law byte decoded (G.711: bytes are transmitted bit-inverted). */
const MULAW_DECODE = buildDecodeTable();
/** Every PCM16 value (indexed by its unsigned 16-bit pattern) encoded: 64 KiB, shared by all calls. */
const MULAW_ENCODE = buildEncodeTable();

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function buildDecodeTable(): Int16Array {
  const table = new Int16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    const u = ~byte & 0xff;
    const exponent = (u >> 4) & 0x07;
    const mantissa = u & 0x0f;
    const magnitude = (((mantissa << 3) + MULAW_BIAS) << exponent) - MULAW_BIAS;
    table[byte] = u & 0x80 ? -magnitude : magnitude;
  }
  return table;
}

function encodeSample(sample: number): number {
  const sign = sample < 0 ? 0x80 : 0;
  let magnitude = sample < 0 ? -sample : sample;
  if (magnitude > MULAW_CLIP) magnitude = MULAW_CLIP;
  magnitude += MULAW_BIAS;
  // The segment is the position of the highest set bit above bit 7 (magnitude < 2^15 after clipping).
  const exponent = Math.max(0, 31 - Math.clz32(magnitude) - 7);
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function buildEncodeTable(): Uint8Array {
  const table = new Uint8Array(65536);
  for (let sample = -32768; sample < 32768; sample++) table[sample & 0xffff] = encodeSample(sample);
  return table;
}

/** G.711 μ-law bytes to PCM16 (same rate: 8 kHz on the phone network). */
export function mulawToPcm16(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = MULAW_DECODE[bytes[i]!]!;
  return out;
}

/** PCM16 to G.711 μ-law bytes; magnitudes above 32635 clip, as the standard specifies. */
export function pcm16ToMulaw(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = MULAW_ENCODE[pcm[i]! & 0xffff]!;
  return out;
}

/**
 * PCM16 little-endian bytes as samples. When the bytes are 2-byte aligned (on a little-endian
 * host) the result is a view over the same memory, not a copy: do not reuse `buf` while the
 * samples are in use. Throws `audio_frame_invalid` on an odd byte length.
 */
export function pcm16FromBytes(buf: Uint8Array): Int16Array {
  if (buf.byteLength % 2 !== 0) {
    throw new OperatorError(
      'invalid_request',
      'audio_frame_invalid',
      `audio_frame_invalid: PCM16 audio must have an even number of bytes, got ${buf.byteLength}; send whole 16-bit samples`,
    );
  }
  if (!LITTLE_ENDIAN_HOST) return swapFromLittleEndian(buf);
  if (buf.byteOffset % 2 === 0) return new Int16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2);
  // Not `buf.slice()`: on a Node Buffer that is a view over the shared pool, not a copy.
  const copy = new Uint8Array(buf.byteLength);
  copy.set(buf);
  return new Int16Array(copy.buffer);
}

/** Samples as PCM16 little-endian bytes: a view over the same memory on little-endian hosts. */
export function pcm16ToBytes(pcm: Int16Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const out = new Uint8Array(pcm.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < pcm.length; i++) view.setInt16(i * 2, pcm[i]!, true);
  return out;
}

function swapFromLittleEndian(buf: Uint8Array): Int16Array {
  const out = new Int16Array(buf.byteLength / 2);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true);
  return out;
}

/** Duration in milliseconds of `samples` samples at `rate` Hz. */
export function durationMs(samples: number, rate: number): number {
  return (samples * 1000) / rate;
}

/** Number of samples in `ms` milliseconds at `rate` Hz, rounded to the nearest sample. */
export function samplesFor(ms: number, rate: number): number {
  return Math.round((ms * rate) / 1000);
}

/** Full scale of PCM16: 0 dBFS. */
const FULL_SCALE = 32768;

/** Root-mean-square level of a frame in dBFS; `-Infinity` for digital silence or an empty frame. */
export function rmsDbfs(pcm: Int16Array): number {
  if (pcm.length === 0) return -Infinity;
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) {
    const s = pcm[i]!;
    sum += s * s;
  }
  return 20 * Math.log10(Math.sqrt(sum / pcm.length) / FULL_SCALE);
}

/** Peak level of a frame in dBFS (0 when a sample hits full scale); `-Infinity` for silence. */
export function peakDbfs(pcm: Int16Array): number {
  let peak = 0;
  for (let i = 0; i < pcm.length; i++) {
    const s = pcm[i]!;
    const magnitude = s < 0 ? -s : s;
    if (magnitude > peak) peak = magnitude;
  }
  return 20 * Math.log10(peak / FULL_SCALE);
}

/** Joins frames into one buffer. */
export function concatPcm(chunks: readonly Int16Array[]): Int16Array {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const out = new Int16Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
