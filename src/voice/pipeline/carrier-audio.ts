import { mulawToPcm16, pcm16FromBytes, pcm16ToBytes, pcm16ToMulaw } from '../codec.ts';
import { Resampler } from '../resample.ts';
import { PIPELINE_RATE } from '../types.ts';

/** The audio a transport carries: Twilio's μ-law 8 kHz, or the browser's PCM16 at its declared rate. */
export interface CarrierAudio {
  encoding: 'mulaw' | 'pcm16';
  sampleRate: number;
}

export const TWILIO_AUDIO: CarrierAudio = { encoding: 'mulaw', sampleRate: 8000 };

export const FRAME_MS = 20;

/** Carrier bytes in → pipeline PCM (16 kHz) out. Throws `audio_frame_invalid` on a malformed PCM16 frame. */
export class InboundAudio {
  private readonly format: CarrierAudio;
  private readonly resampler: Resampler;

  constructor(format: CarrierAudio) {
    this.format = format;
    this.resampler = new Resampler(format.sampleRate, PIPELINE_RATE);
  }

  decode(bytes: Uint8Array): Int16Array {
    const pcm = this.format.encoding === 'mulaw' ? mulawToPcm16(bytes) : pcm16FromBytes(bytes);
    return this.resampler.push(pcm);
  }
}

/**
 * Engine PCM in → whole 20 ms carrier frames out. A partial frame waits for more audio; `flush()`
 * pads it with silence (end of a sentence).
 */
export class OutboundFramer {
  private readonly format: CarrierAudio;
  private readonly resampler: Resampler;
  private readonly frameSamples: number;
  private pending = new Int16Array(0);

  constructor(format: CarrierAudio, sourceRate: number) {
    this.format = format;
    this.resampler = new Resampler(sourceRate, format.sampleRate);
    this.frameSamples = (format.sampleRate * FRAME_MS) / 1000;
  }

  push(pcm: Int16Array): Uint8Array[] {
    const converted = this.resampler.push(pcm);
    const all = this.pending.length === 0 ? converted : concat(this.pending, converted);
    const frames: Uint8Array[] = [];
    let at = 0;
    for (; at + this.frameSamples <= all.length; at += this.frameSamples) {
      frames.push(this.encode(all.subarray(at, at + this.frameSamples)));
    }
    this.pending = all.slice(at);
    return frames;
  }

  flush(): Uint8Array[] {
    if (this.pending.length === 0) return [];
    const last = new Int16Array(this.frameSamples);
    last.set(this.pending);
    this.pending = new Int16Array(0);
    return [this.encode(last)];
  }

  private encode(pcm: Int16Array): Uint8Array {
    return this.format.encoding === 'mulaw' ? pcm16ToMulaw(pcm) : new Uint8Array(pcm16ToBytes(pcm));
  }
}

function concat(a: Int16Array, b: Int16Array): Int16Array {
  const out = new Int16Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
