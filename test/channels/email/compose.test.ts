import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { composeFirst, composeReply, messageIdFor } from '../../../src/channels/email/compose.ts';
import { markdownToHtml, markdownToText, safeHref } from '../../../src/channels/email/markdown.ts';
import { baseSubject, messageIdList, replyReferences, replySubject, threadKeys } from '../../../src/channels/email/thread.ts';
import { OperatorError } from '../../../src/core/errors.ts';
import { buildRaw } from './helpers.ts';

const FROM = { address: 'support@acme.test', name: 'Acme Support' };

describe('composeReply', () => {
  const reply = composeReply({
    from: FROM,
    to: 'jane@example.com',
    subject: 'RE: Re: Order A12345',
    inReplyTo: '<CAF=abc@mail.gmail.com>',
    references: ['root@acme.test', '<msg_1@acme.test>'],
    markdown: 'Hello **Jane**,\n\nYour refund is on its way.',
    id: 'itm_01abc',
  });

  it('threads on the customer message (RFC 5322 §3.6.4)', () => {
    expect(reply.messageId).toBe('<itm_01abc@acme.test>');
    expect(reply.inReplyTo).toBe('<CAF=abc@mail.gmail.com>');
    expect(reply.references).toBe('<root@acme.test> <msg_1@acme.test> <CAF=abc@mail.gmail.com>');
    expect(reply.subject).toBe('Re: Order A12345');
    expect(reply.to).toEqual(['jane@example.com']);
  });

  it('puts those headers on the wire, with a text and an HTML part', async () => {
    const parsed = await simpleParser(await buildRaw(reply));
    expect(parsed.messageId).toBe('<itm_01abc@acme.test>');
    expect(parsed.inReplyTo).toBe('<CAF=abc@mail.gmail.com>');
    expect(messageIdList(parsed.references)).toEqual(['root@acme.test', 'msg_1@acme.test', 'CAF=abc@mail.gmail.com']);
    expect(parsed.subject).toBe('Re: Order A12345');
    expect(parsed.from?.value[0]).toEqual({ address: 'support@acme.test', name: 'Acme Support' });
    expect(parsed.text?.trim()).toBe('Hello Jane,\n\nYour refund is on its way.');
    expect(parsed.html).toContain('<strong>Jane</strong>');
  });

  it('starts References from In-Reply-To when the customer sent none', () => {
    const r = composeReply({ from: FROM, to: 'a@b.c', subject: 'Help', inReplyTo: 'first@example.com', references: [], markdown: 'Hi', id: 'x' });
    expect(r.references).toBe('<first@example.com>');
  });

  it('caps References, keeping the thread root and the newest ids', () => {
    const refs = Array.from({ length: 40 }, (_, i) => `m${i}@x`);
    const r = composeReply({ from: FROM, to: 'a@b.c', subject: 's', inReplyTo: 'm40@x', references: refs, markdown: 'Hi', id: 'x' });
    const ids = messageIdList(r.references);
    expect(ids).toHaveLength(20);
    expect(ids[0]).toBe('m0@x');
    expect(ids.at(-1)).toBe('m40@x');
    expect(ids[1]).toBe('m22@x');
  });

  it('keeps line breaks out of the subject header', () => {
    const r = composeReply({ from: FROM, to: 'a@b.c', subject: 'Hi\r\nBcc: victim@example.com', inReplyTo: 'a@b', references: [], markdown: 'x', id: 'x' });
    expect(r.subject).toBe('Re: Hi Bcc: victim@example.com');
  });
});

describe('composeFirst', () => {
  it('starts a thread: no In-Reply-To or References, subject as given', () => {
    const m = composeFirst({ from: FROM, to: ['jane@example.com'], subject: 'Your appointment tomorrow', markdown: 'See you at **10:00**.', id: 'itm_9' });
    expect(m).toMatchObject({ subject: 'Your appointment tomorrow', messageId: '<itm_9@acme.test>' });
    expect(m.inReplyTo).toBeUndefined();
    expect(m.references).toBeUndefined();
    expect(m.text).toBe('See you at 10:00.\n');
  });

  it('refuses a sender without a domain and an empty recipient list', () => {
    expect(() => composeFirst({ from: { address: 'support' }, to: 'a@b.c', subject: 's', markdown: 'x', id: '1' })).toThrow(OperatorError);
    expect(() => composeFirst({ from: FROM, to: [], subject: 's', markdown: 'x', id: '1' })).toThrow(/recipient/);
  });
});

describe('messageIdFor', () => {
  it('builds <id@domain> from the sender domain, replacing characters a msg-id cannot hold', () => {
    expect(messageIdFor('itm_1', 'Support@ACME.test')).toBe('<itm_1@acme.test>');
    expect(messageIdFor('a b<c>', 'x@y.z')).toBe('<a-b-c-@y.z>');
  });
});

