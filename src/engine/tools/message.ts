import type { BuiltinToolSpec } from '../../core/agent.ts';
import { errorMessage } from '../../core/errors.ts';
import type { CustomerServices, ToolContext } from '../types.ts';
import { type ToolOutcome, failure, success } from './outcome.ts';

export const SEND_MESSAGE = 'send_message';
/** Ten SMS segments; an email may be longer, but what is said on a call and sent aside is short. */
export const MAX_MESSAGE_CHARS = 1600;

export function sendMessageExamples(): string[] {
  return ['text me the link', 'can you text me that', 'send me that by email', 'email me the details', 'send it to my phone'];
}

/** Offered in live conversations with a known customer (`CustomerServices.sendMessage`). */
export function sendMessageSpec(): BuiltinToolSpec {
  return {
    kind: 'builtin',
    name: SEND_MESSAGE,
    description:
      "Send the customer a text message (SMS) or an email on their phone number or email address on file, while you talk: " +
      'a link, a reference number, details they want in writing. Say a short line in your answer first ' +
      '("I\'ll text you the link now"). The message must stand on its own: it arrives outside this conversation.',
    parameters: {
      type: 'object',
      properties: {
        channel: { type: 'string', enum: ['sms', 'email'], description: 'sms: a text to their phone; email: to their email address.' },
        text: { type: 'string', minLength: 1, maxLength: MAX_MESSAGE_CHARS, description: 'The whole message, as the customer will read it.' },
      },
      required: ['channel', 'text'],
      additionalProperties: false,
    },
    examples: sendMessageExamples(),
    timeoutMs: 15_000,
  };
}

/**
 * Hands the message to the platform (the main thread records it in the customer's conversation on
 * that channel and delivers it). The turn and the call id make its idempotency key: the same call
 * asked twice sends one message.
 */
export async function runSendMessage(
  args: Record<string, unknown>,
  ctx: ToolContext,
  send: CustomerServices['sendMessage'],
): Promise<ToolOutcome> {
  if (!send) return failure('tool_not_implemented', 'messages cannot be sent from this conversation');
  const channel = args.channel === 'email' ? 'email' : 'sms';
  const text = typeof args.text === 'string' ? args.text.trim() : '';
  if (text === '') return failure('tool_invalid_arguments', 'text: the message is empty');
  try {
    return success(await send(channel, text, `${ctx.conversationId}/${ctx.turnId}/${ctx.callId}`));
  } catch (err) {
    // The main thread's refusals carry a code (`no_phone_number`, `recipient_opted_out`, …).
    const code = (err as { code?: unknown }).code;
    return failure(typeof code === 'string' ? code : 'send_failed', errorMessage(err));
  }
}
