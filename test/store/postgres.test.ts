import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, it } from 'vitest';
import { describeStoreContract } from './contract.ts';

const url = process.env.OPERATOR_TEST_DATABASE_URL;

if (url === undefined || url === '') {
  console.warn('OPERATOR_TEST_DATABASE_URL is not set: the Postgres store contract suite is skipped.');
  describe.skip('store contract: postgres (set OPERATOR_TEST_DATABASE_URL)', () => {
    it('runs against a real Postgres', () => {});
  });
} else {
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  afterAll(() => admin.end());

  // Each test gets a fresh schema, selected through the connection string's startup options.
  describeStoreContract('postgres', async () => {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    await admin.query(`create schema ${schema}`);
    const options = encodeURIComponent(`-c search_path=${schema}`);
    const databaseUrl = `${url}${url.includes('?') ? '&' : '?'}options=${options}`;
    return {
      options: { databaseUrl, dataDir: '/nonexistent', nodeId: 'node-test' },
      cleanup: async () => {
        await admin.query(`drop schema ${schema} cascade`);
      },
    };
  });
}
