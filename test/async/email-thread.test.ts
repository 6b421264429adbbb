import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendTestEmail } from '../../src/testing/smtp-sink.ts';
import { SMALL_POOL, api, type Json } from '../helpers/api.ts';
import { SUPPORT_ADDRESS, agentMessages, startAsyncServer, userMessages, waitForConversation, type AsyncServer, one } from './harness.ts';

/**
 * An email thread through the real SMTP edges: customer mail into the built-in receiver
 * (server.smtpPort), the agent's replies out through the SmtpSink relay (SMTP_OUTBOUND_URL),
 * threaded, with plain-text and HTML parts; replies to any message of the thread land in the same
 * conversation; what the receiver refuses stores nothing.
 */

const REPLY = '**Thanks** for writing!\n\n- Your order *A12345* has shipped\n- It arrives on Thursday';

let s: AsyncServer;
beforeAll(async () => {
  s = await startAsyncServer(
    {
      pool: SMALL_POOL,
      channels: { email: [{ address: SUPPORT_ADDRESS, agent: 'mail', name: 'Acme Support' }] },
      agents: {
        mail: { name: 'Acme Support', instructions: 'x', model: { provider: 'scripted', loop: true, steps: [{ deltas: [REPLY] }] } },
      },
    },
    { sink: true },
  );
});
afterAll(() => s?.close());

function smtpPort(): number {
  const port = s.server.smtpPort;
  if (port === undefined) throw new Error('the SMTP receiver did not start');
  return port;
}

async function emailConversations(): Promise<Json[]> {
  return (await api(s.url, '/v1/conversations?channel=email&limit=100')).body.data as Json[];
}

