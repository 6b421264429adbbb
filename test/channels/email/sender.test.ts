import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { composeFirst, composeReply } from '../../../src/channels/email/compose.ts';
import { classifySendError, createEmailSender, parseRelayUrl, type EmailSender } from '../../../src/channels/email/sender.ts';
import { OperatorError } from '../../../src/core/errors.ts';
import { SmtpSink } from '../../../src/testing/smtp-sink.ts';

const FROM = { address: 'support@acme.test', name: 'Acme Support' };
const message = (id = 'itm_1') => composeFirst({ from: FROM, to: 'jane@example.com', subject: 'Your order', markdown: 'It **shipped**.', id });

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function sink(opts: Parameters<typeof SmtpSink.start>[0] = {}): Promise<SmtpSink> {
  const s = await SmtpSink.start(opts);
  cleanup.push(() => s.close());
  return s;
}

function sender(url: string): EmailSender {
  const s = createEmailSender(url, { connectionTimeoutMs: 2000, greetingTimeoutMs: 2000, socketTimeoutMs: 2000 });
  cleanup.push(() => s.close());
  return s;
}

async function sendError(s: EmailSender): Promise<OperatorError> {
  const err = await s.send(message()).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OperatorError);
  return err as OperatorError;
}

describe('email sender', () => {
  it('delivers a composed message with its threading headers and both parts', async () => {
    const relay = await sink();
    const reply = composeReply({ from: FROM, to: 'jane@example.com', subject: 'Broken', inReplyTo: 'cust-1@example.com', references: [], markdown: 'We are **sorry**.', id: 'itm_2' });
    const sent = await sender(relay.url).send(reply);
    expect(sent.messageId).toBe('<itm_2@acme.test>');
    expect(sent.response).toMatch(/^250 /);
    expect(sent.accepted).toEqual(['jane@example.com']);
    const got = await relay.waitFor((m) => m.messageId === 'itm_2@acme.test', 2000);
    expect(got).toMatchObject({ subject: 'Re: Broken', inReplyTo: 'cust-1@example.com', references: ['cust-1@example.com'], from: 'support@acme.test', to: ['jane@example.com'] });
    expect(got.text.trim()).toBe('We are sorry.');
    expect(got.html).toContain('<strong>sorry</strong>');
    expect(got.envelope).toEqual({ mailFrom: 'support@acme.test', rcptTo: ['jane@example.com'] });
  });

  it('authenticates with the credentials of the URL', async () => {
    const relay = await sink({ auth: { user: 'mailer', pass: 'p@ss word' } });
    expect(relay.url).toBe(`smtp://mailer:p%40ss%20word@127.0.0.1:${relay.port}`);
    await sender(relay.url).send(message());
    expect(relay.messages).toHaveLength(1);
  });

  it('classifies refused credentials as auth, not retryable', async () => {
    const relay = await sink({ auth: { user: 'mailer', pass: 'right' } });
    const err = await sendError(sender(`smtp://mailer:wrong@127.0.0.1:${relay.port}`));
    expect(err).toMatchObject({ kind: 'auth', code: 'email_auth_failed', retryable: false });
    expect(err.message).not.toContain('wrong');
    expect(relay.messages).toHaveLength(0);
  });

  it('classifies a 4xx reply as retryable connectivity and a 5xx as a permanent rejection', async () => {
    const relay = await sink();
    const s = sender(relay.url);
    relay.failNext(1, 451);
    expect(await sendError(s)).toMatchObject({ kind: 'connectivity', code: 'email_deferred', retryable: true });
    relay.failNext(1, 550);
    expect(await sendError(s)).toMatchObject({ kind: 'application', code: 'email_rejected', retryable: false });
    expect(relay.pendingFailures).toBe(0);
  });

  it('classifies a refused connection as retryable connectivity', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await sendError(sender(`smtp://127.0.0.1:${port}`));
    expect(err).toMatchObject({ kind: 'connectivity', code: 'email_relay_unreachable', retryable: true });
  });

  it('classifies a relay that never greets as a retryable timeout', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    const port = (silent.address() as { port: number }).port;
    const s = createEmailSender(`smtp://127.0.0.1:${port}`, { greetingTimeoutMs: 150, connectionTimeoutMs: 150, socketTimeoutMs: 150 });
    cleanup.push(() => s.close());
    const err = await sendError(s);
    expect(err).toMatchObject({ kind: 'connectivity', code: 'email_relay_unreachable', retryable: true });
  });

  it('does not start a send once the signal is aborted', async () => {
    const relay = await sink();
    const controller = new AbortController();
    controller.abort(new Error('conversation ended'));
    await expect(sender(relay.url).send(message(), controller.signal)).rejects.toThrow('conversation ended');
    expect(relay.messages).toHaveLength(0);
  });
});

describe('relay URL', () => {
  it('parses smtp and smtps URLs with default ports and decoded credentials', () => {
    expect(parseRelayUrl('smtp://u%40x:p%3Aw@mail.example.com')).toEqual({
      secure: false,
      host: 'mail.example.com',
      port: 587,
      auth: { user: 'u@x', pass: 'p:w' },
      target: 'smtp://u%40x@mail.example.com',
    });
    expect(parseRelayUrl('smtps://mail.example.com')).toMatchObject({ secure: true, port: 465 });
    expect(parseRelayUrl('smtp://127.0.0.1:2526')).toMatchObject({ port: 2526 });
  });

  it.each(['not a url', 'http://mail.example.com', 'smtp://:secret@mail.example.com', 'smtp://'])('refuses %j as config_invalid', (url) => {
    expect(() => createEmailSender(url)).toThrow(expect.objectContaining({ code: 'config_invalid' }));
  });

  it('keeps an already classified error and falls back to a server error for unknown ones', () => {
    const known = new OperatorError('rate_limit', 'x', 'y');
    expect(classifySendError(known, 't')).toBe(known);
    expect(classifySendError(new Error('weird'), 't')).toMatchObject({ kind: 'server', code: 'email_send_failed' });
  });
});
