import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStoreContract } from './contract.ts';

describeStoreContract('sqlite', async () => {
  const root = await mkdtemp(join(tmpdir(), 'operator-store-'));
  // A folder that does not exist yet: the store creates it.
  const dataDir = join(root, 'data');
  return {
    options: { dataDir, nodeId: 'node-test' },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
