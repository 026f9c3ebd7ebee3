/**
 * Group commit in the SQLite meta store: transactions that arrive together share one SQLite commit
 * (one WAL fsync), yet each keeps the outcome it would have alone — a failed condition rolls back only
 * its own operations, arrival order decides conflicts, and nothing resolves before the commit that
 * makes it durable.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteMetaStore } from '../../lambdas/adapters/sqlite-meta-store.ts';
import { ConditionFailedError, StreamError } from '../../lambdas/core/errors.ts';
import type { TransactOp } from '../../lambdas/ports/meta-store.ts';

const newStore = (durability?: 'none') =>
  new SqliteMetaStore({
    path: join(mkdtempSync(join(tmpdir(), 'streambed-group-commit-')), 'meta.db'),
    durability,
  });

const put = (sk: string, expect: 'absent' | number, extra: Record<string, string> = {}): TransactOp => ({
  type: 'put',
  item: { pk: 'p', sk, ...extra },
  expect,
});

/** How each promise settled: 'ok' or the error it was rejected with. */
const outcomes = (promises: Promise<void>[]) =>
  Promise.all(
    promises.map((promise) =>
      promise.then(
        () => 'ok' as const,
        (error: unknown) => error,
      ),
    ),
  );

describe('SqliteMetaStore group commit', () => {
  it('commits concurrent transactions together, in one SQLite commit', async () => {
    // Prepare
    const store = newStore();
    const before = store.commits();
    // Act
    const results = await outcomes([0, 1, 2, 3].map((i) => store.transact([put(`k${i}`, 'absent')])));
    // Assess
    expect(results).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(store.commits() - before).toBe(1);
    expect((await store.query('p')).items.map((item) => [item.sk, item.v])).toEqual([
      ['k0', 1],
      ['k1', 1],
      ['k2', 1],
      ['k3', 1],
    ]);
    await store.close();
  });

  it('rolls back only the transaction whose condition fails; it gets the error it gets alone', async () => {
    // Prepare
    const store = newStore();
    await store.transact([put('taken', 'absent')]);
    // Act: the middle transaction writes one item, then fails on its second op
    const results = await outcomes([
      store.transact([put('a', 'absent')]),
      store.transact([put('b', 'absent'), put('taken', 'absent')]),
      store.transact([put('c', 'absent')]),
    ]);
    // Assess
    expect(results[0]).toBe('ok');
    expect(results[1]).toBeInstanceOf(ConditionFailedError);
    expect((results[1] as ConditionFailedError).failedOps).toEqual([1]);
    expect(results[2]).toBe('ok');
    expect((await store.query('p')).items.map((item) => item.sk)).toEqual(['a', 'c', 'taken']);
    await store.close();
  });

  it('applies transactions in arrival order: a later one sees an earlier one of the same group', async () => {
    // Prepare
    const store = newStore();
    // Act: the second expects the version the first creates; the fourth the one the third would
    const first = await outcomes([
      store.transact([put('k', 'absent', { by: 'first' })]),
      store.transact([put('k', 1, { by: 'second' })]),
    ]);
    const second = await outcomes([
      store.transact([put('j', 1, { by: 'fourth' })]),
      store.transact([put('j', 'absent', { by: 'third' })]),
    ]);
    // Assess
    expect(first).toEqual(['ok', 'ok']);
    expect(await store.get({ pk: 'p', sk: 'k' })).toMatchObject({ v: 2, by: 'second' });
    expect(second[0]).toBeInstanceOf(ConditionFailedError);
    expect(second[1]).toBe('ok');
    expect(await store.get({ pk: 'p', sk: 'j' })).toMatchObject({ v: 1, by: 'third' });
    await store.close();
  });

  it('fails every transaction of the group when the commit fails, and keeps none of them', async () => {
    // Prepare: a deferred foreign key that a put of 'poison' breaks, so SQLite refuses the COMMIT
    // itself (the statements all succeed)
    const store = newStore();
    const db = Reflect.get(store, 'db') as Database.Database;
    db.pragma('foreign_keys = ON');
    db.exec(`CREATE TABLE parent (id TEXT PRIMARY KEY);
      CREATE TABLE child (id TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
      CREATE TRIGGER poison AFTER INSERT ON items WHEN NEW.sk = 'poison'
        BEGIN INSERT INTO child VALUES ('missing'); END;`);
    // Act
    const results = await outcomes([
      store.transact([put('a', 'absent')]),
      store.transact([put('poison', 'absent')]),
      store.transact([put('c', 'absent')]),
    ]);
    // Assess: all three fail alike; nothing was committed, and the store still works
    for (const result of results) {
      expect(result).toBeInstanceOf(StreamError);
      expect(result).not.toBeInstanceOf(ConditionFailedError);
      expect((result as StreamError).code).toBe('INTERNAL');
    }
    expect((await store.query('p')).items).toEqual([]);
    await store.transact([put('after', 'absent')]);
    expect((await store.query('p')).items.map((item) => item.sk)).toEqual(['after']);
    await store.close();
  });

  it('resolves a transaction only once its commit is done: a read after it sees it', async () => {
    // Prepare
    const store = newStore();
    // Act
    let committedBeforeResolve = false;
    const done = store.transact([put('k', 'absent')]).then(async () => {
      committedBeforeResolve = (await store.get({ pk: 'p', sk: 'k' })) !== undefined;
    });
    await done;
    // Assess
    expect(committedBeforeResolve).toBe(true);
    await store.close();
  });

  it("groups commits with durability 'none' too", async () => {
    // Prepare
    const store = newStore('none');
    const before = store.commits();
    // Act
    const results = await outcomes([
      store.transact([put('a', 'absent')]),
      store.transact([put('a', 'absent')]),
    ]);
    // Assess
    expect(results[0]).toBe('ok');
    expect(results[1]).toBeInstanceOf(ConditionFailedError);
    expect(store.commits() - before).toBe(1);
    await store.close();
  });

  it('commits what is queued when it is closed', async () => {
    // Prepare
    const path = join(mkdtempSync(join(tmpdir(), 'streambed-group-commit-')), 'meta.db');
    const store = new SqliteMetaStore({ path });
    // Act
    const pending = store.transact([put('k', 'absent')]);
    await store.close();
    await pending;
    // Assess
    const reopened = new SqliteMetaStore({ path });
    expect(await reopened.get({ pk: 'p', sk: 'k' })).toMatchObject({ v: 1 });
    await reopened.close();
  });
});

