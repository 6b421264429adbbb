import type { LanguageModelV3ToolResultOutput } from '@ai-sdk/provider';

/**
 * What the offline model says around the built-in call tools: a line before the call (the prompt
 * for the keypad, the hand-off line) and the answer to their results. Their names are the
 * engine's (`engine/tools/call.ts`); the models layer does not import the engine.
 */
const COLLECT_DIGITS = 'collect_digits';
export const TRANSFER_CALL = 'transfer_call';

/** Words that ask for a person or a hand-over ("person", "agent", "put me through"…). */
const SOMEONE = /\b(?:transfer|put me through|through to|human|person|people|someone|somebody|agent|representative|rep|operator|manager|supervisor|staff)\b/;

/**
 * Whether `message` asks to be handed over: a transfer hangs up on the caller's line, so a word in
 * common with the examples ("wait, talk please" shares "talk" with "can I talk to a person") is
 * not enough; the message must ask for someone, or name one of the tool's targets ("billing").
 */
export function asksForTransfer(message: string, inputSchema: Record<string, unknown>): boolean {
  const text = message.toLowerCase();
  if (SOMEONE.test(text)) return true;
  const target = ((inputSchema.properties ?? {}) as Record<string, { enum?: unknown[] }>).target;
  return (target?.enum ?? []).some((name) => typeof name === 'string' && new RegExp(`\\b${name.toLowerCase().replace(/[^a-z0-9]+/g, '.?')}\\b`).test(text));
}

/** Said in the same answer, before the tool runs. */
export function beforeCallTool(name: string): string {
  if (name === COLLECT_DIGITS) return 'Please enter the number on your keypad, then press the pound key.';
  if (name === TRANSFER_CALL) return 'Let me put you through to someone who can help. One moment, please.';
  return '';
}

/** The answer to a call tool's result, or undefined to describe it the generic way. */
export function describeCallResult(name: string, output: LanguageModelV3ToolResultOutput): string | undefined {
  if (output.type !== 'json' || typeof output.value !== 'object' || output.value === null) return undefined;
  const value = output.value as Record<string, unknown>;
  if (name === COLLECT_DIGITS && typeof value.digits === 'string') {
    if (value.digits === '') return "I didn't get any digits. You can also just say the number.";
    return `Thank you. I got ${value.digits.split('').join(' ')}.`;
  }
  if (name === TRANSFER_CALL && value.transferring === true) return '';
  return undefined;
}
