import { describe, expect, it } from 'vitest';
import type { Conversation, Item } from '../../src/core/conversation.ts';
import { T0, makeConversation, makeItem } from './builders.ts';
import type { ContractContext } from './contract.ts';

/** An item id older than any `newId` of these tests (ids sort by their time prefix). */
const OLDER_ID = 'itm_0000000000000000000000late';

/** Conversations and items: what async conversations added (0002_async). */
export function asyncConversationContract(ctx: ContractContext): void {
  describe('async conversations', () => {
    async function create(overrides: Partial<Conversation> = {}): Promise<Conversation> {
      return ctx.store.conversations.create(makeConversation({ channel: 'sms', ...overrides }));
    }

    it('stores lastActivityAt and answeredThrough, and update sets and clears them', async () => {
      const c = await create({ lastActivityAt: T0 + 1, answeredThrough: 'itm_0001' });
      expect(await ctx.store.conversations.get(c.id)).toStrictEqual(c);
      const bare = await create();
      expect(Object.keys((await ctx.store.conversations.get(bare.id))!)).not.toContain('lastActivityAt');

      const updated = await ctx.store.conversations.update(c.id, { lastActivityAt: T0 + 50, answeredThrough: 'itm_0002' }, T0 + 50);
      expect(updated).toStrictEqual({ ...c, lastActivityAt: T0 + 50, answeredThrough: 'itm_0002', updatedAt: T0 + 50 });
      const cleared = await ctx.store.conversations.update(c.id, { lastActivityAt: null, answeredThrough: null }, T0 + 60);
      const { lastActivityAt: _l, answeredThrough: _a, ...rest } = c;
      expect(cleared).toStrictEqual({ ...rest, updatedAt: T0 + 60 });
      expect(Object.keys(cleared!)).not.toContain('answeredThrough');
    });

    it("findOpenAsync returns the customer's open async conversation for that agent and channel", async () => {
      const alice = await ctx.store.customers.findOrCreate({ phone: '+15550200' }, T0);
      const bob = await ctx.store.customers.findOrCreate({ phone: '+15550201' }, T0);
      const base = { customerId: alice.id, agent: 'support', channel: 'sms' as const };
      await create({ ...base, status: 'ended', endedReason: 'timeout', endedAt: T0 + 1, createdAt: T0 });
      const open = await create({ ...base, status: 'suspended', createdAt: T0 + 1 });
      await create({ ...base, mode: 'realtime', createdAt: T0 + 3 });
      await create({ ...base, agent: 'sales', createdAt: T0 + 4 });
      await create({ ...base, channel: 'email', createdAt: T0 + 5 });

      expect(await ctx.store.conversations.findOpenAsync(base)).toEqual(open);
      expect(await ctx.store.conversations.findOpenAsync({ ...base, customerId: bob.id })).toBeUndefined();
      expect(await ctx.store.conversations.findOpenAsync({ ...base, agent: 'billing' })).toBeUndefined();
      expect(await ctx.store.conversations.findOpenAsync({ ...base, channel: 'chat' })).toBeUndefined();
      await ctx.store.conversations.end(open.id, 'timeout', T0 + 10);
      expect(await ctx.store.conversations.findOpenAsync(base)).toBeUndefined();

      // Chats are addressed by id: a customer may hold several; the newest is found.
      await create({ ...base, channel: 'chat', createdAt: T0 + 6 });
      const newerChat = await create({ ...base, channel: 'chat', createdAt: T0 + 7 });
      expect(await ctx.store.conversations.findOpenAsync({ ...base, channel: 'chat' })).toEqual(newerChat);
    });

    it('allows one open async conversation per customer, agent and channel on SMS and email, cluster-wide', async () => {
      const alice = await ctx.store.customers.findOrCreate({ phone: '+15550210' }, T0);
      const base = { customerId: alice.id, agent: 'support', channel: 'sms' as const, status: 'suspended' as const };
      const first = await create(base);
      await expect(create({ ...base, status: 'active' })).rejects.toMatchObject({ kind: 'conflict', code: 'conversation_open' });
      await expect(create({ ...base, channel: 'email' })).resolves.toMatchObject({ channel: 'email' });
      await expect(create({ ...base, channel: 'email' })).rejects.toMatchObject({ code: 'conversation_open' });
      // Ended, realtime, chat, another agent: not counted.
      await create({ ...base, status: 'ended', endedReason: 'timeout', endedAt: T0 });
      await create({ ...base, mode: 'realtime' });
      await create({ ...base, channel: 'chat' });
      await create({ ...base, channel: 'chat' });
      await create({ ...base, agent: 'sales' });
      await ctx.store.conversations.end(first.id, 'timeout', T0 + 1);
      await expect(create(base)).resolves.toMatchObject({ status: 'suspended' });

      // Two processes opening the same customer's conversation at once: exactly one succeeds.
      const bob = await ctx.store.customers.findOrCreate({ phone: '+15550211' }, T0);
      const other = await ctx.open('node-other');
      const results = await Promise.allSettled(
        [ctx.store, other, ctx.store, other].map((s) => s.conversations.create(makeConversation({ ...base, customerId: bob.id }))),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'conversation_open' });

      // Inside a transaction the refusal can be caught and the transaction goes on.
      const carol = await ctx.store.customers.findOrCreate({ phone: '+15550212' }, T0);
      const kept = await create({ ...base, customerId: carol.id });
      await ctx.store.transaction(async (tx) => {
        await expect(tx.conversations.create(makeConversation({ ...base, customerId: carol.id }))).rejects.toMatchObject({ code: 'conversation_open' });
        await tx.items.append(makeItem(kept.id));
      });
      expect(await ctx.store.items.list(kept.id)).toHaveLength(1);
    });

    it('grants the lease to one owner at a time, until it expires', async () => {
      const c = await create();
      const conv = ctx.store.conversations;
      expect(await conv.acquireLease(c.id, 'a', T0 + 1000, T0)).toBe(true);
      expect(await conv.acquireLease(c.id, 'b', T0 + 2000, T0 + 10)).toBe(false);
      expect(await conv.acquireLease(c.id, 'b', T0 + 2000, T0 + 999)).toBe(false);
      // Expired at its deadline: taken over by b, and a is out.
      expect(await conv.acquireLease(c.id, 'b', T0 + 2000, T0 + 1000)).toBe(true);
      expect(await conv.acquireLease(c.id, 'a', T0 + 3000, T0 + 1001)).toBe(false);
      expect(await conv.acquireLease('conv_unknown', 'a', T0 + 1000, T0)).toBe(false);
      // The lease is bookkeeping: the conversation itself is unchanged.
      expect(await conv.get(c.id)).toEqual(c);
    });

    it('lets the holder take its lease again, extending it', async () => {
      const c = await create();
      const conv = ctx.store.conversations;
      expect(await conv.acquireLease(c.id, 'a', T0 + 1000, T0)).toBe(true);
      expect(await conv.acquireLease(c.id, 'a', T0 + 5000, T0 + 500)).toBe(true);
      // Still a's past the first deadline.
      expect(await conv.acquireLease(c.id, 'b', T0 + 9000, T0 + 4000)).toBe(false);
      expect(await conv.acquireLease(c.id, 'b', T0 + 9000, T0 + 5000)).toBe(true);
    });

    it('releases the lease only for its holder', async () => {
      const c = await create();
      const conv = ctx.store.conversations;
      expect(await conv.acquireLease(c.id, 'a', T0 + 1000, T0)).toBe(true);
      await conv.releaseLease(c.id, 'b');
      expect(await conv.acquireLease(c.id, 'c', T0 + 1000, T0 + 1)).toBe(false);
      await conv.releaseLease(c.id, 'a');
      expect(await conv.acquireLease(c.id, 'c', T0 + 1000, T0 + 2)).toBe(true);
      await conv.releaseLease('conv_unknown', 'a');
    });

    it('gives a contended lease to exactly one of several processes', async () => {
      const c = await create();
      const other = await ctx.open('node-other');
      const results = await Promise.all(
        ['a', 'b', 'c', 'd', 'e', 'f'].map((owner, i) =>
          (i % 2 === 0 ? ctx.store : other).conversations.acquireLease(c.id, owner, T0 + 1000, T0),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('listNeedingTurn finds open async conversations with messages no turn has answered', async () => {
      const at = (n: number) => ({ createdAt: T0 + n });
      const unanswered = await create(at(0));
      await ctx.store.items.append(makeItem(unanswered.id, at(0)));

      const answered = await create(at(1));
      const m1 = await ctx.store.items.append(makeItem(answered.id, at(1)));
      await ctx.store.items.append(makeItem(answered.id, { ...at(2), role: 'agent' }));
      expect(await ctx.store.items.markAnswered([m1.item.id], 'turn_1')).toBe(1);

      const agentOnly = await create(at(2));
      await ctx.store.items.append(makeItem(agentOnly.id, { ...at(2), role: 'agent' }));
      const toolOnly = await create(at(3));
      await ctx.store.items.append(makeItem(toolOnly.id, { ...at(3), role: 'user', type: 'dtmf' }));

      const ended = await create({ ...at(4), status: 'ended', endedReason: 'timeout', endedAt: T0 + 5 });
      await ctx.store.items.append(makeItem(ended.id, at(4)));
      const realtime = await create({ ...at(5), mode: 'realtime', channel: 'chat' });
      await ctx.store.items.append(makeItem(realtime.id, at(5)));

      const proactive = await create(at(6));
      await ctx.store.items.append(makeItem(proactive.id, { ...at(6), role: 'system', type: 'event' }));
      await create(at(7)); // no items at all

      expect(await ctx.store.conversations.listNeedingTurn(100)).toEqual([unanswered.id, proactive.id]);

      const m2 = await ctx.store.items.append(makeItem(answered.id, { ...at(9), text: 'one more thing' }));
      expect(await ctx.store.conversations.listNeedingTurn(100)).toEqual([unanswered.id, answered.id, proactive.id]);
      expect(await ctx.store.conversations.listNeedingTurn(2)).toEqual([unanswered.id, answered.id]);

      await ctx.store.items.markAnswered([m2.item.id], 'turn_2');
      expect(await ctx.store.conversations.listNeedingTurn(100)).toEqual([unanswered.id, proactive.id]);
      // Stored late with an older id (another node's clock): still unanswered.
      await ctx.store.items.append(makeItem(answered.id, { ...at(0), id: OLDER_ID }));
      expect(await ctx.store.conversations.listNeedingTurn(100)).toEqual([unanswered.id, answered.id, proactive.id]);
      await expect(ctx.store.conversations.listNeedingTurn(0)).rejects.toMatchObject({ code: 'invalid_limit' });
    });

    it('items awaiting an answer: customer messages and events no turn marked answered, whatever their ids', async () => {
      const c = await create();
      const other = await create();
      const add = async (n: number, o: Partial<Item> = {}) => (await ctx.store.items.append(makeItem(c.id, { createdAt: T0 + n, text: `m${n}`, ...o }))).item;
      const u1 = await add(1);
      await add(2, { role: 'agent' });
      await add(3, { role: 'tool', type: 'tool_result' });
      const event = await add(4, { role: 'system', type: 'event' });
      const u2 = await add(5);
      await add(6, { type: 'dtmf' });
      await ctx.store.items.append(makeItem(other.id, { createdAt: T0 + 7 }));
      expect(await ctx.store.items.listAwaitingAnswer(c.id)).toEqual([u1, event, u2]);

      expect(await ctx.store.items.markAnswered([u1.id, event.id], 'turn_a')).toBe(2);
      expect(await ctx.store.items.listAwaitingAnswer(c.id)).toEqual([u2]);
      const late = await add(0, { id: OLDER_ID }); // stored last, with an older id than every answered one
      expect(await ctx.store.items.listAwaitingAnswer(c.id)).toEqual([late, u2]);
      // Already answered items keep their first turn; the count says how many this call marked.
      expect(await ctx.store.items.markAnswered([late.id, u1.id], 'turn_b')).toBe(1);
      expect(await ctx.store.items.markAnswered([], 'turn_c')).toBe(0);
      expect(await ctx.store.items.listAwaitingAnswer(c.id)).toEqual([u2]);
      expect(await ctx.store.items.listAwaitingAnswer(other.id)).toHaveLength(1);
      // The mark is bookkeeping: items read back unchanged.
      expect(await ctx.store.items.get(u1.id)).toEqual(u1);
    });

    it('items.listAfter lists after an id, oldest first, optionally by role', async () => {
      const c = await create();
      const other = await create();
      const roles = ['user', 'agent', 'user', 'tool', 'user'] as const;
      const items = roles.map((role, i) => makeItem(c.id, { role, createdAt: T0 + i, text: `m${i}` }));
      for (const i of [...items].reverse()) await ctx.store.items.append(i);
      await ctx.store.items.append(makeItem(other.id, { createdAt: T0 + 9 }));

      expect(await ctx.store.items.listAfter(c.id, undefined)).toEqual(items);
      expect(await ctx.store.items.listAfter(c.id, items[1]!.id)).toEqual(items.slice(2));
      expect(await ctx.store.items.listAfter(c.id, undefined, { role: 'user' })).toEqual([items[0], items[2], items[4]]);
      expect(await ctx.store.items.listAfter(c.id, items[2]!.id, { role: 'user' })).toEqual([items[4]]);
      expect(await ctx.store.items.listAfter(c.id, items[4]!.id)).toEqual([]);
      expect(await ctx.store.items.listAfter('conv_unknown', undefined)).toEqual([]);
    });

    it('works inside a transaction: lease, update and append commit together', async () => {
      const c = await create();
      const item = makeItem(c.id);
      await ctx.store.transaction(async (tx) => {
        expect(await tx.conversations.acquireLease(c.id, 'a', T0 + 1000, T0)).toBe(true);
        await tx.items.append(item);
        await tx.conversations.update(c.id, { answeredThrough: item.id, lastActivityAt: T0 + 1 }, T0 + 1);
        expect(await tx.conversations.findOpenAsync({ customerId: 'cus_none', agent: 'support', channel: 'sms' })).toBeUndefined();
      });
      expect(await ctx.store.conversations.get(c.id)).toMatchObject({ answeredThrough: item.id, lastActivityAt: T0 + 1 });
      expect(await ctx.store.conversations.acquireLease(c.id, 'b', T0 + 1000, T0 + 1)).toBe(false);

      await expect(
        ctx.store.transaction(async (tx) => {
          await tx.conversations.releaseLease(c.id, 'a');
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await ctx.store.conversations.acquireLease(c.id, 'b', T0 + 1000, T0 + 1)).toBe(false);
    });
  });
}
