import type { OperatorConfig } from '../config/index.ts';
import { OperatorError } from '../core/errors.ts';
import { MAX_MESSAGE_CHARS } from '../engine/index.ts';
import type { Store } from '../store/index.ts';
import type { AsyncConversations } from './async/service.ts';
import type { ReplyAddress } from './async/types.ts';
import type { HostRequestHandler } from './host-requests.ts';

export interface SendMessageDeps {
  store: Store;
  conversations: AsyncConversations;
  /** Our numbers and addresses by agent (`channels.sms`, `channels.email`). */
  channels: OperatorConfig['channels'];
}

type MessageChannel = 'sms' | 'email';

/** A refusal the model reads as the tool's result: a stable code and a sentence. */
function refused(code: string, message: string): OperatorError {
  return new OperatorError('conflict', code, message, { retryable: false });
}

function parseArgs(args: Record<string, unknown>): { channel: MessageChannel; text: string; key: string } {
  const { channel, text, key } = args;
  if (channel !== 'sms' && channel !== 'email') throw new OperatorError('invalid_request', 'validation_failed', 'channel: must be sms or email');
  if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_MESSAGE_CHARS) {
    throw new OperatorError('invalid_request', 'validation_failed', `text: must be 1 to ${MAX_MESSAGE_CHARS} characters`);
  }
  if (typeof key !== 'string' || key === '' || key.length > 300) throw new OperatorError('invalid_request', 'validation_failed', 'key: is required');
  return { channel, text: text.trim(), key };
}

/** Our side of the channel for this agent; refused when the channel is not set up. */
function ourAddress(deps: SendMessageDeps, agentId: string, channel: MessageChannel): Omit<ReplyAddress, 'to'> {
  if (!deps.conversations.deps.senders[channel]) {
    const why = channel === 'sms' ? 'no Twilio credentials are configured' : 'no SMTP relay (SMTP_OUTBOUND_URL) is configured';
    throw refused('channel_not_configured', `${channel === 'sms' ? 'Texts' : 'Emails'} cannot be sent: ${why}.`);
  }
  if (channel === 'sms') {
    const route = deps.channels.sms.find((r) => r.agent === agentId);
    if (!route) throw refused('channel_not_configured', 'Texts cannot be sent: this agent has no number under channels.sms.');
    return { from: route.number };
  }
  const route = deps.channels.email.find((r) => r.agent === agentId);
  if (!route) throw refused('channel_not_configured', 'Emails cannot be sent: this agent has no address under channels.email.');
  const agent = deps.conversations.deps.agents.get(agentId);
  return { from: route.address, ...(route.name ? { fromName: route.name } : {}), subject: `A message from ${agent?.name ?? agentId}` };
}

/**
 * The main-thread side of the built-in `send_message` tool (engine/tools/message.ts): texts or
 * emails the customer of a live conversation on the number or address on file. The message is
 * posted as an agent message in their open conversation with this agent on that channel (or a new
 * one) and delivered through the async delivery path, idempotently on the tool call's key. The
 * live conversation's own transcript holds the tool call and this result.
 */
export function sendMessageHandler(deps: SendMessageDeps): HostRequestHandler {
  return async (args, ctx) => {
    const { channel, text, key } = parseArgs(args);
    const { conversation } = ctx;
    if (conversation.channel === channel) throw refused('same_channel', `This conversation is already on ${channel}: write the message here.`);
    const customer = conversation.customerId ? await deps.store.customers.get(conversation.customerId) : undefined;
    const to = customer?.identifiers.find((i) => i.type === (channel === 'sms' ? 'phone' : 'email'))?.value;
    if (!customer || !to) {
      throw channel === 'sms' ? refused('no_phone_number', 'no phone number on file') : refused('no_email_address', 'no email address on file');
    }
    if (await deps.store.optOuts.has(channel, to)) {
      throw refused('recipient_opted_out', `the customer has opted out of ${channel === 'sms' ? 'text messages (STOP)' : 'email'}`);
    }
    const posted = await deps.conversations.postAgentMessage({
      agentId: ctx.agentId, channel, customerId: customer.id, text,
      reply: { to, ...ourAddress(deps, ctx.agentId, channel) },
      key: `send_message:${key}`,
      data: { sentFrom: conversation.id },
    });
    return { sent: true, channel, to, conversationId: posted.conversation.id };
  };
}
