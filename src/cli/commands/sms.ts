import { createInterface } from 'node:readline';
import { keyword, type SmsMedia } from '../../channels/twilio/sms-codec.ts';
import { errorMessage } from '../../core/errors.ts';
import { sendInboundSms, TwilioSimulator, type SimulatedMessage } from '../../testing/twilio-simulator.ts';
import type { Command } from '../args.ts';
import { UsageError } from '../args.ts';

/** The dev credentials `operator sms` and `operator call` both default to, so one server serves both. */
export const DEV_ACCOUNT_SID = `AC${'0'.repeat(32)}`;
export const DEV_AUTH_TOKEN = 'operator-dev-token';

interface SmsSession {
  sim: TwilioSimulator;
  server: string;
  publicUrl: string;
  from: string;
  to: string;
  media: SmsMedia[];
}

export const smsCommand: Command = {
  name: 'sms',
  summary: 'Text an agent as a phone would, with a local stand-in for Twilio',
  usage: 'operator sms [message …] [--server URL] [--to NUMBER] [--from NUMBER] [--port N]',
  help: `
Acts as Twilio on this machine: sends each message to the server as a signed inbound SMS webhook
(POST /twilio/sms) and serves Twilio's REST API on --port, where the server's replies arrive and
are printed. With messages as arguments it sends them one by one, waiting for each reply; without,
it reads lines from the terminal (Ctrl-C to quit).

Start the server so that it sends its replies here, with the same credentials, e.g.:
  TWILIO_ACCOUNT_SID=${DEV_ACCOUNT_SID} TWILIO_AUTH_TOKEN=${DEV_AUTH_TOKEN} \\
  TWILIO_API_URL=http://127.0.0.1:4010 npm start
and route --to to an agent under channels.sms in the config file.

Options:
  -s, --server URL        The Operator server [default http://127.0.0.1:8080]
      --public-url URL    Its OPERATOR_PUBLIC_URL, which the signature covers [default --server]
      --from NUMBER       The customer's phone number [default +15550001111]
      --to NUMBER         The agent's number (channels.sms[].number) [default +15557654321]
      --port N            Port of the simulated Twilio REST API [default 4010]
      --account-sid SID   [TWILIO_ACCOUNT_SID, default ${DEV_ACCOUNT_SID}]
      --auth-token TOKEN  [TWILIO_AUTH_TOKEN, default ${DEV_AUTH_TOKEN}]
      --media URL         Attach a picture to the first message (MMS); repeatable
      --wait SECONDS      How long to wait for a reply [default 30]`,
  options: {
    server: { type: 'string', short: 's' },
    'public-url': { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    port: { type: 'string' },
    'account-sid': { type: 'string' },
    'auth-token': { type: 'string' },
    media: { type: 'string', multiple: true },
    wait: { type: 'string' },
  },
  allowPositionals: true,
  async run(values, positionals) {
    const str = (k: string): string | undefined => (typeof values[k] === 'string' ? values[k] : undefined);
    const server = (str('server') ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
    const port = Number(str('port') ?? '4010');
    const waitMs = Number(str('wait') ?? '30') * 1000;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be a port number');
    if (!(waitMs > 0)) throw new UsageError('--wait must be a number of seconds');
    const accountSid = str('account-sid') ?? process.env.TWILIO_ACCOUNT_SID ?? DEV_ACCOUNT_SID;
    if (!/^AC[0-9a-f]{32}$/.test(accountSid)) throw new UsageError('--account-sid must be AC followed by 32 hex digits');
    const publicUrl = (str('public-url') ?? server).replace(/\/+$/, '');
    const mediaValues = (values as Record<string, unknown>).media;
    const media = (Array.isArray(mediaValues) ? (mediaValues as string[]) : []).map((url) => ({ url, contentType: contentTypeOf(url) }));
    let sim: TwilioSimulator;
    try {
      sim = await TwilioSimulator.start({
        port,
        accountSid,
        authToken: str('auth-token') ?? process.env.TWILIO_AUTH_TOKEN ?? DEV_AUTH_TOKEN,
        autoStatusCallbacks: ['queued', 'sent', 'delivered'],
        callbackTarget: (url) => (url.startsWith(publicUrl) ? server + url.slice(publicUrl.length) : url),
      });
    } catch (err) {
      process.stderr.write(`Could not serve the simulated Twilio API on port ${port} (${errorMessage(err)}); pick another with --port.\n`);
      return 1;
    }
    const session: SmsSession = { sim, server, publicUrl, from: str('from') ?? '+15550001111', to: str('to') ?? '+15557654321', media };
    process.stdout.write(`Twilio simulator on ${sim.url} (TWILIO_API_URL); texting ${session.to} as ${session.from}.\n`);
    try {
      return positionals.length ? await runBatch(session, positionals, waitMs) : await runInteractive(session);
    } finally {
      await sim.close();
    }
  },
};

function contentTypeOf(url: string): string {
  const ext = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(url)?.[1]?.toLowerCase();
  const types: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', pdf: 'application/pdf', mp4: 'video/mp4' };
  return (ext && types[ext]) || 'application/octet-stream';
}

function printReply(session: SmsSession, m: SimulatedMessage): void {
  const who = m.to === session.from ? 'agent' : `agent → ${m.to}`;
  const media = m.mediaUrls.map((u) => `\n  [media ${u}]`).join('');
  process.stdout.write(`${who}> ${m.body}${media}\n`);
}

/** Sends one message; false (with the reason printed) when the server did not take it. */
async function send(session: SmsSession, text: string): Promise<boolean> {
  const media = session.media;
  session.media = [];
  const kw = keyword(text);
  // Twilio itself blocks further messages to a number that texted STOP (error 21610) until START.
  if (kw === 'stop') session.sim.optOut(session.from);
  if (kw === 'start') session.sim.optIn(session.from);
  try {
    const res = await sendInboundSms({
      serverUrl: session.server,
      publicUrl: session.publicUrl,
      authToken: session.sim.authToken,
      accountSid: session.sim.accountSid,
      from: session.from,
      to: session.to,
      body: text,
      media,
    });
    if (res.status >= 200 && res.status < 300) {
      const inline = /<Message>([\s\S]*?)<\/Message>/.exec(res.body)?.[1];
      if (inline) process.stdout.write(`agent (TwiML)> ${inline.replace(/<[^>]+>/g, '')}\n`);
      return true;
    }
    const hint =
      res.status === 403
        ? ' — the signature was refused: the server needs TWILIO_AUTH_TOKEN equal to --auth-token and OPERATOR_PUBLIC_URL equal to --public-url'
        : res.status === 404
          ? ` — is Twilio configured on the server, and ${session.to} under channels.sms?`
          : '';
    process.stderr.write(`The server answered ${res.status}: ${res.body.slice(0, 300)}${hint}\n`);
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    process.stderr.write(`Could not reach the server at ${session.server} (${errorMessage(cause)}). Is it running (npm start)?\n`);
  }
  return false;
}

/** Waits for the reply to a message sent after the first `seen` messages, and for the parts that follow it. */
async function awaitReply(session: SmsSession, seen: number, waitMs: number): Promise<void> {
  const replies = (): SimulatedMessage[] => session.sim.messages.slice(seen).filter((m) => m.to === session.from);
  try {
    await session.sim.waitForMessage((m) => replies().includes(m), waitMs);
  } catch {
    process.stdout.write(`(no reply within ${waitMs / 1000} s)\n`);
    return;
  }
  // A long reply comes as several messages in quick succession: wait until 1 s passes without one.
  for (;;) {
    const count = replies().length;
    try {
      await session.sim.waitForMessage(() => replies().length > count, 1000);
    } catch {
      return;
    }
  }
}

async function runBatch(session: SmsSession, messages: string[], waitMs: number): Promise<number> {
  const off = session.sim.onMessage((m) => printReply(session, m));
  try {
    for (const text of messages) {
      process.stdout.write(`you> ${text}\n`);
      const seen = session.sim.messages.length;
      if (!(await send(session, text))) return 1;
      if (keyword(text) !== 'stop') await awaitReply(session, seen, waitMs);
    }
    await session.sim.settled();
    return 0;
  } finally {
    off();
  }
}

function runInteractive(session: SmsSession): Promise<number> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: 'you> ' });
    const off = session.sim.onMessage((m) => {
      process.stdout.write('\r');
      printReply(session, m);
      rl.prompt(true);
    });
    process.stdout.write('Type a message and press Enter. Ctrl-C to quit.\n');
    rl.prompt();
    let queue = Promise.resolve();
    let failed = false;
    rl.on('line', (line) => {
      const text = line.trim();
      if (!text) return rl.prompt();
      queue = queue.then(async () => {
        if (!(await send(session, text))) failed = true;
        rl.prompt();
      });
    });
    rl.on('SIGINT', () => rl.close());
    rl.on('close', () => {
      off();
      void queue.then(() => resolve(failed ? 1 : 0));
    });
  });
}
