import { callerAudioToMulaw } from '../../src/testing/twilio-call-audio.ts';
import { InboundAudio, TWILIO_AUDIO } from '../../src/voice/pipeline/carrier-audio.ts';
import { EnergyVad, SileroVad, SpeechDetector, type Vad } from '../../src/voice/vad/index.ts';
import { RATE } from './voice-audio.ts';

/**
 * Where the server's VAD puts a clip's speech edges, found offline with the server's own pieces
 * (μ-law 8 kHz as the simulator encodes it → InboundAudio → the VAD → SpeechDetector with the
 * agent's settings): the clip is placed on the line at each 4 ms phase of the VAD's 32 ms window
 * grid. Explains the part of a measured latency that is the VAD's dating, not the platform.
 */
export interface VadEdges {
  /** VAD speech start − the clip's first sample, ms (negative: the window began before it). */
  onsetMs: number[];
  /** VAD speech end (of the last segment) − the clip's last sample, ms. */
  endMs: number[];
  /** Speech segments the detector made of the clip, per phase. */
  segments: number[];
}

export async function vadEdges(pcm: Int16Array, engine: 'silero' | 'energy', settings = { threshold: 0.5, minSpeechMs: 150, minSilenceMs: 250 }): Promise<VadEdges> {
  const out: VadEdges = { onsetMs: [], endMs: [], segments: [] };
  const speech = callerAudioToMulaw({ pcm, sampleRate: RATE });
  const clipMs = (pcm.length * 1000) / RATE;
  for (let phase = 0; phase < 8; phase++) {
    const vad: Vad = engine === 'silero' ? await SileroVad.create({ sampleRate: RATE }) : new EnergyVad({ sampleRate: RATE });
    try {
      const detector = new SpeechDetector({ windowMs: vad.windowMs, ...settings });
      const inbound = new InboundAudio(TWILIO_AUDIO);
      const leadFrames = 20 + phase;
      const frames = leadFrames + Math.ceil(speech.length / 160) + 40;
      const line = new Uint8Array(frames * 160).fill(0xff);
      line.set(speech, leadFrames * 160);
      const onset = leadFrames * 20;
      let segments = 0;
      let lastEnd = Number.NaN;
      for (let f = 0; f < frames; f++) {
        for (const p of await vad.process(inbound.decode(line.subarray(f * 160, (f + 1) * 160)))) {
          for (const e of detector.push(p)) {
            if (e.type === 'speech.start' && segments++ === 0) out.onsetMs.push(e.atMs - onset);
            if (e.type === 'speech.end') lastEnd = e.atMs - (onset + clipMs);
          }
        }
      }
      out.segments.push(segments);
      out.endMs.push(lastEnd);
    } finally {
      await vad.close();
    }
  }
  return out;
}
