import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { systemClock, type Clock } from '../core/clock.ts';
import { signTwilioRequest } from '../channels/twilio/signature.ts';
import { callerAudioToMulaw, mulawRms, type CallerAudio, type MulawEncoder } from './twilio-call-audio.ts';
import { CallerLine } from './twilio-call-line.ts';
import { Playout, type PlayedSegment } from './twilio-call-playout.ts';
import {
  CONNECTED_MESSAGE,
  dtmfMessage,
  isViolation,
  markMessage,
  mediaMessage,
  readServerFrame,
  startMessage,
  stopMessage,
  type ServerMessage,
  type StreamIdentity,
  type Violation,
} from './twilio-call-protocol.ts';

/**
 * One bidirectional Media Stream as Twilio runs it (`<Connect><Stream>`, protocols.md §1): opens
 * the WebSocket with `X-Twilio-Signature` over the stream URL as written in the TwiML, sends
 * `connected` and `start`, then the caller's line in real time; plays what the server sends at
 * real time, echoes marks when their audio has played, honours `clear`, and records every frame
 * and every protocol violation (Twilio's errors 31950/31951/31924) instead of failing on them.
 */
export interface StreamMisbehaviour {
  skipConnected?: boolean;
  skipStart?: boolean;
  /** Put in every message after `start` instead of the stream's SID. */
  streamSid?: string;
  /** Swap sequence numbers pairwise after `start` (2↔3, 4↔5, …). */
  shuffleSequenceNumbers?: boolean;
  /** Replaces the handshake signature; `null` sends no header. */
  signature?: string | null;
}

export interface MediaStreamOptions {
  /** The stream URL exactly as in the TwiML: what the signature covers. */
  url: string;
  /** Where to connect instead (the server's local address); default `url`. */
  connectUrl?: string;
  authToken: string;
  accountSid: string;
  callSid: string;
  /** Default: a fresh `MZ…`. */
  streamSid?: string;
  /** From the TwiML's `<Parameter>`s. */
  customParameters?: Record<string, string>;
  clock?: Clock;
  noise?: number;
  noiseSeed?: number;
  encode?: MulawEncoder;
  /** Agent audio with an RMS (PCM16 units) below this counts as silence; default 64. */
  silenceRms?: number;
  misbehave?: StreamMisbehaviour;
}

export interface ReceivedFrame {
  atMs: number;
  binary: boolean;
  data: string | Buffer;
}

export interface AgentAudio {
  atMs: number;
  mulaw: Uint8Array;
  silent: boolean;
}

export interface MarkRecord {
  name: string;
  receivedAtMs: number;
  echoedAtMs?: number;
  /** Echoed because of a `clear`, not because its audio played. */
  cleared?: boolean;
}

export interface ClearRecord {
  atMs: number;
  droppedMs: number;
  /** Marks echoed by this clear. */
  marks: string[];
}

export interface ViolationRecord extends Violation {
  atMs: number;
  /** The offending frame, cut to 200 characters. */
  frame: string;
}

export interface StreamClosed {
  atMs: number;
  code: number;
  reason: string;
  /** `twilio` when this side ended it (hang-up, redirect), `server` otherwise. */
  by: 'twilio' | 'server';
}

export interface StreamEvents {
  /** Every frame from the server, once it has been acted on. */
  frame: [ReceivedFrame];
  media: [AgentAudio];
  mark: [MarkRecord];
  clear: [ClearRecord];
  violation: [ViolationRecord];
  closed: [StreamClosed];
}

export function streamSid(): string {
  return `MZ${randomBytes(16).toString('hex')}`;
}

export class MediaStreamCaller extends EventEmitter<StreamEvents> {
  readonly id: StreamIdentity;
  readonly url: string;
  /** Every frame the server sent, in order of arrival. */
  readonly frames: ReceivedFrame[] = [];
  readonly media: AgentAudio[] = [];
  readonly marks: MarkRecord[] = [];
  readonly clears: ClearRecord[] = [];
  readonly violations: ViolationRecord[] = [];
  readonly digitsSent: string[] = [];
  /** Resolves once the socket has closed, whoever closed it. */
  readonly closed: Promise<StreamClosed>;

