/**
 * The Media Streams wire format seen from Twilio's side (protocols.md §1.2–§1.4), with no I/O:
 * the JSON text frames Twilio sends (counters as strings, `sampleRate`/`channels` as numbers) and
 * a strict reading of what a server may send back — `media`, `mark` and `clear` only, as JSON
 * text, with the stream's own SID, base64 μ-law without a file header. What Twilio would flag is
 * returned as a violation with the error code it would log.
 */
export interface StreamIdentity {
  accountSid: string;
  callSid: string;
  streamSid: string;
}

export const CONNECTED_MESSAGE = JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' });

export function startMessage(id: StreamIdentity, sequenceNumber: number, customParameters: Record<string, string>): string {
  return JSON.stringify({
    event: 'start',
    sequenceNumber: String(sequenceNumber),
    start: {
      accountSid: id.accountSid,
      streamSid: id.streamSid,
      callSid: id.callSid,
      tracks: ['inbound'],
      customParameters,
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    },
    streamSid: id.streamSid,
  });
}

export function mediaMessage(streamSid: string, sequenceNumber: number, chunk: number, timestampMs: number, payload: Uint8Array): string {
  return JSON.stringify({
    event: 'media',
    sequenceNumber: String(sequenceNumber),
    media: { track: 'inbound', chunk: String(chunk), timestamp: String(timestampMs), payload: Buffer.from(payload).toString('base64') },
    streamSid,
  });
}

/** `track` is `inbound_track` here, unlike media's `inbound` (Twilio's own inconsistency). */
export function dtmfMessage(streamSid: string, sequenceNumber: number, digit: string): string {
  return JSON.stringify({ event: 'dtmf', streamSid, sequenceNumber: String(sequenceNumber), dtmf: { track: 'inbound_track', digit } });
}

export function markMessage(streamSid: string, sequenceNumber: number, name: string): string {
  return JSON.stringify({ event: 'mark', sequenceNumber: String(sequenceNumber), streamSid, mark: { name } });
}

export function stopMessage(id: StreamIdentity, sequenceNumber: number): string {
  return JSON.stringify({
    event: 'stop',
    sequenceNumber: String(sequenceNumber),
    stop: { accountSid: id.accountSid, callSid: id.callSid },
    streamSid: id.streamSid,
  });
}

export type ServerMessage = { event: 'media'; payload: Uint8Array } | { event: 'mark'; name: string } | { event: 'clear' };

/**
 * 31950 "Malformed Message" (a binary frame), 31951 "Stream - Protocol - Invalid Message" (not
 * JSON, unknown type, missing or extra field, wrong Stream SID), 31924 "Websocket - Protocol
 * Error" (payload that is not base64 μ-law, or carries a file header).
 */
export type ViolationCode = 31950 | 31951 | 31924;

export interface Violation {
  code: ViolationCode;
  reason: string;
}

const FIELDS: Record<ServerMessage['event'], { top: string[]; inner?: [string, string[]] }> = {
  media: { top: ['event', 'streamSid', 'media'], inner: ['media', ['payload']] },
  mark: { top: ['event', 'streamSid', 'mark'], inner: ['mark', ['name']] },
  clear: { top: ['event', 'streamSid'] },
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Magic numbers of audio containers a server might mistakenly send whole. */
const FILE_HEADERS: [string, string][] = [
  ['RIFF', 'a WAV (RIFF) header'],
  ['.snd', 'an AU header'],
  ['OggS', 'an Ogg header'],
  ['ID3', 'an MP3 (ID3) header'],
  ['fLaC', 'a FLAC header'],
];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fieldProblem(msg: Record<string, unknown>, event: ServerMessage['event']): string | undefined {
  const spec = FIELDS[event];
  const extra = Object.keys(msg).filter((k) => !spec.top.includes(k));
  if (extra.length) return `${event} has extra field(s) ${extra.join(', ')}`;
  if (!spec.inner) return undefined;
  const [key, fields] = spec.inner;
  const inner = msg[key];
  if (!isRecord(inner)) return `${event} is missing the "${key}" object`;
  const innerExtra = Object.keys(inner).filter((k) => !fields.includes(k));
  if (innerExtra.length) return `${event}.${key} has extra field(s) ${innerExtra.join(', ')}`;
  const missing = fields.filter((f) => typeof inner[f] !== 'string');
  return missing.length ? `${event}.${key}.${missing.join(', ')} is missing or not a string` : undefined;
}

function mediaPayload(payload: string): Uint8Array | Violation {
  if (!BASE64.test(payload)) return { code: 31924, reason: 'media.payload is not valid base64' };
  const bytes = Buffer.from(payload, 'base64');
  const head = bytes.subarray(0, 4).toString('latin1');
  const header = FILE_HEADERS.find(([magic]) => head.startsWith(magic));
  if (header) return { code: 31924, reason: `media.payload starts with ${header[1]}; send raw audio/x-mulaw at 8000 Hz` };
  return new Uint8Array(bytes);
}

/** Reads one frame the server sent on a bidirectional stream whose SID is `streamSid`. */
export function readServerFrame(data: string | Buffer, isBinary: boolean, streamSid: string): ServerMessage | Violation {
  if (isBinary) return { code: 31950, reason: `binary frame of ${data.length} bytes; Media Streams messages are JSON text frames` };
  let msg: unknown;
  try {
    msg = JSON.parse(data.toString());
  } catch {
    return { code: 31951, reason: 'message does not have JSON format' };
  }
  if (!isRecord(msg)) return { code: 31951, reason: 'message is not a JSON object' };
  const event = msg.event;
  if (event !== 'media' && event !== 'mark' && event !== 'clear') {
    return { code: 31951, reason: `unknown message type ${JSON.stringify(event)}; a server may send media, mark or clear` };
  }
  if (msg.streamSid !== streamSid) return { code: 31951, reason: `wrong Stream SID ${JSON.stringify(msg.streamSid)} (expected ${streamSid})` };
  const problem = fieldProblem(msg, event);
  if (problem) return { code: 31951, reason: problem };
  if (event === 'clear') return { event };
  if (event === 'mark') return { event, name: (msg.mark as Record<string, string>).name! };
  const payload = mediaPayload((msg.media as Record<string, string>).payload!);
  return payload instanceof Uint8Array ? { event, payload } : payload;
}

export function isViolation(v: ServerMessage | Violation): v is Violation {
  return 'code' in v;
}
