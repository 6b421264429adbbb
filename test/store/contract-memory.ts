import { describe, expect, it } from 'vitest';
import type { Conversation } from '../../src/core/conversation.ts';
import type { ConversationSummary } from '../../src/core/memory.ts';
import { normaliseIdentifier } from '../../src/store/index.ts';
import { T0, makeConversation, makeItem } from './builders.ts';
import type { ContractContext } from './contract.ts';

const DAY = 86_400_000;

export function memoryContract(ctx: ContractContext): void {
  describe('memory', () => {
    async function endedConversation(customerId: string, day: number, over: Partial<Conversation> = {}): Promise<Conversation> {
      const at = T0 + day * DAY;
      const conv = makeConversation({ customerId, createdAt: at, updatedAt: at, status: 'ended', endedAt: at + 60_000, endedReason: 'agent', ...over });
      await ctx.store.conversations.create(conv);
      return conv;
    }
    function summaryOf(conv: Conversation, text: string, openItems: string[] = []): ConversationSummary {
      return {
        conversationId: conv.id, customerId: conv.customerId!, agent: conv.agent, channel: conv.channel, text, openItems,
        createdAt: conv.endedAt ?? conv.createdAt,
      };
    }

    it('recalls the summaries of ended conversations in the window, newest first', async () => {
      const ada = await ctx.store.customers.findOrCreate({ phone: '+15550300' }, T0);
      const bob = await ctx.store.customers.findOrCreate({ phone: '+15550301' }, T0);
      const old = await endedConversation(ada.id, 0);
      const mid = await endedConversation(ada.id, 10, { channel: 'sms' });
      const recent = await endedConversation(ada.id, 12);
      const open = await endedConversation(ada.id, 13, { status: 'suspended' });
      const other = await endedConversation(bob.id, 12);
      for (const [c, text] of [[old, 'old'], [mid, 'mid'], [recent, 'recent'], [open, 'open'], [other, 'bob']] as const) {
        await ctx.store.memory.saveSummary(summaryOf(c, text, text === 'mid' ? ['call back about A12345'] : []));
      }
      const got = await ctx.store.memory.recall(ada.id, { sinceMs: T0 + 5 * DAY, limit: 10 });
      expect(got.map((s) => s.text)).toEqual(['recent', 'mid']);
      expect(got[1]).toMatchObject({ channel: 'sms', openItems: ['call back about A12345'], endedReason: 'agent', endedAt: mid.endedAt });
      expect((await ctx.store.memory.recall(ada.id, { sinceMs: 0, limit: 2 })).map((s) => s.text)).toEqual(['recent', 'mid']);
      expect((await ctx.store.memory.recall(ada.id, { sinceMs: 0, limit: 5, excludeConversationId: recent.id })).map((s) => s.text))
        .toEqual(['mid', 'old']);
      // Saving again replaces.
      await ctx.store.memory.saveSummary(summaryOf(recent, 'recent, revised'));
      expect((await ctx.store.memory.getSummary(recent.id))?.text).toBe('recent, revised');
      await expect(ctx.store.memory.recall(ada.id, { sinceMs: 0, limit: 0 })).rejects.toMatchObject({ code: 'invalid_limit' });
    });

    it("searches the customer's messages in the window, best match first", async () => {
      const ada = await ctx.store.customers.findOrCreate({ email: 'ada@example.com' }, T0);
      const bob = await ctx.store.customers.findOrCreate({ email: 'bob@example.com' }, T0);
      const early = await endedConversation(ada.id, 0);
      const late = await endedConversation(ada.id, 20, { channel: 'sms' });
      const bobs = await endedConversation(bob.id, 20);
      await ctx.store.items.append(makeItem(early.id, { text: 'My blue Kettle is broken', createdAt: T0 }));
      await ctx.store.items.append(makeItem(late.id, { text: 'The KETTLE refund, please', createdAt: T0 + 20 * DAY }));
      await ctx.store.items.append(makeItem(late.id, { role: 'agent', text: 'Your kettle refund was approved.', createdAt: T0 + 20 * DAY + 1 }));
      await ctx.store.items.append(makeItem(late.id, { role: 'tool', type: 'tool_result', text: 'kettle refund', createdAt: T0 + 20 * DAY + 2 }));
      await ctx.store.items.append(makeItem(bobs.id, { text: 'kettle refund', createdAt: T0 + 20 * DAY }));

      const hits = await ctx.store.memory.search(ada.id, 'what about the kettle refund?', { sinceMs: T0 + DAY, limit: 10 });
      expect(hits.map((h) => [h.role, h.text])).toEqual([
        ['agent', 'Your kettle refund was approved.'],
        ['user', 'The KETTLE refund, please'],
      ]);
      expect(hits[0]).toMatchObject({ conversationId: late.id, channel: 'sms' });
      const all = await ctx.store.memory.search(ada.id, 'kettle', { sinceMs: 0, limit: 10 });
      expect(all.map((h) => h.text)).toContain('My blue Kettle is broken');
      expect(await ctx.store.memory.search(ada.id, 'the and', { sinceMs: 0, limit: 10 })).toEqual([]);
    });

    it('finds the latest other conversation and its last messages', async () => {
      const ada = await ctx.store.customers.findOrCreate({ phone: '+15550302' }, T0);
      const first = await endedConversation(ada.id, 1);
      const second = await endedConversation(ada.id, 2, { status: 'suspended', channel: 'sms' });
      const current = await endedConversation(ada.id, 3, { status: 'active' });
      for (let i = 0; i < 5; i++) {
        await ctx.store.items.append(makeItem(second.id, { role: i % 2 ? 'agent' : 'user', text: `m${i}`, createdAt: T0 + 2 * DAY + i }));
      }
      await ctx.store.items.append(makeItem(first.id, { text: 'hi', createdAt: T0 + DAY }));
      await ctx.store.items.append(makeItem(current.id, { text: 'now', createdAt: T0 + 3 * DAY }));
      const latest = await ctx.store.memory.latestConversation(ada.id, { sinceMs: 0, excludeConversationId: current.id });
      expect(latest?.id).toBe(second.id);
      expect((await ctx.store.memory.lastMessages(second.id, 3)).map((i) => i.text)).toEqual(['m2', 'm3', 'm4']);
      expect(await ctx.store.memory.latestConversation(ada.id, { sinceMs: T0 + 4 * DAY })).toBeUndefined();
    });

    it('purges ended conversations older than the retention, with their summaries', async () => {
      const ada = await ctx.store.customers.findOrCreate({ phone: '+15550303' }, T0);
      const old = await endedConversation(ada.id, 0);
      const oldOther = await endedConversation(ada.id, 0, { agent: 'sales' });
      const young = await endedConversation(ada.id, 30);
      const openOld = await endedConversation(ada.id, 0, { status: 'suspended', endedAt: undefined });
      await ctx.store.items.append(makeItem(old.id));
      await ctx.store.memory.saveSummary(summaryOf(old, 'old'));
      expect(await ctx.store.conversations.purgeEndedBefore(T0 + 10 * DAY, 'support')).toBe(1);
      expect(await ctx.store.conversations.get(old.id)).toBeUndefined();
      expect(await ctx.store.memory.getSummary(old.id)).toBeUndefined();
      expect(await ctx.store.conversations.get(oldOther.id)).toBeDefined();
      expect(await ctx.store.conversations.purgeEndedBefore(T0 + 10 * DAY)).toBe(1);
      expect(await ctx.store.conversations.get(young.id)).toBeDefined();
      expect(await ctx.store.conversations.get(openOld.id)).toBeDefined();
      expect(await ctx.store.customers.get(ada.id)).toBeDefined();
    });

    it('erases summaries with their customer', async () => {
      const ada = await ctx.store.customers.findOrCreate({ phone: '+15550304' }, T0);
      const conv = await endedConversation(ada.id, 0);
      await ctx.store.memory.saveSummary(summaryOf(conv, 'gone'));
      expect(await ctx.store.customers.delete(ada.id)).toBe(true);
      expect(await ctx.store.memory.getSummary(conv.id)).toBeUndefined();
      expect(await ctx.store.memory.recall(ada.id, { sinceMs: 0, limit: 5 })).toEqual([]);
    });

    it('normalises phone numbers to E.164, and finds a customer by any spelling', async () => {
      const cases: [string, string][] = [
        ['+1 (555) 010-0200', '+15550100200'],
        ['(415) 555-0134', '+14155550134'],
        ['1-415-555-0134', '+14155550134'],
        ['0044 20 7946 0018', '+442079460018'],
        ['+44 20 7946.0018', '+442079460018'],
        ['020 7946 0018', '020 7946 0018'],
        ['555-0134 ext 2', '555-0134 ext 2'],
      ];
      for (const [raw, want] of cases) expect(normaliseIdentifier('phone', raw)).toBe(want);
      const c = await ctx.store.customers.findOrCreate({ phone: '(415) 555-0199' }, T0);
      expect(c.identifiers).toEqual([{ type: 'phone', value: '+14155550199' }]);
      expect((await ctx.store.customers.findOrCreate({ phone: '+1 415 555 0199' }, T0)).id).toBe(c.id);
      expect((await ctx.store.customers.findByIdentifier('phone', '415.555.0199'))?.id).toBe(c.id);
    });
  });
}
