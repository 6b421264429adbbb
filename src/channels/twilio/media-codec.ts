import { OperatorError } from '../../core/errors.ts';

/**
 * Twilio Media Streams, bidirectional (protocols.md §1.3–1.4): JSON text frames both ways. Pure:
 * frames in → typed events, our actions → frames out. Counters (`sequenceNumber`, `chunk`,
 * `timestamp`) are strings on the wire.
 */

export type MediaStreamEvent =
  | { event: 'connected' }
  | {
      event: 'start';
      streamSid: string;
      callSid: string;
      accountSid: string;
      customParameters: Record<string, string>;
      encoding: string;
      sampleRate: number;
    }
  | { event: 'media'; streamSid: string; track: string; payload: Uint8Array; sequence?: number }
  | { event: 'dtmf'; streamSid: string; digit: string }
  | { event: 'mark'; streamSid: string; name: string }
  | { event: 'stop'; streamSid: string };

/** Largest frame accepted: a 20 ms μ-law frame is ~300 bytes of JSON; Twilio never sends seconds in one. */
export const MAX_MEDIA_FRAME_BYTES = 64 * 1024;

const DIGIT = /^[0-9*#A-D]$/;

function bad(message: string): OperatorError {
  return new OperatorError('invalid_request', 'media_frame_invalid', message);
}

function str(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw bad(`"${key}" must be a non-empty string`);
  return v;
}

function obj(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = o[key];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`"${key}" must be an object`);
  return v as Record<string, unknown>;
}

/** Parses one frame from Twilio. Throws `media_frame_invalid` (never anything else) on garbage. */
export function decodeMediaFrame(raw: string | Buffer): MediaStreamEvent {
  if (raw.length > MAX_MEDIA_FRAME_BYTES) throw bad(`frame of ${raw.length} bytes is over ${MAX_MEDIA_FRAME_BYTES}`);
  let m: unknown;
  try {
    m = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    throw bad('frame is not JSON');
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw bad('frame is not a JSON object');
  const o = m as Record<string, unknown>;
  switch (o.event) {
    case 'connected':
      return { event: 'connected' };
    case 'start': {
      const start = obj(o, 'start');
      const format = typeof start.mediaFormat === 'object' && start.mediaFormat !== null ? (start.mediaFormat as Record<string, unknown>) : {};
      const params = typeof start.customParameters === 'object' && start.customParameters !== null ? start.customParameters : {};
      return {
        event: 'start',
        streamSid: str(start, 'streamSid'),
        callSid: str(start, 'callSid'),
        accountSid: typeof start.accountSid === 'string' ? start.accountSid : '',
        customParameters: Object.fromEntries(Object.entries(params).filter((e): e is [string, string] => typeof e[1] === 'string')),
        encoding: typeof format.encoding === 'string' ? format.encoding : 'audio/x-mulaw',
        sampleRate: typeof format.sampleRate === 'number' ? format.sampleRate : 8000,
      };
    }
    case 'media': {
      const media = obj(o, 'media');
      const payload = str(media, 'payload');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payload) || payload.length % 4 !== 0) throw bad('media payload is not base64');
      const seq = typeof o.sequenceNumber === 'string' ? Number(o.sequenceNumber) : undefined;
      return {
        event: 'media',
        streamSid: str(o, 'streamSid'),
        track: typeof media.track === 'string' ? media.track : 'inbound',
        payload: new Uint8Array(Buffer.from(payload, 'base64')),
        ...(seq !== undefined && Number.isFinite(seq) ? { sequence: seq } : {}),
      };
    }
    case 'dtmf': {
      const digit = str(obj(o, 'dtmf'), 'digit');
      if (!DIGIT.test(digit)) throw bad(`"${digit.slice(0, 8)}" is not a DTMF digit`);
      return { event: 'dtmf', streamSid: str(o, 'streamSid'), digit };
    }
    case 'mark':
      return { event: 'mark', streamSid: str(o, 'streamSid'), name: str(obj(o, 'mark'), 'name') };
    case 'stop':
      return { event: 'stop', streamSid: str(o, 'streamSid') };
    default:
      throw bad(`unknown event ${JSON.stringify(o.event)?.slice(0, 40) ?? 'missing'}`);
  }
}

export function encodeMedia(streamSid: string, payload: Uint8Array): string {
  return `{"event":"media","streamSid":"${streamSid}","media":{"payload":"${Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64')}"}}`;
}

export function encodeMark(streamSid: string, name: string): string {
  return JSON.stringify({ event: 'mark', streamSid, mark: { name } });
}

export function encodeClear(streamSid: string): string {
  return JSON.stringify({ event: 'clear', streamSid });
}
