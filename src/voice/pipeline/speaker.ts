import type { Clock, TimerHandle } from '../../core/clock.ts';
import { OperatorError, errorMessage, isOperatorError } from '../../core/errors.ts';
import { SentenceChunker } from '../turn-taking/sentences.ts';
import { toSpeakable } from '../turn-taking/speakable.ts';
import type { TtsEngine } from '../types.ts';
import type { OutboundFramer } from './carrier-audio.ts';
import type { Playout } from './playout.ts';

/** A sentence of the answer and where its audio lies in the turn's frame stream. */
interface Segment {
  text: string;
  startFrame: number;
  endFrame?: number;
  reported: boolean;
}

export interface SpeakerOptions {
  tts: TtsEngine;
  playout: Playout;
  newFramer: () => OutboundFramer;
  clock: Clock;
  voice?: string;
  /** A TTS that produces no audio for this long is treated as failed. */
  ttsStallMs?: number;
  /** Text the caller has now heard, in order (becomes the agent message: DESIGN.md rule 3). */
  onHeard: (turnId: string, text: string) => void;
  onError: (turnId: string, err: OperatorError) => void;
}

/** Times of the turn's speech, for the per-turn latency split. */
export interface SpeechTimes {
  firstSentenceAt?: number;
  firstTtsAudioAt?: number;
  firstFrameAt?: number;
}

/**
 * Speaks one turn's answer: streamed text → sentences → speakable text → TTS → 20 ms frames →
 * the playout. Knows which sentence each frame belongs to, so the heard position (from marks)
 * turns into the heard text, cut at a word when the caller barges in.
 */
export class Speaker {
  private readonly o: SpeakerOptions;
  private turnId: string | undefined;
  private chunker = new SentenceChunker();
  private segments: Segment[] = [];
  private heardText = '';
  private synthesis: Promise<void> = Promise.resolve();
  private controller = new AbortController();
  private textDone = false;
  private failed = false;
  private drainedWaiter: PromiseWithResolvers<void> | undefined;
  times: SpeechTimes = {};

  constructor(opts: SpeakerOptions) {
    this.o = opts;
  }

  get currentTurn(): string | undefined {
    return this.turnId;
  }

  /** The turn still has audio to synthesise or to play. */
  get speaking(): boolean {
    return this.turnId !== undefined && (!this.textDone || this.o.playout.active || this.pendingSynthesis > 0);
  }

  private pendingSynthesis = 0;

  /** Everything said so far has been synthesised and heard (the turn may still go on). */
  get caughtUp(): boolean {
    return this.pendingSynthesis === 0 && !this.o.playout.active;
  }

  /** The text so far is complete for now (a tool is about to run): speak what the chunker holds. */
  flushText(turnId: string): void {
    if (turnId !== this.turnId) return;
    for (const sentence of this.chunker.flush()) this.enqueue(sentence);
  }

  begin(turnId: string): void {
    this.stop();
    this.turnId = turnId;
    this.chunker = new SentenceChunker();
    this.segments = [];
    this.heardText = '';
    this.textDone = false;
    this.failed = false;
    this.controller = new AbortController();
    this.synthesis = Promise.resolve();
    this.times = {};
  }

  delta(turnId: string, text: string): void {
    if (turnId !== this.turnId) return;
    for (const sentence of this.chunker.push(text)) this.enqueue(sentence);
  }

  /** All of the turn's text has arrived; resolves once it has been spoken and heard (or cut). */
  async finish(turnId: string): Promise<void> {
    if (turnId !== this.turnId) return;
    for (const sentence of this.chunker.flush()) this.enqueue(sentence);
    this.textDone = true;
    await this.synthesis;
    if (this.controller.signal.aborted || this.turnId !== turnId) return;
    this.onHeard(this.o.playout.heard);
    if (!this.o.playout.active) return;
    this.drainedWaiter = Promise.withResolvers<void>();
    await this.drainedWaiter.promise;
  }

