import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendTestEmail } from '../../src/testing/smtp-sink.ts';
import { SMALL_POOL, ask, openSession, waitFor } from '../helpers/api.ts';
import { SUPPORT_ADDRESS, agentMessages, startAsyncServer, type AsyncServer } from '../async/harness.ts';
import { lastUserText, startLlmFake, type LlmFake } from '../memory/llm-fake.ts';

/**
 * `send_message` on the email channel: a customer who wrote an email and then opens a live chat
 * asks for something by email; it goes out through the SMTP relay on the thread of their email
 * and is stored in their email conversation.
 */

let llm: LlmFake;
let s: AsyncServer;

beforeAll(async () => {
  llm = await startLlmFake((req) => {
    const messages = req.body.messages as { role: string }[];
    if (messages.at(-1)?.role === 'tool') return { text: 'Sent.' };
    if (/email me the receipt/i.test(lastUserText(req))) {
      return { toolCall: { name: 'send_message', args: { channel: 'email', text: 'Your receipt for order 5: **$42.00**.' } } };
    }
    return { text: 'We are looking into it.' };
  });
  const model = { provider: 'openai-compatible', model: 'local', baseUrl: `${llm.origin}/v1`, apiKey: 'sk-test' };
  s = await startAsyncServer(
    {
      pool: SMALL_POOL,
      channels: { email: [{ address: SUPPORT_ADDRESS, agent: 'support', name: 'Acme Support' }] },
      agents: { support: { instructions: 'You help Acme customers.', model } },
    },
    { sink: true },
  );
}, 60_000);

afterAll(async () => {
  await s?.close();
  await llm?.close();
});

describe('send_message by email', () => {
  it("emails the customer from a live chat, on the thread of their last email, stored in that email conversation", async () => {
    const customer = 'jo@example.com';
    const first = await sendTestEmail({ port: s.server.smtpPort!, from: customer, to: SUPPORT_ADDRESS, subject: 'Order 5', text: 'Where is my order 5?' });
    await s.sink!.waitFor((m) => m.to.includes(customer));
    const [mail] = await s.conversationsOf({ email: customer });

    const { client, conversationId } = await openSession(s.url, 'support', { customer: { email: customer } });
    await ask(client, 'Please email me the receipt');
    client.close();

    const receipt = await s.sink!.waitFor((m) => m.to.includes(customer) && m.text.includes('Your receipt'));
    expect(receipt.subject).toBe('Re: Order 5');
    expect(receipt.inReplyTo).toBe(first.messageId.replace(/^<|>$/g, ''));
    expect(receipt.from).toContain(SUPPORT_ADDRESS);
    expect(receipt.html).toContain('<strong>$42.00</strong>');

    const thread = await waitFor(async () => {
      const c = await s.conversation(mail!.id);
      return agentMessages(c).length === 2 && agentMessages(c)[1]!.delivery?.status === 'sent' ? c : undefined;
    }, 'the email stored in the email conversation');
    expect(agentMessages(thread).map((i) => i.text)).toEqual(['We are looking into it.', 'Your receipt for order 5: **$42.00**.']);
    const chat = await s.conversation(conversationId);
    expect(chat.items.find((i) => i.type === 'tool_result')?.data).toEqual({ sent: true, channel: 'email', to: customer, conversationId: mail!.id });
    expect(s.sink!.messages.filter((m) => m.to.includes(customer))).toHaveLength(2);
  });
});
