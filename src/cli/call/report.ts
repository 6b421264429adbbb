import type { StoredConversation, StoredItem } from './server-api.ts';

/**
 * What `operator call` tells the person at the keyboard: one event per line, as text or (with
 * `--json`) as one JSON object per line with the same fields.
 */
export type CallEvent =
  | { type: 'ready'; simulator: string; direction: 'inbound' | 'outbound'; from: string; to: string }
  | { type: 'connected'; callSid: string; conversationId?: string; agent?: string; hint?: string }
  | { type: 'you'; text: string }
  | { type: 'keys'; digits: string }
  /** `ms` null (with the reason) when there was no answer to time. */
  | { type: 'latency'; after: 'speech' | 'keys'; ms: number | null; reason?: string }
  | { type: 'agent'; text?: string; durationMs: number; interrupted: boolean }
  | { type: 'clear'; droppedMs: number }
  | { type: 'transfer'; to: string }
  | { type: 'ended'; by: string; message: string }
  | { type: 'transcript'; conversation: StoredConversation };

/** Where the command writes: `out` for events, `err` for failures and warnings. */
export interface CallTerminal {
  out(text: string): void;
  err(text: string): void;
}

export class CallReport {
  private readonly terminal: CallTerminal;
  private readonly json: boolean;

  constructor(terminal: CallTerminal, json: boolean) {
    this.terminal = terminal;
    this.json = json;
  }

  emit(e: CallEvent): void {
    this.terminal.out(this.json ? `${JSON.stringify(e)}\n` : `${describe(e)}\n`);
  }

  /** A failure: as an `error` event in JSON mode, and always on stderr. */
  fail(message: string): void {
    if (this.json) this.terminal.out(`${JSON.stringify({ type: 'error', message })}\n`);
    this.terminal.err(`${message}\n`);
  }

  warn(message: string): void {
    this.terminal.err(`warning: ${message}\n`);
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function describe(e: CallEvent): string {
  switch (e.type) {
    case 'ready':
      return `Twilio simulator on ${e.simulator} (the server's TWILIO_API_URL); ${e.direction === 'inbound' ? `calling ${e.to} from ${e.from}` : `the agent calls ${e.from}`}.`;
    case 'connected': {
      const conv = e.conversationId ? `, conversation ${e.conversationId}${e.agent ? ` with ${e.agent}` : ''}` : '';
      return `Connected (call ${e.callSid}${conv}).${e.hint ? ` ${e.hint}` : ''}`;
    }
    case 'you':
      return `you: ${e.text}`;
    case 'keys':
      return `keys: ${e.digits}`;
    case 'latency':
      if (e.ms === null) return `latency: — (${e.reason ?? 'no answer'})`;
      return `latency: ${e.ms} ms (end of your ${e.after === 'keys' ? 'key presses' : 'speech'} → first agent audio)`;
    case 'agent': {
      const said = e.text === undefined ? `(${seconds(e.durationMs)} of speech)` : e.text || `(${seconds(e.durationMs)} of speech, not recognised)`;
      return `agent: ${said}${e.interrupted ? ' [interrupted]' : ''}`;
    }
    case 'clear':
      return '[clear] the agent stopped talking (barge-in)';
    case 'transfer':
      return `[transfer] → ${e.to}`;
    case 'ended':
      return `[call ended: ${e.message}]`;
    case 'transcript':
      return transcriptText(e.conversation);
  }
}

/** The conversation as the server stored it. */
export function transcriptText(c: StoredConversation): string {
  const state = c.status === 'ended' ? `ended: ${c.endedReason ?? 'unknown'}` : c.status;
  const lines = (c.items ?? []).map(itemLine).filter((l): l is string => l !== undefined);
  return [`Transcript of ${c.id} (${c.agent}, ${state}):`, ...(lines.length ? lines : ['  (no items)'])].join('\n');
}

function itemLine(i: StoredItem): string | undefined {
  if (i.type === 'dtmf') return `  keys:  ${i.text}`;
  if (i.type === 'tool_call') return `  [tool ${i.toolName ?? ''}] ${i.text}`.trimEnd();
  if (i.type === 'tool_result') return undefined;
  if (i.role === 'user') return `  you:   ${i.text}`;
  if (i.role === 'agent') {
    const total = i.metrics?.totalMs;
    return `  agent: ${i.text}${i.interrupted ? ' [interrupted]' : ''}${total !== undefined ? `  (${Math.round(total)} ms)` : ''}`;
  }
  return `  [${i.role}] ${i.text}`;
}
