import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { OperatorError } from '../../src/core/errors.ts';
import { T0, makeConversation, makeItem } from './builders.ts';
import type { ContractContext } from './contract.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const NODE24 = join(ROOT, 'node_modules', '.bin', 'node');
const APPENDER = join(import.meta.dirname, 'fixtures', 'append-items.ts');

export function lifecycleContract(ctx: ContractContext): void {
  describe('migrations', () => {
    it('apply once, by name, and a second run applies nothing', async () => {
      const store = await ctx.openOn(await ctx.freshFixture());
      await expect(store.conversations.get('conv_x')).rejects.toMatchObject({ code: 'storage_error' });
      expect(await store.migrate()).toEqual({ applied: ['0001_init', '0002_async', '0003_memory', '0004_async_reliability'] });
      expect(await store.migrate()).toEqual({ applied: [] });
      expect(await store.conversations.get('conv_x')).toBeUndefined();
    });

    it('are safe when two processes migrate the same database at once', async () => {
      const fixture = await ctx.freshFixture();
      const [a, b] = await Promise.all([ctx.openOn(fixture, 'node-a'), ctx.openOn(fixture, 'node-b')]);
      const results = await Promise.all([a.migrate(), b.migrate()]);
      expect(results.flatMap((r) => r.applied)).toEqual(['0001_init', '0002_async', '0003_memory', '0004_async_reliability']);
      const c = makeConversation();
      await a.conversations.create(c);
      expect(await b.conversations.get(c.id)).toEqual(c);
    });
  });

  describe('transactions', () => {
    it('commit every write of the function together', async () => {
      const c = makeConversation();
      const item = makeItem(c.id);
      const result = await ctx.store.transaction(async (tx) => {
        await tx.conversations.create(c);
        await tx.items.append(item);
        return tx.customers.findOrCreate({ phone: '+15550200' }, T0);
      });
      expect(result.id).toMatch(/^cus_/);
      expect(await ctx.store.conversations.get(c.id)).toEqual(c);
      expect(await ctx.store.items.get(item.id)).toEqual(item);
      expect((await ctx.store.customers.findByIdentifier('phone', '+15550200'))?.id).toBe(result.id);
    });

    it('roll back every write when the function throws, passing its error through', async () => {
      const c = makeConversation();
      const boom = new Error('boom');
      const err = await ctx.store
        .transaction(async (tx) => {
          await tx.conversations.create(c);
          await tx.items.append(makeItem(c.id));
          await tx.customers.findOrCreate({ phone: '+15550201' }, T0);
          throw boom;
        })
        .catch((e: unknown) => e);
      expect(err).toBe(boom);
      expect(await ctx.store.conversations.get(c.id)).toBeUndefined();
      expect(await ctx.store.items.list(c.id)).toEqual([]);
      expect(await ctx.store.customers.findByIdentifier('phone', '+15550201')).toBeUndefined();
    });

    it('survive a failed statement inside them', async () => {
      const c = makeConversation();
      await ctx.store.transaction(async (tx) => {
        await tx.conversations.create(c);
        await expect(tx.conversations.create(c)).rejects.toMatchObject({ code: 'storage_error' });
        await tx.items.append(makeItem(c.id, { externalId: 'e1' }));
        expect((await tx.items.append(makeItem(c.id, { externalId: 'e1' }))).created).toBe(false);
      });
      expect(await ctx.store.items.list(c.id)).toHaveLength(1);
    });
  });

  describe('closing', () => {
    it('finishes queued writes, then refuses new ones with a storage_error', async () => {
      const store = await ctx.open('node-closing');
      const c = makeConversation();
      await store.conversations.create(c);
      const pending = store.items.append(makeItem(c.id));
      await store.close();
      expect((await pending).created).toBe(true);
      const err = await store.items.append(makeItem(c.id)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OperatorError);
      expect(err).toMatchObject({ kind: 'server', code: 'storage_error' });
      expect(await ctx.store.items.list(c.id)).toHaveLength(1);
    });
  });

  describe('durability', () => {
    it('keeps every acknowledged append when the process is killed (SIGKILL) mid-stream', async () => {
      const c = makeConversation();
      await ctx.store.conversations.create(c);
      const options = { ...ctx.fixture.options, nodeId: 'node-child' };
      const child = spawn(NODE24, [APPENDER, JSON.stringify(options), c.id], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));

      const acked: string[] = [];
      for await (const line of createInterface({ input: child.stdout })) {
        if (line.startsWith('ack ')) acked.push(line.slice(4));
        if (acked.length >= 500) {
          child.kill('SIGKILL');
          break;
        }
      }
      expect(await exited, stderr).toBe('SIGKILL');
      expect(acked.length).toBeGreaterThanOrEqual(500);

      const reopened = await ctx.open('node-after-crash');
      const stored = new Set((await reopened.items.list(c.id)).map((i) => i.id));
      const lost = acked.filter((id) => !stored.has(id));
      expect(lost).toEqual([]);
    });
  });
}
