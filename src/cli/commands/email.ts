import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { replyReferences, replySubject, threadKeys } from '../../channels/email/thread.ts';
import { errorMessage } from '../../core/errors.ts';
import { SmtpSink, sendTestEmail, type SinkMessage } from '../../testing/smtp-sink.ts';
import type { Command } from '../args.ts';
import { UsageError } from '../args.ts';

/**
 * `operator email`: a customer's mail client and the outbound relay, on this machine. Each message
 * goes to the server's SMTP receiver as a real email; the server's replies arrive at a local relay
 * (SMTP_OUTBOUND_URL) and are printed. Follow-ups answer the latest reply with proper threading
 * headers and quote it below, as a mail client would, so the server's quote stripping is exercised.
 */

export interface EmailSimulatorOptions {
  smtpHost: string;
  smtpPort: number;
  from: string;
  to: string;
  subject: string;
  waitMs: number;
  /** Prints each line of output. */
  write(text: string): void;
}

interface Parent {
  messageId: string;
  inReplyTo?: string;
  references: string[];
  subject: string;
  from?: string;
  text: string;
}

/** One email thread as the customer sees it: what was sent, and the latest message to answer. */
export class EmailThread {
  private readonly sentIds = new Set<string>();
  private parent: Parent | undefined;
  private readonly sink: SmtpSink;
  private readonly opts: EmailSimulatorOptions;

  constructor(sink: SmtpSink, opts: EmailSimulatorOptions) {
    this.sink = sink;
    this.opts = opts;
  }

  /** Whether `m` is the agent answering this thread. */
  isReply(m: SinkMessage): boolean {
    const to = this.opts.from.toLowerCase();
    if (!m.to.includes(to) && !m.envelope.rcptTo.map((a) => a.toLowerCase()).includes(to)) return false;
    return threadKeys({ messageId: m.messageId ?? '', ...(m.inReplyTo ? { inReplyTo: m.inReplyTo } : {}), references: m.references }).some((id) =>
      this.sentIds.has(id),
    );
  }

  /** Sends `text` as the next message of the thread; false (reason printed) when the server refused it. */
  async send(text: string): Promise<boolean> {
    const domain = this.opts.from.slice(this.opts.from.lastIndexOf('@') + 1) || 'example.com';
    const messageId = `sim-${randomUUID()}@${domain}`;
    const parent = this.parent;
    const subject = parent ? replySubject(parent.subject) : this.opts.subject;
    const quote = parent ? `\n\nOn ${new Date().toUTCString()}, ${parent.from ?? this.opts.to} wrote:\n${parent.text.replace(/^/gm, '> ')}\n` : '';
    try {
      await sendTestEmail({
        host: this.opts.smtpHost,
        port: this.opts.smtpPort,
        from: this.opts.from,
        to: this.opts.to,
        subject,
        text: text + quote,
        messageId,
        ...(parent ? { inReplyTo: parent.messageId, references: replyReferences(parent) } : {}),
      });
    } catch (err) {
      this.opts.write(explainSendFailure(err, this.opts));
      return false;
    }
    this.sentIds.add(messageId);
    // A follow-up sent before the agent answers answers this message, as a second email would.
    this.parent = {
      messageId,
      ...(parent ? { inReplyTo: parent.messageId } : {}),
      references: parent ? replyReferences(parent) : [],
      subject,
      text,
      from: this.opts.from,
    };
    return true;
  }

  /** Records a reply of the agent as the message the next one answers. */
  received(m: SinkMessage): void {
    if (!m.messageId) return;
    this.parent = { messageId: m.messageId, ...(m.inReplyTo ? { inReplyTo: m.inReplyTo } : {}), references: m.references, subject: m.subject, text: m.text.trim(), ...(m.from ? { from: m.from } : {}) };
  }

  /** Waits for the agent's next reply to this thread among the messages after the first `seen`. */
  async awaitReply(seen: number): Promise<SinkMessage | undefined> {
    try {
      return await this.sink.waitFor((m) => this.sink.messages.indexOf(m) >= seen && this.isReply(m), this.opts.waitMs);
    } catch {
      this.opts.write(`(no reply within ${this.opts.waitMs / 1000} s)\n`);
      return undefined;
    }
  }
}

export function formatReply(m: SinkMessage): string {
  const ids = (list: string[]): string => list.map((id) => `<${id}>`).join(' ');
  return [
    `agent> Subject: ${m.subject}`,
    `       From: ${m.from ?? '(none)'}  To: ${m.to.join(', ')}`,
    `       Message-ID: ${m.messageId ? `<${m.messageId}>` : '(none)'}`,
    `       In-Reply-To: ${m.inReplyTo ? `<${m.inReplyTo}>` : '(none)'}`,
    `       References: ${m.references.length ? ids(m.references) : '(none)'}`,
    '',
    m.text.trim(),
    '',
    '',
  ].join('\n');
}