describe('SqliteMetaStore group commit, under attack', () => {
  it('chains more transactions than one group holds, each conditioned on the one before', async () => {
    // Prepare
    const store = newStore();
    // Act: all issued in one turn, so a full group commits at once and the rest on the next turn
    const results = await outcomes(
      Array.from({ length: 600 }, (_, i) => store.transact([put('k', i === 0 ? 'absent' : i)])),
    );
    // Assess
    expect(results.every((result) => result === 'ok')).toBe(true);
    expect(await store.get({ pk: 'p', sk: 'k' })).toMatchObject({ v: 600 });
    await store.close();
  });

  it('rolls back alone a transaction SQLite refuses midway; one refused by validation never joins the group', async () => {
    // Prepare: a trigger that aborts the statement putting sk 'bad'
    const store = newStore();
    const db = Reflect.get(store, 'db') as Database.Database;
    db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON items WHEN NEW.sk = 'bad'
      BEGIN SELECT RAISE(ABORT, 'refused'); END;`);
    // Act
    const results = await outcomes([
      store.transact([put('a', 'absent')]),
      store.transact([put('b1', 'absent'), put('bad', 'absent')]),
      store.transact([
        put('c1', 'absent'),
        { type: 'put', item: { pk: 'p', sk: 'c2', f: (() => 1) as unknown as string }, expect: 'absent' },
      ]),
      store.transact([put('d', 'absent')]),
    ]);
    // Assess: the two refused transactions leave nothing behind, the others are committed
    expect(results[0]).toBe('ok');
    expect((results[1] as StreamError).code).toBe('INTERNAL');
    expect((results[2] as StreamError).code).toBe('INVALID_ARGUMENT');
    expect(results[3]).toBe('ok');
    expect((await store.query('p')).items.map((item) => item.sk)).toEqual(['a', 'd']);
    await store.close();
  });

  it('answers a whole group UNAVAILABLE, committing none of it, while another connection holds the write lock', async () => {
    // Prepare: a second connection on the same file inside a write transaction
    const path = join(mkdtempSync(join(tmpdir(), 'streambed-group-commit-')), 'meta.db');
    const store = new SqliteMetaStore({ path });
    const other = new SqliteMetaStore({ path });
    const db = Reflect.get(store, 'db') as Database.Database;
    db.pragma('busy_timeout = 10');
    const otherDb = Reflect.get(other, 'db') as Database.Database;
    otherDb.exec('BEGIN IMMEDIATE');
    // Act
    const results = await outcomes([
      store.transact([put('a', 'absent')]),
      store.transact([put('b', 'absent')]),
    ]);
    otherDb.exec('COMMIT');
    // Assess
    for (const result of results) expect((result as StreamError).code).toBe('UNAVAILABLE');
    expect((await other.query('p')).items).toEqual([]);
    await store.transact([put('a', 'absent')]);
    expect(await other.get({ pk: 'p', sk: 'a' })).toMatchObject({ v: 1 });
    await store.close();
    await other.close();
  });

  it('lets one of two stores over one file win a conflicting put made in the same turn', async () => {
    // Prepare
    const path = join(mkdtempSync(join(tmpdir(), 'streambed-group-commit-')), 'meta.db');
    const one = new SqliteMetaStore({ path });
    const two = new SqliteMetaStore({ path });
    // Act
    const results = await outcomes([
      one.transact([put('k', 'absent', { by: 'one' })]),
      two.transact([put('k', 'absent', { by: 'two' })]),
    ]);
    // Assess: exactly one wins, and both stores read the winner at once
    expect(results.filter((result) => result === 'ok')).toHaveLength(1);
    expect(results.filter((result) => result instanceof ConditionFailedError)).toHaveLength(1);
    const winner = results[0] === 'ok' ? 'one' : 'two';
    expect(await one.get({ pk: 'p', sk: 'k' })).toMatchObject({ by: winner });
    expect(await two.get({ pk: 'p', sk: 'k' })).toMatchObject({ by: winner });
    await one.close();
    await two.close();
  });

  it('refuses a transaction made after close, with an error', async () => {
    // Prepare
    const store = newStore();
    await store.close();
    // Act
    const [result] = await outcomes([store.transact([put('k', 'absent')])]);
    // Assess
    expect(result).toBeInstanceOf(StreamError);
  });
});
