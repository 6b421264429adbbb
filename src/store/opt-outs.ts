import type { Executor } from './executor.ts';

/** Addresses that asked for no more messages on a channel (SMS STOP). Not erased with a customer. */
export interface OptOutRepository {
  /** Records the opt-out; the first time is kept when set again. */
  set(channel: string, address: string, atMs: number): Promise<void>;
  clear(channel: string, address: string): Promise<void>;
  has(channel: string, address: string): Promise<boolean>;
}

export function optOutRepository(ex: Executor): OptOutRepository {
  return {
    set: (channel, address, atMs) =>
      ex.run('optOuts.set', async () => {
        await ex.write((db) =>
          db
            .insertInto('opt_outs')
            .values({ channel, address, created_at: atMs })
            .onConflict((oc) => oc.columns(['channel', 'address']).doNothing())
            .execute(),
        );
      }),

    clear: (channel, address) =>
      ex.run('optOuts.clear', async () => {
        await ex.write((db) =>
          db.deleteFrom('opt_outs').where('channel', '=', channel).where('address', '=', address).execute(),
        );
      }),

    has: (channel, address) =>
      ex.run('optOuts.has', async () => {
        const row = await ex.db
          .selectFrom('opt_outs')
          .select('created_at')
          .where('channel', '=', channel)
          .where('address', '=', address)
          .executeTakeFirst();
        return row !== undefined;
      }),
  };
}
