import type { Clock } from '../core/clock.ts';
import { TwilioCall, type CallStreamOptions } from './twilio-call.ts';
import { reachVia, type Reach } from './twilio-call-route.ts';
import { twilioRequestUrl } from '../channels/twilio/signature.ts';
import { twilioSid, type SimulatedCall } from './twilio-simulator-resources.ts';
import type { CallUpdateRequest } from './twilio-simulator-validate.ts';
import { callStatusParams } from './twilio-simulator-webhooks.ts';
import type { CallbackDelivery } from './twilio-simulator.ts';

/**
 * The voice half of the Twilio simulator: the live calls behind the `Calls` resources, by CallSid.
 * It places inbound calls, answers (or fails) the calls the server created through `Calls.json`
 * with the status callbacks they asked for, and lets `Calls/{Sid}.json` reach the live call: new
 * TwiML stops the Media Stream and runs in its place; `Status=completed` hangs up.
 */
export type CallStatusEvent = 'initiated' | 'ringing' | 'answered' | 'completed';

/** What the switchboard needs from the simulator around it. */
export interface SwitchboardHost {
  accountSid: string;
  authToken: string;
  reach: Reach;
  clock?: Clock;
  now(): number;
  /** Adds an inbound call to the `Calls` resources. */
  register(call: SimulatedCall): void;
  postCallback(url: string, params: Record<string, string>): Promise<CallbackDelivery>;
  /** Keeps work started by a REST request for `settled()`. */
  track(p: Promise<unknown>): void;
}

export interface SimulatedInboundCall {
  from: string;
  to: string;
  /** The voice webhook's path under the public URL; default `/twilio/voice`. */
  path?: string;
  stream?: CallStreamOptions;
}

export type FailedCallStatus = 'busy' | 'no-answer' | 'failed' | 'canceled';

export class Switchboard {
  private readonly host: SwitchboardHost;
  private readonly calls = new Map<string, TwilioCall>();
  private readonly sequence = new Map<string, number>();
  private server: { publicUrl: string; reach: Reach } | undefined;

  constructor(host: SwitchboardHost) {
    this.host = host;
  }

  get live(): ReadonlyMap<string, TwilioCall> {
    return this.calls;
  }

  useServer(serverUrl: string, publicUrl: string): void {
    this.server = { publicUrl, reach: reachVia(publicUrl, serverUrl) };
  }

  /** A public URL of the server (see `useServer`) as reached from here; others unchanged. */
  reachServer(url: string): string {
    return this.server?.reach(url) ?? url;
  }

  async placeInbound(req: SimulatedInboundCall): Promise<TwilioCall> {
    if (!this.server) throw new Error('call useServer({ serverUrl, publicUrl }) before placing a call');
    const url = twilioRequestUrl(this.server.publicUrl, req.path ?? '/twilio/voice');
    const resource: SimulatedCall = {
      sid: twilioSid('CA'),
      accountSid: this.host.accountSid,
      from: req.from,
      to: req.to,
      url,
      direction: 'inbound',
      statusCallbackEvent: [],
      status: 'ringing',
      createdAt: this.host.now(),
      params: {},
    };
    this.host.register(resource);
    const call = this.connect(resource, req.stream);
    await call.follow({ url });
    if (!call.isOver) resource.status = call.status;
    return call;
  }

  /** Picks up a call the server created: initiated → ringing → answered, then its Url or Twiml. */
  async answer(resource: SimulatedCall, stream?: CallStreamOptions): Promise<TwilioCall> {
    this.assertQueued(resource);
    const source = resource.url ? { url: resource.url } : resource.twiml !== undefined ? { twiml: resource.twiml } : undefined;
    if (!source) throw new Error(`call ${resource.sid} has neither Url nor Twiml; the simulator cannot run an ApplicationSid`);
    await this.callEvent(resource, 'initiated', 'initiated');
    await this.callEvent(resource, 'ringing', 'ringing');
    const call = this.connect(resource, stream);
    await this.callEvent(resource, 'answered', 'in-progress');
    await call.follow(source);
    return call;
  }

  /** The callee never picks up: Twilio reports `status` as the call's completion. */
  async fail(resource: SimulatedCall, status: FailedCallStatus): Promise<void> {
    this.assertQueued(resource);
    await this.callEvent(resource, 'initiated', 'initiated');
    if (status === 'no-answer' || status === 'canceled') await this.callEvent(resource, 'ringing', 'ringing');
    await this.callEvent(resource, 'completed', status, 0);
  }

  /** `POST Calls/{Sid}.json` was accepted: make the live call (if any) react. */
  updated(sid: string, update: CallUpdateRequest): void {
    const call = this.calls.get(sid);
    if (!call || call.isOver) return;
    if (update.status === 'completed') this.host.track(call.complete('api'));
    else if (update.twiml !== undefined) this.host.track(call.redirect({ twiml: update.twiml }));
    else if (update.url !== undefined) this.host.track(call.redirect({ url: update.url }));
  }

  /** Posts a signed call status callback, if the call has a StatusCallback. */
  async postStatus(c: SimulatedCall, status: string, durationSeconds?: number): Promise<CallbackDelivery | undefined> {
    if (!c.statusCallback) return undefined;
    const seq = this.sequence.get(c.sid) ?? 0;
    this.sequence.set(c.sid, seq + 1);
    return this.host.postCallback(c.statusCallback, callStatusParams(c, status, seq, this.host.now(), durationSeconds));
  }

  /** Moves the resource to `status`; calls back only for the events asked for (default `completed`). */
  private async callEvent(c: SimulatedCall, event: CallStatusEvent, status: string, seconds?: number): Promise<void> {
    // `initiated` is a callback status only; the resource stays `queued` (twilio-oai status enum).
    if (status !== 'initiated') c.status = status;
    const asked = c.statusCallbackEvent.flatMap((e) => e.split(/\s+/)).filter(Boolean);
    if ((asked.length ? asked : ['completed']).includes(event)) await this.postStatus(c, status, seconds);
  }

  /** Every live call drops, as when the network goes away. */
  async hangUpAll(): Promise<void> {
    await Promise.all([...this.calls.values()].map((c) => c.hangUp()));
  }

  private assertQueued(resource: SimulatedCall): void {
    if (this.calls.has(resource.sid) || resource.status !== 'queued') {
      throw new Error(`call ${resource.sid} is ${resource.status}; only a queued call can be answered or failed`);
    }
  }

  private connect(resource: SimulatedCall, stream: CallStreamOptions | undefined): TwilioCall {
    const call = new TwilioCall({
      accountSid: this.host.accountSid,
      authToken: this.host.authToken,
      from: resource.from,
      to: resource.to,
      direction: resource.direction ?? 'outbound-api',
      callSid: resource.sid,
      reach: this.host.reach,
      ...(this.host.clock ? { clock: this.host.clock } : {}),
      ...(stream ? { stream } : {}),
    });
    this.calls.set(call.sid, call);
    call.once('ended', (end) => {
      const seconds = Math.round(end.durationMs / 1000);
      if (resource.direction === 'inbound') resource.status = end.status;
      else this.host.track(this.callEvent(resource, 'completed', end.status, seconds));
    });
    return call;
  }
}
