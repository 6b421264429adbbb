import { EventEmitter } from 'node:events';
import { twilioRequestUrl } from '../channels/twilio/signature.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import type { CallerAudio } from './twilio-call-audio.ts';
import { reachDirectly, reachStream, reachVia, resolveStreamUrl, type Reach } from './twilio-call-route.ts';
import { MediaStreamCaller, type MediaStreamOptions, type StreamClosed, type StreamEvents, type ViolationRecord } from './twilio-call-stream.ts';
import { parseVoiceTwiml, TwimlError, type TwimlStream, type TwimlVerb } from './twilio-call-twiml.ts';
import { API_VERSION, twilioSid } from './twilio-simulator-resources.ts';
import { postSignedForm } from './twilio-simulator-webhooks.ts';

export { reachVia, type Reach } from './twilio-call-route.ts';

/**
 * A phone call as Twilio runs it toward our server (protocols.md §1.1, §2.1, §2.5): fetch TwiML
 * from the voice webhook (signed over the public URL), run its verbs in order — `<Say>` and
 * `<Dial>` are recorded, `<Connect><Stream>` opens a Media Stream and blocks until the server
 * closes it — then go on after `</Connect>` (or to the `<Connect action>` URL) exactly as Twilio
 * does. A REST update replaces the running TwiML (the stream gets `stop` and closes first) or
 * ends the call. No timers of its own: everything follows a response, a socket event or a call.
 */
export type CallDirection = 'inbound' | 'outbound-api';

/**
 * `caller`: `hangUp()`; `twiml`: the TwiML ran out, hung up or dialled away; `api`: a REST update
 * ended it or replaced its TwiML; `error`: the server answered something Twilio could not run.
 */
export type CallEndCause = 'caller' | 'twiml' | 'api' | 'error';

export interface CallEnd {
  cause: CallEndCause;
  status: string;
  atMs: number;
  durationMs: number;
  error?: string;
}

export type TwimlSource = { url: string; method?: string } | { twiml: string };

export interface TwimlDocument {
  url?: string;
  xml: string;
  verbs: TwimlVerb[];
}

/** Options passed on to each Media Stream the call opens. */
export type CallStreamOptions = Pick<MediaStreamOptions, 'noise' | 'noiseSeed' | 'encode' | 'silenceRms' | 'misbehave'>;

export interface TwilioCallOptions {
  accountSid: string;
  authToken: string;
  from: string;
  to: string;
  direction: CallDirection;
  /** Default: a fresh `CA…`. */
  callSid?: string;
  /** Where public URLs are reached from here; default as they are. */
  reach?: Reach;
  clock?: Clock;
  stream?: CallStreamOptions;
}

/** The call's own events, plus those of each of its streams (`media`, `mark`, `clear`, …), passed on. */
export interface CallEvents extends Omit<StreamEvents, 'frame'> {
  twiml: [TwimlDocument];
  stream: [MediaStreamCaller];
  say: [string];
  dial: [string];
  ended: [CallEnd];
}

export class TwilioCall extends EventEmitter<CallEvents> {
  readonly sid: string;
  readonly accountSid: string;
  readonly from: string;
  readonly to: string;
  readonly direction: CallDirection;
  /** `ringing`, `in-progress`, then `completed`. */
  status: string;
  /** Every TwiML document run, in order. */
  readonly documents: TwimlDocument[] = [];
  readonly streams: MediaStreamCaller[] = [];
  /** Text of each `<Say>` reached. */
  readonly said: string[] = [];
  /** Target of each `<Dial>` reached. */
  readonly dialed: string[] = [];
  transferredTo: string | undefined;
  endedBy: CallEndCause | undefined;
  readonly errors: string[] = [];
  readonly ended: Promise<CallEnd>;

  private readonly options: TwilioCallOptions;
  private readonly clock: Clock;
  private readonly reach: Reach;
  private readonly createdAtMs: number;
  private generation = 0;
  private end: CallEnd | undefined;
  private resolveEnded: (end: CallEnd) => void = () => undefined;

