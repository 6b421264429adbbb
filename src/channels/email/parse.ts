import { createHash } from 'node:crypto';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { errorMessage, OperatorError } from '../../core/errors.ts';
import { htmlToText } from './html-text.ts';
import { stripQuotedText } from './strip.ts';
import { messageIdList, normalizeMessageId } from './thread.ts';

/**
 * Raw RFC 5322 bytes → the email the runtime works with. Pure apart from mailparser's parsing (no
 * I/O): it validates what it reads (DESIGN.md rule 8) and throws `OperatorError`s with stable codes.
 */

export interface EmailAddress {
  /** Lower case: addresses are matched case-insensitively in practice, whatever RFC 5321 allows. */
  address: string;
  name?: string;
}

export interface InboundAttachment {
  filename: string;
  contentType: string;
  sizeBytes: number;
  content: Buffer;
  /** Content-ID without brackets, for an inline image referred to as `cid:` from the HTML. */
  contentId?: string;
}

export interface InboundEmail {
  /** Without angle brackets. Synthesised from the bytes when the message has none. */
  messageId: string;
  inReplyTo?: string;
  /** Oldest first, as in the header. */
  references: string[];
  from: EmailAddress;
  to: string[];
  cc: string[];
  subject: string;
  /** The customer's new text: quoted history and signatures stripped. May be empty. */
  text: string;
  /** The whole text body before stripping (converted from HTML when there is no text part). */
  fullText: string;
  html?: string;
  attachments: InboundAttachment[];
  date?: Date;
}

export interface ParseLimits {
  /** The whole message, headers and encoded attachments included. */
  maxBytes: number;
  /** Each decoded attachment. */
  maxAttachmentBytes: number;
}

/** The host part of synthesised Message-IDs (`.invalid` is reserved: it never names a real host). */
export const SYNTHETIC_ID_DOMAIN = 'synthesized.operator.invalid';

function invalid(message: string, cause?: unknown): OperatorError {
  return new OperatorError('invalid_request', 'invalid_email', message, cause === undefined ? undefined : { cause });
}

function tooLarge(message: string): OperatorError {
  return new OperatorError('too_large', 'email_too_large', message);
}

function addresses(field: AddressObject | AddressObject[] | undefined): { address: string; name?: string }[] {
  const objects = field === undefined ? [] : Array.isArray(field) ? field : [field];
  const out: { address: string; name?: string }[] = [];
  const visit = (entries: AddressObject['value']): void => {
    for (const e of entries) {
      if (e.group) visit(e.group);
      else if (e.address) out.push({ address: e.address.toLowerCase(), ...(e.name ? { name: e.name } : {}) });
    }
  };
  for (const o of objects) visit(o.value);
  return out;
}

/** A header block must come first: mailparser reads anything, so junk is caught here. */
function looksLikeMessage(raw: Buffer): boolean {
  const head = raw.subarray(0, 1000).toString('latin1');
  return /^[\x21-\x39\x3b-\x7e]+:/.test(head);
}

function bodyText(mail: ParsedMail): string {
  if (typeof mail.text === 'string' && mail.text.trim() !== '') return mail.text;
  if (typeof mail.html === 'string') return htmlToText(mail.html);
  return mail.text ?? '';
}

export async function parseInboundEmail(raw: Buffer, limits: ParseLimits): Promise<InboundEmail> {
  if (raw.length > limits.maxBytes) {
    throw tooLarge(`The email is ${raw.length} bytes; the limit is ${limits.maxBytes}. Send large files as links.`);
  }
  if (raw.length === 0 || !looksLikeMessage(raw)) throw invalid('The email does not start with a header block (RFC 5322).');
  let mail: ParsedMail;
  try {
    // keepCidLinks: inline images stay attachments instead of being inlined into the HTML.
    mail = await simpleParser(raw, { keepCidLinks: true, skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
  } catch (err) {
    throw invalid(`The email could not be parsed: ${errorMessage(err)}`, err);
  }
  const from = addresses(mail.from)[0];
  if (!from) throw invalid('The email has no From address.');

  const oversized = mail.attachments.find((a) => a.size > limits.maxAttachmentBytes);
  if (oversized) {
    throw tooLarge(`The attachment "${oversized.filename ?? 'unnamed'}" is ${oversized.size} bytes; the limit is ${limits.maxAttachmentBytes}.`);
  }

  const fullText = bodyText(mail);
  const inReplyTo = normalizeMessageId(mail.inReplyTo);
  const date = mail.headers.has('date') ? mail.date : undefined;
  return {
    messageId: normalizeMessageId(mail.messageId) ?? `${createHash('sha256').update(raw).digest('hex').slice(0, 40)}@${SYNTHETIC_ID_DOMAIN}`,
    ...(inReplyTo ? { inReplyTo } : {}),
    references: messageIdList(mail.references),
    from,
    to: addresses(mail.to).map((a) => a.address),
    cc: addresses(mail.cc).map((a) => a.address),
    subject: mail.subject ?? '',
    text: stripQuotedText(fullText),
    fullText: fullText.replace(/\r\n?/g, '\n').trim(),
    ...(typeof mail.html === 'string' ? { html: mail.html } : {}),
    attachments: mail.attachments.map((a, i) => ({
      filename: a.filename ?? `attachment-${i + 1}`,
      contentType: a.contentType,
      sizeBytes: a.size,
      content: a.content,
      ...(a.cid ? { contentId: a.cid } : {}),
    })),
    ...(date && !Number.isNaN(date.getTime()) ? { date } : {}),
  };
}
