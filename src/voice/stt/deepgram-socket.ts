import type WebSocket from 'ws';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { OperatorError } from '../../core/errors.ts';
import { wireBytes } from '../cloud-audio.ts';
import { closedError, engineClosedError, type SpeechSource } from '../cloud-errors.ts';
import { closeSocket, frameText, openSocket } from '../cloud-socket.ts';

/**
 * One Deepgram live-transcription WebSocket (`/v1/listen`) for a call: audio frames and control
 * messages out (queued until the socket opens), `Results` in, a `KeepAlive` while idle.
 * https://developers.deepgram.com/reference/speech-to-text-api/listen-streaming
 */

export const DEEPGRAM: SpeechSource = { side: 'stt', vendor: 'Deepgram' };

/** The parts of a `Results` message we use. `startSec`/`endSec` count from the socket's first sample. */
export interface DeepgramResult {
  transcript: string;
  confidence?: number;
  isFinal: boolean;
  fromFinalize: boolean;
  startSec: number;
  endSec: number;
}

export interface DeepgramListener {
  onResult(result: DeepgramResult): void;
  onFailure(err: OperatorError): void;
}

export interface DeepgramSocketOptions {
  url: string;
  apiKey: string;
  sampleRate: number;
  clock: Clock;
  connectTimeoutMs: number;
  keepAliveMs: number;
}

/** Control messages: https://developers.deepgram.com/docs/finalize, /docs/audio-keep-alive, /docs/close-stream */
export type DeepgramControl = 'Finalize' | 'KeepAlive' | 'CloseStream';

const CLOSE_WAIT_MS = 1_000;

export class DeepgramSocket {
  readonly sampleRate: number;
  /** Samples handed to the socket so far (Deepgram's result timestamps count from its first sample). */
  sentSamples = 0;
  failure: OperatorError | undefined;
  /** Resolves once open; rejects with the classified failure when it cannot open. */
  readonly ready: Promise<void>;
  private ws: WebSocket | undefined;
  private outbox: (Buffer | string)[] = [];
  private readonly listeners = new Set<DeepgramListener>();
  private keepAlive: TimerHandle | undefined;
  private sentSinceTick = false;
  private closing = false;
  private readonly opts: DeepgramSocketOptions;

  private constructor(opts: DeepgramSocketOptions) {
    this.opts = opts;
    this.sampleRate = opts.sampleRate;
    this.ready = openSocket({
      url: opts.url,
      headers: { Authorization: `Token ${opts.apiKey}` },
      source: DEEPGRAM,
      clock: opts.clock,
      timeoutMs: opts.connectTimeoutMs,
    }).then(
      (ws) => this.opened(ws),
      (err: OperatorError) => {
        this.fail(err);
        throw err;
      },
    );
    this.ready.catch(() => undefined);
  }

  /** Starts connecting; audio and messages sent before the socket opens are queued. */
  static connect(opts: DeepgramSocketOptions): DeepgramSocket {
    return new DeepgramSocket(opts);
  }

  attach(listener: DeepgramListener): void {
    this.listeners.add(listener);
  }

  detach(listener: DeepgramListener): void {
    this.listeners.delete(listener);
  }

  sendAudio(pcm: Int16Array): void {
    if (this.failure || pcm.length === 0) return;
    this.sentSamples += pcm.length;
    this.send(wireBytes(pcm));
  }

  /** Sent as a text frame: Deepgram mishandles control messages sent as binary. */
  sendControl(type: DeepgramControl): void {
    if (this.failure) return;
    this.send(JSON.stringify({ type }));
  }

  /** Fails whoever is listening, asks Deepgram to close the stream, and waits for the close. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.fail(engineClosedError(DEEPGRAM));
    this.closing = true;
    const ws = this.ws;
    if (!ws) return; // still connecting: `opened` closes it
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'CloseStream' }));
    await closeSocket(ws, this.opts.clock, CLOSE_WAIT_MS);
  }

  private send(data: Buffer | string): void {
    if (this.ws) {
      if (this.ws.readyState !== this.ws.OPEN) return;
      this.ws.send(data);
      this.sentSinceTick = true;
    } else {
      this.outbox.push(data);
    }
  }

  private opened(ws: WebSocket): void {
    this.ws = ws;
    if (this.closing) {
      void closeSocket(ws, this.opts.clock, CLOSE_WAIT_MS);
      return;
    }
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.received(frameText(data));
    });
    ws.on('close', (code, reason) => {
      this.stopKeepAlive();
      if (!this.closing) this.fail(closedError(DEEPGRAM, code, reason.toString('utf8')));
    });
    const queued = this.outbox;
    this.outbox = [];
    for (const data of queued) this.send(data);
    this.scheduleKeepAlive();
  }

  private received(text: string): void {
    const result = parseResult(text);
    if (!result) return;
    for (const listener of [...this.listeners]) listener.onResult(result);
  }

  private fail(err: OperatorError): void {
    if (this.failure) return;
    this.failure = err;
    this.outbox = [];
    this.stopKeepAlive();
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener.onFailure(err);
  }

  /**
   * Deepgram closes a stream that gets neither audio nor KeepAlive for 10 s (NET-0001). Every
   * `keepAliveMs` we send one unless something was sent since the last tick, so the longest
   * silence is under 2 × keepAliveMs. https://developers.deepgram.com/docs/audio-keep-alive
   */
  private scheduleKeepAlive(): void {
    this.keepAlive = this.opts.clock.setTimeout(() => {
      if (!this.sentSinceTick) this.sendControl('KeepAlive');
      this.sentSinceTick = false;
      if (!this.failure && !this.closing) this.scheduleKeepAlive();
    }, this.opts.keepAliveMs);
  }

  private stopKeepAlive(): void {
    this.keepAlive?.cancel();
    this.keepAlive = undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * `{"type":"Results","start":s,"duration":s,"is_final":b,"speech_final":b,"from_finalize":b,
 * "channel":{"alternatives":[{"transcript","confidence","words"}]},…}`; other messages (`Metadata`,
 * `SpeechStarted`, `UtteranceEnd`) carry nothing the pipeline needs.
 */
export function parseResult(text: string): DeepgramResult | undefined {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(msg) || msg.type !== 'Results') return undefined;
  const alternatives = isRecord(msg.channel) && Array.isArray(msg.channel.alternatives) ? msg.channel.alternatives : [];
  const best: unknown = alternatives[0];
  const transcript = isRecord(best) && typeof best.transcript === 'string' ? best.transcript.trim() : '';
  const confidence = isRecord(best) ? num(best.confidence) : undefined;
  const startSec = num(msg.start) ?? 0;
  return {
    transcript,
    ...(confidence === undefined ? {} : { confidence }),
    isFinal: msg.is_final === true,
    fromFinalize: msg.from_finalize === true,
    startSec,
    endSec: startSec + (num(msg.duration) ?? 0),
  };
}