function explainSendFailure(err: unknown, opts: EmailSimulatorOptions): string {
  const code = (err as { responseCode?: number }).responseCode;
  const response = (err as { response?: string }).response ?? errorMessage(err);
  if (code === 550) return `The server refused ${opts.to} (${response}). Is it an address under channels.email in the config?\n`;
  if (code !== undefined) return `The server did not take the email: ${response}\n`;
  return `Could not reach the SMTP receiver at ${opts.smtpHost}:${opts.smtpPort} (${errorMessage(err)}). Is the server running (npm start), with SMTP_PORT=${opts.smtpPort}?\n`;
}

/** Sends each message in turn, waiting for the reply to each; 1 when one was refused or unanswered. */
export async function runEmailBatch(sink: SmtpSink, opts: EmailSimulatorOptions, messages: string[]): Promise<number> {
  const thread = new EmailThread(sink, opts);
  for (const text of messages) {
    opts.write(`you> ${text}\n`);
    const seen = sink.messages.length;
    if (!(await thread.send(text))) return 1;
    const reply = await thread.awaitReply(seen);
    if (!reply) return 1;
    thread.received(reply);
    opts.write(formatReply(reply));
  }
  return 0;
}

function runInteractive(sink: SmtpSink, opts: EmailSimulatorOptions): Promise<number> {
  const thread = new EmailThread(sink, opts);
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: 'you> ' });
    const off = sink.onMessage((m) => {
      if (!thread.isReply(m)) return;
      thread.received(m);
      opts.write(`\r${formatReply(m)}`);
      rl.prompt(true);
    });
    opts.write('Type a message and press Enter; each one is an email in the same thread. Ctrl-C to quit.\n');
    rl.prompt();
    let queue = Promise.resolve();
    rl.on('line', (line) => {
      const text = line.trim();
      if (!text) return rl.prompt();
      queue = queue.then(async () => {
        await thread.send(text);
        rl.prompt();
      });
    });
    rl.on('close', () => {
      off();
      void queue.then(() => resolve(0));
    });
  });
}

function portOption(raw: string | undefined, fallback: number, name: string): number {
  const port = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--${name} must be a port number (0-65535)`);
  return port;
}

export const emailCommand: Command = {
  name: 'email',
  summary: 'Email an agent as a customer would, with a local stand-in for the outbound relay',
  usage: 'operator email [message …] [--to ADDR] [--from ADDR] [--subject S] [--smtp-port N] [--sink-port N]',
  help: `
Sends each message to the server's SMTP receiver as a real email, and receives the server's
replies on a local SMTP relay (--sink-port), printing each with its threading headers. With
messages as arguments it sends them in one thread, waiting for each reply; without, it reads lines
from the terminal. A follow-up answers the latest reply (In-Reply-To, References, "Re:" subject)
and quotes it below, as a mail client does.

Start the server so that it sends its replies here:
  SMTP_OUTBOUND_URL=smtp://127.0.0.1:2526 npm start
and put --to under channels.email in the config file.

Options:
      --smtp-host HOST    The server's SMTP receiver [default 127.0.0.1]
      --smtp-port N       Its port (SMTP_PORT) [default 2525]
      --to ADDR           The agent's address (channels.email[].address) [default support@acme.test]
      --from ADDR         The customer's address [default customer@example.com]
      --subject S         Subject of the first email [default "Question"]
      --sink-port N       Port of the local relay the replies arrive at [default 2526]
      --wait SECONDS      How long to wait for each reply [default 30]`,
  options: {
    'smtp-host': { type: 'string' },
    'smtp-port': { type: 'string' },
    to: { type: 'string' },
    from: { type: 'string' },
    subject: { type: 'string' },
    'sink-port': { type: 'string' },
    wait: { type: 'string' },
  },
  allowPositionals: true,
  async run(values, positionals) {
    const str = (k: string): string | undefined => (typeof values[k] === 'string' ? values[k] : undefined);
    const waitMs = Number(str('wait') ?? '30') * 1000;
    if (!(waitMs > 0)) throw new UsageError('--wait must be a number of seconds');
    const opts: EmailSimulatorOptions = {
      smtpHost: str('smtp-host') ?? '127.0.0.1',
      smtpPort: portOption(str('smtp-port'), 2525, 'smtp-port'),
      from: str('from') ?? 'customer@example.com',
      to: str('to') ?? 'support@acme.test',
      subject: str('subject') ?? 'Question',
      waitMs,
      write: (text) => process.stdout.write(text),
    };
    for (const [name, address] of [['from', opts.from], ['to', opts.to]] as const) {
      if (!/^[^\s@]+@[^\s@]+$/.test(address)) throw new UsageError(`--${name} must be an email address`);
    }
    const sinkPort = portOption(str('sink-port'), 2526, 'sink-port');
    let sink: SmtpSink;
    try {
      sink = await SmtpSink.start({ port: sinkPort });
    } catch (err) {
      process.stderr.write(`Could not listen for replies on port ${sinkPort} (${errorMessage(err)}); pick another with --sink-port.\n`);
      return 1;
    }
    opts.write(`Replies arrive at ${sink.url} (SMTP_OUTBOUND_URL); emailing ${opts.to} as ${opts.from}.\n`);
    try {
      return positionals.length ? await runEmailBatch(sink, opts, positionals) : await runInteractive(sink, opts);
    } finally {
      await sink.close();
    }
  },
};
