import type { Clock } from '../core/clock.ts';
import { OperatorError } from '../core/errors.ts';
import { PIPELINE_RATE, type SttEngine, type SttResult, type SttStartOptions, type SttStream, type TtsEngine, type TtsOptions } from './types.ts';

/**
 * Scripted speech engines for tests and benchmarks (`engine: scripted` in an agent's `voice:`),
 * like the scripted model: deterministic, no audio understanding, latencies on the injected clock.
 */

/** Recognises each utterance as the next scripted transcript (then as nothing). Records the audio it got. */
export class ScriptedStt implements SttEngine {
  readonly name = 'scripted';
  private readonly transcripts: string[];
  private readonly latencyMs: number;
  private readonly clock: Clock;
  /** Samples received per utterance, in order. */
  readonly utterances: number[] = [];

  private readonly failOn: string | undefined;

  constructor(opts: { transcripts: readonly string[]; latencyMs?: number; failOn?: string; clock: Clock }) {
    this.transcripts = [...opts.transcripts];
    this.failOn = opts.failOn;
    this.latencyMs = opts.latencyMs ?? 0;
    this.clock = opts.clock;
  }

  start(opts: SttStartOptions): SttStream {
    const index = this.utterances.push(0) - 1;
    const text = this.transcripts.shift() ?? '';
    let partialSent = false;
    let cancelled = false;
    return {
      write: (pcm) => {
        this.utterances[index]! += pcm.length;
        // Half the words once half a second of speech has been heard: a streaming engine's partial.
        if (!partialSent && this.utterances[index]! >= PIPELINE_RATE / 2 && text) {
          partialSent = true;
          const words = text.split(/\s+/);
          opts.onPartial?.(words.slice(0, Math.ceil(words.length / 2)).join(' '));
        }
      },
      finish: () =>
        new Promise<SttResult>((resolve, reject) => {
          if (cancelled) return resolve({ text: '' });
          if (this.failOn !== undefined && text === this.failOn) {
            return reject(new OperatorError('server', 'stt_failed', 'scripted speech recognition failure'));
          }
          if (this.latencyMs === 0) return resolve({ text, confidence: 1 });
          this.clock.setTimeout(() => resolve({ text, confidence: 1 }), this.latencyMs);
        }),
      cancel: () => {
        cancelled = true;
      },
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Speaks a 440 Hz tone of 60 ms per character, in 100 ms chunks, after `latencyMs`. */
export class ScriptedTts implements TtsEngine {
  readonly name = 'scripted';
  readonly sampleRate = PIPELINE_RATE;
  private readonly latencyMs: number;
  private readonly clock: Clock;
  /** Texts asked for, in order. */
  readonly spoken: string[] = [];

  private readonly failOn: string | undefined;
  private readonly stallOn: string | undefined;

  constructor(opts: { latencyMs?: number; failOn?: string; stallOn?: string; clock: Clock }) {
    this.latencyMs = opts.latencyMs ?? 0;
    this.failOn = opts.failOn;
    this.stallOn = opts.stallOn;
    this.clock = opts.clock;
  }

  async *synthesize(text: string, opts: TtsOptions): AsyncIterable<Int16Array> {
    this.spoken.push(text);
    if (this.failOn !== undefined && text.includes(this.failOn)) {
      throw new OperatorError('server', 'tts_failed', 'scripted speech synthesis failure');
    }
    if (this.stallOn !== undefined && text.includes(this.stallOn)) {
      await new Promise<void>((resolve) => opts.signal.addEventListener('abort', () => resolve(), { once: true }));
      return;
    }
    if (this.latencyMs > 0) await new Promise<void>((r) => this.clock.setTimeout(r, this.latencyMs));
    const total = Math.round((text.length * 60 * PIPELINE_RATE) / 1000);
    const chunk = PIPELINE_RATE / 10;
    for (let at = 0; at < total && !opts.signal.aborted; at += chunk) {
      yield tone(at, Math.min(chunk, total - at));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function tone(offset: number, samples: number): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) out[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (offset + i)) / PIPELINE_RATE));
  return out;
}
