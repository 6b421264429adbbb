import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAnswer, notFound, readForm, writeAnswer, type Answer } from './twilio-simulator-http.ts';
import { messageStatusParams, postSignedForm } from './twilio-simulator-webhooks.ts';
import {
  callJson,
  errorJson,
  injectedError,
  messageJson,
  messageListJson,
  segmentsOf,
  twilioSid,
  type SimulatedCall,
  type SimulatedCallUpdate,
  type SimulatedMessage,
  type TwilioErrorJson,
} from './twilio-simulator-resources.ts';
import { isTwilioError, validateCall, validateCallUpdate, validateMessage } from './twilio-simulator-validate.ts';
import { Switchboard, type FailedCallStatus, type SimulatedInboundCall } from './twilio-simulator-voice.ts';
import type { CallStreamOptions, TwilioCall } from './twilio-call.ts';
import type { Clock } from '../core/clock.ts';

export { sendInboundSms, inboundSmsParams, postSignedForm, type InboundSmsInput, type InboundSmsResult } from './twilio-simulator-webhooks.ts';
export type { SimulatedCall, SimulatedCallUpdate, SimulatedMessage } from './twilio-simulator-resources.ts';
export type { FailedCallStatus, SimulatedInboundCall } from './twilio-simulator-voice.ts';

/**
 * Twilio's REST API on 127.0.0.1, for tests and `operator sms` (protocols.md §7.2): Basic auth,
 * form bodies, `Messages.json` 201 (and its list, filtered by To, From and DateSent), `Calls.json`
 * 201, `Calls/{Sid}.json` 200, Twilio's error JSON, and signed status callbacks. Point the server
 * at it with `TWILIO_API_URL=<sim.url>`.
 *
 *   const sim = await TwilioSimulator.start();
 *   … the code under test sends …
 *   const sms = await sim.waitForMessage((m) => m.to === '+15550001111');
 *   await sim.sendMessageStatus(sms.sid);          // queued → sent → delivered, signed
 *   await sim.close();
 *
 * Voice (protocols.md §1, §2): `useServer` says where the server is, `placeInboundCall` rings it,
 * `waitForCall` + `answerCall` (or `failCall`) pick up the calls it creates; each is a live
 * `TwilioCall` (twilio-call.ts) that `Calls/{Sid}.json` updates reach. No timers of its own beyond
 * each call's 20 ms media clock and playout clock: everything follows a request or a call.
 */
export interface TwilioSimulatorOptions {
  /** Default: a random `AC…`. */
  accountSid?: string;
  /** Default: a random 32-hex token. */
  authToken?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  host?: string;
  /**
   * Statuses to report, in order, to a message's StatusCallback right after creating it (e.g.
   * `['queued', 'sent', 'delivered']`). Default none: tests call `sendMessageStatus` when they want.
   */
  autoStatusCallbacks?: readonly string[];
  /**
   * Where a callback URL is reached from here. The signature stays over the URL as given (what
   * Twilio was told); behind a tunnel the request goes to the server's local address instead.
   */
  callbackTarget?: (url: string) => string;
  now?: () => number;
  /** Drives the live calls' media and playout clocks; default the system clock. */
  clock?: Clock;
}


export interface RecordedRequest {
  method: string;
  path: string;
  params: Record<string, string | string[]>;
  status: number;
  idempotencyToken?: string;
}

export interface CallbackDelivery {
  url: string;
  params: Record<string, string>;
  /** The HTTP status the server answered, or the network error. */
  status?: number;
  error?: string;
}

const ROUTE = /^\/2010-04-01\/Accounts\/([^/]+)\/(Messages|Calls)(?:\/([^/]+))?\.json$/;

export class TwilioSimulator {
  readonly accountSid: string;
  readonly authToken: string;
  /** Every message sent through `Messages.json`, in order. */
  readonly messages: SimulatedMessage[] = [];
  readonly calls: SimulatedCall[] = [];
  readonly callUpdates: SimulatedCallUpdate[] = [];
  /** Every request, failed ones included. */
  readonly requests: RecordedRequest[] = [];
  /** Every status callback posted, with the server's answer. */
  readonly callbacks: CallbackDelivery[] = [];

