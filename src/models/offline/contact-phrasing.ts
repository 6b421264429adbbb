import type { LanguageModelV3Prompt, LanguageModelV3ToolResultOutput } from '@ai-sdk/provider';
import { normalize } from './text.ts';

/**
 * How the offline model saves a contact the customer gives (the engine's built-in `save_contact`,
 * `engine/tools/contact.ts`; the models layer does not import the engine, so the name is repeated
 * here): it reads the contact back and asks, then — when the next message says yes — calls the
 * tool with the value it read back, and thanks the customer once it is saved.
 */
export const SAVE_CONTACT = 'save_contact';

/**
 * Built-in tool specs do not travel with the model call (only name, description and schema do),
 * so the offline model keeps the examples it matches `save_contact` by.
 */
export const SAVE_CONTACT_EXAMPLES = [
  'my email is', 'my email address is', 'my phone number is', 'my number is', 'you can text me at', 'my mobile is',
  'you can reach me at', 'you can also email me at',
];

export interface Contact {
  type: 'phone' | 'email';
  value: string;
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/;
const PHONE = /\+?\(?\d[\d\s().-]{5,}\d/g;

/** The email address or phone number written in `text`, as written; an address first. */
export function contactIn(text: string): Contact | undefined {
  const email = EMAIL.exec(text);
  if (email) return { type: 'email', value: email[0] };
  for (const m of text.matchAll(PHONE)) {
    const digits = m[0].replace(/\D/g, '').length;
    if (digits >= 7 && digits <= 15) return { type: 'phone', value: m[0].trim() };
  }
  return undefined;
}

export function readBack(contact: Contact): string {
  return `Just to confirm: ${contact.value} — is that right?`;
}

const ASK_AGAIN = 'Sorry about that. What is the right one?';

const YES = /^(?:yes|yeah|yep|yup|correct|right|sure|ok|okay|exactly|absolutely|(?:that|it) ?(?:is|s) (?:right|correct))\b/;
const NO = /\b(?:no|nope|nah|not|wrong|incorrect)\b/;

function agentTextBeforeLastUser(prompt: LanguageModelV3Prompt): string | undefined {
  let seenUser = false;
  for (let i = prompt.length - 1; i >= 0; i--) {
    const m = prompt[i]!;
    if (m.role === 'user') seenUser = true;
    else if (m.role === 'assistant' && seenUser) {
      const text = m.content.map((p) => (p.type === 'text' ? p.text : '')).join('').trim();
      if (text) return text;
    }
  }
  return undefined;
}

/**
 * The contact flow's next move for this message, or undefined when the message is not part of
 * it: after a read-back, a yes calls the tool and a no asks again; a message giving a contact is
 * read back when it matched `save_contact` best among the offered tools (`direct`) or answers
 * the flow's own question.
 */
export function contactDecision(
  prompt: LanguageModelV3Prompt, message: string, direct: boolean,
): { text: string; call?: Contact & { confirmed: true } } | undefined {
  const before = agentTextBeforeLastUser(prompt) ?? '';
  const readBackBefore = before.startsWith('Just to confirm:') ? contactIn(before) : undefined;
  const given = contactIn(message);
  const said = normalize(message).replace(/\s+/g, ' ');
  if (readBackBefore && !given) {
    if (YES.test(said) && !NO.test(said)) return { text: '', call: { ...readBackBefore, confirmed: true } };
    if (NO.test(said)) return { text: ASK_AGAIN };
  }
  if (given && (direct || readBackBefore || before === ASK_AGAIN)) return { text: readBack(given) };
  return undefined;
}

/** The answer to `save_contact`'s result, or undefined to describe it the generic way. */
export function describeContactResult(name: string, output: LanguageModelV3ToolResultOutput): string | undefined {
  if (name !== SAVE_CONTACT) return undefined;
  if (output.type === 'error-json') {
    const error = (output.value as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    if (error?.code === 'invalid_contact') {
      return "Sorry, that doesn't look like a phone number or an email address I can save. Could you give it to me again?";
    }
    return `Sorry, I couldn't save it just now${typeof error?.message === 'string' ? `: ${error.message.replace(/\.$/, '')}` : ''}.`;
  }
  if (output.type !== 'json' || typeof output.value !== 'object' || output.value === null) return undefined;
  const { linked, type, value } = output.value as Record<string, unknown>;
  if (typeof value !== 'string') return undefined;
  if (linked === true) return `Thanks, I've added ${value} to your details.`;
  return readBack({ type: type === 'email' ? 'email' : 'phone', value });
}