  private readonly options: MediaStreamOptions;
  private readonly clock: Clock;
  private readonly line: CallerLine;
  private readonly playout: Playout;
  private ws: WebSocket | undefined;
  private sequence = 0;
  private endedByUs = false;
  private closeRecord: StreamClosed | undefined;
  private resolveClosed: (c: StreamClosed) => void = () => undefined;

  /** Connects, sends `connected` and `start` and starts the line. Rejects if the upgrade fails. */
  static async connect(options: MediaStreamOptions): Promise<MediaStreamCaller> {
    const stream = new MediaStreamCaller(options);
    await stream.open();
    return stream;
  }

  private constructor(options: MediaStreamOptions) {
    super();
    this.options = options;
    this.url = options.url;
    this.clock = options.clock ?? systemClock;
    this.id = { accountSid: options.accountSid, callSid: options.callSid, streamSid: options.streamSid ?? streamSid() };
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    const sid = options.misbehave?.streamSid ?? this.id.streamSid;
    this.line = new CallerLine({
      clock: this.clock,
      sendFrame: (f) => this.send(mediaMessage(sid, this.nextSequence(), f.chunk, f.timestampMs, f.payload)),
      sendDigit: (digit) => {
        this.digitsSent.push(digit);
        this.send(dtmfMessage(sid, this.nextSequence(), digit));
      },
      ...(options.noise !== undefined ? { noise: options.noise } : {}),
      ...(options.noiseSeed !== undefined ? { noiseSeed: options.noiseSeed } : {}),
    });
    this.playout = new Playout({ clock: this.clock, onMarkPlayed: (name, cleared) => this.echoMark(name, cleared) });
  }

