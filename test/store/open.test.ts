import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SQLITE_FILE, openStore } from '../../src/store/index.ts';

describe('openStore', () => {
  it('refuses a database URL that is not postgres:// as config_invalid', async () => {
    await expect(openStore({ databaseUrl: 'mysql://db/x', dataDir: '/nonexistent', nodeId: 'n' })).rejects.toMatchObject({
      kind: 'invalid_request',
      code: 'config_invalid',
    });
  });

  it('reports an unreachable Postgres as a storage_error at open, not at first use', async () => {
    const err = await openStore({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none', dataDir: '/nonexistent', nodeId: 'n' }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ kind: 'server', code: 'storage_error' });
  });

  it('creates the data folder and <dataDir>/operator.db in WAL mode', async () => {
    const root = await mkdtemp(join(tmpdir(), 'operator-open-'));
    try {
      const dataDir = join(root, 'a', 'b');
      const store = await openStore({ dataDir, nodeId: 'n' });
      expect(store.dialect).toBe('sqlite');
      await store.migrate();
      expect(existsSync(join(dataDir, SQLITE_FILE))).toBe(true);
      expect(existsSync(join(dataDir, `${SQLITE_FILE}-wal`))).toBe(true);
      await store.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reports a data folder it cannot create as a storage_error', async () => {
    const root = await mkdtemp(join(tmpdir(), 'operator-open-'));
    try {
      await writeFile(join(root, 'file'), 'not a folder');
      await expect(openStore({ dataDir: join(root, 'file', 'data'), nodeId: 'n' })).rejects.toMatchObject({
        code: 'storage_error',
      });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