describe('an email thread', () => {
  it('is answered with a threaded reply (Re:, In-Reply-To, References, text + HTML), and replies to the reply land in the same conversation', async () => {
    const customer = 'jane@example.com';
    const sent = await sendTestEmail({
      port: smtpPort(), from: `Jane Doe <${customer}>`, to: SUPPORT_ADDRESS, subject: 'Where is my order?',
      text: 'Hello, where is my order A12345?\n\nThanks,\nJane', messageId: 'jane-1@example.com',
    });
    expect(sent.response).toMatch(/^250/);

    const reply = await s.sink!.waitFor((m) => m.to.includes(customer));
    expect(reply.from).toBe(SUPPORT_ADDRESS);
    expect(reply.subject).toBe('Re: Where is my order?');
    expect(reply.inReplyTo).toBe('jane-1@example.com');
    expect(reply.references).toEqual(['jane-1@example.com']);
    expect(reply.messageId).toMatch(/@acme\.test$/);
    expect(reply.text).toContain('Thanks for writing!');
    expect(reply.text).not.toContain('**');
    expect(reply.html).toMatch(/<strong>Thanks<\/strong>/);
    expect(reply.html).toMatch(/<li>Your order <em>A12345<\/em> has shipped<\/li>/);

    const conv = one(await s.conversationsOf({ email: customer }), 'conversation');
    expect(conv).toMatchObject({ channel: 'email', mode: 'async', agent: 'mail' });
    const first = await waitForConversation(s, conv.id, (c) => agentMessages(c)[0]?.delivery?.status === 'sent', 'the reply to be marked sent');
    expect(userMessages(first).map((i) => i.text)).toEqual(['Hello, where is my order A12345?\n\nThanks,\nJane']);
    expect(agentMessages(first)[0]?.text).toBe(REPLY);

    // The customer answers the agent's reply, quoting it and signing off.
    const answer = await sendTestEmail({
      port: smtpPort(), from: customer, to: SUPPORT_ADDRESS, subject: reply.subject,
      text: `Great, thank you. Can you change the address?\n\nOn Mon, 1 Dec 2026 at 10:00, Acme Support <${SUPPORT_ADDRESS}> wrote:\n> Thanks for writing!\n> Your order A12345 has shipped\n\n-- \nJane Doe\n+1 555 000 1111`,
      messageId: 'jane-2@example.com', inReplyTo: reply.messageId!, references: ['jane-1@example.com', reply.messageId!],
    });
    expect(answer.response).toMatch(/^250/);
    const second = await s.sink!.waitFor((m) => m.to.includes(customer) && m.messageId !== reply.messageId);
    expect(second.inReplyTo).toBe('jane-2@example.com');
    expect(second.references).toEqual(['jane-1@example.com', reply.messageId, 'jane-2@example.com']);
    expect(second.subject).toBe('Re: Where is my order?');

    expect(await s.conversationsOf({ email: customer })).toHaveLength(1);
    const thread = await waitForConversation(s, conv.id, (c) => agentMessages(c).length === 2, 'the second reply');
    const texts = userMessages(thread).map((i) => i.text);
    expect(texts).toHaveLength(2);
    expect(texts[1]).toBe('Great, thank you. Can you change the address?');
    expect(texts[1]).not.toContain('wrote:');
    expect(texts[1]).not.toContain('Jane Doe');
  });

  it('a reply to the thread from another address (a colleague, a second mailbox) joins by its headers; without them it is a new conversation', async () => {
    const customer = 'omar@example.com';
    const work = 'omar@work.example.org';
    await sendTestEmail({ port: smtpPort(), from: customer, to: SUPPORT_ADDRESS, subject: 'Refund', text: 'I want a refund.', messageId: 'omar-1@example.com' });
    const ours = await s.sink!.waitFor((m) => m.to.includes(customer));
    await sendTestEmail({
      port: smtpPort(), from: work, to: SUPPORT_ADDRESS, subject: 'Re: Refund', text: 'Writing from work: the box was damaged too.',
      messageId: 'omar-2@work.example.org', inReplyTo: ours.messageId!, references: ['omar-1@example.com', ours.messageId!],
    });
    const conv = one(await s.conversationsOf({ email: customer }), 'conversation');
    expect(userMessages(conv).map((i) => i.text)).toEqual(['I want a refund.', 'Writing from work: the box was damaged too.']);
    // The answer goes to the address that wrote last, still in the thread.
    const toWork = await s.sink!.waitFor((m) => m.to.includes(work));
    expect(toWork.inReplyTo).toBe('omar-2@work.example.org');

    await sendTestEmail({ port: smtpPort(), from: work, to: SUPPORT_ADDRESS, subject: 'Another question', text: 'Unrelated question.', messageId: 'omar-3@work.example.org' });
    const separate = one((await s.conversationsOf({ email: work })).filter((c) => c.id !== conv.id), 'other conversation');
    expect(userMessages(separate).map((i) => i.text)).toEqual(['Unrelated question.']);
  });

  it('keeps attachments on the item', async () => {
    const customer = 'ana@example.com';
    const photo = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
    await sendTestEmail({
      port: smtpPort(), from: customer, to: SUPPORT_ADDRESS, subject: 'Damaged item', text: 'See the photo.', messageId: 'ana-1@example.com',
      attachments: [{ filename: 'photo.png', content: photo, contentType: 'image/png' }],
    });
    const conv = one(await s.conversationsOf({ email: customer }), 'conversation');
    const item = one(userMessages(conv), 'customer message');
    expect(item.text).toBe('See the photo.');
    expect(item.attachments).toEqual([
      expect.objectContaining({ contentType: 'image/png', name: 'photo.png', sizeBytes: photo.length, url: expect.stringMatching(/^\/v1\/attachments\/att_/) }),
    ]);
  });

  it('the same Message-ID delivered twice is one item and one reply', async () => {
    const customer = 'li@example.com';
    const mail = { port: smtpPort(), from: customer, to: SUPPORT_ADDRESS, subject: 'Twice', text: 'Hello once.', messageId: 'li-1@example.com' };
    expect((await sendTestEmail(mail)).response).toMatch(/^250/);
    await s.sink!.waitFor((m) => m.to.includes(customer));
    expect((await sendTestEmail(mail)).response).toMatch(/^250/); // accepted again: the sender must not retry
    await s.settled();
    const conv = one(await s.conversationsOf({ email: customer }), 'conversation');
    expect(userMessages(conv).map((i) => i.text)).toEqual(['Hello once.']);
    expect(agentMessages(conv)).toHaveLength(1);
    expect(s.sink!.messages.filter((m) => m.to.includes(customer))).toHaveLength(1);
  });

  it('refuses mail for an unknown address with 550 and stores nothing', async () => {
    const before = await emailConversations();
    const err = await sendTestEmail({ port: smtpPort(), from: 'x@example.com', to: 'sales@acme.test', subject: 'Hi', text: 'Anyone?' }).then(
      () => undefined,
      (e: unknown) => e as { responseCode?: number; response?: string },
    );
    expect(err?.responseCode).toBe(550);
    expect(await emailConversations()).toEqual(before);
  });

  it('refuses an oversized email and stores nothing', async () => {
    const before = await emailConversations();
    const big = Buffer.alloc(11 * 1024 * 1024, 'a');
    const err = await sendTestEmail({
      port: smtpPort(), from: 'big@example.com', to: SUPPORT_ADDRESS, subject: 'Big', text: 'Attached.',
      attachments: [{ filename: 'big.bin', content: big, contentType: 'application/octet-stream' }],
    }).then(
      () => undefined,
      (e: unknown) => e as { responseCode?: number },
    );
    expect(err?.responseCode).toBe(552);
    expect(await emailConversations()).toEqual(before);
    expect(s.sink!.messages.filter((m) => m.to.includes('big@example.com'))).toEqual([]);
  });

  it('refuses a malformed email (no header block, no From) with 554 and stores nothing', async () => {
    const before = await emailConversations();
    const transport = createTransport({ host: '127.0.0.1', port: smtpPort(), secure: false, ignoreTLS: true });
    try {
      for (const raw of ['this is not an email at all\r\n', 'Subject: no sender\r\nTo: support@acme.test\r\n\r\nHello?\r\n']) {
        const err = await transport.sendMail({ envelope: { from: 'junk@example.com', to: [SUPPORT_ADDRESS] }, raw }).then(
          () => undefined,
          (e: unknown) => e as { responseCode?: number },
        );
        expect(err?.responseCode).toBe(554);
      }
    } finally {
      transport.close();
    }
    expect(await emailConversations()).toEqual(before);
  });
});
