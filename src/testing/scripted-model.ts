import type { LanguageModelV3CallOptions, LanguageModelV3Message } from '@ai-sdk/provider';
import type { ScriptedStep } from '../core/agent.ts';
import { ScriptedModel as ScriptedModelCore } from '../models/scripted.ts';

/**
 * The scripted model with test conveniences: step builders and readable views of what the model
 * was given. The replaying itself lives in `src/models/scripted.ts` (the `scripted` provider uses
 * it too).
 *
 *   const model = new ScriptedModel([callTool('get_order', { id: 'A1' }), say('It shipped.')], { clock });
 *   ...
 *   expect(model.transcript(1)).toContain('tool get_order: {"status":"shipped"}');
 *   model.assertConsumed();
 */
export class ScriptedModel extends ScriptedModelCore {
  get lastCall(): LanguageModelV3CallOptions | undefined {
    return this.calls[this.calls.length - 1];
  }

  /**
   * Call `index`'s prompt as one line per part: `system: …`, `user: …`, `assistant: …`,
   * `call get_order: {"id":"A1"}`, `tool get_order: {"status":"shipped"}`.
   */
  transcript(index = this.calls.length - 1): string[] {
    const call = this.calls[index];
    if (!call) throw new Error(`scripted model has no call #${index} (it was called ${this.calls.length} times)`);
    return call.prompt.flatMap(messageLines);
  }

  /** Names of the tools offered to call `index`. */
  toolNames(index = this.calls.length - 1): string[] {
    return (this.calls[index]?.tools ?? []).map((t) => t.name);
  }
}

function messageLines(message: LanguageModelV3Message): string[] {
  if (message.role === 'system') return [`system: ${message.content}`];
  const lines: string[] = [];
  for (const part of message.content) {
    switch (part.type) {
      case 'text':
        lines.push(`${message.role}: ${part.text}`);
        break;
      case 'tool-call':
        lines.push(`call ${part.toolName}: ${JSON.stringify(part.input)}`);
        break;
      case 'tool-result': {
        const out = part.output;
        const value = 'value' in out ? (typeof out.value === 'string' ? out.value : JSON.stringify(out.value)) : out.type;
        lines.push(`tool ${part.toolName}: ${value}`);
        break;
      }
      default:
        lines.push(`${message.role}: [${part.type}]`);
    }
  }
  return lines;
}

/** A step that says `text`, streamed word by word. */
export function say(text: string, opts: { delayMs?: number } = {}): ScriptedStep {
  return { deltas: text.match(/\S+\s*/g) ?? [], ...opts };
}

/** A step that calls one tool (optionally after saying something). */
export function callTool(
  name: string,
  args: Record<string, unknown> = {},
  opts: { text?: string; delayMs?: number } = {},
): ScriptedStep {
  return {
    ...(opts.text ? { deltas: say(opts.text).deltas } : {}),
    toolCalls: [{ name, args }],
    ...(opts.delayMs === undefined ? {} : { delayMs: opts.delayMs }),
  };
}

/** A step whose stream fails with `message` after `text` (if any). */
export function fail(message: string, text?: string): ScriptedStep {
  return { ...(text ? say(text) : {}), error: message };
}

export { ScriptedModelError, ScriptExhaustedError, type ScriptedModelOptions } from '../models/scripted.ts';
export type { ScriptedStep };
