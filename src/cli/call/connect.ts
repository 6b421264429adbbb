import { errorMessage } from '../../core/errors.ts';
import type { CallStreamOptions, TwilioCall } from '../../testing/twilio-call.ts';
import type { TwilioSimulator } from '../../testing/twilio-simulator.ts';
import { DEV_AUTH_TOKEN } from '../commands/sms.ts';
import type { CallOptions } from './options.ts';
import { CallFailure, poll, type OperatorApi } from './server-api.ts';

/**
 * Getting a call up, either way round, and saying plainly why it did not come up: the server's
 * Twilio settings must match this simulator's (credentials, public URL, REST API URL).
 */
export interface ConnectedCall {
  call: TwilioCall;
  /** Known at once for an outbound call; see `inboundConversation` for an inbound one. */
  conversationId?: string;
}

/** The environment the server needs for this simulator, as a shell prefix. */
export function serverEnv(o: CallOptions, simulatorUrl: string): string {
  const token = o.authToken === DEV_AUTH_TOKEN ? o.authToken : '<your --auth-token>';
  return `TWILIO_ACCOUNT_SID=${o.accountSid} TWILIO_AUTH_TOKEN=${token} TWILIO_API_URL=${simulatorUrl}`;
}

/** Rings the server's voice webhook; resolves once the media stream is up. */
export async function callServer(sim: TwilioSimulator, o: CallOptions, stream: CallStreamOptions): Promise<ConnectedCall> {
  let call: TwilioCall;
  try {
    call = await sim.placeInboundCall({ from: o.from, to: o.to, stream });
  } catch (err) {
    throw new CallFailure(explainCallFailure(errorMessage(err), o, sim.url));
  }
  if (!call.stream) throw new CallFailure(withoutStream(call, o));
  return { call };
}

/** The conversation of an inbound call: the server creates it when the stream starts, for the caller's number. */
export async function inboundConversation(api: OperatorApi, o: CallOptions, call: TwilioCall): Promise<string | undefined> {
  const found = await poll(async () => (call.isOver ? null : await api.activeVoiceConversation(o.from)), 5_000);
  return found ?? undefined;
}

/** Asks the server to call `from` (`POST /v1/calls`) and answers the call it places here. */
export async function answerServer(sim: TwilioSimulator, api: OperatorApi, o: CallOptions, stream: CallStreamOptions): Promise<ConnectedCall> {
  let placed: { conversationId: string; callSid: string };
  try {
    placed = await api.placeCall({ agent: o.agent, to: o.from, ...(o.toGiven ? { from: o.to } : {}) });
  } catch (err) {
    const message = errorMessage(err);
    const hint = /twilio/i.test(message) ? `\nStart the server with ${serverEnv(o, sim.url)} so that it places calls through this simulator.` : '';
    throw new CallFailure(message + hint);
  }
  try {
    await sim.waitForCall((c) => c.sid === placed.callSid, 3_000);
  } catch {
    throw new CallFailure(`The server placed call ${placed.callSid}, but not through this simulator: is its TWILIO_API_URL ${sim.url}? (${serverEnv(o, sim.url)})`);
  }
  let call: TwilioCall;
  try {
    call = await sim.answerCall(placed.callSid, stream);
  } catch (err) {
    throw new CallFailure(explainCallFailure(errorMessage(err), o, sim.url));
  }
  if (!call.stream) throw new CallFailure(withoutStream(call, o));
  return { call, conversationId: placed.conversationId };
}

function explainCallFailure(message: string, o: CallOptions, simulatorUrl: string): string {
  const status = /answered HTTP (\d+)/.exec(message)?.[1];
  if (status === '404' && /twilio\/voice/.test(message)) {
    return `The server answered the call webhook (POST /twilio/voice) with 404: Twilio is not configured there — is TWILIO_AUTH_TOKEN set on the server? Start it with ${serverEnv(o, simulatorUrl)} npm start`;
  }
  if (status === '403') {
    return `The server refused the call webhook's signature (403): its TWILIO_AUTH_TOKEN must equal --auth-token, and its OPERATOR_PUBLIC_URL must be ${o.publicUrl} (--public-url).`;
  }
  if (/^stream_/.test(message)) {
    return `The server answered the call, but its media stream failed (${message}). The stream URL comes from the server's OPERATOR_PUBLIC_URL; give the same URL as --public-url (now ${o.publicUrl}).`;
  }
  if (/fetch failed|ECONNREFUSED/.test(message)) {
    return `Could not reach the server's call webhook at ${o.server} (${message}). Is it running (npm start)?`;
  }
  return `The call failed: ${message}`;
}

function withoutStream(call: TwilioCall, o: CallOptions): string {
  const said = call.said.length ? ` It said "${call.said.join(' ')}"` : '';
  const routed = o.outbound ? '' : ` Is ${o.to} listed under channels.voice for agent "${o.agent}"? (--to)`;
  return `The server answered without connecting a media stream.${said}${routed}`;
}

/** How a call that was up ended, and whether that was a failure (exit code 1). */
export function describeEnd(call: TwilioCall): { message: string; failed: boolean } {
  if (call.transferredTo) return { message: `transferred to ${call.transferredTo}`, failed: false };
  const closed = call.stream?.closedWith;
  switch (call.endedBy) {
    case 'caller':
      return { message: 'you hung up', failed: false };
    case 'api':
      return { message: 'the agent hung up', failed: false };
    case 'error':
      return { message: `error: ${call.errors.at(-1) ?? 'unknown'}`, failed: true };
    default:
      if (closed?.code === 1008) {
        return {
          message: `the server refused the media stream (${closed.reason || 'policy violation'}): its TWILIO_AUTH_TOKEN must equal --auth-token and its OPERATOR_PUBLIC_URL must be --public-url`,
          failed: true,
        };
      }
      if (closed?.reason === 'call ended') return { message: 'the agent hung up', failed: false };
      if (closed?.reason === 'call could not start') return { message: 'the server could not start the call (see its log)', failed: true };
      return { message: `the server closed the media stream${closed?.reason ? ` (${closed.reason})` : ''}`, failed: false };
  }
}