  /** Barge-in: stops the turn's speech and returns what the caller heard of it. */
  cut(): { turnId: string; heard: string } | undefined {
    const turnId = this.turnId;
    if (!turnId) return undefined;
    const heardFrames = this.o.playout.heard;
    this.onHeard(heardFrames);
    const partial = this.segments.find((s) => !s.reported && s.startFrame < heardFrames && s.endFrame !== undefined);
    if (partial) {
      const fraction = (heardFrames - partial.startFrame) / Math.max(1, partial.endFrame! - partial.startFrame);
      const words = partial.text.split(/\s+/).filter(Boolean);
      const heardWords = words.slice(0, Math.floor(fraction * words.length)).join(' ');
      if (heardWords) this.report(turnId, heardWords);
      partial.reported = true;
    }
    const heard = this.heardText;
    this.stop();
    return { turnId, heard };
  }

  /** Drops the current turn's speech (no heard text reported). */
  stop(): void {
    this.controller.abort();
    this.o.playout.reset();
    this.turnId = undefined;
    this.drainedWaiter?.resolve();
    this.drainedWaiter = undefined;
  }

  /** The playout's heard position moved: report every sentence now fully heard. */
  onHeard(frames: number): void {
    const turnId = this.turnId;
    if (!turnId) return;
    for (const s of this.segments) {
      if (s.reported) continue;
      if (s.endFrame === undefined || s.endFrame > frames) break;
      s.reported = true;
      this.report(turnId, s.text);
    }
    if (this.textDone && this.pendingSynthesis === 0 && frames >= this.o.playout.total) {
      this.drainedWaiter?.resolve();
      this.drainedWaiter = undefined;
    }
  }

  private report(turnId: string, text: string): void {
    const piece = this.heardText === '' || /\s$/.test(this.heardText) ? text : ` ${text}`;
    this.heardText += piece;
    this.o.onHeard(turnId, piece);
  }

  private enqueue(sentence: string): void {
    const text = sentence.trim();
    if (!text) return;
    this.times.firstSentenceAt ??= this.o.clock.monotonic();
    const turnId = this.turnId!;
    const signal = this.controller.signal;
    this.pendingSynthesis++;
    this.synthesis = this.synthesis
      .then(() => (signal.aborted || this.failed ? undefined : this.speak(turnId, text, signal)))
      .finally(() => {
        this.pendingSynthesis--;
        if (!signal.aborted) this.onHeard(this.o.playout.heard);
      });
  }

  private async speak(turnId: string, text: string, signal: AbortSignal): Promise<void> {
    const segment: Segment = { text, startFrame: this.o.playout.total, reported: false };
    this.segments.push(segment);
    const spoken = toSpeakable(text);
    const framer = this.o.newFramer();
    try {
      if (spoken.trim()) {
        for await (const pcm of withStallTimeout(this.o.tts.synthesize(spoken, { signal, ...(this.o.voice ? { voice: this.o.voice } : {}) }), this.o.ttsStallMs ?? 5000, signal, this.o.clock)) {
          if (signal.aborted) return;
          this.times.firstTtsAudioAt ??= this.o.clock.monotonic();
          this.pushFrames(framer.push(pcm));
        }
      }
      if (signal.aborted) return;
      this.pushFrames(framer.flush());
      segment.endFrame = this.o.playout.endSegment();
    } catch (err) {
      if (signal.aborted) return;
      // Whatever of it was not synthesised was never heard: it stays out of the transcript.
      segment.reported = true;
      segment.endFrame = this.o.playout.endSegment();
      this.failed = true;
      const e = isOperatorError(err) ? err : new OperatorError('server', 'tts_failed', `speech synthesis failed: ${errorMessage(err)}`);
      this.o.onError(turnId, e);
    }
  }

  private pushFrames(frames: Uint8Array[]): void {
    if (frames.length === 0) return;
    this.o.playout.push(frames);
    this.times.firstFrameAt ??= this.o.clock.monotonic();
  }
}

/** Ends the iteration with `tts_stalled` when the engine yields nothing for `stallMs`. */
async function* withStallTimeout(source: AsyncIterable<Int16Array>, stallMs: number, signal: AbortSignal, clock: Clock): AsyncIterable<Int16Array> {
  const it = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      let timer: TimerHandle | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = clock.setTimeout(() => reject(new OperatorError('server', 'tts_stalled', `speech synthesis produced nothing for ${stallMs} ms`)), stallMs);
      });
      try {
        const next = await Promise.race([it.next(), stalled]);
        if (next.done || signal.aborted) return;
        yield next.value;
      } finally {
        timer?.cancel();
      }
    }
  } finally {
    void it.return?.();
  }
}
