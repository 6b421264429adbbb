import { fileURLToPath } from 'node:url';
import { createTransport } from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { startSmtpReceiver, type SmtpEnvelope, type SmtpReceiver } from '../../../src/channels/email/receiver.ts';
import { OperatorError } from '../../../src/core/errors.ts';
import { sendTestEmail } from '../../../src/testing/smtp-sink.ts';
import { smtpDialogue } from './helpers.ts';

const SUPPORT = 'support@acme.test';

interface Delivery {
  raw: Buffer;
  envelope: SmtpEnvelope;
}

let receiver: SmtpReceiver | undefined;

afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function start(onMessage: (raw: Buffer, envelope: SmtpEnvelope) => Promise<void>, maxBytes = 64 * 1024): Promise<number> {
  receiver = await startSmtpReceiver({ port: 0, host: '127.0.0.1', maxBytes, acceptsRecipient: (a) => a === SUPPORT, onMessage });
  return receiver.port;
}

async function failure(p: Promise<unknown>): Promise<{ responseCode?: number; response?: string; code?: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as { responseCode?: number; response?: string; code?: string };
}

describe('SMTP receiver', () => {
  it('refuses an unknown recipient with 550 5.1.1 and never calls onMessage', async () => {
    const seen: Delivery[] = [];
    const port = await start((raw, envelope) => {
      seen.push({ raw, envelope });
      return Promise.resolve();
    });
    const err = await failure(sendTestEmail({ port, from: 'jane@example.com', to: 'sales@acme.test', subject: 'hi', text: 'hello' }));
    expect(err.responseCode).toBe(550);
    expect(err.response).toMatch(/^550 5\.1\.1 /);
    expect(seen).toHaveLength(0);
  });

  it('acknowledges DATA only after onMessage has resolved (accept, persist, act)', async () => {
    let release!: () => void;
    const persisted = new Promise<void>((resolve) => (release = resolve));
    const seen: Delivery[] = [];
    let called!: () => void;
    const onMessageCalled = new Promise<void>((resolve) => (called = resolve));
    const port = await start(async (raw, envelope) => {
      seen.push({ raw, envelope });
      called();
      await persisted;
    });
    let acknowledged = false;
    const sending = sendTestEmail({ port, from: 'Jane@Example.com', to: 'Support@ACME.test', subject: 'Broken parcel', text: 'It arrived broken.', messageId: 'abc@example.com' }).then(
      (info) => {
        acknowledged = true;
        return info;
      },
    );
    await onMessageCalled;
    expect(acknowledged).toBe(false);
    expect(seen).toHaveLength(1);
    const { raw, envelope } = seen[0]!;
    expect(raw.toString()).toContain('Subject: Broken parcel');
    expect(raw.toString()).toContain('Message-ID: <abc@example.com>');
    expect(envelope).toMatchObject({ mailFrom: 'jane@example.com', rcptTo: ['support@acme.test'], remoteAddress: '127.0.0.1' });
    release();
    const info = await sending;
    expect(acknowledged).toBe(true);
    expect(info.response).toMatch(/^250 /);
  });

  it('refuses a message whose streamed size exceeds the limit with 552, without calling onMessage', async () => {
    let calls = 0;
    const port = await start(() => {
      calls++;
      return Promise.resolve();
    }, 4096);
    const err = await failure(sendTestEmail({ port, from: 'jane@example.com', to: SUPPORT, subject: 'big', text: 'x'.repeat(10_000) }));
    expect(err.responseCode).toBe(552);
    expect(calls).toBe(0);
  });

  it('refuses a declared SIZE over the limit at MAIL FROM (RFC 1870)', async () => {
    const port = await start(async () => {}, 4096);
    const replies = await smtpDialogue(port, ['EHLO client.example', 'MAIL FROM:<jane@example.com> SIZE=100000', 'QUIT']);
    expect(replies[1]).toContain('SIZE 4096');
    expect(replies[2]).toMatch(/^552 /);
  });

  it('offers neither AUTH nor STARTTLS without a certificate, and relays nothing', async () => {
    const port = await start(async () => {});
    const replies = await smtpDialogue(port, ['EHLO client.example', 'AUTH PLAIN AGphbmUAc2VjcmV0', 'MAIL FROM:<spammer@example.net>', 'RCPT TO:<victim@elsewhere.example>', 'QUIT']);
    expect(replies[1]).not.toMatch(/AUTH|STARTTLS/);
    expect(replies[2]).toMatch(/^5\d\d /);
    expect(replies[3]).toMatch(/^250 /);
    expect(replies[4]).toMatch(/^550 5\.1\.1 /);
  });

  it('answers 451 when onMessage fails with a retryable error, so the sender retries', async () => {
    let calls = 0;
    const port = await start(() => {
      calls++;
      if (calls === 1) return Promise.reject(new OperatorError('connectivity', 'store_unavailable', 'database is down'));
      return Promise.resolve();
    });
    const err = await failure(sendTestEmail({ port, from: 'jane@example.com', to: SUPPORT, subject: 'hi', text: 'hello' }));
    expect(err.responseCode).toBe(451);
    expect(err.response).toMatch(/^451 4\.3\.0 /);
    const retry = await sendTestEmail({ port, from: 'jane@example.com', to: SUPPORT, subject: 'hi', text: 'hello' });
    expect(retry.response).toMatch(/^250 /);
    expect(calls).toBe(2);
  });

  it('treats an unclassified failure as temporary (451)', async () => {
    const port = await start(() => Promise.reject(new Error('disk full')));
    const err = await failure(sendTestEmail({ port, from: 'jane@example.com', to: SUPPORT, subject: 'hi', text: 'hello' }));
    expect(err.responseCode).toBe(451);
    expect(err.response).not.toContain('disk full');
  });

  it('answers a permanent 554 for an invalid email and 552 for one too large to keep', async () => {
    const errors = [
      new OperatorError('invalid_request', 'invalid_email', 'The email has no From address.'),
      new OperatorError('too_large', 'email_too_large', 'The attachment "a.mov" is too large.'),
    ];
    const port = await start(() => Promise.reject(errors.shift()!));
    const invalid = await failure(sendTestEmail({ port, from: 'jane@example.com', to: SUPPORT, subject: 'a', text: 'a' }));
    expect(invalid.responseCode).toBe(554);
    expect(invalid.response).toContain('invalid_email');
    const large = await failure(sendTestEmail({ port, from: 'jane@example.com', to: SUPPORT, subject: 'b', text: 'b' }));
    expect(large.responseCode).toBe(552);
  });

  it('reports a port in use as smtp_listen_failed', async () => {
    const port = await start(async () => {});
    const err = await startSmtpReceiver({ port, host: '127.0.0.1', maxBytes: 1, acceptsRecipient: () => true, onMessage: async () => {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OperatorError);
    expect((err as OperatorError).code).toBe('smtp_listen_failed');
  });

  it('offers STARTTLS with a configured key and certificate, and delivers over it', async () => {
    const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
    const seen: Buffer[] = [];
    receiver = await startSmtpReceiver({
      port: 0,
      host: '127.0.0.1',
      maxBytes: 64 * 1024,
      acceptsRecipient: () => true,
      onMessage: (raw) => {
        seen.push(raw);
        return Promise.resolve();
      },
      tls: { keyPath: fixture('test-key.pem'), certPath: fixture('test-cert.pem') },
    });
    const replies = await smtpDialogue(receiver.port, ['EHLO client.example', 'QUIT']);
    expect(replies[1]).toContain('STARTTLS');
    expect(replies[1]).not.toContain('AUTH');
    const transport = createTransport({ host: '127.0.0.1', port: receiver.port, secure: false, requireTLS: true, tls: { rejectUnauthorized: false } });
    await transport.sendMail({ from: 'jane@example.com', to: SUPPORT, subject: 'over tls', text: 'secret' });
    transport.close();
    expect(seen[0]!.toString()).toContain('Subject: over tls');
  });

  it('refuses unreadable TLS files as config_invalid', async () => {
    const err = await startSmtpReceiver({
      port: 0,
      maxBytes: 1,
      acceptsRecipient: () => true,
      onMessage: () => Promise.resolve(),
      tls: { keyPath: '/nonexistent/key.pem', certPath: '/nonexistent/cert.pem' },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'config_invalid' });
  });
});
