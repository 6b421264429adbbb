import { OperatorError, isOperatorError } from '../core/errors.ts';
import type { AsyncDeps } from './async/types.ts';
import type { HostRequestHandler } from './host-requests.ts';
import { summariseConversation } from './memory/summarise.ts';

export type LinkContactDeps = Pick<AsyncDeps, 'store' | 'clock' | 'logger' | 'events' | 'agents'>;

/** A concurrent merge may move the conversation to another customer while we link: look again once. */
const ATTEMPTS = 2;

/**
 * The main-thread side of the built-in `save_contact` tool (engine/tools/contact.ts): the engine
 * has checked the customer's confirmation; this adds the contact to the conversation's customer,
 * merging the customer who already had it (`customers.link`), so both identities share one memory.
 */
export function linkContactHandler(deps: LinkContactDeps): HostRequestHandler {
  return async (args, ctx) => {
    const { type, value } = args;
    if ((type !== 'phone' && type !== 'email') || typeof value !== 'string' || value.trim() === '') {
      throw new OperatorError('invalid_request', 'validation_failed', 'type must be phone or email, and value a non-empty string');
    }
    for (let attempt = 1; ; attempt++) {
      // The conversation's customer as stored now, not as the worker was given it: a merge moves conversations.
      const customerId = (await deps.store.conversations.get(ctx.conversation.id))?.customerId;
      if (!customerId) throw new OperatorError('conflict', 'no_customer', 'This conversation has no customer record to add a contact to.');
      try {
        const result = await deps.store.customers.link(customerId, type, value, deps.clock.now());
        for (const id of result.superseded ?? []) {
          deps.events.publish({ conversationId: id, kind: 'status', status: 'ended', endedReason: 'superseded' });
          await summariseConversation(deps.store, id, deps.logger, (a) => deps.agents.get(a));
        }
        deps.logger.info(
          { conversationId: ctx.conversation.id, customerId, type, ...(result.mergedFrom ? { mergedFrom: result.mergedFrom } : {}) },
          'contact linked',
        );
        return { linked: true, type, value: value.trim(), ...(result.mergedFrom ? { merged: true } : {}) };
      } catch (err) {
        if (!(isOperatorError(err) && err.code === 'customer_not_found') || attempt >= ATTEMPTS) throw err;
      }
    }
  };
}
