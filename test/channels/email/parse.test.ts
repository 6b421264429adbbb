import { describe, expect, it } from 'vitest';
import { OperatorError } from '../../../src/core/errors.ts';
import { parseInboundEmail, SYNTHETIC_ID_DOMAIN } from '../../../src/channels/email/parse.ts';
import { buildRaw, rawMessage } from './helpers.ts';

const LIMITS = { maxBytes: 1_000_000, maxAttachmentBytes: 200_000 };

async function rejection(p: Promise<unknown>): Promise<OperatorError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OperatorError);
  return err as OperatorError;
}

describe('parseInboundEmail', () => {
  it('reads a multipart reply with attachments, threading headers and stripped text', async () => {
    const raw = await buildRaw({
      from: '"Jane Doe" <Jane.Doe@Example.COM>',
      to: ['Support <SUPPORT@acme.test>', 'sales@acme.test'],
      cc: 'boss@example.com',
      subject: 'Re: Order A12345',
      messageId: '<CAF=abc123@mail.gmail.com>',
      inReplyTo: '<msg_1@acme.test>',
      references: ['<root@acme.test>', '<msg_1@acme.test>'],
      date: new Date('2025-01-06T10:20:00Z'),
      text: 'It arrived broken.\n\nOn Mon, Jan 6, 2025 at 10:14 AM Acme <support@acme.test> wrote:\n> Your order has shipped.\n',
      html: '<div>It arrived broken.</div><blockquote>Your order has shipped.</blockquote><img src="cid:photo1">',
      attachments: [
        { filename: 'photo.jpg', content: Buffer.alloc(3000, 7), contentType: 'image/jpeg', cid: 'photo1' },
        { filename: 'invoice.pdf', content: Buffer.from('%PDF-1.4 fake'), contentType: 'application/pdf' },
      ],
    });
    const email = await parseInboundEmail(raw, LIMITS);
    expect(email.messageId).toBe('CAF=abc123@mail.gmail.com');
    expect(email.inReplyTo).toBe('msg_1@acme.test');
    expect(email.references).toEqual(['root@acme.test', 'msg_1@acme.test']);
    expect(email.from).toEqual({ address: 'jane.doe@example.com', name: 'Jane Doe' });
    expect(email.to).toEqual(['support@acme.test', 'sales@acme.test']);
    expect(email.cc).toEqual(['boss@example.com']);
    expect(email.subject).toBe('Re: Order A12345');
    expect(email.text).toBe('It arrived broken.');
    expect(email.fullText).toContain('Your order has shipped.');
    expect(email.html).toContain('cid:photo1');
    expect(email.date?.toISOString()).toBe('2025-01-06T10:20:00.000Z');
    expect(email.attachments).toHaveLength(2);
    const [photo, pdf] = email.attachments;
    expect(photo).toMatchObject({ filename: 'photo.jpg', contentType: 'image/jpeg', sizeBytes: 3000, contentId: 'photo1' });
    expect(photo!.content.equals(Buffer.alloc(3000, 7))).toBe(true);
    expect(pdf).toMatchObject({ filename: 'invoice.pdf', contentType: 'application/pdf', sizeBytes: 13 });
    expect(pdf!.contentId).toBeUndefined();
  });

  it('converts an HTML-only message to text before stripping', async () => {
    const raw = await buildRaw({
      from: 'jane@example.com',
      to: 'support@acme.test',
      subject: 'Re: Appointment',
      messageId: '<html-only@example.com>',
      html: '<div dir="ltr">Thursday works.<br>Jane</div><div class="gmail_quote"><div class="gmail_attr">On Mon, Jan 6, 2025 at 10:14 AM Acme &lt;support@acme.test&gt; wrote:</div><blockquote class="gmail_quote">Does Thursday suit you?</blockquote></div>',
    });
    const email = await parseInboundEmail(raw, LIMITS);
    expect(email.text).toBe('Thursday works.\nJane');
    expect(email.html).toContain('gmail_quote');
  });

  it('synthesises a stable Message-ID from the bytes when there is none', async () => {
    const raw = rawMessage(['From: jane@example.com', 'To: support@acme.test', 'Subject: Hello'], 'Is anyone there?');
    const a = await parseInboundEmail(raw, LIMITS);
    const b = await parseInboundEmail(Buffer.from(raw), LIMITS);
    expect(a.messageId).toMatch(new RegExp(`^[0-9a-f]{40}@${SYNTHETIC_ID_DOMAIN.replace(/\./g, '\\.')}$`));
    expect(b.messageId).toBe(a.messageId);
    const other = await parseInboundEmail(rawMessage(['From: jane@example.com', 'To: support@acme.test', 'Subject: Hello'], 'Is anyone there??'), LIMITS);
    expect(other.messageId).not.toBe(a.messageId);
    expect(a.text).toBe('Is anyone there?');
    expect(a.references).toEqual([]);
    expect(a.inReplyTo).toBeUndefined();
    expect(a.date).toBeUndefined();
  });

  it('normalises a single References id and stray In-Reply-To comments', async () => {
    const raw = rawMessage(
      ['From: Jane <jane@example.com>', 'To: support@acme.test', 'Subject: x', 'Message-ID: <a@x>', 'In-Reply-To: <b@acme.test> (Acme Support\'s message of Mon)', 'References: <b@acme.test>'],
      'ok',
    );
    const email = await parseInboundEmail(raw, LIMITS);
    expect(email.inReplyTo).toBe('b@acme.test');
    expect(email.references).toEqual(['b@acme.test']);
  });

  it('rejects an oversized message before parsing it: email_too_large', async () => {
    const raw = rawMessage(['From: jane@example.com', 'To: support@acme.test', 'Subject: big'], 'x'.repeat(5000));
    const err = await rejection(parseInboundEmail(raw, { maxBytes: 4000, maxAttachmentBytes: 100 }));
    expect(err.code).toBe('email_too_large');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/limit is 4000/);
  });

  it('rejects an attachment over its own limit: email_too_large naming the file', async () => {
    const raw = await buildRaw({
      from: 'jane@example.com',
      to: 'support@acme.test',
      subject: 'video',
      text: 'see attached',
      attachments: [{ filename: 'clip.mov', content: Buffer.alloc(5000, 1) }],
    });
    const err = await rejection(parseInboundEmail(raw, { maxBytes: 100_000, maxAttachmentBytes: 4096 }));
    expect(err.code).toBe('email_too_large');
    expect(err.message).toContain('clip.mov');
  });

  it.each([
    ['random bytes', Buffer.from([0x00, 0xff, 0x13, 0x37, 0x42, 0x99, 0x0a, 0x0d])],
    ['empty input', Buffer.alloc(0)],
    ['prose without headers', Buffer.from('hello, this is not an email\r\n\r\nreally')],
  ])('rejects garbage (%s): invalid_email', async (_name, raw) => {
    const err = await rejection(parseInboundEmail(raw, LIMITS));
    expect(err.code).toBe('invalid_email');
    expect(err.kind).toBe('invalid_request');
  });

  it('rejects a message without a From address: invalid_email', async () => {
    const err = await rejection(parseInboundEmail(rawMessage(['To: support@acme.test', 'Subject: who am I'], 'body'), LIMITS));
    expect(err.code).toBe('invalid_email');
    expect(err.message).toMatch(/From/);
  });

  it('decodes encoded words and charsets', async () => {
    const raw = rawMessage(
      ['From: =?UTF-8?Q?Ren=C3=A9e?= <renee@example.fr>', 'To: support@acme.test', 'Subject: =?UTF-8?B?Q29tbWFuZGUgw6AgcmVtYm91cnNlcg==?=', 'Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: quoted-printable'],
      'Bonjour, o=F9 est ma commande ?',
    );
    const email = await parseInboundEmail(raw, LIMITS);
    expect(email.from).toEqual({ address: 'renee@example.fr', name: 'Renée' });
    expect(email.subject).toBe('Commande à rembourser');
    expect(email.text).toBe('Bonjour, où est ma commande ?');
  });
});
