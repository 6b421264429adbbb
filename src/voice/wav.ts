/**
 * RIFF/WAVE for PCM16 mono: parse a whole file, write one, and decode a stream whose header
 * carries placeholder sizes (`espeak-ng --stdout` writes 0x7ffff000 as the data size, since it
 * does not know the length up front).
 */
import { OperatorError } from '../core/errors.ts';

export interface WavFormat {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
}

export interface Wav extends WavFormat {
  /** Interleaved when `channels` > 1. */
  samples: Int16Array;
}

const RIFF_HEADER_BYTES = 12;
const CHUNK_HEADER_BYTES = 8;
/** A header larger than this is not one we can trust (fmt + LIST/INFO chunks are tiny). */
const MAX_HEADER_BYTES = 64 * 1024;
const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

function invalid(message: string): OperatorError {
  return new OperatorError('invalid_request', 'wav_invalid', message);
}

function ascii(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
}

interface HeaderScan {
  format: WavFormat;
  /** Offset of the first sample byte. */
  dataOffset: number;
  /** Declared size of the data chunk (may be a placeholder larger than the file). */
  dataBytes: number;
}

/**
 * Finds `fmt ` and the start of `data`. Returns undefined when more bytes are needed; throws when
 * the bytes are not a PCM16 WAVE.
 */
function scanHeader(bytes: Uint8Array): HeaderScan | undefined {
  if (bytes.length < RIFF_HEADER_BYTES) return undefined;
  if (ascii(bytes, 0) !== 'RIFF' || ascii(bytes, 8) !== 'WAVE') throw invalid('not a RIFF/WAVE file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let format: WavFormat | undefined;
  let at = RIFF_HEADER_BYTES;
  while (at + CHUNK_HEADER_BYTES <= bytes.length) {
    const id = ascii(bytes, at);
    const size = view.getUint32(at + 4, true);
    const body = at + CHUNK_HEADER_BYTES;
    if (id === 'data') {
      if (!format) throw invalid('WAVE data chunk before its fmt chunk');
      return { format, dataOffset: body, dataBytes: size };
    }
    if (body + size > bytes.length) break;
    if (id === 'fmt ') format = readFormat(view, body, size);
    at = body + size + (size % 2); // chunks are padded to an even length
  }
  if (bytes.length > MAX_HEADER_BYTES) throw invalid('no WAVE data chunk in the first 64 KiB');
  return undefined;
}

function readFormat(view: DataView, at: number, size: number): WavFormat {
  if (size < 16) throw invalid('WAVE fmt chunk too short');
  const tag = view.getUint16(at, true);
  const format = {
    channels: view.getUint16(at + 2, true),
    sampleRate: view.getUint32(at + 4, true),
    bitsPerSample: view.getUint16(at + 14, true),
  };
  if ((tag !== WAVE_FORMAT_PCM && tag !== WAVE_FORMAT_EXTENSIBLE) || format.bitsPerSample !== 16) {
    throw invalid(`only 16-bit PCM WAVE is supported (format tag ${tag}, ${format.bitsPerSample} bits)`);
  }
  if (format.channels < 1 || format.sampleRate < 1) throw invalid('WAVE fmt chunk has no channels or no sample rate');
  return format;
}

/** Copies little-endian PCM16 bytes into a fresh, aligned `Int16Array`. */
function pcm16(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length >> 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true);
  return out;
}

/** Parses a complete PCM16 WAVE file. A data size past the end of the file (a streamed header) is clamped. */
export function parseWav(bytes: Uint8Array): Wav {
  const header = scanHeader(bytes);
  if (!header) throw invalid('truncated WAVE header');
  const end = Math.min(bytes.length, header.dataOffset + header.dataBytes);
  return { ...header.format, samples: pcm16(bytes.subarray(header.dataOffset, end)) };
}

/** A complete PCM16 WAVE file of `samples` (mono unless `channels` says otherwise). */
export function writeWav(samples: Int16Array, sampleRate: number, channels = 1): Uint8Array {
  const dataBytes = samples.length * 2;
  const out = new Uint8Array(44 + dataBytes);
  const view = new DataView(out.buffer);
  const tag = (at: number, s: string): void => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  tag(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  tag(8, 'WAVE');
  tag(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, WAVE_FORMAT_PCM, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels * 2, true);
  view.setUint16(32, channels * 2, true);
  view.setUint16(34, 16, true);
  tag(36, 'data');
  view.setUint32(40, dataBytes, true);
  for (let i = 0; i < samples.length; i++) view.setInt16(44 + i * 2, samples[i]!, true);
  return out;
}

/**
 * Decodes a WAVE byte stream as it arrives: `push()` returns the samples completed by each piece
 * (empty until the header is through). Bytes split mid-sample are carried to the next piece.
 */
export class WavStreamDecoder {
  private pending: Uint8Array = new Uint8Array(0);
  private remaining = 0;
  private scanned: HeaderScan | undefined;

  /** The stream's format, once its header has been read. */
  get format(): WavFormat | undefined {
    return this.scanned?.format;
  }

  push(piece: Uint8Array): Int16Array {
    let bytes = this.pending.length > 0 ? concat(this.pending, piece) : piece;
    if (!this.scanned) {
      this.scanned = scanHeader(bytes);
      if (!this.scanned) {
        this.pending = bytes.slice();
        return new Int16Array(0);
      }
      this.remaining = this.scanned.dataBytes;
      bytes = bytes.subarray(this.scanned.dataOffset);
    }
    const usable = Math.min(bytes.length, this.remaining) & ~1;
    this.remaining -= usable;
    this.pending = this.remaining > 0 ? bytes.slice(usable, Math.min(bytes.length, usable + 1)) : new Uint8Array(0);
    return pcm16(bytes.subarray(0, usable));
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
