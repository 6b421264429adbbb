import type { LanguageModelV3Prompt, LanguageModelV3ToolResultPart } from '@ai-sdk/provider';
import { extractArguments, type ExtractContext } from './arguments.ts';
import { asksForTransfer, beforeCallTool, describeCallResult, TRANSFER_CALL } from './call-phrasing.ts';
import { SAVE_CONTACT, contactDecision, contactIn, describeContactResult } from './contact-phrasing.ts';
import { SEND_MESSAGE, describeMessageResult, sendMessageDecision } from './message-phrasing.ts';
import { askForMissing, cannotHelp, describeToolResult, goodbye, greeting, welcome } from './phrasing.ts';
import { bestTool, END_CONVERSATION, isFarewell, isGreeting, isThanks, MATCH_THRESHOLD, rankTools, type OfferedTool } from './tools.ts';

/**
 * The offline model's whole decision for one call, as a pure function of the prompt, the offered
 * tools and the time: what to say, and which tools to call.
 */

export interface OfflineDecision {
  text: string;
  toolCalls: { toolCallId: string; toolName: string; input: Record<string, unknown> }[];
}

export interface DecideContext extends ExtractContext {
  agentName?: string;
  /** `toolChoice: required`: take the best tool even when it matches weakly. */
  toolRequired?: boolean;
}

/** The text of each user message, oldest first. */
function userTexts(prompt: LanguageModelV3Prompt): string[] {
  const texts: string[] = [];
  for (const message of prompt) {
    if (message.role !== 'user') continue;
    texts.push(
      message.content
        .map((part) => (part.type === 'text' ? part.text : ''))
        .join(' ')
        .trim(),
    );
  }
  return texts;
}

/** How many earlier user messages a follow-up ("A12345", "and B54321?") may refer back to. */
const FOLLOW_UP_REACH = 3;

/**
 * A message that names no tool but answers an earlier request ("To look up your order I need the
 * order id." - "A12345"): the tool of the most recent earlier message that had one, provided this
 * message supplies at least one of its arguments. Arguments are then read from this message first.
 */
function followUp(
  texts: string[],
  tools: OfferedTool[],
  ctx: DecideContext,
): { tool: OfferedTool; text: string } | undefined {
  const message = texts[texts.length - 1]!;
  let text = message;
  for (const earlier of texts.slice(0, -1).reverse().slice(0, FOLLOW_UP_REACH)) {
    text = `${text}\n${earlier}`;
    const tool = bestTool(earlier, tools);
    if (!tool) continue;
    if (tool.name === SEND_MESSAGE) return undefined; // its text is the agent's, not read from the message
    const own = extractArguments(tool.inputSchema, message, ctx).args;
    return Object.keys(own).length > 0 ? { tool, text } : undefined;
  }
  return undefined;
}

/** Tool call ids are numbered after the calls already in the prompt: deterministic and unique per conversation. */
function nextCallId(prompt: LanguageModelV3Prompt): string {
  let n = 0;
  for (const message of prompt) {
    if (message.role !== 'assistant') continue;
    for (const part of message.content) if (part.type === 'tool-call') n++;
  }
  return `call_${n + 1}`;
}

/** Arguments for a tool we call without asking (end_conversation): the required ones, filled plainly. */
function plainArguments(schema: Record<string, unknown>): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  const args: Record<string, unknown> = {};
  for (const name of required) {
    const prop = properties[name] ?? {};
    if (Array.isArray(prop.enum)) args[name] = prop.enum[0];
    else if (prop.type === 'number' || prop.type === 'integer') args[name] = 0;
    else if (prop.type === 'boolean') args[name] = true;
    else args[name] = 'The customer said goodbye.';
  }
  return args;
}

const BUILTIN_NAMES = new Set([END_CONVERSATION, 'recall_history', 'collect_digits', 'transfer_call', SEND_MESSAGE, SAVE_CONTACT]);

/**
 * A message that gives a phone number or an email address and matches `save_contact`'s examples
 * is about that contact, unless one of the agent's own tools matches it better ("my order A1,
 * email jane@example.com" is a lookup). The other built-ins ("text me…") do not compete.
 */
function aboutContact(message: string, tools: OfferedTool[]): boolean {
  if (!contactIn(message)) return false;
  const [best] = rankTools(message, tools.filter((t) => t.name === SAVE_CONTACT || !BUILTIN_NAMES.has(t.name)));
  return best !== undefined && best.tool.name === SAVE_CONTACT && best.score >= MATCH_THRESHOLD;
}

const CONTEXT_LINE = '- Conversation context: ';

