import twiml from 'twilio/lib/twiml/VoiceResponse.js';

/**
 * The voice TwiML we answer with (protocols.md §1.1, §2.5), built with the official package.
 * Stream URLs take no query string: values travel as `<Parameter>`s into `start.customParameters`.
 */

export function connectStreamTwiml(streamUrl: string, parameters: Record<string, string>): string {
  const r = new twiml();
  const stream = r.connect().stream({ url: streamUrl });
  for (const [name, value] of Object.entries(parameters)) stream.parameter({ name, value });
  return r.toString();
}

/** Transfer: a `<Dial>` to a number, or to a SIP address. */
export function dialTwiml(to: string, callerId?: string): string {
  const r = new twiml();
  const dial = r.dial(callerId ? { callerId } : {});
  if (/^sips?:/.test(to)) dial.sip(to);
  else dial.number(to);
  return r.toString();
}

export function sayHangupTwiml(text: string): string {
  const r = new twiml();
  r.say(text);
  r.hangup();
  return r.toString();
}

/** `wss://host/twilio/media-stream` from the public base URL (http → ws, https → wss). */
export function mediaStreamUrl(publicBaseUrl: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '').replace(/^http/, 'ws')}/twilio/media-stream`;
}
