import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject } from 'mailparser';
import { createTransport } from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { messageIdList, normalizeMessageId } from '../channels/email/thread.ts';

/**
 * A local SMTP relay for tests and the `operator email` simulator: it stands in for the outbound
 * relay of SMTP_OUTBOUND_URL, accepts every message (optionally after AUTH), parses it and keeps
 * it. Failures can be injected per message. Waiting is event-driven: `waitFor` resolves when a
 * matching message arrives, and only its deadline uses a timer.
 */

export interface SinkMessage {
  raw: Buffer;
  envelope: { mailFrom?: string; rcptTo: string[] };
  /** Parsed header values keyed by lower-case name, as mailparser gives them. */
  headers: Map<string, unknown>;
  /** Without angle brackets. */
  messageId?: string;
  inReplyTo?: string;
  references: string[];
  from?: string;
  to: string[];
  subject: string;
  text: string;
  html?: string;
}

export interface SmtpSinkOptions {
  port?: number;
  host?: string;
  /** When set, AUTH (PLAIN/LOGIN) with these credentials is required before MAIL FROM. */
  auth?: { user: string; pass: string };
}

interface Waiter {
  predicate: (m: SinkMessage) => boolean;
  resolve: (m: SinkMessage) => void;
}

function addressList(field: AddressObject | AddressObject[] | undefined): string[] {
  const objects = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return objects.flatMap((o) => o.value.map((v) => (v.address ?? '').toLowerCase())).filter((a) => a !== '');
}

export async function parseSinkMessage(raw: Buffer, envelope: SinkMessage['envelope']): Promise<SinkMessage> {
  const mail = await simpleParser(raw, { skipTextToHtml: true, skipImageLinks: true });
  const messageId = normalizeMessageId(mail.messageId);
  const inReplyTo = normalizeMessageId(mail.inReplyTo);
  const from = addressList(mail.from)[0];
  return {
    raw,
    envelope,
    headers: mail.headers,
    ...(messageId ? { messageId } : {}),
    ...(inReplyTo ? { inReplyTo } : {}),
    references: messageIdList(mail.references),
    ...(from ? { from } : {}),
    to: addressList(mail.to),
    subject: mail.subject ?? '',
    text: mail.text ?? '',
    ...(typeof mail.html === 'string' ? { html: mail.html } : {}),
  };
}

export class SmtpSink {
  readonly messages: SinkMessage[] = [];
  /** Messages refused by `failNext`, counted. */
  rejectedCount = 0;
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<(m: SinkMessage) => void>();
  private failures: { remaining: number; code: number } = { remaining: 0, code: 451 };

  private readonly server: SMTPServer;
  private readonly auth: SmtpSinkOptions['auth'];
  readonly host: string;
  private boundPort = 0;

  private constructor(opts: SmtpSinkOptions) {
    this.auth = opts.auth;
    this.host = opts.host ?? '127.0.0.1';
    this.server = new SMTPServer({
      logger: false,
      disableReverseLookup: true,
      disabledCommands: opts.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
      authOptional: !opts.auth,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        const ok = opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass;
        if (ok) callback(null, { user: auth.username });
        else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const envelope = {
            ...(session.envelope.mailFrom ? { mailFrom: session.envelope.mailFrom.address } : {}),
            rcptTo: session.envelope.rcptTo.map((r) => r.address),
          };
          this.receive(Buffer.concat(chunks), envelope).then(
            (err) => callback(err),
            (err: unknown) => callback(err as Error),
          );
        });
      },
    });
  }

  static async start(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
    const sink = new SmtpSink(opts);
    await new Promise<void>((resolve, reject) => {
      sink.server.server.once('error', reject);
      sink.server.listen(opts.port ?? 0, sink.host, () => resolve());
    });
    sink.boundPort = (sink.server.server.address() as AddressInfo).port;
    return sink;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Injected failures not yet used: a test that set some up expects this to be 0 at the end. */
  get pendingFailures(): number {
    return this.failures.remaining;
  }

  /** The SMTP_OUTBOUND_URL that sends through this sink. */
  get url(): string {
    const cred = this.auth ? `${encodeURIComponent(this.auth.user)}:${encodeURIComponent(this.auth.pass)}@` : '';
    return `smtp://${cred}${this.host}:${this.port}`;
  }

  /** Refuses the next `count` messages at the end of DATA with `code` (4xx: try later, 5xx: bounce). */
  failNext(count: number, code: number = 451): void {
    this.failures = { remaining: count, code };
  }

  /** The first message, already received or still to come, that matches; rejects after `timeoutMs`. */
  waitFor(predicate: (m: SinkMessage) => boolean = () => true, timeoutMs: number = 5_000): Promise<SinkMessage> {
    const found = this.messages.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`SmtpSink: no matching message within ${timeoutMs} ms (${this.messages.length} received)`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Calls `listener` for each message accepted from now on; returns the unsubscribe function. */
  onMessage(listener: (m: SinkMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async receive(raw: Buffer, envelope: SinkMessage['envelope']): Promise<Error | null> {
    if (this.failures.remaining > 0) {
      this.failures.remaining--;
      this.rejectedCount++;
      const { code } = this.failures;
      return Object.assign(new Error(code < 500 ? 'Injected temporary failure' : 'Injected permanent failure'), { responseCode: code });
    }
    const message = await parseSinkMessage(raw, envelope);
    this.messages.push(message);
    for (const listener of this.listeners) listener(message);
    for (const w of [...this.waiters]) {
      if (w.predicate(message)) {
        this.waiters.delete(w);
        w.resolve(message);
      }
    }
    return null;
  }
}

export interface TestEmail {
  port: number;
  host?: string;
  from: string;
  to: string | string[];
  cc?: string | string[];
  subject: string;
  text?: string;
  html?: string;
  /** With or without brackets; nodemailer makes one up when absent. */
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
  attachments?: { filename: string; content: Buffer | string; contentType?: string; cid?: string }[];
  headers?: Record<string, string>;
}

/** Delivers an email over real SMTP, as a customer's mail server would. Rejections throw nodemailer's error (`responseCode`). */
export async function sendTestEmail(mail: TestEmail): Promise<{ messageId: string; response: string }> {
  const transport = createTransport({ host: mail.host ?? '127.0.0.1', port: mail.port, secure: false, ignoreTLS: true });
  const bracket = (id: string): string => `<${id.replace(/^<|>$/g, '')}>`;
  try {
    const info = await transport.sendMail({
      from: mail.from,
      to: mail.to,
      ...(mail.cc ? { cc: mail.cc } : {}),
      subject: mail.subject,
      ...(mail.text !== undefined ? { text: mail.text } : {}),
      ...(mail.html !== undefined ? { html: mail.html } : {}),
      ...(mail.messageId ? { messageId: bracket(mail.messageId) } : {}),
      ...(mail.inReplyTo ? { inReplyTo: bracket(mail.inReplyTo) } : {}),
      ...(mail.references?.length ? { references: mail.references.map(bracket) } : {}),
      ...(mail.attachments ? { attachments: mail.attachments } : {}),
      ...(mail.headers ? { headers: mail.headers } : {}),
    });
    return { messageId: info.messageId, response: info.response };
  } finally {
    transport.close();
  }
}