/** The conversation's `context` (given when it was started through the API), from the system prompt. */
function contextValues(prompt: LanguageModelV3Prompt): Record<string, unknown> {
  for (const message of prompt) {
    if (message.role !== 'system') continue;
    const line = message.content.split('\n').find((l) => l.startsWith(CONTEXT_LINE));
    if (!line) continue;
    try {
      const value: unknown = JSON.parse(line.slice(CONTEXT_LINE.length));
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // a context too long for the prompt is cut, and no longer JSON: nothing to take from it
    }
  }
  return {};
}

/** What the caller was not asked for but the conversation was started with (`context.orderId`). */
function fillFromContext(context: Record<string, unknown>, name: string, args: Record<string, unknown>): boolean {
  const value = context[name];
  if (typeof value !== 'string' && typeof value !== 'number') return false;
  args[name] = value;
  return true;
}

/** A required argument with exactly one allowed value needs no asking. */
function fillSingleChoice(schema: Record<string, unknown>, name: string, args: Record<string, unknown>): boolean {
  const prop = ((schema.properties ?? {}) as Record<string, Record<string, unknown>>)[name];
  if (!Array.isArray(prop?.enum) || prop.enum.length !== 1) return false;
  args[name] = prop.enum[0];
  return true;
}

function answerToolResults(results: LanguageModelV3ToolResultPart[]): OfflineDecision {
  const sentences = results
    .filter((r) => r.toolName !== END_CONVERSATION)
    .map((r) =>
      describeCallResult(r.toolName, r.output) ?? describeMessageResult(r.toolName, r.output) ??
      describeContactResult(r.toolName, r.output) ?? describeToolResult(r.toolName, r.output))
    .filter((t) => t !== '');
  return { text: sentences.join(' '), toolCalls: [] };
}

export function decide(prompt: LanguageModelV3Prompt, tools: OfferedTool[], ctx: DecideContext): OfflineDecision {
  const last = prompt[prompt.length - 1];
  if (last?.role === 'tool') {
    const results = last.content.filter((p): p is LanguageModelV3ToolResultPart => p.type === 'tool-result');
    if (results.length > 0) return answerToolResults(results);
  }

  const texts = userTexts(prompt);
  const message = texts[texts.length - 1] ?? '';
  // The built-ins (ending, recall, keypad, transfer) are how, not what: the offer lists the agent's own tools.
  const helpful = tools.filter((t) => !BUILTIN_NAMES.has(t.name));
  if (!message) return { text: greeting(ctx.agentName, helpful), toolCalls: [] };

  // A contact the customer gives is read back, and saved once they say yes (contact-phrasing.ts).
  const flow = tools.some((t) => t.name === SAVE_CONTACT) ? contactDecision(prompt, message, aboutContact(message, tools)) : undefined;
  if (flow) {
    const toolCalls = flow.call ? [{ toolCallId: nextCallId(prompt), toolName: SAVE_CONTACT, input: { ...flow.call } }] : [];
    return { text: flow.text, toolCalls };
  }
  const rest = tools.filter((t) => t.name !== SAVE_CONTACT && (t.name !== TRANSFER_CALL || asksForTransfer(message, t.inputSchema)));

  if (isFarewell(message)) {
    const end = tools.find((t) => t.name === END_CONVERSATION);
    const toolCalls = end
      ? [{ toolCallId: nextCallId(prompt), toolName: end.name, input: plainArguments(end.inputSchema) }]
      : [];
    return { text: goodbye(), toolCalls };
  }

  const direct = bestTool(message, rest, ctx.toolRequired ? -Infinity : undefined);
  const chosen = direct ? { tool: direct, text: message } : followUp(texts, rest, ctx);
  if (direct?.name === SEND_MESSAGE) {
    const { text, input } = sendMessageDecision(message, prompt);
    return { text, toolCalls: input ? [{ toolCallId: nextCallId(prompt), toolName: SEND_MESSAGE, input }] : [] };
  }
  if (chosen) {
    const { tool, text } = chosen;
    const { args, missing } = extractArguments(tool.inputSchema, text, ctx);
    const given = contextValues(prompt);
    const open = missing.filter((name) => !fillSingleChoice(tool.inputSchema, name, args) && !fillFromContext(given, name, args));
    if (open.length > 0) return { text: askForMissing(tool, open), toolCalls: [] };
    return { text: beforeCallTool(tool.name), toolCalls: [{ toolCallId: nextCallId(prompt), toolName: tool.name, input: args }] };
  }

  if (isGreeting(message)) return { text: greeting(ctx.agentName, helpful), toolCalls: [] };
  if (isThanks(message)) return { text: welcome(), toolCalls: [] };
  return { text: cannotHelp(helpful), toolCalls: [] };
}
