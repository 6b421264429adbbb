import { readFileSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { errorMessage } from '../../core/errors.ts';
import type { Command } from '../args.ts';
import { UsageError } from '../args.ts';
import type { CallOptions } from '../call/options.ts';
import type { CallTerminal } from '../call/report.ts';
import { parseScript } from '../call/script.ts';
import { runCall } from '../call/session.ts';
import { DEV_ACCOUNT_SID, DEV_AUTH_TOKEN } from './sms.ts';

const DEFAULT_TO = '+15557654321';
const DEFAULT_FROM = '+15550102000';
const E164 = /^\+[1-9][0-9]{6,14}$/;

export const callCommand: Command = {
  name: 'call',
  summary: 'Phone an agent from the terminal, with a local stand-in for Twilio',
  usage: 'operator call <agent> [--server URL] [--to NUMBER] [--from NUMBER] [--outbound] [--script FILE] [--json] [--no-recognise]',
  help: `
Acts as Twilio toward a running server: rings its voice webhook (POST /twilio/voice) as a phone
call to --to, opens the Media Stream its TwiML names, and carries the call in real time as μ-law
at 8 kHz. What you type is spoken with espeak-ng; what the agent says is recognised with
pocketsphinx and printed, with the latency of each answer (end of your speech → first agent audio).
At the end it prints the conversation as the server stored it.

Start the server with the same Twilio credentials and its REST API pointed here, e.g.:
  TWILIO_ACCOUNT_SID=${DEV_ACCOUNT_SID} TWILIO_AUTH_TOKEN=${DEV_AUTH_TOKEN} \\
  TWILIO_API_URL=http://127.0.0.1:4010 npm start
(the same settings serve "operator sms"). Transfers and hang-ups by the agent arrive on that API.

Typing:
  any text                Say it (typing while the agent talks speaks over it: barge-in)
  #1234#                  Press the keys after the first "#" (here 1 2 3 4 #)
  /wait 2s                Stay quiet for a while
  /over 1s TEXT           Say TEXT 1 s after the agent's answer to the line before began, over the
                          agent while it still talks (barge-in); also /bargein. Typed: 1 s from now
  /hangup, Ctrl-D, Ctrl-C Hang up
A --script file has one such line per turn; each waits for the agent's answer (its first audio,
then 1.5 s of quiet) before the next; so do lines piped into stdin. A line followed by an /over
line waits only for the first audio, so that the /over line interrupts the answer; as the first
line, /over interrupts the greeting. If the agent is not talking by then, /over just speaks (with
a warning). Lines starting with // are comments.

Options:
  -s, --server URL        The Operator server [default http://127.0.0.1:$PORT or :8080]
      --public-url URL    Its OPERATOR_PUBLIC_URL, which signatures and stream URLs use [default --server]
      --to NUMBER         The agent's number (channels.voice[].number) [default ${DEFAULT_TO}]
      --from NUMBER       The caller's number [default ${DEFAULT_FROM}]
      --outbound          Have the agent call you instead: POST /v1/calls {agent, to: --from} and
                          answer the call the server places through the simulator
      --twilio-port N     Port of the simulated Twilio REST API (the server's TWILIO_API_URL) [default 4010]
      --account-sid SID   [TWILIO_ACCOUNT_SID, default ${DEV_ACCOUNT_SID}]
      --auth-token TOKEN  [TWILIO_AUTH_TOKEN, default ${DEV_AUTH_TOKEN}]
  -t, --token KEY         API key, when the server has OPERATOR_API_KEYS [OPERATOR_API_KEY]
      --script FILE       Play the lines of FILE instead of reading the keyboard
      --json              One JSON event per line on stdout (ready, connected, you, keys, latency,
                          agent, clear, transfer, ended, transcript, error)
      --no-recognise      Do not recognise the agent's speech; print only its timing
      --voice KIND        espeak (speech, needs "apt-get install espeak-ng") or tone (a buzz that only
                          a scripted STT understands) [default espeak]
      --answer-timeout S  How long to wait for an answer before going on [default 15]

Exit code 0 when the call ran, 1 when the server could not be reached or refused the call.`,
  options: {
    server: { type: 'string', short: 's' },
    'public-url': { type: 'string' },
    to: { type: 'string' },
    from: { type: 'string' },
    outbound: { type: 'boolean' },
    'twilio-port': { type: 'string' },
    'account-sid': { type: 'string' },
    'auth-token': { type: 'string' },
    token: { type: 'string', short: 't' },
    script: { type: 'string' },
    json: { type: 'boolean' },
    'no-recognise': { type: 'boolean' },
    voice: { type: 'string' },
    'answer-timeout': { type: 'string' },
  },
  allowPositionals: true,
  async run(values, positionals) {
    const options = callOptions(values, positionals);
    const scriptFile = typeof values.script === 'string' ? values.script : undefined;
    const terminal: CallTerminal = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
    const abort = new AbortController();
    // The first Ctrl-C hangs up cleanly (and shows the transcript); a second one does not wait.
    const onSigint = (): void => (abort.signal.aborted ? process.exit(130) : abort.abort());
    process.on('SIGINT', onSigint);
    try {
      if (scriptFile) return await runCall({ ...options, script: true, signal: abort.signal }, readScript(scriptFile), terminal);
      return await runInteractive({ ...options, signal: abort.signal }, terminal);
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};

/** Reads and checks the options; throws `UsageError` naming the bad one. */
export function callOptions(values: Record<string, string | boolean | undefined>, positionals: string[]): CallOptions {
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? values[k] : undefined);
  const agent = positionals[0];
  if (!agent || positionals.length > 1) throw new UsageError(`Name one agent.\nUsage: ${callCommand.usage}`);
  const server = (str('server') ?? `http://127.0.0.1:${process.env.PORT ?? '8080'}`).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(server)) throw new UsageError('--server must be an http:// or https:// URL');
  const to = str('to') ?? DEFAULT_TO;
  const from = str('from') ?? DEFAULT_FROM;
  for (const [name, v] of [['--to', to], ['--from', from]] as const) {
    if (!E164.test(v)) throw new UsageError(`${name} must be an E.164 phone number like +15551234567`);
  }
  const twilioPort = Number(str('twilio-port') ?? '4010');
  if (!Number.isInteger(twilioPort) || twilioPort < 0 || twilioPort > 65535) throw new UsageError('--twilio-port must be a port number');
  const accountSid = str('account-sid') ?? process.env.TWILIO_ACCOUNT_SID ?? DEV_ACCOUNT_SID;
  if (!/^AC[0-9a-f]{32}$/.test(accountSid)) throw new UsageError('--account-sid must be AC followed by 32 hex digits');
  const voice = str('voice') ?? 'espeak';
  if (voice !== 'espeak' && voice !== 'tone') throw new UsageError('--voice must be espeak or tone');
  const answerTimeoutMs = Number(str('answer-timeout') ?? '15') * 1000;
  if (!(answerTimeoutMs > 0)) throw new UsageError('--answer-timeout must be a number of seconds');
  const token = str('token') ?? process.env.OPERATOR_API_KEY;
  return {
    agent,
    server,
    publicUrl: (str('public-url') ?? server).replace(/\/+$/, ''),
    to,
    toGiven: str('to') !== undefined,
    from,
    outbound: values.outbound === true,
    twilioPort,
    accountSid,
    authToken: str('auth-token') ?? process.env.TWILIO_AUTH_TOKEN ?? DEV_AUTH_TOKEN,
    ...(token ? { token } : {}),
    script: false,
    json: values.json === true,
    recognise: values['no-recognise'] !== true,
    voice,
    answerTimeoutMs,
  };
}

function readScript(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`Cannot read the script ${path}: ${errorMessage(err)}`);
  }
  return parseScript(text);
}

