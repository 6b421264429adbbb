import type { SpeechTimes } from './speaker.ts';

interface UtteranceTimes {
  speechEndAt: number;
  endOfTurnAt: number;
  sttFinalAt: number;
}

interface Open extends Partial<UtteranceTimes> {
  turnStartAt?: number;
  firstTokenAt?: number;
}

/**
 * The per-turn latency split of a call (stored on the agent's item, exported to Prometheus):
 * from the end of the caller's speech to the first agent audio frame out.
 *
 * - `endpointingMs`: end of speech → end of turn decided (includes waiting for the STT final);
 * - `sttFinalMs`: end of speech → final transcript (overlaps endpointing);
 * - `modelFirstTokenMs`: turn start → the model's first text;
 * - `sentenceMs`: first text → first whole sentence handed to TTS (model streaming);
 * - `ttsFirstAudioMs`: sentence → the TTS engine's first audio;
 * - `overheadMs`: the rest — ours (store write, thread hops, framing, pacing);
 * - `totalMs`: end of speech → first frame out.
 */
export class TurnLatency {
  private next: Open = {};
  private readonly turns = new Map<string, Open>();

  utterance(times: UtteranceTimes): void {
    this.next = { ...times };
  }

  turnStarted(turnId: string, at: number): void {
    const open = this.next.speechEndAt !== undefined ? this.next : {};
    this.next = {};
    this.turns.set(turnId, { ...open, turnStartAt: at });
  }

  firstToken(turnId: string, at: number): void {
    const t = this.turns.get(turnId);
    if (t && t.firstTokenAt === undefined) t.firstTokenAt = at;
  }

  /** The split of a turn answering the caller's speech; undefined for greetings and re-prompts. */
  finish(turnId: string, speech: SpeechTimes): Record<string, number> | undefined {
    const t = this.turns.get(turnId);
    this.turns.delete(turnId);
    if (!t || t.speechEndAt === undefined || t.endOfTurnAt === undefined || speech.firstFrameAt === undefined) return undefined;
    const totalMs = speech.firstFrameAt - t.speechEndAt;
    const endpointingMs = t.endOfTurnAt - t.speechEndAt;
    const modelFirstTokenMs = t.firstTokenAt !== undefined && t.turnStartAt !== undefined ? t.firstTokenAt - t.turnStartAt : 0;
    const sentenceMs = speech.firstSentenceAt !== undefined && t.firstTokenAt !== undefined ? speech.firstSentenceAt - t.firstTokenAt : 0;
    const ttsFirstAudioMs =
      speech.firstTtsAudioAt !== undefined && speech.firstSentenceAt !== undefined ? speech.firstTtsAudioAt - speech.firstSentenceAt : 0;
    const overheadMs = totalMs - endpointingMs - modelFirstTokenMs - sentenceMs - ttsFirstAudioMs;
    return round({
      totalMs,
      endpointingMs,
      sttFinalMs: (t.sttFinalAt ?? t.endOfTurnAt) - t.speechEndAt,
      modelFirstTokenMs,
      sentenceMs,
      ttsFirstAudioMs,
      overheadMs,
    });
  }
}

function round(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v * 100) / 100]));
}
