import type { BuiltinToolSpec } from '../../core/agent.ts';
import type { Item } from '../../core/conversation.ts';
import { errorMessage } from '../../core/errors.ts';
import type { CustomerServices } from '../types.ts';
import { type ToolOutcome, failure, success } from './outcome.ts';

export const SAVE_CONTACT = 'save_contact';

export type ContactType = 'phone' | 'email';

export function saveContactExamples(): string[] {
  return ['my email is', 'my email address is', 'my phone number is', 'you can text me at', 'my mobile number is', 'you can also reach me at'];
}

/** Offered where the platform can add to the customer's record (`CustomerServices.linkContact`). */
export function saveContactSpec(): BuiltinToolSpec {
  return {
    kind: 'builtin',
    name: SAVE_CONTACT,
    description:
      "Add a phone number or email address the customer gave you to their record, so that their conversations on it " +
      'share what you know about them. First read it back and ask ("Just to confirm: jane@example.com — is that right?"); ' +
      'call this only once the customer has said yes, with confirmed: true and exactly the value you read back.',
    parameters: {
      type: 'object',
      properties: {
        type: { type: 'string', enum: ['phone', 'email'], description: 'phone: a number they can be texted or called on; email: an address.' },
        value: { type: 'string', minLength: 1, maxLength: 254, description: 'The phone number or email address, as you read it back.' },
        confirmed: { type: 'boolean', description: 'True only when the customer said yes to your read-back.' },
      },
      required: ['type', 'value', 'confirmed'],
      additionalProperties: false,
    },
    examples: saveContactExamples(),
    timeoutMs: 10_000,
  };
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/;
const PHONE = /^\+?[\d\s().-]+$/;
const EMAILS_IN_TEXT = /[^\s@<>()[\]"',;:]+@[^\s@<>()[\]"',;:]+\.[A-Za-z]{2,}/g;
const PHONES_IN_TEXT = /\+?\d[\d\s().-]*\d/g;

/** How a contact is compared with a read-back: the digits of a phone number, an address in lower case. */
function comparable(type: ContactType, value: string): string {
  return type === 'phone' ? value.replace(/\D/g, '') : value.trim().toLowerCase();
}

/** The contact as given, when it looks like one; undefined when it is not a phone number or an address. */
export function validContact(type: ContactType, value: string): string | undefined {
  const v = value.trim();
  if (type === 'email') return EMAIL.test(v) ? v : undefined;
  const digits = v.replace(/\D/g, '').length;
  return PHONE.test(v) && digits >= 7 && digits <= 15 ? v : undefined;
}

/** Whether `text` (the agent's read-back) names this contact. */
export function namesContact(text: string, type: ContactType, value: string): boolean {
  const wanted = comparable(type, value);
  const found = text.match(type === 'phone' ? PHONES_IN_TEXT : EMAILS_IN_TEXT) ?? [];
  return found.some((f) => comparable(type, f.replace(/\.$/, '')) === wanted);
}

const NEGATIVE = /\b(?:no|nope|nah|not|wrong|incorrect|isnt|isn't|dont|don't|never|wait|actually|mistake)\b/;
const AFFIRMATIVE =
  /^(?:yes|yeah|yea|yep|yup|ya|aye|correct|right|sure|ok|okay|alright|exactly|absolutely|definitely|indeed|affirmative|perfect|confirmed?|(?:that|it)(?: i|')s (?:right|correct|it|fine|good)|(?:that|it) is|uh[- ]?huh|sounds (?:right|good)|please do|go ahead)\b/;

/** "yes", "yep, that's right", "correct": an affirmation, and nothing that takes it back. */
export function isAffirmation(text: string): boolean {
  const t = text.toLowerCase().replace(/[’`]/g, "'").replace(/[^a-z' -]+/g, ' ').replace(/\s+/g, ' ').trim();
  return AFFIRMATIVE.test(t) && !NEGATIVE.test(t);
}

/**
 * The guard, from the conversation as the customer saw it (not from what the model claims): the
 * agent's last message before the customer's latest message read this contact back, and that
 * latest message says yes. Undefined when it holds; otherwise why not.
 */
export function confirmationGap(history: readonly Item[], type: ContactType, value: string): string | undefined {
  const isMessage = (i: Item, role: 'user' | 'agent') => i.role === role && i.type === 'message';
  let lastUser = -1;
  for (let i = history.length - 1; i >= 0 && lastUser < 0; i--) if (isMessage(history[i]!, 'user')) lastUser = i;
  let readBack: Item | undefined;
  for (let i = lastUser - 1; i >= 0 && !readBack; i--) if (isMessage(history[i]!, 'agent')) readBack = history[i];
  if (!readBack || !namesContact(readBack.text, type, value)) return 'not_read_back';
  if (!isAffirmation(history[lastUser]!.text)) return 'not_affirmed';
  return undefined;
}

const WHAT: Record<ContactType, string> = { phone: 'phone number', email: 'email address' };

/** Links a confirmed contact through the platform; anything short of a confirmation links nothing. */
export async function runSaveContact(
  args: Record<string, unknown>,
  history: readonly Item[],
  link: CustomerServices['linkContact'],
): Promise<ToolOutcome> {
  if (!link) return failure('tool_not_implemented', 'contacts cannot be saved in this conversation');
  const type: ContactType = args.type === 'email' ? 'email' : 'phone';
  const raw = typeof args.value === 'string' ? args.value : '';
  const value = validContact(type, raw);
  if (value === undefined) {
    return failure('invalid_contact', `"${raw}" is not a valid ${WHAT[type]}. Ask the customer for it again.`);
  }
  const gap = args.confirmed === true ? confirmationGap(history, type, value) : 'not_confirmed';
  if (gap !== undefined) {
    return success({
      linked: false, type, value, reason: gap,
      note: `Not saved: the customer has not confirmed this ${WHAT[type]}. Read it back to them ("Just to confirm: ${value} — ` +
        'is that right?") and call save_contact with confirmed: true only after they say yes.',
    });
  }
  try {
    return success(await link(type, value));
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return failure(typeof code === 'string' ? code : 'save_failed', errorMessage(err));
  }
}
