import type { BuiltinToolSpec } from '../../core/agent.ts';
import type { Item } from '../../core/conversation.ts';
import type { MemoryHit } from '../../core/memory.ts';
import type { CustomerServices, ToolContext } from '../types.ts';
import { type ToolOutcome, failure, success } from './outcome.ts';
import { COLLECT_DIGITS, type CallControls, TRANSFER_CALL, runCollectDigits, runTransfer } from './call.ts';
import { SAVE_CONTACT, runSaveContact, saveContactSpec } from './contact.ts';
import { SEND_MESSAGE, runSendMessage, sendMessageSpec } from './message.ts';
import { RECALL_HISTORY, recallHistorySpec, runRecall } from './recall.ts';

export const END_CONVERSATION = 'end_conversation';

/** What built-in tools may ask of the session that runs them. */
export interface BuiltinHost {
  /** End the conversation once the answer of `turnId` is complete. */
  endAfterTurn(turnId: string, reason: string | undefined): void;
  /** Search the customer's earlier conversations (`recall_history`). */
  recall?: (query: string) => Promise<MemoryHit[]>;
  /** On a phone call: transfer and key-press collection. */
  call?: CallControls;
  /** Transfer the call to `to` once the answer of `turnId` has been heard. */
  transferAfterTurn: (turnId: string, to: string) => void;
  /** Add a confirmed contact to the customer's record (`save_contact`). */
  linkContact?: CustomerServices['linkContact'];
  /** The conversation so far, as the session holds it (`save_contact` checks the read-back in it). */
  history?: () => readonly Item[];
  /** Text or email the customer on their other channel (`send_message`). */
  sendMessage?: CustomerServices['sendMessage'];
}

/** The built-in tools, as specs the config layer adds to agents. */
export function builtinToolSpecs(): BuiltinToolSpec[] {
  return [
    {
      kind: 'builtin',
      name: END_CONVERSATION,
      description:
        'End the conversation when the customer says goodbye or has nothing more to ask. ' +
        'Also say a short goodbye in your answer: the conversation ends right after it.',
      parameters: {
        type: 'object',
        properties: {
          reason: { type: 'string', description: 'Why the conversation ends, in a few words.' },
        },
        additionalProperties: false,
      },
      examples: ['goodbye', 'bye', "that's all, thanks", 'no, that will be all', 'thanks, have a nice day'],
      timeoutMs: 1000,
    },
    recallHistorySpec(),
    saveContactSpec(),
    sendMessageSpec(),
  ];
}

export function runBuiltin(
  name: string,
  args: Record<string, unknown>,
  ctx: ToolContext,
  host: BuiltinHost,
): ToolOutcome | Promise<ToolOutcome> {
  if (name === RECALL_HISTORY) return runRecall(args, host.recall);
  if (name === COLLECT_DIGITS) return runCollectDigits(args, ctx, host.call);
  if (name === TRANSFER_CALL) return runTransfer(args, ctx, host.call, host.transferAfterTurn);
  if (name === SAVE_CONTACT) return runSaveContact(args, host.history?.() ?? [], host.linkContact);
  if (name === SEND_MESSAGE) return runSendMessage(args, ctx, host.sendMessage);
  if (name === END_CONVERSATION) {
    host.endAfterTurn(ctx.turnId, typeof args.reason === 'string' ? args.reason : undefined);
    return success({ ending: true, note: 'The conversation ends after this answer. Say goodbye now.' });
  }
  return failure('tool_not_implemented', `${name} is not a built-in tool`);
}