describe('subjects', () => {
  it.each([
    ['Order A12345', 'Re: Order A12345'],
    ['Re: Order A12345', 'Re: Order A12345'],
    ['RE: Re: re:Order A12345', 'Re: Order A12345'],
    ['Re[2]: Order', 'Re: Order'],
    ['AW: Bestellung', 'Re: Bestellung'],
    ['Fwd: Delivery failed', 'Re: Fwd: Delivery failed'],
    ['Re: Fwd: Delivery failed', 'Re: Fwd: Delivery failed'],
    ['', 'Re: (no subject)'],
    ['  Re:   ', 'Re: (no subject)'],
    ['Regarding my order', 'Re: Regarding my order'],
  ])('replySubject(%j) = %j', (subject, expected) => {
    expect(replySubject(subject)).toBe(expected);
  });

  it('baseSubject strips every reply and forward marker', () => {
    expect(baseSubject('Re: FWD: RE: Fw: Order')).toBe('Order');
    expect(baseSubject('TR: Commande')).toBe('Commande');
  });
});

describe('threadKeys', () => {
  it('lists own id, parent, then References newest first, without duplicates', () => {
    expect(threadKeys({ messageId: 'c@x', inReplyTo: 'b@x', references: ['a@x', 'b@x'] })).toEqual(['c@x', 'b@x', 'a@x']);
    expect(threadKeys({ messageId: 'solo@x', references: [] })).toEqual(['solo@x']);
  });

  it('replyReferences follows RFC 5322 for a parent with References', () => {
    expect(replyReferences({ messageId: 'c@x', inReplyTo: 'b@x', references: ['a@x', 'b@x'] })).toEqual(['a@x', 'b@x', 'c@x']);
  });
});

describe('markdown rendering', () => {
  it('escapes raw HTML in the markdown: no script, no handlers, no javascript: links', () => {
    const md = [
      'Hi <script>alert(1)</script> there',
      '',
      '<img src=x onerror=alert(2)>',
      '',
      '<div onclick="steal()">block</div>',
      '',
      '[click](javascript:alert(3)) and [ok](https://acme.test/help) and ![p](javascript:alert(4))',
      '',
      '<script><img src=y onerror=alert(5)></script>',
      '',
      '<a href="javascript:alert(6)">x</a>',
    ].join('\n');
    const html = markdownToHtml(md);
    expect(html).not.toMatch(/<script|<img src=["']?[xy]|<div onclick|<a href="javascript/i);
    expect(html).not.toContain('href="javascript');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('<a href="https://acme.test/help"');
    expect(html).toMatch(/^<!DOCTYPE html>/);
  });

  it('renders structure with inline styles', () => {
    const html = markdownToHtml('# Title\n\n- one\n- two\n\n> note\n\n```\ncode <b>\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |');
    expect(html).toContain('<h1>Title</h1>');
    expect(html).toContain('<li>one</li>');
    expect(html).toMatch(/<blockquote style="[^"]+">/);
    expect(html).toMatch(/<pre style="[^"]+"><code[^>]*>code &lt;b&gt;/);
    expect(html).toMatch(/<td style="[^"]+">1<\/td>/);
  });

  it('flattens markdown into readable plain text', () => {
    const md = [
      '## Your refund',
      '',
      'We refunded **€25.00** to your _card_ &amp; emailed a receipt.',
      'A second line.',
      '',
      '1. Open [your account](https://acme.test/account)',
      '2. Click `Orders`',
      '   - nested item',
      '',
      '> Keep this email.',
      '',
      '```',
      'REF-123',
      '```',
      '',
      'Questions? Write to <help@acme.test> or visit https://acme.test.',
    ].join('\n');
    expect(markdownToText(md)).toBe(
      [
        'Your refund',
        '',
        'We refunded €25.00 to your card & emailed a receipt.',
        'A second line.',
        '',
        '1. Open your account (https://acme.test/account)',
        '2. Click Orders',
        '   - nested item',
        '',
        '> Keep this email.',
        '',
        '    REF-123',
        '',
        'Questions? Write to help@acme.test or visit https://acme.test.',
        '',
      ].join('\n'),
    );
  });

  it('keeps raw HTML as literal text in the plain part', () => {
    expect(markdownToText('Use <b>bold</b> tags')).toBe('Use <b>bold</b> tags\n');
  });

  it('allows only http(s), mailto and tel links', () => {
    expect(safeHref('https://a.test/x')).toBe('https://a.test/x');
    expect(safeHref('mailto:a@b.c')).toBe('mailto:a@b.c');
    expect(safeHref(' JavaScript:alert(1)')).toBeUndefined();
    expect(safeHref('data:text/html,<script>')).toBeUndefined();
    expect(safeHref('/relative')).toBeUndefined();
  });
});