  /** How the socket closed, once it has. */
  get closedWith(): StreamClosed | undefined {
    return this.closeRecord;
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Caller frames sent so far. */
  get framesSent(): number {
    return this.line.framesSent;
  }

  /** Clock time (monotonic ms) of the stream's time 0. */
  get startedAtMs(): number {
    return this.line.startedAtMs;
  }

  /** Agent audio received and not yet played, in ms. */
  get bufferedMs(): number {
    return this.playout.bufferedMs;
  }

  /** Queues what the caller says; resolves with the clock time its last frame left (speech end). */
  say(audio: CallerAudio): Promise<number> {
    return this.line.speak(callerAudioToMulaw(audio, this.options.encode));
  }

  /** Sends `dtmf` events, one digit every `gapMs`; resolves when the last has been sent. */
  pressDigits(digits: string, gapMs = 100): Promise<number> {
    if (!/^[0-9*#A-D]*$/.test(digits)) throw new Error(`dtmf_invalid: ${JSON.stringify(digits)} (digits are 0-9 * # A-D)`);
    return this.line.press(digits, gapMs);
  }

  /** Sends a frame exactly as given: a string as text, a Buffer as binary. */
  sendRaw(data: string | Buffer): void {
    if (this.isOpen) this.ws!.send(data, { binary: Buffer.isBuffer(data) });
  }

  /** The caller hung up (or Twilio left the stream): `stop`, then close. */
  async stop(code = 1000, reason = ''): Promise<StreamClosed> {
    if (this.isOpen && !this.endedByUs) {
      this.endedByUs = true;
      this.line.stop();
      this.send(stopMessage({ ...this.id, streamSid: this.options.misbehave?.streamSid ?? this.id.streamSid }, this.nextSequence()));
      this.ws!.close(code, reason);
    }
    return this.closed;
  }

  /** Agent audio that has played on the caller's phone up to now. */
  played(): PlayedSegment[] {
    return this.playout.played();
  }

  /** All played agent audio, back to back, as PCM16 at 8 kHz. */
  playedPcm(): Int16Array {
    const parts = this.played().map((s) => s.pcm);
    const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** The first non-silent agent audio received at or after `tMs`, and how long after. */
  firstAudioAfter(tMs: number): { atMs: number; latencyMs: number } | undefined {
    const m = this.media.find((x) => !x.silent && x.atMs >= tMs);
    return m ? { atMs: m.atMs, latencyMs: m.atMs - tMs } : undefined;
  }

  /** Waits for `firstAudioAfter(tMs)`; rejects after `timeoutMs` of real time or when the stream closes. */
  waitForAudio(tMs: number = this.clock.monotonic(), timeoutMs = 5000): Promise<{ atMs: number; latencyMs: number }> {
    const found = this.firstAudioAfter(tMs);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        this.off('media', onMedia);
        this.off('closed', onClosed);
        const hit = this.firstAudioAfter(tMs);
        if (hit) resolve(hit);
        else reject(err ?? new Error('no agent audio'));
      };
      const onMedia = (m: AgentAudio): void => (!m.silent && m.atMs >= tMs ? finish() : undefined);
      const onClosed = (c: StreamClosed): void => finish(new Error(`the stream closed (${c.code} ${c.reason}) before any agent audio`));
      const timer = setTimeout(() => finish(new Error(`no agent audio within ${timeoutMs} ms (received ${this.media.length} media messages)`)), timeoutMs);
      this.on('media', onMedia);
      this.on('closed', onClosed);
    });
  }

  private nextSequence(): number {
    const n = ++this.sequence;
    if (!this.options.misbehave?.shuffleSequenceNumbers || n < 2) return n;
    return n % 2 === 0 ? n + 1 : n - 1;
  }

  private send(message: string): void {
    if (this.isOpen) this.ws!.send(message);
  }

  private open(): Promise<void> {
    const o = this.options;
    const signature = o.misbehave?.signature === undefined ? signTwilioRequest(o.authToken, o.url, {}) : o.misbehave.signature;
    const ws = new WebSocket(o.connectUrl ?? o.url, { headers: signature === null ? {} : { 'X-Twilio-Signature': signature } });
    this.ws = ws;
    return new Promise((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => {
        reject(new Error(`stream_rejected: the server answered the WebSocket upgrade of ${o.url} with HTTP ${res.statusCode}`));
        ws.terminate();
      });
      // After the handshake a socket error is followed by 'close', which is what the call sees.
      ws.on('error', (err) => reject(new Error(`stream_unreachable: ${o.connectUrl ?? o.url}: ${err.message}`)));
      ws.once('open', () => {
        ws.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary));
        ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
        this.begin();
        resolve();
      });
    });
  }

  private begin(): void {
    const o = this.options;
    if (!o.misbehave?.skipConnected) this.send(CONNECTED_MESSAGE);
    if (!o.misbehave?.skipStart) this.send(startMessage(this.id, this.nextSequence(), o.customParameters ?? {}));
    this.line.start();
  }

  private receive(data: Buffer, isBinary: boolean): void {
    const atMs = this.clock.monotonic();
    const text = isBinary ? data : data.toString('utf8');
    const frame = { atMs, binary: isBinary, data: text };
    this.frames.push(frame);
    this.act(readServerFrame(text, isBinary, this.id.streamSid), frame);
    this.emit('frame', frame);
  }

  private act(msg: ServerMessage | Violation, frame: ReceivedFrame): void {
    const { atMs } = frame;
    if (isViolation(msg)) {
      const shown = typeof frame.data === 'string' ? frame.data : `<binary ${frame.data.length} bytes>`;
      const record = { ...msg, atMs, frame: shown.slice(0, 200) };
      this.violations.push(record);
      this.emit('violation', record);
    } else if (msg.event === 'media') {
      this.playout.push(msg.payload);
      const audio = { atMs, mulaw: msg.payload, silent: mulawRms(msg.payload) < (this.options.silenceRms ?? 64) };
      this.media.push(audio);
      this.emit('media', audio);
    } else if (msg.event === 'mark') {
      this.marks.push({ name: msg.name, receivedAtMs: atMs });
      this.playout.mark(msg.name);
    } else {
      const { droppedMs, marks } = this.playout.clear();
      const record = { atMs, droppedMs, marks };
      this.clears.push(record);
      this.emit('clear', record);
    }
  }

  private echoMark(name: string, cleared: boolean): void {
    const record = this.marks.find((m) => m.name === name && m.echoedAtMs === undefined);
    if (!record) return;
    record.echoedAtMs = this.clock.monotonic();
    if (cleared) record.cleared = true;
    this.send(markMessage(this.options.misbehave?.streamSid ?? this.id.streamSid, this.nextSequence(), name));
    this.emit('mark', record);
  }

  private onClose(code: number, reason: string): void {
    this.line.stop();
    this.playout.close();
    this.closeRecord = { atMs: this.clock.monotonic(), code, reason, by: this.endedByUs ? 'twilio' : 'server' };
    this.emit('closed', this.closeRecord);
    this.resolveClosed(this.closeRecord);
  }
}