  private readonly options: TwilioSimulatorOptions;
  private readonly server: Server;
  private readonly events = new EventEmitter();
  private readonly failures: TwilioErrorJson[] = [];
  private readonly optedOut = new Set<string>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly switchboard: Switchboard;
  private baseUrl = '';

  static async start(options: TwilioSimulatorOptions = {}): Promise<TwilioSimulator> {
    const sim = new TwilioSimulator(options);
    await sim.listen(options.port ?? 0, options.host ?? '127.0.0.1');
    return sim;
  }

  private constructor(options: TwilioSimulatorOptions) {
    this.options = options;
    this.accountSid = options.accountSid ?? twilioSid('AC');
    this.authToken = options.authToken ?? twilioSid('AC').slice(2);
    this.server = createServer((req, res) => void this.handle(req, res));
    this.switchboard = new Switchboard({
      accountSid: this.accountSid,
      authToken: this.authToken,
      reach: (url) => this.target(url),
      ...(options.clock ? { clock: options.clock } : {}),
      now: () => this.now(),
      register: (call) => this.addCall(call),
      postCallback: (url, params) => this.postCallback(url, params),
      track: (p) => this.track(p),
    });
  }

  /** The base URL to use as `TWILIO_API_URL`. */
  get url(): string {
    return this.baseUrl;
  }

  /** The next `count` requests fail with `status` and Twilio's error JSON (default for that status). */
  failNext(count = 1, status = 500, error?: { code: number; message: string }): void {
    const body = error ? errorJson(status, error.code, error.message) : injectedError(status);
    for (let i = 0; i < count; i++) this.failures.push(body);
  }

  /** Messages to `number` fail with 21610, as after the customer texted STOP. */
  optOut(number: string): void {
    this.optedOut.add(number);
  }

  optIn(number: string): void {
    this.optedOut.delete(number);
  }

  /**
   * Where the server under test is: `publicUrl` (its OPERATOR_PUBLIC_URL, default `serverUrl`) is
   * what Twilio signs and what TwiML names; requests and WebSockets go to `serverUrl` instead.
   */
  useServer(server: { serverUrl: string; publicUrl?: string }): void {
    this.switchboard.useServer(server.serverUrl, server.publicUrl ?? server.serverUrl);
  }

  /** Each call answered or placed by the simulator, by CallSid; ended ones stay. */
  get connectedCalls(): ReadonlyMap<string, TwilioCall> {
    return this.switchboard.live;
  }

  /** Rings the server (see `useServer`); resolves once its Media Stream is up or the call is over. */
  placeInboundCall(input: SimulatedInboundCall): Promise<TwilioCall> {
    return this.switchboard.placeInbound(input);
  }

  /** Picks up a call created through `Calls.json`, with the status callbacks it asked for. */
  async answerCall(sid: string, stream?: CallStreamOptions): Promise<TwilioCall> {
    return this.switchboard.answer(this.callResource(sid), stream);
  }

  /** A created call that is never answered: `busy`, `no-answer`, `failed` or `canceled`. */
  async failCall(sid: string, status: FailedCallStatus): Promise<void> {
    return this.switchboard.fail(this.callResource(sid), status);
  }

  onCall(listener: (c: SimulatedCall) => void): () => void {
    this.events.on('call', listener);
    return () => this.events.off('call', listener);
  }

  /** Like `waitForMessage`, for calls; by default the first the server created (not inbound ones). */
  waitForCall(predicate: (c: SimulatedCall) => boolean = (c) => c.direction !== 'inbound', timeoutMs = 5000): Promise<SimulatedCall> {
    return this.waitFor('call', this.calls, predicate, timeoutMs, (c) => `${c.direction ?? 'outbound-api'} ${c.to} ${c.status}`);
  }

  /** Calls `listener` with each message as it is created; returns the unsubscribe. */
  onMessage(listener: (m: SimulatedMessage) => void): () => void {
    this.events.on('message', listener);
    return () => this.events.off('message', listener);
  }

