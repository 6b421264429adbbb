import type { LanguageModelV3Prompt, LanguageModelV3ToolResultOutput } from '@ai-sdk/provider';
import { CALL_TOOL_EXAMPLES } from '../../core/voice.ts';

/**
 * What the offline model does with the built-in `send_message` ("text me the link"): it sends the
 * agent's previous message on the channel the customer named, with a line before, and says how it
 * went. The name, examples and length limit are the engine's (`engine/tools/message.ts`); the
 * models layer does not import the engine.
 */
export const SEND_MESSAGE = 'send_message';
const MAX_MESSAGE_CHARS = 1600;

const EXAMPLES: Record<string, readonly string[]> = {
  [SEND_MESSAGE]: ['text me the link', 'can you text me that', 'send me that by email', 'email me the details', 'send it to my phone'],
  ...CALL_TOOL_EXAMPLES,
};

/** Examples of a built-in tool the agent's config does not list (it has none of its own there). */
export function builtinExamples(name: string): string[] | undefined {
  const examples = EXAMPLES[name];
  return examples ? [...examples] : undefined;
}

/** The agent's last words before this message: what "text me that" refers to. */
function previousAgentText(prompt: LanguageModelV3Prompt): string | undefined {
  for (let i = prompt.length - 1; i >= 0; i--) {
    const message = prompt[i]!;
    if (message.role !== 'assistant') continue;
    const text = message.content.map((p) => (p.type === 'text' ? p.text : '')).join('').trim();
    if (text) return text;
  }
  return undefined;
}

export interface MessageDecision {
  text: string;
  input?: { channel: 'sms' | 'email'; text: string };
}

/** "email me that" → an email; anything else ("text me", "send it to my phone") → a text. */
export function sendMessageDecision(message: string, prompt: LanguageModelV3Prompt): MessageDecision {
  const channel = /\be-?mail\b|\bmail\b|\binbox\b/i.test(message) ? 'email' : 'sms';
  const previous = previousAgentText(prompt);
  if (!previous) return { text: "I haven't told you anything yet that I could send. What would you like to know?" };
  return {
    text: channel === 'sms' ? "I'll text it to you now." : "I'll email it to you now.",
    input: { channel, text: previous.slice(0, MAX_MESSAGE_CHARS) },
  };
}

/** The answer to `send_message`'s result, or undefined for another tool. */
export function describeMessageResult(name: string, output: LanguageModelV3ToolResultOutput): string | undefined {
  if (name !== SEND_MESSAGE || (output.type !== 'json' && output.type !== 'error-json')) return undefined;
  const value = (output.value ?? {}) as { sent?: unknown; channel?: unknown; to?: unknown; error?: { message?: unknown } };
  if (value.sent === true && typeof value.to === 'string') {
    // Read out on a call: the end of the number is enough to recognise it.
    return value.channel === 'email' ? `Done: I've emailed it to ${value.to}.` : `Done: I've texted it to your number ending in ${value.to.slice(-4)}.`;
  }
  const why = typeof value.error?.message === 'string' ? value.error.message : 'it did not go through';
  return `Sorry, I couldn't send it: ${why.replace(/\.$/, '')}.`;
}
