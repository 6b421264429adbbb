import type { CallOptions } from '../../src/cli/call/options.ts';

/** An item of a stored conversation as GET /v1/conversations/{id} returns it. */
export interface StoredItem {
  role: string;
  type: string;
  text: string;
  interrupted: boolean;
  toolName?: string;
  data?: unknown;
}

/** The number `channels.voice` routes in the call tests. */
export const AGENT_NUMBER = '+15557654321';

/**
 * `operator call`'s options for a call to `server` (whose OPERATOR_PUBLIC_URL is `publicUrl`), the
 * simulated Twilio REST API on `twilioPort` with these credentials: a script, no recognition.
 */
export function callOptions(
  server: string,
  twilioPort: number,
  twilio: { accountSid: string; authToken: string; publicUrl: string },
  extra: Partial<CallOptions> = {},
): CallOptions {
  return {
    agent: 'support',
    server,
    publicUrl: twilio.publicUrl,
    to: AGENT_NUMBER,
    toGiven: false,
    from: '+15550102000',
    outbound: false,
    twilioPort,
    accountSid: twilio.accountSid,
    authToken: twilio.authToken,
    script: true,
    json: false,
    recognise: false,
    voice: 'tone',
    answerTimeoutMs: 10_000,
    ...extra,
  };
}
