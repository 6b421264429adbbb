import { describe, expect, it } from 'vitest';
import type { Conversation } from '../../src/core/conversation.ts';
import { OperatorError } from '../../src/core/errors.ts';
import { T0, conversationsInOrder, makeConversation, makeItem } from './builders.ts';
import type { ContractContext } from './contract.ts';

export function conversationContract(ctx: ContractContext): void {
  describe('conversations', () => {
    it('creates and reads back every field, optional ones absent when unset', async () => {
      const customer = await ctx.store.customers.findOrCreate({ phone: '+15550001' }, T0);
      const full = makeConversation({
        channel: 'voice',
        mode: 'realtime',
        customerId: customer.id,
        context: { orderId: 'A-1', nested: { n: 2, list: [1, 'x'] } },
        nodeId: 'node-a',
        status: 'ended',
        endedReason: 'caller_hangup',
        endedAt: T0 + 5,
        updatedAt: T0 + 5,
      });
      const bare = makeConversation();
      expect(await ctx.store.conversations.create(full)).toEqual(full);
      await ctx.store.conversations.create(bare);

      expect(await ctx.store.conversations.get(full.id)).toStrictEqual(full);
      const gotBare = await ctx.store.conversations.get(bare.id);
      expect(gotBare).toStrictEqual(bare);
      expect(Object.keys(gotBare!)).not.toContain('endedReason');
      expect(await ctx.store.conversations.get('conv_unknown')).toBeUndefined();
    });

    it('refuses a duplicate id with a storage_error', async () => {
      const c = makeConversation();
      await ctx.store.conversations.create(c);
      const err = await ctx.store.conversations.create({ ...c, agent: 'other' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OperatorError);
      expect(err).toMatchObject({ kind: 'server', code: 'storage_error' });
      expect((await ctx.store.conversations.get(c.id))?.agent).toBe('support');
    });

    it('pages newest first with an opaque cursor, without gaps or repeats', async () => {
      const all = conversationsInOrder(25);
      for (const c of all) await ctx.store.conversations.create(c);
      const seen: string[] = [];
      const pageSizes: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await ctx.store.conversations.list({ limit: 10, ...(cursor ? { cursor } : {}) });
        pageSizes.push(page.data.length);
        seen.push(...page.data.map((c) => c.id));
        cursor = page.nextCursor ?? undefined;
        if (cursor) expect(cursor).not.toContain('conv_');
      } while (cursor);
      expect(pageSizes).toEqual([10, 10, 5]);
      expect(seen).toEqual(all.map((c) => c.id).reverse());
    });

    it('returns no cursor when the last page is exactly full', async () => {
      for (const c of conversationsInOrder(4)) await ctx.store.conversations.create(c);
      const page = await ctx.store.conversations.list({ limit: 4 });
      expect(page.data).toHaveLength(4);
      expect(page.nextCursor).toBeNull();
    });

    it('filters by customer, status and channel, and pages within a filter', async () => {
      const alice = await ctx.store.customers.findOrCreate({ email: 'alice@example.com' }, T0);
      const bob = await ctx.store.customers.findOrCreate({ email: 'bob@example.com' }, T0);
      // One agent each: a customer has at most one open async SMS conversation per agent.
      const convs = conversationsInOrder(12, (i) => ({
        agent: `agent-${i}`,
        customerId: i % 2 === 0 ? alice.id : bob.id,
        status: i % 3 === 0 ? 'ended' : 'active',
        channel: i % 4 === 0 ? 'sms' : 'chat',
      }));
      for (const c of convs) await ctx.store.conversations.create(c);
      const ids = (pred: (c: Conversation) => boolean) =>
        convs
          .filter(pred)
          .map((c) => c.id)
          .reverse();

      const byAlice = await ctx.store.conversations.list({ customerId: alice.id, limit: 100 });
      expect(byAlice.data.map((c) => c.id)).toEqual(ids((c) => c.customerId === alice.id));
      const ended = await ctx.store.conversations.list({ status: 'ended', limit: 100 });
      expect(ended.data.map((c) => c.id)).toEqual(ids((c) => c.status === 'ended'));
      const aliceSms = await ctx.store.conversations.list({ customerId: alice.id, channel: 'sms', limit: 100 });
      expect(aliceSms.data.map((c) => c.id)).toEqual(ids((c) => c.customerId === alice.id && c.channel === 'sms'));

      const first = await ctx.store.conversations.list({ customerId: bob.id, limit: 4 });
      const second = await ctx.store.conversations.list({ customerId: bob.id, limit: 4, cursor: first.nextCursor! });
      expect([...first.data, ...second.data].map((c) => c.id)).toEqual(ids((c) => c.customerId === bob.id));
      expect(second.nextCursor).toBeNull();
    });

    it('rejects a malformed cursor and an out-of-range limit as invalid_request', async () => {
      await expect(ctx.store.conversations.list({ cursor: 'not a cursor!', limit: 10 })).rejects.toMatchObject({
        kind: 'invalid_request',
        code: 'invalid_cursor',
      });
      const itemCursor = Buffer.from('itm_01abc').toString('base64url');
      await expect(ctx.store.conversations.list({ cursor: itemCursor })).rejects.toMatchObject({ code: 'invalid_cursor' });
      await expect(ctx.store.conversations.list({ limit: 0 })).rejects.toMatchObject({ code: 'invalid_limit' });
      await expect(ctx.store.conversations.list({ limit: 101 })).rejects.toMatchObject({ code: 'invalid_limit' });
    });

    it('updates the given fields only, and null clears an optional one', async () => {
      const c = makeConversation({ mode: 'realtime', nodeId: 'node-a', context: { a: 1 } });
      await ctx.store.conversations.create(c);
      const suspended = await ctx.store.conversations.update(c.id, { status: 'suspended', context: { a: 2 } }, T0 + 10);
      expect(suspended).toEqual({ ...c, status: 'suspended', context: { a: 2 }, updatedAt: T0 + 10 });
      const moved = await ctx.store.conversations.update(c.id, { nodeId: null }, T0 + 20);
      expect(moved?.nodeId).toBeUndefined();
      expect(await ctx.store.conversations.get(c.id)).toEqual({
        ...c,
        status: 'suspended',
        context: { a: 2 },
        nodeId: undefined,
        updatedAt: T0 + 20,
      });
      expect(await ctx.store.conversations.update('conv_unknown', { status: 'ended' }, T0)).toBeUndefined();
    });

    it('ends a conversation once: later calls return it unchanged with ended=false', async () => {
      const c = makeConversation();
      await ctx.store.conversations.create(c);
      const first = await ctx.store.conversations.end(c.id, 'api', T0 + 100);
      expect(first?.ended).toBe(true);
      expect(first?.conversation).toEqual({ ...c, status: 'ended', endedReason: 'api', endedAt: T0 + 100, updatedAt: T0 + 100 });
      const again = await ctx.store.conversations.end(c.id, 'timeout', T0 + 200);
      expect(again).toEqual({ conversation: first!.conversation, ended: false });
      expect(await ctx.store.conversations.end('conv_unknown', 'api', T0)).toBeUndefined();
    });

    it('lets exactly one of several concurrent end() calls end it', async () => {
      const c = makeConversation();
      await ctx.store.conversations.create(c);
      const other = await ctx.open('node-other');
      const results = await Promise.all(
        ['a', 'b', 'c', 'd', 'e', 'f'].map((reason, i) =>
          (i % 2 === 0 ? ctx.store : other).conversations.end(c.id, reason, T0 + i),
        ),
      );
      const winners = results.filter((r) => r?.ended);
      expect(winners).toHaveLength(1);
      const stored = await ctx.store.conversations.get(c.id);
      expect(stored?.endedReason).toBe(winners[0]!.conversation.endedReason);
    });

    it('endOrphaned ends only the live realtime conversations of that node', async () => {
      const mk = (o: Partial<Conversation>) => makeConversation({ mode: 'realtime', nodeId: 'node-a', ...o });
      const live = mk({});
      const suspendedLive = mk({ status: 'suspended' });
      const otherNode = mk({ nodeId: 'node-b' });
      const asyncOnNode = mk({ mode: 'async', channel: 'sms' });
      const noNode = mk({ nodeId: undefined });
      const alreadyEnded = mk({ status: 'ended', endedReason: 'client', endedAt: T0 + 1 });
      const all = [live, suspendedLive, otherNode, asyncOnNode, noNode, alreadyEnded];
      for (const c of all) await ctx.store.conversations.create(c);

      expect(await ctx.store.conversations.endOrphaned('node-a', 'server_restart', T0 + 50)).toBe(2);

      for (const c of [live, suspendedLive]) {
        expect(await ctx.store.conversations.get(c.id)).toMatchObject({
          status: 'ended',
          endedReason: 'server_restart',
          endedAt: T0 + 50,
        });
      }
      for (const c of [otherNode, asyncOnNode, noNode, alreadyEnded]) {
        expect(await ctx.store.conversations.get(c.id)).toEqual(c);
      }
      expect(await ctx.store.conversations.endOrphaned('node-a', 'server_restart', T0 + 60)).toBe(0);
    });

    it('deletes a conversation with its items, and only it', async () => {
      const gone = makeConversation();
      const kept = makeConversation();
      await ctx.store.conversations.create(gone);
      await ctx.store.conversations.create(kept);
      const goneItem = makeItem(gone.id);
      const keptItem = makeItem(kept.id);
      await ctx.store.items.append(goneItem);
      await ctx.store.items.append(keptItem);

      expect(await ctx.store.conversations.delete(gone.id)).toBe(true);
      expect(await ctx.store.conversations.get(gone.id)).toBeUndefined();
      expect(await ctx.store.items.get(goneItem.id)).toBeUndefined();
      expect(await ctx.store.items.list(gone.id)).toEqual([]);
      expect(await ctx.store.items.get(keptItem.id)).toEqual(keptItem);
      expect(await ctx.store.conversations.delete(gone.id)).toBe(false);
    });
  });
}