  /**
   * The first message, already sent or still to come, that satisfies `predicate`. Rejects after
   * `timeoutMs` naming what was sent instead (the bound is a failure deadline, not a pacing sleep).
   */
  waitForMessage(predicate: (m: SimulatedMessage) => boolean = () => true, timeoutMs = 5000): Promise<SimulatedMessage> {
    return this.waitFor('message', this.messages, predicate, timeoutMs, (m) => `${m.to}: ${JSON.stringify(m.body.slice(0, 60))}`);
  }

  private waitFor<T>(event: 'message' | 'call', seen: readonly T[], predicate: (x: T) => boolean, timeoutMs: number, show: (x: T) => string): Promise<T> {
    const found = seen.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const listener = (x: T): void => {
        if (!predicate(x)) return;
        clearTimeout(timer);
        this.events.off(event, listener);
        resolve(x);
      };
      const timer = setTimeout(() => {
        this.events.off(event, listener);
        reject(new Error(`no matching ${event} within ${timeoutMs} ms (${event}s sent: ${seen.map(show).join('; ') || 'none'})`));
      }, timeoutMs);
      this.events.on(event, listener);
    });
  }

  /**
   * Posts signed status callbacks for a message to its StatusCallback, one after the other, each
   * after the server answered the previous one. Nothing happens without a StatusCallback.
   */
  async sendMessageStatus(
    sid: string,
    statuses: readonly string[] = ['queued', 'sent', 'delivered'],
    options: { errorCode?: number } = {},
  ): Promise<CallbackDelivery[]> {
    const m = this.messages.find((x) => x.sid === sid);
    if (!m) throw new Error(`the simulator sent no message ${sid}`);
    const out: CallbackDelivery[] = [];
    for (const status of statuses) {
      m.status = status;
      if (!m.statusCallback) continue;
      const failed = status === 'failed' || status === 'undelivered';
      const code = failed ? (options.errorCode ?? 30003) : undefined;
      out.push(await this.postCallback(m.statusCallback, messageStatusParams(m, status, code)));
    }
    return out;
  }

  /** Moves a call to `status` and posts the signed call status callback, if the call asked for one. */
  async sendCallStatus(sid: string, status: string, durationSeconds?: number): Promise<CallbackDelivery | undefined> {
    const c = this.callResource(sid);
    c.status = status;
    return this.switchboard.postStatus(c, status, durationSeconds);
  }

  private callResource(sid: string): SimulatedCall {
    const c = this.calls.find((x) => x.sid === sid);
    if (!c) throw new Error(`the simulator has no call ${sid}`);
    return c;
  }

  private addCall(call: SimulatedCall): void {
    this.calls.push(call);
    this.events.emit('call', call);
  }

  /** Resolves when the automatic status callbacks started so far have been answered. */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Hangs up every live call, then stops serving. */
  async close(): Promise<void> {
    await this.switchboard.hangUpAll();
    await this.settled();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Where a public URL is reached from here: `useServer`, then the `callbackTarget` option. */
  private target(url: string): string {
    const routed = this.switchboard.reachServer(url);
    return this.options.callbackTarget?.(routed) ?? routed;
  }

  private listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const addr = this.server.address() as AddressInfo;
        this.baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
        resolve();
      });
    });
  }

  private async postCallback(url: string, params: Record<string, string>): Promise<CallbackDelivery> {
    const delivery: CallbackDelivery = { url, params };
    try {
      const target = this.target(url);
      delivery.status = (await postSignedForm({ url: target, signedUrl: url, authToken: this.authToken, params })).status;
    } catch (err) {
      delivery.error = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    }
    this.callbacks.push(delivery);
    return delivery;
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const form = await readForm(req);
    const params = isAnswer(form) ? {} : form;
    const answer = isAnswer(form) ? form : this.route(req, path, params);
    const token = req.headers['i-twilio-idempotency-token'];
    this.requests.push({ method: req.method ?? '', path, params, status: answer.status, ...(typeof token === 'string' ? { idempotencyToken: token } : {}) });
    writeAnswer(res, answer);
  }

  private route(req: IncomingMessage, path: string, params: Record<string, string | string[]>): Answer {
    const injected = this.failures.shift();
    if (injected) return { status: injected.status, json: injected };
    if (!this.authorized(req.headers.authorization)) return { status: 401, json: errorJson(401, 20003, 'Authenticate') };
    const m = ROUTE.exec(path);
    if (!m || m[1] !== this.accountSid) return notFound(path);
    const [, , resource, sid] = m;
    if (req.method === 'GET' && resource === 'Messages' && !sid) return messageListJson(this.messages, params, this.accountSid, this.now());
    if (req.method === 'GET') return this.fetchResource(resource!, sid, path);
    if (req.method !== 'POST') return { status: 405, json: errorJson(405, 20004, 'Method not allowed') };
    if (resource === 'Messages' && !sid) return this.createMessage(params, req.headers['i-twilio-idempotency-token']);
    if (resource === 'Calls' && !sid) return this.createCall(params);
    if (resource === 'Calls' && sid) return this.updateCall(sid, params, path);
    return notFound(path);
  }

  private authorized(header: string | undefined): boolean {
    const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
    if (!m) return false;
    return Buffer.from(m[1]!, 'base64').toString('utf8') === `${this.accountSid}:${this.authToken}`;
  }

  private fetchResource(resource: string, sid: string | undefined, path: string): Answer {
    if (resource === 'Messages') {
      const msg = this.messages.find((x) => x.sid === sid);
      return msg ? { status: 200, json: messageJson(msg, this.now()) } : notFound(path);
    }
    const call = this.calls.find((x) => x.sid === sid);
    return call ? { status: 200, json: callJson(call, this.now()) } : notFound(path);
  }

  private createMessage(params: Record<string, string | string[]>, token: string | string[] | undefined): Answer {
    const v = validateMessage(params, this.optedOut);
    if (isTwilioError(v)) return { status: v.status, json: v };
    const msg: SimulatedMessage = {
      sid: twilioSid(v.mediaUrls.length ? 'MM' : 'SM'),
      accountSid: this.accountSid,
      ...v,
      ...(typeof token === 'string' ? { idempotencyToken: token } : {}),
      status: 'queued',
      numSegments: segmentsOf(v.body),
      createdAt: this.now(),
      params,
    };
    this.messages.push(msg);
    const json = messageJson(msg, msg.createdAt);
    const auto = this.options.autoStatusCallbacks ?? [];
    // Listeners and callbacks run once the 201 is on the wire, as with Twilio.
    const after = (): void => {
      this.events.emit('message', msg);
      if (auto.length && msg.statusCallback) this.track(this.sendMessageStatus(msg.sid, auto));
    };
    return { status: 201, json, after };
  }

  private createCall(params: Record<string, string | string[]>): Answer {
    const v = validateCall(params);
    if (isTwilioError(v)) return { status: v.status, json: v };
    const call: SimulatedCall = { sid: twilioSid('CA'), accountSid: this.accountSid, ...v, status: 'queued', createdAt: this.now(), params };
    this.calls.push(call);
    return { status: 201, json: callJson(call, call.createdAt), after: () => this.events.emit('call', call) };
  }

  private updateCall(sid: string, params: Record<string, string | string[]>, path: string): Answer {
    const call = this.calls.find((x) => x.sid === sid);
    if (!call) return notFound(path);
    const v = validateCallUpdate(params, call.status);
    if (isTwilioError(v)) return { status: v.status, json: v };
    this.callUpdates.push({ sid, ...v, params });
    if (v.status) call.status = v.status;
    else if (v.twiml !== undefined || v.url !== undefined) {
      call.twiml = v.twiml;
      call.url = v.url;
    }
    // The live call reacts once the 200 is on the wire, as with Twilio.
    return { status: 200, json: callJson(call, this.now()), after: () => this.switchboard.updated(sid, v) };
  }
}
