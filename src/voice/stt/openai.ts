import { systemClock, type Clock } from '../../core/clock.ts';
import { OperatorError } from '../../core/errors.ts';
import { encodeWav } from '../cloud-audio.ts';
import { vendorError, type SpeechSource } from '../cloud-errors.ts';
import { openAiEndpoint, SpeechHttpCall } from '../cloud-http.ts';
import type { SttEngine, SttResult, SttStartOptions, SttStream } from '../types.ts';

/**
 * OpenAI speech-to-text: the utterance's audio is buffered and, at `finish()`, uploaded as a WAV
 * file to `POST /v1/audio/transcriptions` (multipart: `file`, `model`, `response_format=json`).
 * It gives no partials (`onPartial` is never called) and its latency is one request after the
 * end of speech; use a streaming engine (Deepgram) where partials matter. Uploads are limited to
 * 25 MB (about 13 minutes at 16 kHz). https://platform.openai.com/docs/api-reference/audio/createTranscription
 */
export interface OpenAiSttOptions {
  apiKey: string;
  /** Default `https://api.openai.com` (a base ending in `/v1` works too). */
  baseUrl?: string;
  /** Default `gpt-4o-mini-transcribe`; `gpt-4o-transcribe`, `whisper-1` also work. */
  model?: string;
  /** ISO-639-1 code (`en`), improves accuracy and latency; detected when absent. */
  language?: string;
  /** Vocabulary or context to bias the transcription (product names…). */
  prompt?: string;
  /** Longest wait for the response and for its body. Default 15 000 ms. */
  timeoutMs?: number;
  clock?: Clock;
}

const OPENAI_STT: SpeechSource = { side: 'stt', vendor: 'OpenAI' };

export class OpenAiStt implements SttEngine {
  readonly name = 'openai';
  private readonly clock: Clock;
  private readonly opts: OpenAiSttOptions;

  constructor(opts: OpenAiSttOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
  }

  start(opts: SttStartOptions): SttStream {
    return new OpenAiUtterance(opts.sampleRate, (wav, signal) => this.transcribe(wav, signal));
  }

  /** Nothing is held between utterances. */
  async close(): Promise<void> {}

  private async transcribe(wav: Uint8Array<ArrayBuffer>, signal: AbortSignal): Promise<SttResult> {
    const form = new FormData();
    form.append('file', new Blob([wav], { type: 'audio/wav' }), 'utterance.wav');
    form.append('model', this.opts.model ?? 'gpt-4o-mini-transcribe');
    form.append('response_format', 'json');
    if (this.opts.language) form.append('language', this.opts.language);
    if (this.opts.prompt) form.append('prompt', this.opts.prompt);
    const call = new SpeechHttpCall({ source: OPENAI_STT, clock: this.clock, timeoutMs: this.opts.timeoutMs ?? 15_000, signal });
    try {
      const res = await call.send(openAiEndpoint(this.opts.baseUrl, '/audio/transcriptions'), {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.opts.apiKey}` },
        body: form,
      });
      const body = res && (await call.step('send the transcript', () => res.text()));
      return body === undefined ? { text: '' } : { text: transcriptOf(body) };
    } finally {
      call.end();
    }
  }
}

class OpenAiUtterance implements SttStream {
  private chunks: Int16Array[] = [];
  private state: 'open' | 'finishing' | 'done' = 'open';
  private readonly cancelled = new AbortController();
  private readonly sampleRate: number;
  private readonly transcribe: (wav: Uint8Array<ArrayBuffer>, signal: AbortSignal) => Promise<SttResult>;

  constructor(sampleRate: number, transcribe: (wav: Uint8Array<ArrayBuffer>, signal: AbortSignal) => Promise<SttResult>) {
    this.sampleRate = sampleRate;
    this.transcribe = transcribe;
  }

  write(pcm: Int16Array): void {
    // A copy: the pipeline may reuse its frame buffers.
    if (this.state === 'open' && pcm.length > 0) this.chunks.push(pcm.slice());
  }

  async finish(): Promise<SttResult> {
    if (this.state !== 'open') {
      throw new OperatorError('application', 'stt_stream_ended', 'stt_stream_ended: finish() after finish() or cancel()');
    }
    this.state = 'finishing';
    const chunks = this.chunks;
    this.chunks = [];
    try {
      if (chunks.length === 0) return { text: '' };
      return await this.transcribe(encodeWav(chunks, this.sampleRate), this.cancelled.signal);
    } finally {
      this.state = 'done';
    }
  }

  /** Drops the audio; a transcription already under way is aborted and resolves with no text. */
  cancel(): void {
    this.state = 'done';
    this.chunks = [];
    this.cancelled.abort();
  }
}

/** `response_format=json`: `{"text": "…", "usage": {…}}`. */
function transcriptOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { text?: unknown };
    if (typeof parsed.text === 'string') return parsed.text.trim();
  } catch {
    // reported below
  }
  throw vendorError(OPENAI_STT, undefined, { message: `sent a transcription response without text: ${body.slice(0, 100)}` });
}
