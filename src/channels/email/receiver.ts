import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { errorMessage, isOperatorError, OperatorError } from '../../core/errors.ts';

/**
 * The built-in inbound SMTP server (an MX, not a relay).
 *
 * Security stance: anyone on the internet may connect, as to any MX, so
 * - there is no AUTH and nothing is ever relayed: mail is accepted only for the configured channel
 *   addresses (`acceptsRecipient`), anything else gets 550 5.1.1 at RCPT TO;
 * - size is bounded twice: the SIZE declared in MAIL FROM (RFC 1870) and the bytes actually
 *   streamed, which are counted and never buffered past the limit (552);
 * - recipients per message and concurrent connections are capped;
 * - STARTTLS is offered only with a configured key and certificate (smtp-server would otherwise
 *   present a self-signed certificate of its own);
 * - the sender is not authenticated (no SPF/DKIM checks here): the From address identifies a
 *   customer the way a phone number does, and is no proof of identity.
 *
 * Accept, persist, act (DESIGN.md rule 4): the 250 after DATA is sent only once `onMessage` has
 * resolved, i.e. the runtime has stored the message. If it fails with a retryable error the sender
 * gets 451 and tries again later (SMTP senders retry for days); a message that can never be taken
 * (malformed, too large) gets a permanent 5xx and the sender bounces it to the customer.
 */

export interface SmtpEnvelope {
  /** MAIL FROM, lower case; undefined for the null reverse-path `<>` of bounces. */
  mailFrom?: string;
  /** Accepted RCPT TO addresses, lower case. */
  rcptTo: string[];
  remoteAddress: string;
  /** The SMTP session's id, for logs. */
  sessionId: string;
}

/** Pino-compatible: static messages, structured fields (DESIGN.md rule 9). */
export interface EmailLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface SmtpReceiverOptions {
  /** 0 picks a free port (tests). */
  port: number;
  host?: string;
  /** Largest message accepted, in bytes. */
  maxBytes: number;
  acceptsRecipient(address: string): boolean;
  /** Persist the message; resolve only once it is stored. Rejections are mapped to SMTP replies. */
  onMessage(raw: Buffer, envelope: SmtpEnvelope): Promise<void>;
  logger?: EmailLogger;
  /** Paths of a PEM key and certificate; STARTTLS is offered only with both. */
  tls?: { keyPath: string; certPath: string };
  /** The host name in the greeting. */
  name?: string;
  maxRecipients?: number;
  maxClients?: number;
}

export interface SmtpReceiver {
  port: number;
  close(): Promise<void>;
}

interface SmtpReply extends Error {
  responseCode: number;
}

function reply(code: number, message: string): SmtpReply {
  return Object.assign(new Error(message), { responseCode: code });
}

/** The SMTP reply for a failed `onMessage`: temporary unless the message itself is at fault. */
export function replyForFailure(err: unknown): SmtpReply {
  if (isOperatorError(err) && !err.retryable) {
    if (err.kind === 'too_large') return reply(552, `Message too large: ${err.message}`);
    return reply(554, `Message rejected (${err.code}): ${err.message}`);
  }
  return reply(451, 'Temporary failure while storing the message, try again later');
}

/** Reads DATA, keeping at most `maxBytes` in memory but counting every byte sent. */
function readMessage(stream: SMTPServerDataStream, maxBytes: number): Promise<{ raw: Buffer; bytes: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= maxBytes) chunks.push(chunk);
    });
    stream.on('end', () => resolve({ raw: Buffer.concat(chunks), bytes }));
    stream.on('error', reject);
  });
}

function envelopeOf(session: SMTPServerSession): SmtpEnvelope {
  const from = session.envelope.mailFrom;
  return {
    ...(from && from.address ? { mailFrom: from.address.toLowerCase() } : {}),
    rcptTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
    remoteAddress: session.remoteAddress,
    sessionId: session.id,
  };
}

function tlsOptions(paths: SmtpReceiverOptions['tls']): { key?: Buffer; cert?: Buffer } {
  if (!paths) return {};
  try {
    return { key: readFileSync(paths.keyPath), cert: readFileSync(paths.certPath) };
  } catch (err) {
    throw new OperatorError('invalid_request', 'config_invalid', `SMTP TLS key or certificate could not be read: ${errorMessage(err)}`, { cause: err });
  }
}

export async function startSmtpReceiver(opts: SmtpReceiverOptions): Promise<SmtpReceiver> {
  const log = opts.logger;
  const server = new SMTPServer({
    name: opts.name,
    banner: 'Operator ESMTP',
    logger: false,
    authOptional: true,
    disabledCommands: opts.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...tlsOptions(opts.tls),
    size: opts.maxBytes,
    hideENHANCEDSTATUSCODES: false,
    disableReverseLookup: true,
    maxClients: opts.maxClients ?? 200,
    maxRecipients: opts.maxRecipients ?? 50,
    onRcptTo(address, session, callback) {
      const rcpt = address.address.toLowerCase();
      if (opts.acceptsRecipient(rcpt)) return callback();
      log?.info({ sessionId: session.id, pii: { rcpt, remoteAddress: session.remoteAddress } }, 'smtp recipient refused');
      // 550 5.1.1 "bad destination mailbox address" (RFC 3463); the enhanced code comes from smtp-server.
      callback(reply(550, `No such recipient here: <${rcpt}>`));
    },
    onData(stream, session, callback) {
      void (async () => {
        const { raw, bytes } = await readMessage(stream, opts.maxBytes);
        const envelope = envelopeOf(session);
        if (bytes > opts.maxBytes) {
          log?.info({ sessionId: session.id, bytes, maxBytes: opts.maxBytes }, 'smtp message too large');
          throw reply(552, `Message exceeds the maximum size of ${opts.maxBytes} bytes`);
        }
        try {
          await opts.onMessage(raw, envelope);
        } catch (err) {
          const failure = replyForFailure(err);
          // A rejection of the message itself may quote it (a file name): that goes under pii.
          const detail = failure.responseCode >= 500 ? { pii: { error: errorMessage(err) } } : { error: errorMessage(err) };
          log?.warn({ sessionId: session.id, responseCode: failure.responseCode, code: isOperatorError(err) ? err.code : undefined, ...detail }, 'smtp message not accepted');
          throw failure;
        }
        log?.info({ sessionId: session.id, bytes, recipients: envelope.rcptTo.length }, 'smtp message accepted');
      })().then(
        () => callback(null, 'Message accepted'),
        (err: unknown) => callback(err instanceof Error && 'responseCode' in err ? err : replyForFailure(err)),
      );
    },
  });
  server.on('error', (err) => log?.warn({ err: errorMessage(err) }, 'smtp server error'));
  const host = opts.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error): void =>
      reject(new OperatorError('server', 'smtp_listen_failed', `The SMTP receiver could not listen on ${host}:${opts.port} (${err.message}); set SMTP_PORT to a free port.`, { cause: err, retryable: false }));
    server.server.once('error', failed);
    server.listen(opts.port, host, () => {
      server.server.off('error', failed);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
