import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/executor.ts';
import type { Database } from '../../src/store/schema.ts';
import { GroupCommit } from '../../src/store/group-commit.ts';
import { NodeSqliteDialect, asKyselySqlite, openSqliteFile } from '../../src/store/sqlite.ts';

/** White-box checks of the SQLite write queue: what reaches the database, and when. */
describe('GroupCommit (SQLite)', () => {
  let dir: string;
  let db: Db;
  let queue: GroupCommit;
  /** Every statement the database executed, in order. */
  let log: string[];
  let failOn: string | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'operator-gc-'));
    const raw = asKyselySqlite(openSqliteFile(dir));
    log = [];
    failOn = undefined;
    const recorded = {
      close: () => raw.close(),
      prepare: (text: string) => {
        const stmt = raw.prepare(text);
        const record = () => {
          log.push(text);
          if (failOn !== undefined && text === failOn) throw new Error(`injected failure of ${text}`);
        };
        return {
          reader: stmt.reader,
          all: (p: ReadonlyArray<unknown>) => (record(), stmt.all(p)),
          run: (p: ReadonlyArray<unknown>) => (record(), stmt.run(p)),
          iterate: (p: ReadonlyArray<unknown>) => (record(), stmt.iterate(p)),
        };
      },
    };
    db = new Kysely<Database>({ dialect: new NodeSqliteDialect(recorded) });
    await sql`create table t (id integer primary key, v text not null)`.execute(db);
    queue = new GroupCommit(db, (fn) => fn());
    log = [];
  });

  afterEach(async () => {
    await queue.close();
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  const insert = (id: number) => (d: Db) => sql`insert into t (id, v) values (${id}, 'x')`.execute(d).then(() => id);
  const count = (stmt: string) => log.filter((s) => s === stmt).length;
  const rows = async () => (await sql<{ id: number }>`select id from t order by id`.execute(db)).rows.map((r) => r.id);

  it('commits every write of one macrotask in one transaction, acknowledging after COMMIT', async () => {
    const commitsSeenAtAck: number[] = [];
    const writes = Array.from({ length: 50 }, (_, i) =>
      queue.run(insert(i)).then((id) => {
        commitsSeenAtAck.push(count('commit'));
        return id;
      }),
    );
    expect(await Promise.all(writes)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(count('begin immediate')).toBe(1);
    expect(count('commit')).toBe(1);
    expect(commitsSeenAtAck.every((n) => n === 1)).toBe(true);
    expect(await rows()).toHaveLength(50);
  });

  it('starts a new transaction for writes of a later macrotask', async () => {
    const first = queue.run(insert(1));
    await new Promise((resolve) => setImmediate(resolve));
    const second = queue.run(insert(2));
    await Promise.all([first, second]);
    expect(count('begin immediate')).toBe(2);
    expect(count('commit')).toBe(2);
  });

  it('rolls back only the write that failed', async () => {
    const results = await Promise.allSettled([
      queue.run(insert(1)),
      queue.run(async (d) => {
        await insert(2)(d);
        throw new Error('op failed after writing');
      }),
      queue.run(insert(1)), // primary key conflict
      queue.run(insert(3)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(count('commit')).toBe(1);
    expect(await rows()).toEqual([1, 3]);
  });

  it('rejects every write of a batch whose COMMIT fails, and keeps none of them', async () => {
    failOn = 'commit';
    const results = await Promise.allSettled([queue.run(insert(1)), queue.run(insert(2))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toContain('injected failure of commit');
    failOn = undefined;
    expect(await rows()).toEqual([]);
    // The queue recovers: the next batch commits.
    expect(await queue.run(insert(3))).toBe(3);
    expect(await rows()).toEqual([3]);
  });

  it('runs batches in arrival order', async () => {
    const order: number[] = [];
    const record = (n: number) => async (d: Db) => {
      order.push(n);
      await insert(n)(d);
    };
    const a = [queue.run(record(1)), queue.run(record(2))];
    await new Promise((resolve) => setImmediate(resolve));
    const b = [queue.run(record(3)), queue.run(record(4))];
    await Promise.all([...a, ...b]);
    expect(order).toEqual([1, 2, 3, 4]);
  });
});
