import type { EndedReason } from '../core/conversation.ts';

/**
 * What a live conversation tells its transport. The names and fields are those of the realtime
 * socket in API.md; other transports (voice, carriers) map them onto their own wire.
 */
export type LiveEvent =
  | { type: 'session.started'; conversationId: string; agent: string }
  | { type: 'user.accepted'; itemId: string }
  | { type: 'agent.delta'; turnId: string; text: string }
  | { type: 'agent.done'; turnId: string; text: string; interrupted: boolean; itemId: string }
  | { type: 'tool.started'; turnId: string; callId: string; name: string }
  | { type: 'tool.finished'; turnId: string; callId: string; name: string; ok: boolean }
  | { type: 'error'; code: string; message: string }
  /** With `transferTo`, the call is to be handed over to that number or SIP address. */
  | { type: 'session.ended'; reason: EndedReason; transferTo?: string }
  /** Voice: one 20 ms frame of agent audio in the transport's encoding. */
  | { type: 'audio'; data: Uint8Array }
  | { type: 'audio.mark'; id: string }
  | { type: 'audio.clear' }
  | { type: 'user.transcript'; text: string; final: boolean };

export type LiveSink = (event: LiveEvent) => void;
