import { afterEach, describe, expect, it } from 'vitest';
import { commandHelp } from '../../../src/cli/args.ts';
import { emailCommand, runEmailBatch, type EmailSimulatorOptions } from '../../../src/cli/commands/email.ts';
import { composeReply } from '../../../src/channels/email/compose.ts';
import { parseInboundEmail, type InboundEmail } from '../../../src/channels/email/parse.ts';
import { startSmtpReceiver, type SmtpReceiver } from '../../../src/channels/email/receiver.ts';
import { createEmailSender, type EmailSender } from '../../../src/channels/email/sender.ts';
import { threadKeys } from '../../../src/channels/email/thread.ts';
import { SmtpSink } from '../../../src/testing/smtp-sink.ts';

const SUPPORT = 'support@acme.test';
const LIMITS = { maxBytes: 1_000_000, maxAttachmentBytes: 500_000 };

let receiver: SmtpReceiver | undefined;
let sink: SmtpSink | undefined;
let sender: EmailSender | undefined;

afterEach(async () => {
  sender?.close();
  await receiver?.close();
  await sink?.close();
  receiver = sink = sender = undefined;
});

/**
 * A stand-in for the server's email loop: receiver → parse → compose → sender. The runtime does
 * the same with a store and a model in between; here the "agent" echoes the customer's new text.
 */
async function echoServer(relay: SmtpSink): Promise<{ port: number; inbound: InboundEmail[] }> {
  const inbound: InboundEmail[] = [];
  sender = createEmailSender(relay.url);
  const out = sender;
  receiver = await startSmtpReceiver({
    port: 0,
    host: '127.0.0.1',
    maxBytes: LIMITS.maxBytes,
    acceptsRecipient: (a) => a === SUPPORT,
    async onMessage(raw) {
      const email = await parseInboundEmail(raw, LIMITS);
      inbound.push(email);
      // Reply after acknowledging, as the runtime acts after persisting.
      setImmediate(() => {
        void out.send(
          composeReply({
            from: { address: SUPPORT, name: 'Acme' },
            to: email.from.address,
            subject: email.subject,
            inReplyTo: email.messageId,
            references: email.references,
            markdown: `You said: **${email.text}**`,
            id: `reply-${inbound.length}`,
          }),
        );
      });
    },
  });
  return { port: receiver.port, inbound };
}

describe('operator email (simulator)', () => {
  it('threads a conversation: follow-ups answer the latest reply and quotes are stripped', async () => {
    sink = await SmtpSink.start();
    const { port, inbound } = await echoServer(sink);
    const output: string[] = [];
    const opts: EmailSimulatorOptions = {
      smtpHost: '127.0.0.1',
      smtpPort: port,
      from: 'customer@example.com',
      to: SUPPORT,
      subject: 'Question',
      waitMs: 5000,
      write: (t) => output.push(t),
    };
    const code = await runEmailBatch(sink, opts, ['Where is my order?', 'It is A12345.', 'Thanks']);
    expect(code).toBe(0);
    expect(inbound.map((e) => e.text)).toEqual(['Where is my order?', 'It is A12345.', 'Thanks']);
    expect(inbound.map((e) => e.subject)).toEqual(['Question', 'Re: Question', 'Re: Question']);
    const [first, second, third] = inbound;
    expect(second!.inReplyTo).toBe('reply-1@acme.test');
    expect(second!.references).toEqual([first!.messageId, 'reply-1@acme.test']);
    expect(third!.references).toEqual([first!.messageId, 'reply-1@acme.test', second!.messageId, 'reply-2@acme.test']);
    // Any message of the thread leads back to the first one.
    expect(threadKeys(third!)).toContain(first!.messageId);
    expect(second!.fullText).toContain('> You said: Where is my order?');

    const printed = output.join('');
    expect(printed).toContain('agent> Subject: Re: Question');
    expect(printed).toContain('In-Reply-To: <' + first!.messageId + '>');
    expect(printed).toContain('You said: It is A12345.');
  });

  it('explains a refused recipient and returns 1', async () => {
    sink = await SmtpSink.start();
    const { port, inbound } = await echoServer(sink);
    const output: string[] = [];
    const code = await runEmailBatch(sink, { smtpHost: '127.0.0.1', smtpPort: port, from: 'c@example.com', to: 'nobody@acme.test', subject: 's', waitMs: 1000, write: (t) => output.push(t) }, ['hi']);
    expect(code).toBe(1);
    expect(output.join('')).toMatch(/refused nobody@acme\.test .*channels\.email/);
    expect(inbound).toHaveLength(0);
  });

  it('says how to start the server in its help', () => {
    expect(commandHelp(emailCommand)).toContain('SMTP_OUTBOUND_URL=smtp://127.0.0.1:2526 npm start');
  });
});