/**
 * The keyboard: readline lines; Ctrl-C (readline's SIGINT on a TTY) hangs up like Ctrl-D. Piped
 * lines are a script: they arrive all at once, and the end of the pipe is no reason to hang up.
 */
async function runInteractive(options: CallOptions, terminal: CallTerminal): Promise<number> {
  if (process.stdin.isTTY !== true) {
    const piped = createInterface({ input: process.stdin, terminal: false });
    try {
      return await runCall({ ...options, script: true }, listening(piped), terminal);
    } finally {
      piped.close();
    }
  }
  const tty = !options.json;
  const rl = createInterface({ input: process.stdin, ...(tty ? { output: process.stdout, prompt: 'you> ' } : {}), terminal: tty });
  rl.on('SIGINT', () => process.emit('SIGINT'));
  let open = true;
  rl.once('close', () => (open = false));
  const prompting: CallTerminal = tty
    ? {
        out: (t) => {
          process.stdout.write(open ? `\r\x1b[K${t}` : t);
          if (open) rl.prompt(true);
        },
        err: (t) => terminal.err(t),
      }
    : terminal;
  try {
    return await runCall(options, listening(rl), prompting);
  } finally {
    rl.close();
  }
}

/** Lines from now on: readline drops the lines that come before its iterator is asked for. */
function listening(rl: Interface): AsyncIterable<string> {
  const lines = rl[Symbol.asyncIterator]();
  return { [Symbol.asyncIterator]: () => lines };
}
