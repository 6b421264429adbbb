import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { OperatorError, asOperatorError } from '../../core/errors.ts';
import type { LiveConversation, LiveEvent, Runtime } from '../../runtime/index.ts';
import { decodeClientFrame, encodeServerMessage, type ClientMessage } from './codec.ts';

export interface RealtimeOptions {
  runtime: Runtime;
  logger: Logger;
  frameBytes: number;
  messageChars: number;
  /** Open sockets allowed per client address. */
  sessionsPerIp: number;
}

/** Close codes (RFC 6455 §7.4.1). */
const NORMAL_CLOSE = 1000;
const TRY_AGAIN_LATER = 1013;

/** `GET /v1/realtime`: one socket, one live conversation (API.md). */
export function realtimeRoutes(app: FastifyInstance, opts: RealtimeOptions): void {
  const open = new Map<string, number>();
  app.get('/v1/realtime', { websocket: true }, (socket, req) => {
    const ip = req.ip;
    const count = open.get(ip) ?? 0;
    if (count >= opts.sessionsPerIp) {
      socket.send(encodeServerMessage({ type: 'error', code: 'too_many_sessions', message: `At most ${opts.sessionsPerIp} open sessions per client address` }));
      socket.close(TRY_AGAIN_LATER, 'too many sessions');
      return;
    }
    open.set(ip, count + 1);
    socket.once('close', () => {
      const n = (open.get(ip) ?? 1) - 1;
      if (n <= 0) open.delete(ip);
      else open.set(ip, n);
    });
    new RealtimeConnection(socket, opts).listen();
  });
}

class RealtimeConnection {
  private readonly socket: WebSocket;
  private readonly opts: RealtimeOptions;
  private live: LiveConversation | undefined;
  private starting = false;
  private voice = false;
  private closed = false;
  /**
   * Frames are handled one after another, in arrival order: a client may send `user.message`
   * right behind `session.start` without waiting for `session.started` (DESIGN.md rule 5).
   */
  private inbox: Promise<void> = Promise.resolve();

  constructor(socket: WebSocket, opts: RealtimeOptions) {
    this.socket = socket;
    this.opts = opts;
  }

  listen(): void {
    this.socket.on('message', (data, isBinary) => {
      this.inbox = this.inbox
        .then(() => this.onFrame(data as Buffer, isBinary))
        .catch((err: unknown) => this.sendError(asOperatorError(err)));
    });
    this.socket.on('close', () => {
      this.closed = true;
      void this.live?.end('client_disconnect');
    });
    this.socket.on('error', (err) => this.opts.logger.debug({ err: err.message }, 'realtime socket error'));
  }

  private async onFrame(data: Buffer, isBinary: boolean): Promise<void> {
    // Frames still queued when the socket closed: the conversation (if any) is already ending.
    if (this.closed) return;
    if (isBinary) return this.audio(data);
    const msg = decodeClientFrame(data, this.opts.frameBytes, this.opts.messageChars);
    if (msg.type === 'session.start') return this.start(msg);
    if (!this.live) {
      throw new OperatorError('invalid_request', 'session_not_started', 'Send session.start first');
    }
    switch (msg.type) {
      case 'user.message':
        await this.live.userMessage(msg.text, msg.id);
        return;
      case 'session.end':
        await this.live.end('client');
        return;
      case 'audio.mark':
        if (!this.voice) throw new OperatorError('invalid_request', 'mode_mismatch', 'audio.mark belongs to voice-mode sessions');
        this.live.markPlayed(msg.id);
        return;
    }
  }

  private async start(msg: Extract<ClientMessage, { type: 'session.start' }>): Promise<void> {
    if (this.live || this.starting) {
      throw new OperatorError('conflict', 'session_already_started', 'This socket already has a session');
    }
    this.starting = true;
    this.voice = msg.mode === 'voice';
    try {
      const live = await this.opts.runtime.startLive({
        agentId: msg.agent,
        channel: this.voice ? 'voice' : 'chat',
        ...(this.voice ? { voice: { carrier: { encoding: 'pcm16' as const, sampleRate: msg.audio?.sampleRate ?? 16_000 }, canTransfer: false, hasKeypad: false } } : {}),
        ...(msg.customer ? { customer: msg.customer } : {}),
        ...(msg.context ? { context: msg.context } : {}),
        sink: (e) => this.onLiveEvent(e),
      });
      this.live = live;
      if (this.closed) await live.end('client_disconnect');
    } finally {
      this.starting = false;
    }
  }

  /** Voice mode: a binary frame is caller audio, PCM16 LE mono at the session's rate. */
  private audio(data: Buffer): void {
    if (!this.live || !this.voice) {
      throw new OperatorError('invalid_request', 'unexpected_binary', 'Binary frames carry audio and need a voice-mode session');
    }
    if (data.length === 0 || data.length % 2 !== 0 || data.length > this.opts.frameBytes) {
      throw new OperatorError('invalid_request', 'audio_frame_invalid', `Audio frames are PCM16: an even number of bytes, at most ${this.opts.frameBytes}`);
    }
    this.live.audioIn(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  private onLiveEvent(e: LiveEvent): void {
    if (e.type === 'audio') {
      if (this.socket.readyState === this.socket.OPEN) this.socket.send(e.data, { binary: true });
      return;
    }
    this.send(e);
    if (e.type === 'session.ended') this.socket.close(NORMAL_CLOSE, 'session ended');
  }

  private sendError(err: OperatorError): void {
    if (err.status >= 500) this.opts.logger.error({ err: err.message, code: err.code }, 'realtime frame failed');
    this.send({ type: 'error', code: err.code, message: err.message });
  }

  private send(m: object): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(encodeServerMessage(m));
  }
}
