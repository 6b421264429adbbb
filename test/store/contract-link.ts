import { describe, expect, it } from 'vitest';
import type { Conversation } from '../../src/core/conversation.ts';
import type { Store } from '../../src/store/index.ts';
import { T0, makeConversation, makeItem } from './builders.ts';
import type { ContractContext } from './contract.ts';

/** `customers.link`: identities joined after the fact (issue 5), so they share one memory. */
export function customerLinkContract(ctx: ContractContext): void {
  describe('customers.link', () => {
    /** An ended conversation of the customer, with one message and its summary. */
    async function pastConversation(store: Store, customerId: string, text: string, over: Partial<Conversation> = {}): Promise<Conversation> {
      const conv = await store.conversations.create(
        makeConversation({ customerId, status: 'ended', endedReason: 'agent', endedAt: T0 + 60_000, ...over }),
      );
      await store.items.append(makeItem(conv.id, { text }));
      await store.memory.saveSummary({
        conversationId: conv.id, customerId, agent: conv.agent, channel: conv.channel, text: `summary: ${text}`, openItems: [],
        createdAt: T0 + 60_000,
      });
      return conv;
    }

    it('adds a free identifier, normalised; linking it again changes nothing', async () => {
      const c = await ctx.store.customers.findOrCreate({ email: 'fay@example.com' }, T0);
      const linked = await ctx.store.customers.link(c.id, 'phone', '(555) 010-2000', T0 + 5);
      expect(linked).toEqual({
        customer: { ...c, identifiers: [{ type: 'phone', value: '+15550102000' }, { type: 'email', value: 'fay@example.com' }], updatedAt: T0 + 5 },
      });
      expect((await ctx.store.customers.findByIdentifier('phone', '+1 555 010 2000'))?.id).toBe(c.id);

      const again = await ctx.store.customers.link(c.id, 'phone', '555.010.2000', T0 + 9);
      expect(again).toEqual({ customer: linked.customer });
      expect((await ctx.store.customers.link(c.id, 'email', ' FAY@example.com', T0 + 9)).customer.updatedAt).toBe(T0 + 5);
    });

    it("merges the customer who had the identifier: identifiers, conversations and memory move, the record goes", async () => {
      const byPhone = await ctx.store.customers.findOrCreate({ phone: '+15550102001' }, T0);
      const byEmail = await ctx.store.customers.findOrCreate({ email: 'gus@example.com', externalId: 'crm-55' }, T0);
      const phoneConv = await pastConversation(ctx.store, byPhone.id, 'texted about the kettle', { channel: 'sms' });
      const emailConv = await pastConversation(ctx.store, byEmail.id, 'emailed about the toaster', { channel: 'email' });
      const stranger = await ctx.store.customers.findOrCreate({ phone: '+15550102009' }, T0);
      const strangerConv = await pastConversation(ctx.store, stranger.id, 'not theirs');

      const result = await ctx.store.customers.link(byPhone.id, 'email', 'Gus@Example.com', T0 + 100);
      expect(result.mergedFrom).toBe(byEmail.id);
      expect(result.superseded).toBeUndefined();
      expect(result.customer).toMatchObject({ id: byPhone.id, updatedAt: T0 + 100, createdAt: T0 });
      expect(result.customer.identifiers).toEqual([
        { type: 'externalId', value: 'crm-55' },
        { type: 'phone', value: '+15550102001' },
        { type: 'email', value: 'gus@example.com' },
      ]);
      expect(await ctx.store.customers.get(byEmail.id)).toBeUndefined();
      for (const [type, value] of [['email', 'gus@example.com'], ['externalId', 'crm-55'], ['phone', '+15550102001']] as const) {
        expect((await ctx.store.customers.findByIdentifier(type, value))?.id).toBe(byPhone.id);
      }
      // Conversations (with their items) and summaries now hang off the one customer.
      const convs = await ctx.store.conversations.list({ customerId: byPhone.id });
      expect(convs.data.map((c) => c.id).sort()).toEqual([phoneConv.id, emailConv.id].sort());
      expect((await ctx.store.items.list(emailConv.id)).map((i) => i.text)).toEqual(['emailed about the toaster']);
      const recalled = await ctx.store.memory.recall(byPhone.id, { sinceMs: 0, limit: 10 });
      expect(recalled.map((s) => s.text).sort()).toEqual(['summary: emailed about the toaster', 'summary: texted about the kettle']);
      expect(recalled.every((s) => s.customerId === byPhone.id)).toBe(true);
      expect((await ctx.store.memory.search(byPhone.id, 'toaster', { sinceMs: 0, limit: 5 })).map((h) => h.conversationId)).toEqual([emailConv.id]);
      // Nobody else was touched.
      expect(await ctx.store.customers.get(stranger.id)).toEqual(stranger);
      expect((await ctx.store.conversations.get(strangerConv.id))?.customerId).toBe(stranger.id);
      // Erasing the joined customer erases both pasts.
      expect(await ctx.store.customers.delete(byPhone.id)).toBe(true);
      expect(await ctx.store.conversations.get(emailConv.id)).toBeUndefined();
      expect(await ctx.store.memory.getSummary(emailConv.id)).toBeUndefined();
    });

    it("ends the merged customer's open SMS or email conversation where the customer has one open with that agent", async () => {
      const keeper = await ctx.store.customers.findOrCreate({ phone: '+15550102010' }, T0);
      const other = await ctx.store.customers.findOrCreate({ phone: '+15550102011', email: 'hal@example.com' }, T0);
      const open = { mode: 'async' as const, status: 'suspended' as const };
      const kept = await ctx.store.conversations.create(makeConversation({ ...open, customerId: keeper.id, channel: 'sms' }));
      const dup = await ctx.store.conversations.create(makeConversation({ ...open, customerId: other.id, channel: 'sms' }));
      const otherEmail = await ctx.store.conversations.create(makeConversation({ ...open, customerId: other.id, channel: 'email' }));
      const otherAgent = await ctx.store.conversations.create(makeConversation({ ...open, customerId: other.id, channel: 'sms', agent: 'sales' }));
      const otherChat = await ctx.store.conversations.create(makeConversation({ ...open, customerId: other.id, channel: 'chat' }));

      const result = await ctx.store.customers.link(keeper.id, 'email', 'hal@example.com', T0 + 7);
      expect(result).toMatchObject({ mergedFrom: other.id, superseded: [dup.id] });
      expect(await ctx.store.conversations.get(dup.id)).toMatchObject({
        customerId: keeper.id, status: 'ended', endedReason: 'superseded', endedAt: T0 + 7,
      });
      for (const id of [kept.id, otherEmail.id, otherAgent.id, otherChat.id]) {
        expect(await ctx.store.conversations.get(id)).toMatchObject({ customerId: keeper.id, status: 'suspended' });
      }
      expect(await ctx.store.conversations.findOpenAsync({ customerId: keeper.id, agent: 'support', channel: 'sms' })).toMatchObject({ id: kept.id });
    });

    it('refuses an unknown customer or an empty identifier, and changes nothing', async () => {
      const c = await ctx.store.customers.findOrCreate({ phone: '+15550102020' }, T0);
      await expect(ctx.store.customers.link('cus_unknown', 'phone', '+15550102020', T0)).rejects.toMatchObject({
        kind: 'not_found', code: 'customer_not_found',
      });
      await expect(ctx.store.customers.link(c.id, 'email', '   ', T0)).rejects.toMatchObject({ kind: 'invalid_request' });
      expect(await ctx.store.customers.get(c.id)).toEqual(c);
    });

    it('joins concurrent links into one customer, from one or two stores', async () => {
      const other = await ctx.open('node-other');
      const stores = [ctx.store, other];
      // Opposite merges of one pair at once: one wins, the other finds its customer gone.
      const a = await ctx.store.customers.findOrCreate({ phone: '+15550102030' }, T0);
      const b = await ctx.store.customers.findOrCreate({ email: 'ivy@example.com' }, T0);
      await pastConversation(ctx.store, a.id, 'from a');
      await pastConversation(ctx.store, b.id, 'from b');
      const opposite = await Promise.allSettled([
        ctx.store.customers.link(a.id, 'email', 'ivy@example.com', T0 + 1),
        other.customers.link(b.id, 'phone', '+15550102030', T0 + 1),
      ]);
      const won = opposite.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of opposite) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'customer_not_found' });
      const joined = await ctx.store.customers.findByIdentifier('phone', '+15550102030');
      expect(joined?.identifiers.map((i) => i.value).sort()).toEqual(['+15550102030', 'ivy@example.com']);
      expect((await ctx.store.conversations.list({ customerId: joined!.id })).data).toHaveLength(2);

      // Six customers pulled into one at once, and one free address linked by two callers.
      const hub = await ctx.store.customers.findOrCreate({ phone: '+15550102040' }, T0);
      const spokes = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => ctx.store.customers.findOrCreate({ email: `spoke${i}@example.com` }, T0)));
      await Promise.all(spokes.map((s) => pastConversation(ctx.store, s.id, `spoke ${s.id}`)));
      const links = await Promise.all([
        ...spokes.map((_, i) => stores[i % 2]!.customers.link(hub.id, 'email', `spoke${i + 1}@example.com`, T0 + 2)),
        ctx.store.customers.link(hub.id, 'email', 'shared@example.com', T0 + 2),
        other.customers.link(hub.id, 'email', 'shared@example.com', T0 + 2),
      ]);
      expect(links.every((r) => r.customer.id === hub.id)).toBe(true);
      expect(links.filter((r) => r.mergedFrom !== undefined).map((r) => r.mergedFrom).sort()).toEqual(spokes.map((s) => s.id).sort());
      const all = await ctx.store.customers.get(hub.id);
      expect(all?.identifiers).toHaveLength(8);
      expect((await ctx.store.conversations.list({ customerId: hub.id })).data).toHaveLength(6);
      for (const s of spokes) expect(await ctx.store.customers.get(s.id)).toBeUndefined();
    });
  });
}