  constructor(options: TwilioCallOptions) {
    super();
    this.options = options;
    this.sid = options.callSid ?? twilioSid('CA');
    this.accountSid = options.accountSid;
    this.from = options.from;
    this.to = options.to;
    this.direction = options.direction;
    this.status = options.direction === 'inbound' ? 'ringing' : 'in-progress';
    this.clock = options.clock ?? systemClock;
    this.reach = options.reach ?? reachDirectly;
    this.createdAtMs = this.clock.monotonic();
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  /** The latest Media Stream, open or closed. */
  get stream(): MediaStreamCaller | undefined {
    return this.streams.at(-1);
  }

  get isOver(): boolean {
    return this.end !== undefined;
  }

  /** Protocol violations on every stream of this call. */
  get violations(): ViolationRecord[] {
    return this.streams.flatMap((s) => s.violations);
  }

  /**
   * Runs TwiML from a webhook or inline; resolves when a Media Stream is up or the call is over.
   * Rejects (and ends the call) when the server's answer cannot be run, naming why.
   */
  async follow(source: TwimlSource): Promise<void> {
    const ready = this.untilStreamOrEnd();
    const gen = ++this.generation;
    void this.run(source, gen, 'twiml');
    await ready;
  }

  /** A REST update's new TwiML: Twilio stops the stream, then runs it in place of the old. */
  async redirect(source: TwimlSource): Promise<void> {
    if (this.end) return;
    const gen = ++this.generation;
    await this.stream?.stop();
    await this.run(source, gen, 'api');
  }

  /** Ends the call: the stream, if any, gets `stop` and closes. */
  async complete(cause: CallEndCause, error?: string): Promise<CallEnd> {
    if (!this.end) {
      this.generation++;
      if (error) this.errors.push(error);
      this.status = 'completed';
      const atMs = this.clock.monotonic();
      this.endedBy = cause;
      this.end = { cause, status: this.status, atMs, durationMs: atMs - this.createdAtMs, ...(error ? { error } : {}) };
      await this.stream?.stop();
      this.emit('ended', this.end);
      this.resolveEnded(this.end);
    }
    return this.ended;
  }

  /** The caller hangs up. */
  hangUp(): Promise<CallEnd> {
    return this.complete('caller');
  }

  say(audio: CallerAudio): Promise<number> {
    return this.live().say(audio);
  }

  pressDigits(digits: string, gapMs?: number): Promise<number> {
    return this.live().pressDigits(digits, gapMs);
  }

  sendRaw(data: string | Buffer): void {
    this.live().sendRaw(data);
  }

  firstAudioAfter(tMs: number): { atMs: number; latencyMs: number } | undefined {
    return this.stream?.firstAudioAfter(tMs);
  }

  waitForAudio(tMs?: number, timeoutMs?: number): Promise<{ atMs: number; latencyMs: number }> {
    return this.live().waitForAudio(tMs, timeoutMs);
  }

  /** Resolves with how the call ended; rejects after `timeoutMs` of real time. */
  waitForEnd(timeoutMs = 5000): Promise<CallEnd> {
    if (this.end) return Promise.resolve(this.end);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`call ${this.sid} still ${this.status} after ${timeoutMs} ms`)), timeoutMs);
      void this.ended.then((end) => {
        clearTimeout(timer);
        resolve(end);
      });
    });
  }

  private live(): MediaStreamCaller {
    const s = this.stream;
    if (!s || !s.isOpen) throw new Error(`call ${this.sid} has no open Media Stream (status ${this.status}, ended by ${this.endedBy ?? 'nobody'})`);
    return s;
  }

  private untilStreamOrEnd(): Promise<void> {
    return new Promise((resolve, reject) => {
      const off = (): void => {
        this.off('stream', onStream);
        this.off('ended', onEnded);
      };
      const onStream = (): void => {
        off();
        resolve();
      };
      const onEnded = (end: CallEnd): void => {
        off();
        if (end.error) reject(new Error(end.error));
        else resolve();
      };
      this.on('stream', onStream);
      this.on('ended', onEnded);
    });
  }

  private current(gen: number): boolean {
    return gen === this.generation && !this.end;
  }

  private async run(source: TwimlSource, gen: number, cause: CallEndCause): Promise<void> {
    try {
      const doc = await this.fetch(source);
      if (this.current(gen)) await this.execute(doc, gen, cause);
    } catch (err) {
      if (this.current(gen)) await this.complete('error', err instanceof Error ? err.message : String(err));
    }
  }

  private async execute(doc: TwimlDocument, gen: number, cause: CallEndCause): Promise<void> {
    this.status = 'in-progress';
    for (const verb of doc.verbs) {
      if (!this.current(gen)) return;
      if (verb.verb === 'Say') {
        this.said.push(verb.text);
        this.emit('say', verb.text);
      } else if (verb.verb === 'Dial') {
        this.dialed.push(verb.target);
        this.transferredTo = verb.target;
        this.emit('dial', verb.target);
        // The agent's part ends here: the caller now talks to whoever was dialled.
        await this.complete(cause);
        return;
      } else if (verb.verb === 'Hangup') {
        await this.complete(cause);
        return;
      } else {
        await this.connect(verb.stream, doc.url, gen);
        if (!this.current(gen)) return;
        if (verb.action) return this.run({ url: new URL(verb.action, doc.url).toString(), ...(verb.method ? { method: verb.method } : {}) }, gen, cause);
      }
    }
    if (this.current(gen)) await this.complete(cause);
  }

  private async connect(spec: TwimlStream, documentUrl: string | undefined, gen: number): Promise<StreamClosed> {
    const url = resolveStreamUrl(spec.url, documentUrl);
    const stream = await MediaStreamCaller.connect({
      ...this.options.stream,
      url,
      connectUrl: reachStream(this.reach, url),
      authToken: this.options.authToken,
      accountSid: this.accountSid,
      callSid: this.sid,
      customParameters: spec.parameters,
      clock: this.clock,
    });
    // Hung up or redirected while the socket was opening: Twilio would stop it straight away.
    if (!this.current(gen)) return stream.stop();
    this.streams.push(stream);
    stream.on('media', (m) => this.emit('media', m));
    stream.on('mark', (m) => this.emit('mark', m));
    stream.on('clear', (c) => this.emit('clear', c));
    stream.on('violation', (v) => this.emit('violation', v));
    stream.on('closed', (c) => this.emit('closed', c));
    this.emit('stream', stream);
    return stream.closed;
  }

  private webhookParams(): Record<string, string> {
    return {
      AccountSid: this.accountSid,
      ApiVersion: API_VERSION,
      CallSid: this.sid,
      CallStatus: this.status,
      Called: this.to,
      Caller: this.from,
      Direction: this.direction,
      From: this.from,
      To: this.to,
    };
  }

  private async fetch(source: TwimlSource): Promise<TwimlDocument> {
    const doc: TwimlDocument = 'twiml' in source ? { xml: source.twiml, verbs: [] } : { url: source.url, xml: await this.request(source), verbs: [] };
    try {
      doc.verbs = parseVoiceTwiml(doc.xml);
    } catch (err) {
      const where = doc.url ? ` from ${doc.url}` : '';
      throw err instanceof TwimlError ? new TwimlError(`${err.message.replace(/^twiml_invalid: /, '')}${where}: ${doc.xml.slice(0, 200)}`) : err;
    }
    this.documents.push(doc);
    this.emit('twiml', doc);
    return doc;
  }

  private async request(source: { url: string; method?: string }): Promise<string> {
    if (source.method && source.method.toUpperCase() !== 'POST') throw new Error(`webhook_method_unsupported: the simulator only POSTs (asked for ${source.method} ${source.url})`);
    const answer = await postSignedForm({ url: this.reach(source.url), signedUrl: source.url, authToken: this.options.authToken, params: this.webhookParams() });
    if (answer.status < 200 || answer.status > 299) {
      throw new Error(`webhook_failed: POST ${source.url} answered HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
    }
    // Twilio's error 12300 "Invalid Content-Type": TwiML must come as XML.
    if (!/^(text|application)\/xml\b/i.test(answer.contentType ?? '')) {
      throw new Error(`webhook_content_type: POST ${source.url} answered ${answer.contentType ?? 'no Content-Type'}; TwiML is text/xml`);
    }
    return answer.body;
  }
}

export interface InboundCallInput {
  /** The server as reachable from here, e.g. http://127.0.0.1:8080. */
  serverUrl: string;
  /** Its `OPERATOR_PUBLIC_URL`, which signatures cover; default `serverUrl`. */
  publicUrl?: string;
  authToken: string;
  /** Default `AC` + 32 zeros. */
  accountSid?: string;
  from: string;
  to: string;
  /** The voice webhook's path; default `/twilio/voice`. */
  path?: string;
  callSid?: string;
  clock?: Clock;
  stream?: CallStreamOptions;
}

/**
 * Rings the server as Twilio does for an incoming call: a signed POST of the voice webhook with
 * `CallStatus=ringing`, then the TwiML. Resolves once the Media Stream is up (or the TwiML ended
 * the call); rejects when the server's answer cannot be run.
 */
export async function placeInboundCall(input: InboundCallInput): Promise<TwilioCall> {
  const publicUrl = input.publicUrl ?? input.serverUrl;
  const call = new TwilioCall({
    accountSid: input.accountSid ?? `AC${'0'.repeat(32)}`,
    authToken: input.authToken,
    from: input.from,
    to: input.to,
    direction: 'inbound',
    reach: reachVia(publicUrl, input.serverUrl),
    ...(input.callSid ? { callSid: input.callSid } : {}),
    ...(input.clock ? { clock: input.clock } : {}),
    ...(input.stream ? { stream: input.stream } : {}),
  });
  await call.follow({ url: twilioRequestUrl(publicUrl, input.path ?? '/twilio/voice') });
  return call;
}
