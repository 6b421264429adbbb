import { describe, expect, it } from 'vitest';
import type { Item } from '../../src/core/conversation.ts';
import type { CustomerMemory, RecalledSummary } from '../../src/core/memory.ts';
import { estimateTokens, fitMemory, memorySection, summariseItems } from '../../src/engine/index.ts';

let seq = 0;
function item(role: Item['role'], text: string, extra: Partial<Item> = {}): Item {
  return { id: `itm_${String(++seq).padStart(4, '0')}`, conversationId: 'conv_1', role, type: 'message', text, interrupted: false, createdAt: 0, ...extra };
}

describe('the extractive summary', () => {
  it('says what the customer wanted, what was done, and what is still open', () => {
    const s = summariseItems({
      channel: 'voice',
      endedReason: 'agent',
      items: [
        item('user', 'Where is order A12345?'),
        item('agent', '', { type: 'tool_call', toolName: 'order_status', toolCallId: 'c1', data: { orderId: 'A12345' } }),
        item('tool', '', { type: 'tool_result', toolName: 'order_status', toolCallId: 'c1', data: { status: 'shipped' } }),
        item('agent', '', { type: 'tool_call', toolName: 'refund', toolCallId: 'c2', data: { orderId: 'A12345' } }),
        item('tool', '', { type: 'tool_result', toolName: 'refund', toolCallId: 'c2', data: { error: { code: 'tool_timeout', message: 'timed out' } } }),
        item('agent', "It has shipped. I'll call you back tomorrow about the refund."),
      ],
    });
    expect(s.wanted).toBe('Where is order A12345?');
    expect(s.done).toEqual(['order_status (orderId A12345) → status shipped']);
    expect(s.openItems).toEqual([
      'Unfinished: refund (orderId A12345) failed: timed out',
      'You promised: "I\'ll call you back tomorrow about the refund."',
    ]);
    expect(s.text).toContain('Still open:');
  });

  it('flags an unanswered question and a dropped line, not a normal goodbye', () => {
    expect(summariseItems({ channel: 'sms', endedReason: 'timeout', items: [item('user', 'Hi'), item('agent', 'Hello'), item('user', 'Can I pay by card?')] }).openItems)
      .toEqual(['Unanswered question: "Can I pay by card?"']);
    expect(summariseItems({ channel: 'voice', endedReason: 'caller_hangup', items: [item('user', 'My address changed'), item('agent', 'Let me chec', { interrupted: true })] }).openItems)
      .toEqual(['The conversation was cut off (caller_hangup) while the customer was saying: "My address changed". You were saying: "Let me chec"']);
    expect(summariseItems({ channel: 'chat', endedReason: 'client_disconnect', items: [item('user', 'Thanks'), item('agent', 'Bye!')] }).openItems).toEqual([]);
  });
});

describe('the memory block', () => {
  const summary = (n: number): RecalledSummary => ({
    conversationId: `conv_${n}`, customerId: 'cus_1', agent: 'support', channel: 'sms', text: `Summary number ${n} `.repeat(10),
    openItems: [], createdAt: n, endedAt: Date.UTC(2026, 0, 1) + n,
  });
  const memory: CustomerMemory = {
    summaries: Array.from({ length: 200 }, (_, i) => summary(200 - i)),
    lastTurns: [item('user', 'where is it?'), item('agent', 'On its way.')],
  };

  it('keeps the newest summaries and the last turns within the token budget', () => {
    const fitted = fitMemory(memory, 500);
    const block = memorySection(fitted);
    expect(estimateTokens(block)).toBeLessThanOrEqual(500);
    expect(fitted.summaries.length).toBeGreaterThan(2);
    expect(fitted.summaries[0]!.conversationId).toBe('conv_200');
    expect(block).toContain('Customer: where is it?\nYou: On its way.');
    expect(memorySection(fitMemory(memory, 0))).toBe('');
    expect(memorySection({ summaries: [], lastTurns: [] })).toBe('');
  });
});
