import { OperatorError } from '../../core/errors.ts';
import { markdownToHtml, markdownToText } from './markdown.ts';
import { replyReferences, replySubject, type ThreadHeaders } from './thread.ts';

/**
 * Outbound emails, as plain data (no I/O). The shape is nodemailer's message object, so the sender
 * hands it over unchanged; ids carry their angle brackets, as they go on the wire.
 */

export interface Mailbox {
  address: string;
  name?: string;
}

export interface OutboundEmail {
  from: Mailbox;
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** `<id@domain>`: recorded with the conversation before sending, so replies to it thread. */
  messageId: string;
  inReplyTo?: string;
  /** Space-separated `<id>`s, oldest first. */
  references?: string;
  headers?: Record<string, string>;
}

export interface ReplyInput {
  from: Mailbox;
  to: string | string[];
  /** The subject of the customer's message; "Re: " is added without stacking. */
  subject: string;
  /** The customer's Message-ID (with or without brackets). */
  inReplyTo: string;
  /** The customer's References, oldest first (ids with or without brackets). */
  references: readonly string[];
  markdown: string;
  /** Our id for this message (e.g. the item id); becomes `<id@from-domain>`. */
  id: string;
}

export interface FirstMessageInput {
  from: Mailbox;
  to: string | string[];
  subject: string;
  markdown: string;
  id: string;
}

const bare = (id: string): string => id.trim().replace(/^<|>$/g, '');
const bracket = (id: string): string => `<${bare(id)}>`;
/** Header values are one line: a line break in a subject would start a header of its own. */
const oneLine = (s: string): string => s.replace(/[\r\n]+\s*/g, ' ').trim();

/** `<id@domain>` for a message sent from `fromAddress`: our ids live under our own domain. */
export function messageIdFor(id: string, fromAddress: string): string {
  const domain = fromAddress.slice(fromAddress.lastIndexOf('@') + 1).toLowerCase();
  if (!fromAddress.includes('@') || domain === '') {
    throw new OperatorError('invalid_request', 'invalid_email_address', `"${fromAddress}" is not an email address; set the channel's address to one like support@example.com.`);
  }
  const local = id.replace(/[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]/g, '-');
  if (local === '') throw new OperatorError('invalid_request', 'invalid_message_id', 'A message id needs a non-empty id.');
  return `<${local}@${domain}>`;
}

function recipients(to: string | string[]): string[] {
  const list = (Array.isArray(to) ? to : [to]).map((a) => a.trim()).filter((a) => a !== '');
  if (list.length === 0) throw new OperatorError('invalid_request', 'invalid_email_address', 'An email needs at least one recipient.');
  return list;
}

function body(markdown: string): { text: string; html: string } {
  return { text: markdownToText(markdown), html: markdownToHtml(markdown) };
}

/**
 * A threaded reply (RFC 5322 §3.6.4): In-Reply-To is their Message-ID; References is their
 * References followed by their Message-ID, trimmed to the thread root and the newest ids.
 */
export function composeReply(input: ReplyInput): OutboundEmail {
  const parent: ThreadHeaders = { messageId: bare(input.inReplyTo), references: input.references.map(bare) };
  return {
    from: input.from,
    to: recipients(input.to),
    subject: replySubject(oneLine(input.subject)),
    ...body(input.markdown),
    messageId: messageIdFor(input.id, input.from.address),
    inReplyTo: bracket(input.inReplyTo),
    references: replyReferences(parent).map(bracket).join(' '),
  };
}

/** A message that starts a thread (proactive outreach): no In-Reply-To, the subject as given. */
export function composeFirst(input: FirstMessageInput): OutboundEmail {
  return {
    from: input.from,
    to: recipients(input.to),
    subject: oneLine(input.subject),
    ...body(input.markdown),
    messageId: messageIdFor(input.id, input.from.address),
  };
}
