import { createTransport } from 'nodemailer';
import { errorMessage, OperatorError } from '../../core/errors.ts';
import type { OutboundEmail } from './compose.ts';

/**
 * Sends through the relay named by SMTP_OUTBOUND_URL. Failures are classified here, once
 * (DESIGN.md rule 7): the delivery layer retries what is `retryable` and records the rest.
 */

export interface SentEmail {
  messageId: string;
  /** The relay's final reply, e.g. "250 2.0.0 Ok: queued as 4F3A". */
  response: string;
  accepted: string[];
  rejected: string[];
}

export interface EmailSender {
  /** The relay, without its password, for logs and errors. */
  readonly target: string;
  send(message: OutboundEmail, signal?: AbortSignal): Promise<SentEmail>;
  close(): void;
}

export interface EmailSenderOptions {
  connectionTimeoutMs?: number;
  greetingTimeoutMs?: number;
  socketTimeoutMs?: number;
}

interface RelayUrl {
  secure: boolean;
  host: string;
  port: number;
  auth?: { user: string; pass: string };
  target: string;
}

function configError(message: string): OperatorError {
  return new OperatorError('invalid_request', 'config_invalid', message);
}

/** Parses `smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://…` (TLS from the start). */
export function parseRelayUrl(url: string): RelayUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw configError('SMTP_OUTBOUND_URL must be a URL like smtp://user:pass@smtp.example.com:587');
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') {
    throw configError(`SMTP_OUTBOUND_URL must start with smtp:// or smtps://, not ${u.protocol}//`);
  }
  if (!u.hostname) throw configError('SMTP_OUTBOUND_URL needs a host, e.g. smtp://smtp.example.com:587');
  const secure = u.protocol === 'smtps:';
  const port = u.port ? Number(u.port) : secure ? 465 : 587;
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  if (pass && !user) throw configError('SMTP_OUTBOUND_URL has a password but no user name');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return {
    secure,
    host,
    port,
    ...(user ? { auth: { user, pass } } : {}),
    target: `${u.protocol}//${user ? `${u.username}@` : ''}${u.host}`,
  };
}

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

const CONNECTION_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'ECONNREFUSED', 'ECONNRESET', 'EPROTOCOL', 'EPIPE']);

/** A nodemailer failure → an `OperatorError` that says whether trying again can help. */
export function classifySendError(err: unknown, target: string): OperatorError {
  if (err instanceof OperatorError) return err;
  const f = (typeof err === 'object' && err !== null ? err : {}) as SmtpFailure;
  const detail = f.response ?? errorMessage(err);
  const options = { cause: err };
  if (f.code === 'EAUTH' || f.responseCode === 535 || f.responseCode === 530) {
    return new OperatorError('auth', 'email_auth_failed', `The relay ${target} refused our credentials (${detail}); check SMTP_OUTBOUND_URL.`, options);
  }
  if (f.responseCode !== undefined && f.responseCode >= 400 && f.responseCode < 500) {
    return new OperatorError('connectivity', 'email_deferred', `The relay ${target} deferred the message (${detail}); it will be retried.`, options);
  }
  if (f.responseCode !== undefined && f.responseCode >= 500) {
    return new OperatorError('application', 'email_rejected', `The relay ${target} rejected the message (${detail}).`, options);
  }
  if (f.code === 'EENVELOPE' || f.code === 'EMESSAGE') {
    return new OperatorError('application', 'email_rejected', `The message could not be sent: ${detail}`, options);
  }
  if ((f.code && CONNECTION_CODES.has(f.code)) || /timeout|ECONNREFUSED|ECONNRESET|EHOSTUNREACH/i.test(detail)) {
    return new OperatorError('connectivity', 'email_relay_unreachable', `The relay ${target} could not be reached (${detail}); it will be retried.`, options);
  }
  return new OperatorError('server', 'email_send_failed', `Sending through ${target} failed: ${detail}`, options);
}

const addressOf = (a: string | { address: string }): string => (typeof a === 'string' ? a : a.address);

/**
 * `signal` is checked before the connection is opened; a send in flight is not interrupted, since
 * a message cut off after DATA may or may not have been delivered.
 */
export function createEmailSender(url: string, options: EmailSenderOptions = {}): EmailSender {
  const relay = parseRelayUrl(url);
  const transport = createTransport({
    host: relay.host,
    port: relay.port,
    secure: relay.secure,
    ...(relay.auth ? { auth: relay.auth } : {}),
    connectionTimeout: options.connectionTimeoutMs ?? 10_000,
    greetingTimeout: options.greetingTimeoutMs ?? 10_000,
    socketTimeout: options.socketTimeoutMs ?? 60_000,
  });
  return {
    target: relay.target,
    async send(message, signal) {
      signal?.throwIfAborted();
      try {
        const info = await transport.sendMail(message);
        return {
          messageId: info.messageId,
          response: info.response,
          accepted: info.accepted.map(addressOf),
          rejected: info.rejected.map(addressOf),
        };
      } catch (err) {
        throw classifySendError(err, relay.target);
      }
    },
    close: () => transport.close(),
  };
}
