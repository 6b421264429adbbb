import { afterEach, describe, expect, it } from 'vitest';
import { SmtpSink, sendTestEmail } from '../../../src/testing/smtp-sink.ts';

let sink: SmtpSink | undefined;
afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

describe('SmtpSink', () => {
  it('records and parses each message, and waitFor resolves on arrival', async () => {
    sink = await SmtpSink.start();
    const waiting = sink.waitFor((m) => m.subject === 'second', 2000);
    await sendTestEmail({ port: sink.port, from: 'a@example.com', to: 'b@example.com', subject: 'first', text: 'one', messageId: 'one@example.com' });
    await sendTestEmail({
      port: sink.port,
      from: 'a@example.com',
      to: 'B@Example.com',
      subject: 'second',
      text: 'two',
      html: '<p>two</p>',
      inReplyTo: 'one@example.com',
      references: ['one@example.com'],
      attachments: [{ filename: 'a.txt', content: 'hello' }],
    });
    const second = await waiting;
    expect(second).toMatchObject({ inReplyTo: 'one@example.com', references: ['one@example.com'], to: ['b@example.com'], from: 'a@example.com', html: '<p>two</p>' });
    expect(second.text.trim()).toBe('two');
    expect(second.raw.toString()).toContain('a.txt');
    expect(sink.messages.map((m) => m.subject)).toEqual(['first', 'second']);
    expect(sink.messages[0]!.messageId).toBe('one@example.com');
    // Already received: resolves at once.
    expect((await sink.waitFor((m) => m.subject === 'first', 10)).messageId).toBe('one@example.com');
  });

  it('waitFor rejects after its deadline', async () => {
    sink = await SmtpSink.start();
    await expect(sink.waitFor(() => true, 20)).rejects.toThrow(/no matching message within 20 ms/);
  });

  it('failNext refuses the next n messages with the given code, then accepts again', async () => {
    sink = await SmtpSink.start();
    sink.failNext(2, 452);
    const send = () => sendTestEmail({ port: sink!.port, from: 'a@example.com', to: 'b@example.com', subject: 's', text: 't' });
    await expect(send()).rejects.toMatchObject({ responseCode: 452 });
    await expect(send()).rejects.toMatchObject({ responseCode: 452 });
    await expect(send()).resolves.toMatchObject({ response: expect.stringMatching(/^250 /) });
    expect(sink.rejectedCount).toBe(2);
    expect(sink.messages).toHaveLength(1);
    expect(sink.pendingFailures).toBe(0);
  });

  it('requires AUTH when credentials are configured', async () => {
    sink = await SmtpSink.start({ auth: { user: 'u', pass: 'p' } });
    await expect(sendTestEmail({ port: sink.port, from: 'a@example.com', to: 'b@example.com', subject: 's', text: 't' })).rejects.toMatchObject({ responseCode: 530 });
    expect(sink.messages).toHaveLength(0);
  });
});
