import type { VoiceKind } from './caller-voice.ts';

/** Everything `runCall` needs, resolved from the command line and the environment. */
export interface CallOptions {
  /** The agent to talk to: named in `POST /v1/calls`, checked against the number's agent inbound. */
  agent: string;
  /** The Operator server as reachable from here. */
  server: string;
  /** Its OPERATOR_PUBLIC_URL: what signatures cover and TwiML stream URLs name. */
  publicUrl: string;
  /** The agent's number (channels.voice). */
  to: string;
  /** Whether `to` was given, not defaulted (outbound calls then use it as the caller id). */
  toGiven: boolean;
  /** The caller's number. */
  from: string;
  /** The server calls us (`POST /v1/calls`) instead of us calling it. */
  outbound: boolean;
  /** Port of the simulated Twilio REST API (the server's TWILIO_API_URL); 0 picks a free one. */
  twilioPort: number;
  accountSid: string;
  authToken: string;
  /** API key for `/v1/*`, when the server has OPERATOR_API_KEYS. */
  token?: string;
  /**
   * A script: each line waits for the agent's answer to finish before the next (only for its start
   * when the next line is `/over`, which speaks over it), and the caller's lines are echoed. Otherwise lines are spoken as they come (typing over the agent barges in).
   */
  script: boolean;
  json: boolean;
  /** Recognise the agent's speech with pocketsphinx; otherwise report only its timing. */
  recognise: boolean;
  voice: VoiceKind;
  /** How long to wait for the agent's first audio after a turn. */
  answerTimeoutMs: number;
  /** Aborting it hangs up (Ctrl-C). */
  signal?: AbortSignal;
}
