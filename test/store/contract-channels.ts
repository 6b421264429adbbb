import { describe, expect, it } from 'vitest';
import type { Item } from '../../src/core/conversation.ts';
import type { NewOutbound } from '../../src/store/index.ts';
import { T0, makeConversation, makeItem } from './builders.ts';
import type { ContractContext } from './contract.ts';

/** Thread keys, outbound records, opt-outs, attachments (0002_async). */
export function channelContract(ctx: ContractContext): void {
  async function agentItem(customerId?: string): Promise<Item> {
    const c = makeConversation({ channel: 'sms', ...(customerId ? { customerId } : {}) });
    await ctx.store.conversations.create(c);
    const item = makeItem(c.id, { role: 'agent', text: 'Your order ships tomorrow.' });
    await ctx.store.items.append(item);
    return item;
  }

  function outbound(item: Item, overrides: Partial<NewOutbound> = {}): NewOutbound {
    return {
      conversationId: item.conversationId,
      itemId: item.id,
      part: 0,
      channel: 'sms',
      to: '+15550300',
      from: '+15550999',
      body: item.text,
      payload: { mediaUrls: ['https://example.com/a.png'], n: 1 },
      createdAt: T0,
      ...overrides,
    };
  }

  describe('threads', () => {
    it('finds the conversation of any linked key; a key stays with its first conversation', async () => {
      const a = makeConversation({ channel: 'email', createdAt: T0 });
      const b = makeConversation({ channel: 'email', createdAt: T0 + 1 });
      for (const c of [a, b]) await ctx.store.conversations.create(c);

      await ctx.store.threads.link(a.id, ['<m1@x>', '<m2@x>', '<m1@x>']);
      await ctx.store.threads.link(a.id, ['<m2@x>', '<m3@x>']);
      await ctx.store.threads.link(b.id, ['<m3@x>', '<m4@x>']);
      await ctx.store.threads.link(b.id, []);

      expect(await ctx.store.threads.find(['<m1@x>'])).toBe(a.id);
      expect(await ctx.store.threads.find(['<unknown@x>', '<m3@x>'])).toBe(a.id);
      expect(await ctx.store.threads.find(['<m4@x>'])).toBe(b.id);
      // Keys of two conversations: the newer one wins.
      expect(await ctx.store.threads.find(['<m1@x>', '<m4@x>'])).toBe(b.id);
      expect(await ctx.store.threads.find(['<unknown@x>'])).toBeUndefined();
      expect(await ctx.store.threads.find([])).toBeUndefined();
    });

    it('links inside a transaction and rolls back with it', async () => {
      const a = makeConversation({ channel: 'email' });
      await expect(
        ctx.store.transaction(async (tx) => {
          await tx.conversations.create(a);
          await tx.threads.link(a.id, ['<t1@x>']);
          expect(await tx.threads.find(['<t1@x>'])).toBe(a.id);
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      expect(await ctx.store.threads.find(['<t1@x>'])).toBeUndefined();
    });
  });

  describe('outbound', () => {
    it('creates a record with defaults and reads back every field', async () => {
      const item = await agentItem();
      const { record, created } = await ctx.store.outbound.create(outbound(item));
      expect(created).toBe(true);
      expect(record.id).toMatch(/^out_/);
      expect(record).toStrictEqual({
        ...outbound(item),
        id: record.id,
        status: 'pending',
        attempts: 0,
        updatedAt: T0,
      });
      expect(await ctx.store.outbound.get(record.id)).toStrictEqual(record);
      expect(await ctx.store.outbound.get('out_unknown')).toBeUndefined();

      const full = { ...outbound(item, { part: 1, id: 'msg_given' }), status: 'sent' as const, attempts: 2, providerId: 'SM1' };
      const stored = await ctx.store.outbound.create({ ...full, lastError: 'x', nextAttemptAt: T0 + 5, updatedAt: T0 + 5 });
      expect(stored.record).toStrictEqual({ ...full, lastError: 'x', nextAttemptAt: T0 + 5, updatedAt: T0 + 5 });
    });

    it('is idempotent on (itemId, part): the first record stays', async () => {
      const item = await agentItem();
      const first = await ctx.store.outbound.create(outbound(item, { id: 'msg_first' }));
      const again = await ctx.store.outbound.create(outbound(item, { id: 'msg_second', body: 'different' }));
      expect(again).toEqual({ record: first.record, created: false });
      const part1 = await ctx.store.outbound.create(outbound(item, { id: 'msg_part1', part: 1, body: 'part two' }));
      expect(part1.created).toBe(true);
      expect((await ctx.store.outbound.listByItem(item.id)).map((r) => r.id)).toEqual(['msg_first', 'msg_part1']);

      const other = await ctx.open('node-other');
      const racing = await Promise.all(
        [ctx.store, other, ctx.store, other].map((s, i) => s.outbound.create(outbound(item, { id: `msg_r${i}`, part: 2 }))),
      );
      expect(racing.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(racing.map((r) => r.record.id)).size).toBe(1);
    });

    it('lists by item, by conversation, and what is due, oldest first', async () => {
      const item = await agentItem();
      const otherItem = await agentItem();
      const rec = async (o: Partial<NewOutbound>, on = item) =>
        (await ctx.store.outbound.create(outbound(on, o))).record;
      const pending = await rec({ part: 0, createdAt: T0 });
      const retryingDue = await rec({ part: 1, createdAt: T0 + 1, status: 'retrying', nextAttemptAt: T0 + 100 });
      const retryingLater = await rec({ part: 2, createdAt: T0 + 2, status: 'retrying', nextAttemptAt: T0 + 101 });
      await rec({ part: 3, createdAt: T0 + 3, status: 'sent' });
      const beingSent = await rec({ part: 4, createdAt: T0 + 4 });
      expect(await ctx.store.outbound.claim(beingSent.id, 'node-x', T0, 1000)).toMatchObject({ status: 'sending' });
      const otherPending = await rec({ part: 0, createdAt: T0 + 5, nextAttemptAt: T0 }, otherItem);

      const due = await ctx.store.outbound.listDue(T0 + 100, 10);
      expect(due.map((r) => r.id)).toEqual([pending.id, retryingDue.id, otherPending.id]);
      expect((await ctx.store.outbound.listDue(T0 + 101, 10)).map((r) => r.id)).toContain(retryingLater.id);
      // Being sent under a live claim: not due; once the claim expires (its sender died): due.
      expect((await ctx.store.outbound.listDue(T0 + 999, 10)).map((r) => r.id)).not.toContain(beingSent.id);
      expect((await ctx.store.outbound.listDue(T0 + 1000, 10)).map((r) => r.id)).toContain(beingSent.id);
      expect(await ctx.store.outbound.listDue(T0 + 100, 1)).toEqual([pending]);
      await expect(ctx.store.outbound.listDue(T0, 0)).rejects.toMatchObject({ code: 'invalid_limit' });

      expect((await ctx.store.outbound.listByItem(item.id)).map((r) => r.part)).toEqual([0, 1, 2, 3, 4]);
      expect(await ctx.store.outbound.listByConversation(otherItem.conversationId)).toEqual([otherPending]);
      expect(await ctx.store.outbound.listByItem('itm_unknown')).toEqual([]);
    });

    it('updates the given fields, null clears, and finds a record by provider id', async () => {
      const item = await agentItem();
      const { record } = await ctx.store.outbound.create(outbound(item));
      const sending = await ctx.store.outbound.update(record.id, { status: 'sending', attempts: 1 }, T0 + 1);
      expect(sending).toStrictEqual({ ...record, status: 'sending', attempts: 1, updatedAt: T0 + 1 });
      const retrying = await ctx.store.outbound.update(
        record.id,
        { status: 'retrying', lastError: 'timeout', nextAttemptAt: T0 + 1000 },
        T0 + 2,
      );
      expect(retrying).toMatchObject({ status: 'retrying', lastError: 'timeout', nextAttemptAt: T0 + 1000, attempts: 1 });
      const sent = await ctx.store.outbound.update(
        record.id,
        { status: 'sent', providerId: 'SM123', lastError: null, nextAttemptAt: null },
        T0 + 3,
      );
      expect(sent).toStrictEqual({ ...record, status: 'sent', attempts: 1, providerId: 'SM123', updatedAt: T0 + 3 });
      expect(await ctx.store.outbound.findByProviderId('SM123')).toStrictEqual(sent);
      expect(await ctx.store.outbound.findByProviderId('SM999')).toBeUndefined();
      expect(await ctx.store.outbound.update('out_unknown', { status: 'sent' }, T0)).toBeUndefined();
    });
  });

  describe('outbound claims', () => {
    it('claim one sender at a time: due records, or records whose claim expired; an outcome ends the claim', async () => {
      const item = await agentItem();
      const { record } = await ctx.store.outbound.create(outbound(item));
      const out = ctx.store.outbound;
      const a = await out.claim(record.id, 'node-a', T0 + 10, 1000);
      expect(a).toStrictEqual({ ...record, status: 'sending', attempts: 1, claimOwner: 'node-a', claimUntil: T0 + 1010, updatedAt: T0 + 10 });
      expect(await out.get(record.id)).toStrictEqual(a);
      expect(await out.claim(record.id, 'node-b', T0 + 500, 1000)).toBeUndefined();
      // Not even its owner: a second job for the record on the same node does not send it again.
      expect(await out.claim(record.id, 'node-a', T0 + 500, 1000)).toBeUndefined();
      // Expired at its deadline: taken over; attempts > 1 tells the new sender an attempt started before.
      expect(await out.claim(record.id, 'node-b', T0 + 1010, 1000)).toMatchObject({ status: 'sending', attempts: 2, claimOwner: 'node-b', claimUntil: T0 + 2010 });

      const retrying = await out.update(record.id, { status: 'retrying', lastError: 'timeout', nextAttemptAt: T0 + 5000 }, T0 + 1100);
      expect(retrying).toMatchObject({ status: 'retrying', attempts: 2 });
      expect(retrying).not.toHaveProperty('claimOwner');
      expect(retrying).not.toHaveProperty('claimUntil');
      expect(await out.claim(record.id, 'node-a', T0 + 4999, 1000)).toBeUndefined(); // not due yet
      expect(await out.claim(record.id, 'node-a', T0 + 5000, 1000)).toMatchObject({ attempts: 3, claimOwner: 'node-a' });
      await out.update(record.id, { status: 'sent', providerId: 'SM1', nextAttemptAt: null }, T0 + 5001);
      expect(await out.claim(record.id, 'node-b', T0 + 99_999, 1000)).toBeUndefined();
      expect(await out.get(record.id)).toMatchObject({ status: 'sent', attempts: 3, providerId: 'SM1' });
      expect(await out.claim('out_unknown', 'node-a', T0, 1000)).toBeUndefined();
    });

    it('gives a contended claim to exactly one of several processes', async () => {
      const item = await agentItem();
      const { record } = await ctx.store.outbound.create(outbound(item));
      const other = await ctx.open('node-other');
      const results = await Promise.all(
        [ctx.store, other, ctx.store, other, ctx.store, other].map((s, i) => s.outbound.claim(record.id, `node-${i}`, T0, 60_000)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await ctx.store.outbound.get(record.id)).toMatchObject({ status: 'sending', attempts: 1 });
    });

    it("releases a node's claims (it restarted: its sends died with it), and only that node's", async () => {
      const item = await agentItem();
      const rec = async (part: number) => (await ctx.store.outbound.create(outbound(item, { part }))).record;
      const [mine, theirs, done] = [await rec(0), await rec(1), await rec(2)];
      const out = ctx.store.outbound;
      await out.claim(mine.id, 'node-a', T0, 60_000);
      await out.claim(theirs.id, 'node-b', T0, 60_000);
      await out.claim(done.id, 'node-a', T0, 60_000);
      await out.update(done.id, { status: 'sent' }, T0 + 1);

      expect(await out.releaseClaims('node-a')).toBe(1);
      const released = await out.get(mine.id);
      expect(released).toMatchObject({ status: 'sending', attempts: 1 });
      expect(released).not.toHaveProperty('claimOwner');
      expect((await out.listDue(T0 + 2, 10)).map((r) => r.id)).toEqual([mine.id]);
      expect(await out.claim(theirs.id, 'node-a', T0 + 2, 60_000)).toBeUndefined();
      expect(await out.claim(mine.id, 'node-a', T0 + 2, 60_000)).toMatchObject({ attempts: 2, claimOwner: 'node-a' });
      expect(await out.releaseClaims('node-unknown')).toBe(0);
    });
  });

  describe('opt-outs', () => {
    it('sets, checks and clears per channel and address', async () => {
      expect(await ctx.store.optOuts.has('sms', '+15550400')).toBe(false);
      await ctx.store.optOuts.set('sms', '+15550400', T0);
      await ctx.store.optOuts.set('sms', '+15550400', T0 + 1);
      expect(await ctx.store.optOuts.has('sms', '+15550400')).toBe(true);
      expect(await ctx.store.optOuts.has('email', '+15550400')).toBe(false);
      expect(await ctx.store.optOuts.has('sms', '+15550401')).toBe(false);
      await ctx.store.optOuts.clear('sms', '+15550400');
      expect(await ctx.store.optOuts.has('sms', '+15550400')).toBe(false);
      await ctx.store.optOuts.clear('sms', '+15550400');
    });
  });

  describe('attachments', () => {
    it('stores binary data exactly, attaches to an item, lists by item', async () => {
      const item = await agentItem();
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const meta = await ctx.store.attachments.put(
        { id: 'att_1', contentType: 'image/png', filename: 'a.png', sizeBytes: bytes.length, data: bytes },
        T0,
      );
      expect(meta).toStrictEqual({ id: 'att_1', contentType: 'image/png', filename: 'a.png', sizeBytes: 256, createdAt: T0 });
      await ctx.store.attachments.put({ id: 'att_2', itemId: item.id, contentType: 'text/plain', sizeBytes: 0, data: Buffer.alloc(0) }, T0 + 1);

      const got = await ctx.store.attachments.get('att_1');
      expect(Buffer.isBuffer(got?.data)).toBe(true);
      expect(got?.data.equals(bytes)).toBe(true);
      expect(got?.itemId).toBeUndefined();
      expect((await ctx.store.attachments.get('att_2'))?.data.length).toBe(0);
      expect(await ctx.store.attachments.get('att_unknown')).toBeUndefined();

      await ctx.store.attachments.attach(['att_1', 'att_unknown'], item.id);
      expect((await ctx.store.attachments.listByItem(item.id)).map((a) => a.id)).toEqual(['att_1', 'att_2']);
      expect((await ctx.store.attachments.get('att_1'))?.itemId).toBe(item.id);
      await ctx.store.attachments.attach([], item.id);

      // Idempotent on id: the first file stays.
      await ctx.store.attachments.put({ id: 'att_1', contentType: 'x/y', sizeBytes: 1, data: Buffer.from('z') }, T0 + 2);
      expect((await ctx.store.attachments.get('att_1'))?.data.equals(bytes)).toBe(true);
    });
  });

  describe('erasure', () => {
    it("deleting a customer erases their threads, outbound records and attachments, and only theirs", async () => {
      const alice = await ctx.store.customers.findOrCreate({ phone: '+15550500' }, T0);
      const bob = await ctx.store.customers.findOrCreate({ phone: '+15550501' }, T0);
      const seed = async (customerId: string, tag: string) => {
        const item = await agentItem(customerId);
        await ctx.store.threads.link(item.conversationId, [`<${tag}@x>`]);
        const { record } = await ctx.store.outbound.create(outbound(item, { providerId: `SM-${tag}` }));
        await ctx.store.attachments.put({ id: `att_${tag}`, itemId: item.id, contentType: 'a/b', sizeBytes: 1, data: Buffer.from('a') }, T0);
        return { item, record };
      };
      const a = await seed(alice.id, 'alice');
      const b = await seed(bob.id, 'bob');
      await ctx.store.optOuts.set('sms', '+15550500', T0);

      expect(await ctx.store.customers.delete(alice.id)).toBe(true);
      expect(await ctx.store.conversations.get(a.item.conversationId)).toBeUndefined();
      expect(await ctx.store.threads.find(['<alice@x>'])).toBeUndefined();
      expect(await ctx.store.outbound.get(a.record.id)).toBeUndefined();
      expect(await ctx.store.outbound.findByProviderId('SM-alice')).toBeUndefined();
      expect(await ctx.store.attachments.get('att_alice')).toBeUndefined();
      // An opt-out binds the number, not the customer: it outlives the erasure.
      expect(await ctx.store.optOuts.has('sms', '+15550500')).toBe(true);

      expect(await ctx.store.threads.find(['<bob@x>'])).toBe(b.item.conversationId);
      expect(await ctx.store.outbound.get(b.record.id)).toEqual(b.record);
      expect((await ctx.store.attachments.get('att_bob'))?.itemId).toBe(b.item.id);
    });
  });
}
