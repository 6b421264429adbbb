import { describe, expect, it } from 'vitest';
import { T0, makeConversation, makeItem } from './builders.ts';
import type { ContractContext } from './contract.ts';

export function customerContract(ctx: ContractContext): void {
  describe('customers', () => {
    it('creates a customer holding every given identifier, normalised', async () => {
      const c = await ctx.store.customers.findOrCreate(
        { phone: ' +1 555 0100 ', email: '  Alice@Example.COM ', externalId: 'crm-42' },
        T0,
      );
      expect(c.id).toMatch(/^cus_/);
      expect(c).toMatchObject({ createdAt: T0, updatedAt: T0 });
      expect(c.identifiers).toEqual([
        { type: 'externalId', value: 'crm-42' },
        { type: 'phone', value: '+15550100' },
        { type: 'email', value: 'alice@example.com' },
      ]);
      expect(await ctx.store.customers.get(c.id)).toEqual(c);
    });

    it('finds the same customer by each of its identifiers', async () => {
      const c = await ctx.store.customers.findOrCreate(
        { phone: '+15550101', email: 'bob@example.com', externalId: 'crm-7' },
        T0,
      );
      for (const identity of [{ phone: '+15550101' }, { email: 'BOB@example.com ' }, { externalId: 'crm-7' }]) {
        expect((await ctx.store.customers.findOrCreate(identity, T0 + 1)).id).toBe(c.id);
      }
      expect((await ctx.store.customers.findByIdentifier('email', ' Bob@Example.com'))?.id).toBe(c.id);
      expect((await ctx.store.customers.findByIdentifier('phone', '+15550101'))?.id).toBe(c.id);
      expect(await ctx.store.customers.findByIdentifier('phone', '+15559999')).toBeUndefined();
      expect(await ctx.store.customers.get('cus_unknown')).toBeUndefined();
      // Nothing new was learnt, so nothing changed.
      expect((await ctx.store.customers.get(c.id))?.updatedAt).toBe(T0);
    });

    it('adds newly given identifiers to the customer found', async () => {
      const c = await ctx.store.customers.findOrCreate({ phone: '+15550102' }, T0);
      const merged = await ctx.store.customers.findOrCreate({ phone: '+15550102', email: 'carol@example.com' }, T0 + 5);
      expect(merged.id).toBe(c.id);
      expect(merged.identifiers).toEqual([
        { type: 'phone', value: '+15550102' },
        { type: 'email', value: 'carol@example.com' },
      ]);
      expect(merged.updatedAt).toBe(T0 + 5);
      expect((await ctx.store.customers.findOrCreate({ email: 'carol@example.com' }, T0 + 6)).id).toBe(c.id);
    });

    it("leaves an identifier with the customer who has it, even when given with another's", async () => {
      const byPhone = await ctx.store.customers.findOrCreate({ phone: '+15550103' }, T0);
      const byEmail = await ctx.store.customers.findOrCreate({ email: 'dave@example.com' }, T0);
      expect(byPhone.id).not.toBe(byEmail.id);

      const found = await ctx.store.customers.findOrCreate(
        { phone: '+15550103', email: 'dave@example.com', externalId: 'crm-9' },
        T0 + 1,
      );
      expect(found.id).toBe(byPhone.id);
      expect(found.identifiers).toEqual([
        { type: 'externalId', value: 'crm-9' },
        { type: 'phone', value: '+15550103' },
      ]);
      expect((await ctx.store.customers.findByIdentifier('email', 'dave@example.com'))?.id).toBe(byEmail.id);
      // The most specific identifier wins when they disagree.
      const byExternal = await ctx.store.customers.findOrCreate({ externalId: 'crm-9', email: 'dave@example.com' }, T0 + 2);
      expect(byExternal.id).toBe(byPhone.id);
    });

    it('creates one customer under concurrent calls, from one or two stores', async () => {
      const other = await ctx.open('node-other');
      // Several rounds, each a fresh phone raced by 12 calls: a lost race shows up in most runs.
      for (let round = 0; round < 5; round++) {
        const phone = `+1555020${round}`;
        const calls = Array.from({ length: 12 }, (_, i) =>
          (i % 2 ? other : ctx.store).customers.findOrCreate(
            i % 3 === 0 ? { phone } : { phone, email: `e${i % 3}.${round}@example.com` },
            T0 + i,
          ),
        );
        const ids = new Set((await Promise.all(calls)).map((c) => c.id));
        expect(ids.size).toBe(1);
        const stored = await ctx.store.customers.get([...ids][0]!);
        expect(stored?.identifiers.map((i) => i.value).sort()).toEqual([
          phone,
          `e1.${round}@example.com`,
          `e2.${round}@example.com`,
        ]);
      }
    });

    it('refuses an identity without any identifier', async () => {
      await expect(ctx.store.customers.findOrCreate({ phone: '  ' }, T0)).rejects.toMatchObject({
        kind: 'invalid_request',
        code: 'customer_identity_empty',
      });
      await expect(ctx.store.customers.findOrCreate({}, T0)).rejects.toMatchObject({ code: 'customer_identity_empty' });
    });

    it('erases a customer with their identifiers, conversations and items, and no one else', async () => {
      const gone = await ctx.store.customers.findOrCreate({ phone: '+15550105', email: 'erin@example.com' }, T0);
      const kept = await ctx.store.customers.findOrCreate({ phone: '+15550106' }, T0);
      const goneConv = makeConversation({ customerId: gone.id });
      const keptConv = makeConversation({ customerId: kept.id });
      await ctx.store.conversations.create(goneConv);
      await ctx.store.conversations.create(keptConv);
      const goneItem = makeItem(goneConv.id);
      const keptItem = makeItem(keptConv.id);
      await ctx.store.items.append(goneItem);
      await ctx.store.items.append(keptItem);

      expect(await ctx.store.customers.delete(gone.id)).toBe(true);

      expect(await ctx.store.customers.get(gone.id)).toBeUndefined();
      expect(await ctx.store.customers.findByIdentifier('phone', '+15550105')).toBeUndefined();
      expect(await ctx.store.customers.findByIdentifier('email', 'erin@example.com')).toBeUndefined();
      expect(await ctx.store.conversations.get(goneConv.id)).toBeUndefined();
      expect(await ctx.store.items.get(goneItem.id)).toBeUndefined();
      expect(await ctx.store.customers.get(kept.id)).toEqual(kept);
      expect(await ctx.store.conversations.get(keptConv.id)).toEqual(keptConv);
      expect(await ctx.store.items.get(keptItem.id)).toEqual(keptItem);
      expect(await ctx.store.customers.delete(gone.id)).toBe(false);
      // The identifiers are free again: a new customer gets them.
      const again = await ctx.store.customers.findOrCreate({ phone: '+15550105' }, T0 + 1);
      expect(again.id).not.toBe(gone.id);
    });
  });
}
