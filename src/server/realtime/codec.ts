import { z } from 'zod';
import { OperatorError } from '../../core/errors.ts';

/**
 * The realtime socket's wire format (API.md "Realtime WebSocket"): text frames carry JSON. Pure:
 * bytes in, a typed client message (or a coded error) out.
 */
const customer = z
  .object({
    phone: z.string().min(3).max(32).optional(),
    email: z.email().max(254).optional(),
    externalId: z.string().min(1).max(128).optional(),
  })
  .strict();

const sessionStart = z
  .object({
    type: z.literal('session.start'),
    agent: z.string().min(1).max(64),
    mode: z.enum(['text', 'voice']).default('text'),
    customer: customer.optional(),
    context: z.record(z.string(), z.unknown()).optional(),
    audio: z.object({ encoding: z.literal('pcm16'), sampleRate: z.number().int().min(8000).max(48000) }).optional(),
  })
  .strict();

const userMessage = z.object({ type: z.literal('user.message'), text: z.string(), id: z.string().max(128).optional() }).strict();
const audioMark = z.object({ type: z.literal('audio.mark'), id: z.string().max(128) }).strict();
const sessionEnd = z.object({ type: z.literal('session.end') }).strict();

const SCHEMAS = {
  'session.start': sessionStart,
  'user.message': userMessage,
  'audio.mark': audioMark,
  'session.end': sessionEnd,
} as const;

export type ClientMessage =
  | z.output<typeof sessionStart>
  | z.output<typeof userMessage>
  | z.output<typeof audioMark>
  | z.output<typeof sessionEnd>;

function bad(code: string, message: string): OperatorError {
  return new OperatorError('invalid_request', code, message);
}

export function decodeClientFrame(data: Buffer | string, maxBytes: number, maxTextChars: number): ClientMessage {
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (size > maxBytes) throw bad('frame_too_large', `Frames are limited to ${maxBytes} bytes (got ${size})`);
  let json: unknown;
  try {
    json = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch {
    throw bad('invalid_json', 'The frame is not valid JSON');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw bad('invalid_message', 'A frame must be a JSON object with a "type"');
  const type = (json as { type?: unknown }).type;
  if (typeof type !== 'string') throw bad('invalid_message', 'The frame has no "type"');
  const schema = (SCHEMAS as Record<string, z.ZodType<ClientMessage> | undefined>)[type];
  if (!schema) throw bad('unknown_message_type', `Unknown message type "${type.slice(0, 64)}"`);
  const r = schema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw bad('invalid_message', `${type}: ${i && i.path.length ? `${i.path.join('.')}: ` : ''}${i?.message ?? 'invalid'}`);
  }
  const msg = r.data;
  if (msg.type === 'user.message') {
    if (msg.text.trim().length === 0) throw bad('invalid_message', 'user.message: text must not be empty');
    if (msg.text.length > maxTextChars) throw bad('message_too_long', `Messages are limited to ${maxTextChars} characters`);
  }
  return msg;
}

export function encodeServerMessage(m: object): string {
  return JSON.stringify(m);
}
