import MailComposer from 'nodemailer/lib/mail-composer';
import type { OutboundEmail } from '../../../src/channels/email/compose.ts';

type ComposerInput = ConstructorParameters<typeof MailComposer>[0];

/** RFC 5322 bytes of a message, built by nodemailer's composer (no network). */
export function buildRaw(mail: ComposerInput | OutboundEmail): Promise<Buffer> {
  return new MailComposer(mail).compile().build();
}

/** A hand-written message: header lines, a blank line, the body; CRLF line ends as on the wire. */
export function rawMessage(headers: string[], body: string): Buffer {
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body.replace(/\r?\n/g, '\r\n')}`);
}

/**
 * A scripted SMTP client over a raw socket, for what nodemailer will not send (a SIZE larger than
 * the limit, commands a receiver should refuse). Returns each reply, multi-line replies joined.
 */
export async function smtpDialogue(port: number, commands: string[]): Promise<string[]> {
  const { createConnection } = await import('node:net');
  const socket = createConnection({ port, host: '127.0.0.1' });
  const replies: string[] = [];
  let buffer = '';
  let current: string[] = [];
  let waiting: (() => void) | undefined;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let nl = buffer.indexOf('\r\n');
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 2);
      current.push(line);
      if (/^\d{3} /.test(line)) {
        replies.push(current.join('\n'));
        current = [];
        waiting?.();
      }
      nl = buffer.indexOf('\r\n');
    }
  });
  const nextReply = (count: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (replies.length >= count) resolve();
        else waiting = check;
      };
      socket.once('error', reject);
      check();
    });
  await nextReply(1);
  for (const [i, command] of commands.entries()) {
    socket.write(`${command}\r\n`);
    await nextReply(i + 2);
  }
  socket.end();
  return replies;
}
