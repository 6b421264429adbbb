import type {
  JSONValue,
  LanguageModelV3Message,
  LanguageModelV3ToolResultOutput,
  LanguageModelV3ToolResultPart,
} from '@ai-sdk/provider';
import type { Item } from '../core/conversation.ts';

/** Appended to an agent message the customer cut off, so the model knows they heard only that. */
export const INTERRUPTED_NOTE = '[interrupted by the customer]';

type Content<R extends LanguageModelV3Message['role']> = Extract<LanguageModelV3Message, { role: R }>['content'];

/**
 * Converts stored items into model messages, oldest first. Consecutive items of one role share a
 * message. A tool call without a result (a crash between the two) gets an error result, because
 * providers reject a prompt with an unanswered call.
 */
export function itemsToMessages(items: readonly Item[]): LanguageModelV3Message[] {
  const out = new PromptBuilder();
  for (const item of items) {
    if (item.type !== 'tool_call' && item.type !== 'tool_result') out.closeOpenCalls();
    switch (item.type) {
      case 'tool_call':
        out.toolCall(item);
        break;
      case 'tool_result':
        out.toolResult(item.toolCallId ?? '', item.toolName ?? '', toolOutput(item.data));
        break;
      default:
        out.message(item);
    }
  }
  out.closeOpenCalls();
  return out.messages;
}

/** A tool's result data as the model sees it; `{error: …}` results are marked as errors. */
export function toolOutput(data: unknown): LanguageModelV3ToolResultOutput {
  const value = (data ?? null) as JSONValue;
  const failed = typeof data === 'object' && data !== null && 'error' in data;
  return failed ? { type: 'error-json', value } : { type: 'json', value };
}

class PromptBuilder {
  readonly messages: LanguageModelV3Message[] = [];
  private readonly open = new Map<string, string>();

  message(item: Item): void {
    const text = messageText(item);
    if (text === undefined) return;
    if (item.role === 'agent' || item.role === 'human') this.assistant([{ type: 'text', text }]);
    else this.user([{ type: 'text', text }]);
  }

  toolCall(item: Item): void {
    const id = item.toolCallId ?? '';
    this.open.set(id, item.toolName ?? '');
    this.assistant([{ type: 'tool-call', toolCallId: id, toolName: item.toolName ?? '', input: item.data ?? {} }]);
  }

  toolResult(toolCallId: string, toolName: string, output: LanguageModelV3ToolResultOutput): void {
    this.open.delete(toolCallId);
    const part: LanguageModelV3ToolResultPart = { type: 'tool-result', toolCallId, toolName, output };
    const last = this.messages.at(-1);
    if (last?.role === 'tool') last.content.push(part);
    else this.messages.push({ role: 'tool', content: [part] });
  }

  closeOpenCalls(): void {
    for (const [id, name] of this.open) {
      this.toolResult(id, name, { type: 'error-json', value: { error: 'no_result' } });
    }
  }

  private user(content: Content<'user'>): void {
    const last = this.messages.at(-1);
    if (last?.role === 'user') last.content.push(...content);
    else this.messages.push({ role: 'user', content });
  }

  private assistant(content: Content<'assistant'>): void {
    const last = this.messages.at(-1);
    if (last?.role === 'assistant') last.content.push(...content);
    else this.messages.push({ role: 'assistant', content });
  }
}

/** The text a message-like item contributes to the prompt, or undefined to leave it out. */
function messageText(item: Item): string | undefined {
  switch (item.role) {
    case 'agent':
      if (item.interrupted) return item.text ? `${item.text} ${INTERRUPTED_NOTE}` : INTERRUPTED_NOTE;
      return item.text || undefined;
    case 'human':
      return item.text ? `[human agent] ${item.text}` : undefined;
    case 'user':
      return userText(item);
    case 'system':
      return item.text ? `[system: ${item.text}]` : undefined;
    default:
      return undefined;
  }
}

function userText(item: Item): string | undefined {
  if (item.type === 'dtmf') return item.text ? `[keypad: ${item.text}]` : undefined;
  const files = (item.attachments ?? []).map((a) => `[attachment: ${a.name ?? a.url} (${a.contentType}) ${a.url}]`);
  const text = [item.text, ...files].filter(Boolean).join('\n');
  return text || undefined;
}
