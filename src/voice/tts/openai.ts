import { systemClock, type Clock } from '../../core/clock.ts';
import { Pcm16Assembler } from '../cloud-audio.ts';
import type { SpeechSource } from '../cloud-errors.ts';
import { openAiEndpoint, SpeechHttpCall } from '../cloud-http.ts';
import type { TtsEngine, TtsOptions } from '../types.ts';

/**
 * OpenAI text-to-speech: `POST /v1/audio/speech` with `response_format: "pcm"`, whose body is raw
 * PCM16 LE mono at 24 kHz, no header, streamed as it is generated. One request per sentence; the
 * body is read as it arrives and an odd byte at a chunk boundary is carried to the next chunk.
 * Abort closes the connection. https://platform.openai.com/docs/api-reference/audio/createSpeech
 * https://platform.openai.com/docs/guides/text-to-speech#supported-output-formats
 */
export interface OpenAiTtsOptions {
  apiKey: string;
  /** Default `https://api.openai.com` (a base ending in `/v1` works too). */
  baseUrl?: string;
  /** Default `gpt-4o-mini-tts`; `tts-1`, `tts-1-hd` also work. */
  model?: string;
  /** Default `alloy`; `TtsOptions.voice` overrides it per request. */
  voice?: string;
  /** How to speak (tone, pace); `gpt-4o-mini-tts` only. */
  instructions?: string;
  /** 0.25 to 4.0; OpenAI's default 1.0 when absent. */
  speed?: number;
  /** Longest wait for the response to start and between two chunks. Default 10 000 ms. */
  timeoutMs?: number;
  clock?: Clock;
}

/** OpenAI's `pcm` output is always 24 kHz. */
export const OPENAI_TTS_RATE = 24_000;

const OPENAI_TTS: SpeechSource = { side: 'tts', vendor: 'OpenAI' };

export class OpenAiTts implements TtsEngine {
  readonly name = 'openai';
  readonly sampleRate = OPENAI_TTS_RATE;
  private readonly clock: Clock;
  private readonly opts: OpenAiTtsOptions;

  constructor(opts: OpenAiTtsOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
  }

  async *synthesize(text: string, opts: TtsOptions): AsyncIterable<Int16Array> {
    if (opts.signal.aborted || text.trim() === '') return;
    const call = new SpeechHttpCall({
      source: OPENAI_TTS,
      clock: this.clock,
      timeoutMs: this.opts.timeoutMs ?? 10_000,
      signal: opts.signal,
    });
    try {
      const res = await call.send(openAiEndpoint(this.opts.baseUrl, '/audio/speech'), {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.opts.apiKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(this.request(text, opts.voice)),
      });
      if (!res?.body) return;
      const reader: ReadableStreamDefaultReader<Uint8Array> = res.body.getReader();
      const pcm = new Pcm16Assembler();
      for (;;) {
        const chunk = await call.step('stream the audio', () => reader.read());
        if (!chunk || chunk.done) return;
        const samples = pcm.push(chunk.value);
        if (samples.length > 0) yield samples;
        if (call.aborted) return;
      }
    } finally {
      call.end();
    }
  }

  /** Nothing is held between requests. */
  async close(): Promise<void> {}

  private request(input: string, voice: string | undefined): Record<string, unknown> {
    return {
      model: this.opts.model ?? 'gpt-4o-mini-tts',
      input,
      voice: voice ?? this.opts.voice ?? 'alloy',
      response_format: 'pcm',
      ...(this.opts.instructions === undefined ? {} : { instructions: this.opts.instructions }),
      ...(this.opts.speed === undefined ? {} : { speed: this.opts.speed }),
    };
  }
}
