/**
 * Audio framing shared by the cloud speech adapters: PCM16 LE bytes arriving in arbitrary pieces
 * (HTTP body chunks, base64 messages) turned into whole samples, and a WAV file around an
 * utterance for upload.
 */
import { pcm16FromBytes, pcm16ToBytes } from './codec.ts';

/**
 * Turns a byte stream of PCM16 LE into `Int16Array`s. A network chunk may end in the middle of a
 * sample; that odd byte is carried into the next chunk (and dropped at the end of the stream, where
 * it can only be a truncated sample).
 */
export class Pcm16Assembler {
  private carry: number | undefined;

  push(bytes: Uint8Array): Int16Array {
    let data = bytes;
    if (this.carry !== undefined) {
      data = new Uint8Array(bytes.byteLength + 1);
      data[0] = this.carry;
      data.set(bytes, 1);
      this.carry = undefined;
    }
    if (data.byteLength % 2 === 1) {
      this.carry = data[data.byteLength - 1];
      data = data.subarray(0, data.byteLength - 1);
    }
    // A copy: the caller's buffer (a fetch chunk, a decoded message) must not alias what we yield.
    return pcm16FromBytes(data.slice());
  }
}

/** A copy of the samples as PCM16 LE bytes, safe to hand to a socket that may send it later. */
export function wireBytes(pcm: Int16Array): Buffer {
  return Buffer.from(pcm16ToBytes(pcm));
}

const WAV_HEADER_BYTES = 44;

/** A canonical 44-byte-header RIFF/WAVE file: PCM (format 1), 16-bit, mono. */
export function encodeWav(chunks: readonly Int16Array[], sampleRate: number): Uint8Array<ArrayBuffer> {
  const dataBytes = chunks.reduce((n, c) => n + c.byteLength, 0);
  const out = new Uint8Array(WAV_HEADER_BYTES + dataBytes);
  const view = new DataView(out.buffer);
  const ascii = (offset: number, s: string) => {
    for (let i = 0; i < s.length; i++) out[offset + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // channels
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
  let offset = WAV_HEADER_BYTES;
  for (const chunk of chunks) {
    out.set(pcm16ToBytes(chunk), offset);
    offset += chunk.byteLength;
  }
  return out;
}
