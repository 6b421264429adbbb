import { describe, expect, it } from 'vitest';
import type { Item } from '../../src/core/conversation.ts';
import { T0, makeConversation, makeItem } from './builders.ts';
import type { ContractContext } from './contract.ts';

export function itemContract(ctx: ContractContext): void {
  describe('items', () => {
    async function conversation(): Promise<string> {
      const c = makeConversation();
      await ctx.store.conversations.create(c);
      return c.id;
    }

    it('stores every field and reads it back, optional ones absent when unset', async () => {
      const convId = await conversation();
      const full = makeItem(convId, {
        role: 'agent',
        type: 'message',
        text: 'Your order ships tomo',
        interrupted: true,
        turnId: 'turn_1',
        externalId: 'SM123',
        metrics: { firstDeltaMs: 12.5, durationMs: 300 },
        attachments: [{ url: 'https://example.com/a.png', contentType: 'image/png', sizeBytes: 10 }],
      });
      const tool = makeItem(convId, {
        role: 'tool',
        type: 'tool_result',
        text: '',
        toolCallId: 'call_1',
        toolName: 'lookup_order',
        data: { ok: true, rows: [1, null, 'x'] },
        createdAt: T0 + 1,
      });
      const plain = makeItem(convId, { createdAt: T0 + 2 });
      for (const i of [full, tool, plain]) expect(await ctx.store.items.append(i)).toEqual({ item: i, created: true });

      expect(await ctx.store.items.get(full.id)).toStrictEqual(full);
      expect(await ctx.store.items.get(tool.id)).toStrictEqual(tool);
      expect(await ctx.store.items.get(plain.id)).toStrictEqual(plain);
      expect(await ctx.store.items.get('itm_unknown')).toBeUndefined();
    });

    it('lists oldest first, after an id, up to a limit, per conversation', async () => {
      const convId = await conversation();
      const otherId = await conversation();
      const items = Array.from({ length: 8 }, (_, i) => makeItem(convId, { createdAt: T0 + i, text: `m${i}` }));
      for (const i of [...items].reverse()) await ctx.store.items.append(i);
      await ctx.store.items.append(makeItem(otherId));

      expect((await ctx.store.items.list(convId)).map((i) => i.text)).toEqual(items.map((i) => i.text));
      const after = await ctx.store.items.list(convId, { afterId: items[2]!.id, limit: 3 });
      expect(after.map((i) => i.text)).toEqual(['m3', 'm4', 'm5']);
      expect(await ctx.store.items.list(convId, { afterId: items[7]!.id })).toEqual([]);
      expect(await ctx.store.items.list('conv_unknown')).toEqual([]);
      await expect(ctx.store.items.list(convId, { limit: 0 })).rejects.toMatchObject({ code: 'invalid_limit' });
    });

    it('is idempotent on (conversation, externalId): a duplicate returns the first item', async () => {
      const convId = await conversation();
      const first = makeItem(convId, { externalId: 'wamid.1', text: 'first' });
      const retry = makeItem(convId, { externalId: 'wamid.1', text: 'retried' });
      expect(await ctx.store.items.append(first)).toEqual({ item: first, created: true });
      expect(await ctx.store.items.append(retry)).toEqual({ item: first, created: false });
      expect(await ctx.store.items.get(retry.id)).toBeUndefined();
      expect((await ctx.store.items.list(convId)).map((i) => i.text)).toEqual(['first']);
    });

    it('scopes externalId to the conversation, and never dedupes items without one', async () => {
      const a = await conversation();
      const b = await conversation();
      expect((await ctx.store.items.append(makeItem(a, { externalId: 'X' }))).created).toBe(true);
      expect((await ctx.store.items.append(makeItem(b, { externalId: 'X' }))).created).toBe(true);
      expect((await ctx.store.items.append(makeItem(a, { text: 'same' }))).created).toBe(true);
      expect((await ctx.store.items.append(makeItem(a, { text: 'same' }))).created).toBe(true);
      expect(await ctx.store.items.list(a)).toHaveLength(3);
    });

    it('keeps idempotency for duplicates issued at the same moment', async () => {
      const convId = await conversation();
      const other = await ctx.open('node-other');
      const dupes = Array.from({ length: 6 }, (_, i) => makeItem(convId, { externalId: 'SMdup', text: `try${i}` }));
      const results = await Promise.all(dupes.map((d, i) => (i % 2 ? other : ctx.store).items.append(d)));

      expect(results.filter((r) => r.created)).toHaveLength(1);
      const winner = results.find((r) => r.created)!.item;
      for (const r of results) expect(r.item).toEqual(winner);
      expect(await ctx.store.items.list(convId)).toEqual([winner]);
    });

    it('fails one bad append without failing the others issued with it', async () => {
      const convId = await conversation();
      const good = Array.from({ length: 5 }, (_, i) => makeItem(convId, { createdAt: T0 + i }));
      const orphan = makeItem('conv_doesnotexist');
      const settled = await Promise.allSettled([
        ...good.slice(0, 2).map((i) => ctx.store.items.append(i)),
        ctx.store.items.append(orphan),
        ...good.slice(2).map((i) => ctx.store.items.append(i)),
      ]);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
      const rejected = settled[2] as PromiseRejectedResult;
      expect(rejected.reason).toMatchObject({ kind: 'server', code: 'storage_error', retryable: true });
      expect(await ctx.store.items.list(convId)).toEqual(good);
      expect(await ctx.store.items.get(orphan.id)).toBeUndefined();
    });

    it('has every acknowledged append of a burst readable at once', async () => {
      const convId = await conversation();
      const burst: Item[] = Array.from({ length: 200 }, (_, i) => makeItem(convId, { createdAt: T0 + i, text: `b${i}` }));
      const acked = await Promise.all(burst.map((i) => ctx.store.items.append(i)));
      expect(acked.every((r) => r.created)).toBe(true);
      const reader = await ctx.open('node-reader');
      expect(await reader.items.list(convId)).toEqual(burst);
    });
  });
}
