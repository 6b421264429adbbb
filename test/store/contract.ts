import { afterEach, beforeEach, describe } from 'vitest';
import { openStore, type Store, type StoreOptions } from '../../src/store/index.ts';
import { asyncConversationContract } from './contract-async.ts';
import { channelContract } from './contract-channels.ts';
import { conversationContract } from './contract-conversations.ts';
import { customerContract } from './contract-customers.ts';
import { customerLinkContract } from './contract-link.ts';
import { itemContract } from './contract-items.ts';
import { jobContract } from './contract-jobs.ts';
import { lifecycleContract } from './contract-lifecycle.ts';
import { memoryContract } from './contract-memory.ts';
import { upgradeContract } from './contract-upgrade.ts';

/** One database the contract can open any number of stores on (a temp dir, a Postgres schema). */
export interface StoreFixture {
  readonly options: StoreOptions;
  cleanup(): Promise<void>;
}

export type MakeFixture = () => Promise<StoreFixture>;

export interface ContractContext {
  /** A migrated store on this test's database. */
  readonly store: Store;
  readonly fixture: StoreFixture;
  /** Another store on this test's database (closed after the test). */
  open(nodeId?: string): Promise<Store>;
  /** A new, empty, unmigrated database (cleaned up after the test). */
  freshFixture(): Promise<StoreFixture>;
  /** Opens a store on any fixture, closed after the test. */
  openOn(fixture: StoreFixture, nodeId?: string): Promise<Store>;
}

/**
 * The repository contract: every test here runs against every dialect (DESIGN.md: "one
 * repository contract test suite runs against both").
 */
export function describeStoreContract(name: string, makeFixture: MakeFixture): void {
  describe(`store contract: ${name}`, () => {
    const ctx = contractContext(makeFixture);
    lifecycleContract(ctx);
    conversationContract(ctx);
    itemContract(ctx);
    customerContract(ctx);
    customerLinkContract(ctx);
    asyncConversationContract(ctx);
    channelContract(ctx);
    jobContract(ctx);
    memoryContract(ctx);
    upgradeContract(ctx);
  });
}

function contractContext(makeFixture: MakeFixture): ContractContext {
  let fixtures: StoreFixture[] = [];
  let stores: Store[] = [];
  let store: Store | undefined;

  const openOn = async (fixture: StoreFixture, nodeId = 'node-test') => {
    const s = await openStore({ ...fixture.options, nodeId });
    stores.push(s);
    return s;
  };
  const freshFixture = async () => {
    const f = await makeFixture();
    fixtures.push(f);
    return f;
  };

  beforeEach(async () => {
    const fixture = await freshFixture();
    store = await openOn(fixture);
    await store.migrate();
  });

  afterEach(async () => {
    for (const s of stores) await s.close();
    for (const f of fixtures) await f.cleanup();
    stores = [];
    fixtures = [];
    store = undefined;
  });

  return {
    get store() {
      if (store === undefined) throw new Error('no store outside a test');
      return store;
    },
    get fixture() {
      return fixtures[0]!;
    },
    open: (nodeId) => openOn(fixtures[0]!, nodeId),
    freshFixture,
    openOn,
  };
}
