import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { decodeMediaFrame, encodeClear, encodeMark, encodeMedia, type MediaStreamEvent } from '../../channels/twilio/media-codec.ts';
import { validTwilioSignature, TWILIO_SIGNATURE_HEADER } from '../../channels/twilio/signature.ts';
import { dialTwiml, mediaStreamUrl } from '../../channels/twilio/voice-twiml.ts';
import type { TwilioRestClient } from '../../channels/twilio/rest.ts';
import { OperatorError, errorMessage, isOperatorError } from '../../core/errors.ts';
import type { LiveConversation, LiveEvent, Runtime } from '../../runtime/index.ts';
import { TWILIO_AUDIO } from '../../voice/pipeline/carrier-audio.ts';
import type { Store } from '../../store/index.ts';
import { callThreadKey } from './calls.ts';

export interface MediaStreamDeps {
  runtime: Runtime;
  store: Store;
  logger: Logger;
  authToken: string | undefined;
  publicUrl: string;
  rest: TwilioRestClient | undefined;
}

const NORMAL_CLOSE = 1000;

/**
 * `WS /twilio/media-stream`: Twilio Media Streams, bidirectional (protocols.md §1). The upgrade
 * must carry `X-Twilio-Signature` over the wss URL we put in the TwiML; `start` names the agent
 * (inbound) or the conversation (outbound) in its custom parameters.
 */
export function mediaStreamRoutes(app: FastifyInstance, deps: MediaStreamDeps): void {
  const url = mediaStreamUrl(deps.publicUrl);
  app.get(
    '/twilio/media-stream',
    {
      websocket: true,
      config: { public: true, rateLimit: false },
      // Refused before the upgrade: 403 and nothing starts (API.md, carrier endpoints).
      preValidation: (req, _reply, done) => {
        if (!deps.authToken) return done(new OperatorError('not_found', 'twilio_not_configured', 'Twilio is not configured on this server (TWILIO_AUTH_TOKEN)'));
        if (!validTwilioSignature(deps.authToken, url, {}, req.headers[TWILIO_SIGNATURE_HEADER])) {
          deps.logger.warn({ ip: req.ip }, 'media stream refused: bad or missing X-Twilio-Signature');
          return done(new OperatorError('auth', 'invalid_signature', 'X-Twilio-Signature is missing or does not match', { status: 403 }));
        }
        done();
      },
    },
    (socket) => new MediaStream(socket, deps).listen(),
  );
}

class MediaStream {
  private readonly socket: WebSocket;
  private readonly deps: MediaStreamDeps;
  private log: Logger;
  private streamSid: string | undefined;
  private callSid: string | undefined;
  private live: LiveConversation | undefined;
  private lastSequence = 0;
  private invalidFrames = 0;
  private closed = false;
  /** Twilio said `stop` or closed: the call is over on its side, nothing to hang up. */
  private callerGone = false;

  constructor(socket: WebSocket, deps: MediaStreamDeps) {
    this.socket = socket;
    this.deps = deps;
    this.log = deps.logger.child({ channel: 'voice' });
  }

  listen(): void {
    this.socket.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    this.socket.on('close', () => {
      this.closed = true;
      this.callerGone = true;
      void this.live?.end('caller_hangup');
    });
    this.socket.on('error', (err) => this.log.debug({ err: err.message }, 'media stream socket error'));
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    let e: MediaStreamEvent;
    try {
      if (isBinary) throw new Error('binary frame (Twilio sends JSON text frames only)');
      e = decodeMediaFrame(data);
    } catch (err) {
      // Garbage is counted and dropped; the call goes on (a real Twilio never sends it).
      if (this.invalidFrames++ % 100 === 0) this.log.warn({ err: errorMessage(err), count: this.invalidFrames }, 'invalid media stream frame');
      return;
    }
    if (e.event === 'connected') return;
    if (e.event === 'start') {
      void this.start(e);
      return;
    }
    if (e.streamSid !== this.streamSid) {
      if (this.invalidFrames++ % 100 === 0) this.log.warn({ event: e.event }, 'media stream frame for an unknown streamSid');
      return;
    }
    this.onStreamEvent(e);
  }

  private onStreamEvent(e: Exclude<MediaStreamEvent, { event: 'connected' | 'start' }>): void {
    switch (e.event) {
      case 'media':
        // TCP keeps order; a repeated or older sequence number is a replay, not new audio.
        if (e.sequence !== undefined) {
          if (e.sequence <= this.lastSequence) return;
          this.lastSequence = e.sequence;
        }
        if (e.track === 'inbound') this.live?.audioIn(e.payload);
        return;
      case 'dtmf':
        void this.live?.dtmf(e.digit);
        return;
      case 'mark':
        this.live?.markPlayed(e.name);
        return;
      case 'stop':
        this.callerGone = true;
        void this.live?.end('caller_hangup');
        return;
    }
  }

  private async start(e: Extract<MediaStreamEvent, { event: 'start' }>): Promise<void> {
    if (this.streamSid) return;
    this.streamSid = e.streamSid;
    this.callSid = e.callSid;
    this.log = this.log.child({ callSid: e.callSid });
    const p = e.customParameters;
    try {
      if (e.encoding !== 'audio/x-mulaw' || e.sampleRate !== 8000) {
        throw new Error(`unsupported media format ${e.encoding}/${e.sampleRate} (Twilio sends audio/x-mulaw at 8000 Hz)`);
      }
      const live = await this.deps.runtime.startLive({
        agentId: p.agent ?? '',
        channel: 'voice',
        ...(p.from ? { customer: { phone: p.from } } : {}),
        ...(p.conversationId ? { conversationId: p.conversationId } : {}),
        voice: { carrier: TWILIO_AUDIO, canTransfer: this.deps.rest !== undefined, hasKeypad: true },
        sink: (ev) => this.onLiveEvent(ev),
      });
      this.live = live;
      this.log = this.log.child({ conversationId: live.conversation.id });
      if (!p.conversationId) await this.deps.store.threads.link(live.conversation.id, [callThreadKey(e.callSid)]);
      if (this.closed) await live.end('caller_hangup');
    } catch (err) {
      this.log.error({ err: errorMessage(err), code: isOperatorError(err) ? err.code : undefined }, 'could not start the call');
      this.socket.close(NORMAL_CLOSE, 'call could not start');
    }
  }

  private onLiveEvent(e: LiveEvent): void {
    const sid = this.streamSid!;
    if (e.type === 'audio') this.send(encodeMedia(sid, e.data));
    else if (e.type === 'audio.mark') this.send(encodeMark(sid, e.id));
    else if (e.type === 'audio.clear') this.send(encodeClear(sid));
    else if (e.type === 'error') this.log.warn({ code: e.code, err: e.message }, 'call error');
    else if (e.type === 'session.ended') void this.hangUp(e.reason, e.transferTo);
  }

  /** The conversation ended on our side: transfer or hang up through the REST API, then close. */
  private async hangUp(reason: string, transferTo: string | undefined): Promise<void> {
    const { rest } = this.deps;
    try {
      if (rest && this.callSid && transferTo) await rest.updateCall(this.callSid, { twiml: dialTwiml(transferTo) });
      else if (rest && this.callSid && !this.callerGone) await rest.updateCall(this.callSid, { status: 'completed' });
    } catch (err) {
      this.log.warn({ err: errorMessage(err), reason, transferTo }, 'could not update the call through the REST API');
    }
    if (!this.closed) this.socket.close(NORMAL_CLOSE, 'call ended');
  }

  private send(frame: string): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(frame);
  }
}
