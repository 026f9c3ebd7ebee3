/**
 * The MetaStore contract, written once and run against every adapter (memory, SQLite, DynamoDB on
 * DynamoDB Local, and on LocalStack when there is one). Test names are identical for every adapter.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConditionFailedError, StreamError } from '../../lambdas/core/errors.ts';
import { createProducerIds } from '../../lambdas/core/idempotent-producers.ts';
import type { ManualClock } from '../../lambdas/ports/clock.ts';
import type { Item, ItemInput, MetaStore, TransactOp } from '../../lambdas/ports/meta-store.ts';

export interface MetaStoreFixture {
  store: MetaStore;
  /** The clock the store judges expiry by. */
  clock: ManualClock;
}

const put = (item: ItemInput, expect: 'absent' | number = 'absent'): TransactOp => ({
  type: 'put',
  item,
  expect,
});

async function rejection(promise: Promise<unknown>): Promise<StreamError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StreamError);
    return error as StreamError;
  }
  throw new Error('expected the call to fail');
}

export function metaStoreContract(adapter: string, setup: () => Promise<MetaStoreFixture>): void {
  describe(`MetaStore contract: ${adapter}`, () => {
    let store: MetaStore;
    let clock: ManualClock;
    // Each test works under its own partition keys, so tests never see each other's items.
    const pk = (name = 'p') => `${name}#${randomUUID()}`;

    beforeAll(async () => {
      ({ store, clock } = await setup());
    });

    it('returns undefined for an absent item', async () => {
      expect(await store.get({ pk: pk(), sk: 'meta' })).toBeUndefined();
    });

    it('stores every attribute type and reads it back exactly, at version 1', async () => {
      // Prepare
      const item: ItemInput = {
        pk: pk(),
        sk: 'meta',
        text: 'héllo ✓',
        count: 42,
        big: 2 ** 52 + 1,
        negative: -7.25,
        flag: false,
        nothing: null,
        bytes: new Uint8Array([0, 1, 254, 255]),
        empty: '',
        list: [1, 'two', { three: 3 }, new Uint8Array([9])],
        map: { a: 1, nested: { b: [true, null] } },
      };
      // Act
      await store.transact([put(item)]);
      const read = await store.get(item, { consistent: true });
      // Assess
      expect(read).toEqual({ ...item, v: 1 });
      expect(read?.bytes).toBeInstanceOf(Uint8Array);
    });

    it('drops undefined attributes instead of storing them', async () => {
      const key = { pk: pk(), sk: 'meta' };
      await store.transact([put({ ...key, kept: 1, dropped: undefined })]);
      const read = await store.get(key);
      expect(read).toEqual({ ...key, v: 1, kept: 1 });
      expect(read !== undefined && 'dropped' in read).toBe(false);
    });

    it('put with expect absent fails when the item exists, naming the op', async () => {
      const key = { pk: pk(), sk: 'meta' };
      await store.transact([put({ ...key, n: 1 })]);
      const error = await rejection(store.transact([put({ ...key, n: 2 })]));
      expect(error).toBeInstanceOf(ConditionFailedError);
      expect(error).toMatchObject({ code: 'CONFLICT', retriable: true, failedOps: [0], reason: 'condition' });
      expect(await store.get(key)).toEqual({ ...key, v: 1, n: 1 });
    });

    it('put with the current version replaces the item and bumps the version', async () => {
      const key = { pk: pk(), sk: 'meta' };
      await store.transact([put({ ...key, n: 1, gone: 'x' })]);
      await store.transact([put({ ...key, n: 2 }, 1)]);
      await store.transact([put({ ...key, n: 3 }, 2)]);
      expect(await store.get(key, { consistent: true })).toEqual({ ...key, v: 3, n: 3 });
    });

    it('put with a stale version or on an absent item fails and changes nothing', async () => {
      const key = { pk: pk(), sk: 'meta' };
      await store.transact([put({ ...key, n: 1 })]);
      await store.transact([put({ ...key, n: 2 }, 1)]);
      await expect(store.transact([put({ ...key, n: 99 }, 1)])).rejects.toMatchObject({ failedOps: [0] });
      const absent = { pk: pk(), sk: 'meta' };
      await expect(store.transact([put({ ...absent, n: 1 }, 1)])).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      expect(await store.get(key)).toEqual({ ...key, v: 2, n: 2 });
      expect(await store.get(absent)).toBeUndefined();
    });

    it('delete honours its expected version; an unconditional delete of an absent item succeeds', async () => {
      const key = { pk: pk(), sk: 'meta' };
      await store.transact([put({ ...key, n: 1 })]);
      await expect(store.transact([{ type: 'delete', key, expect: 2 }])).rejects.toMatchObject({
        failedOps: [0],
      });
      expect(await store.get(key)).toBeDefined();
      await store.transact([{ type: 'delete', key, expect: 1 }]);
      expect(await store.get(key)).toBeUndefined();
      await store.transact([{ type: 'delete', key: { pk: pk(), sk: 'none' } }]);
    });

    it('check ops gate a transaction without writing', async () => {
      const guard = { pk: pk(), sk: 'guard' };
      const target = { pk: guard.pk, sk: 'target' };
      await store.transact([put({ ...guard, n: 1 })]);
      await store.transact([{ type: 'check', key: guard, expect: 1 }, put({ ...target, n: 1 })]);
      expect(await store.get(guard)).toEqual({ ...guard, v: 1, n: 1 });
      await expect(
        store.transact([{ type: 'check', key: guard, expect: 'absent' }, put({ ...target, n: 2 }, 1)]),
      ).rejects.toMatchObject({ code: 'CONFLICT', failedOps: [0] });
      expect(await store.get(target)).toEqual({ ...target, v: 1, n: 1 });
    });

    it('applies all ops of a transaction or none, identifying the failing op', async () => {
      // Prepare: three items at version 1
      const p = pk();
      const keys = ['a', 'b', 'c'].map((sk) => ({ pk: p, sk }));
      await store.transact(keys.map((key) => put({ ...key, n: 1 })));
      // Act: ops 0 and 1 are valid, op 2 expects a version that does not exist
      const error = await rejection(
        store.transact([
          put({ ...keys[0]!, n: 2 }, 1),
          { type: 'delete', key: keys[1]!, expect: 1 },
          put({ ...keys[2]!, n: 2 }, 7),
          put({ pk: p, sk: 'd', n: 1 }),
        ]),
      );
      // Assess
      expect(error).toBeInstanceOf(ConditionFailedError);
      expect((error as ConditionFailedError).failedOps).toEqual([2]);
      const { items } = await store.query(p, { consistent: true });
      expect(items).toEqual(keys.map((key) => ({ ...key, v: 1, n: 1 })));
    });

    it('lets exactly one of several concurrent writers win each round, losing no update', async () => {
      const key = { pk: pk(), sk: 'counter' };
      await store.transact([put({ ...key, n: 0 })]);
      const writers = 8;
      const rounds = 4;
      for (let round = 0; round < rounds; round++) {
        const current = (await store.get(key, { consistent: true })) as Item;
        const outcomes = await Promise.allSettled(
          Array.from({ length: writers }, (_, w) =>
            store.transact([put({ ...key, n: (current.n as number) + 1, by: w }, current.v)]),
          ),
        );
        const won = outcomes.filter((o) => o.status === 'fulfilled').length;
        const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
        expect(won).toBe(1);
        for (const reason of lost) expect(reason).toBeInstanceOf(ConditionFailedError);
      }
      expect(await store.get(key, { consistent: true })).toMatchObject({ n: rounds, v: rounds + 1 });
    });

    it('read-modify-write loops of concurrent writers lose no increment', async () => {
      const key = { pk: pk(), sk: 'counter' };
      await store.transact([put({ ...key, n: 0 })]);
      const increment = async () => {
        for (;;) {
          const current = (await store.get(key, { consistent: true })) as Item;
          try {
            await store.transact([put({ ...key, n: (current.n as number) + 1 }, current.v)]);
            return;
          } catch (error) {
            if (!(error instanceof ConditionFailedError)) throw error;
          }
        }
      };
      await Promise.all(
        Array.from({ length: 6 }, () => Promise.all([increment(), increment(), increment()])),
      );
      expect(await store.get(key, { consistent: true })).toMatchObject({ n: 18, v: 19 });
    });

    it("hands concurrent callers of Kafka's InitProducerId distinct producer ids", async () => {
      // Two services over one store, as two servers over one backend (idempotent-producers.ts).
      const [one, two] = [
        createProducerIds({ meta: store, clock }),
        createProducerIds({ meta: store, clock }),
      ];
      const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? one : two)()));
      expect(new Set(ids.map((id) => id.producerId)).size).toBe(12);
      expect(ids.every((id) => id.producerEpoch === 0)).toBe(true);
    });

    describe('query', () => {
      const p = `q#${randomUUID()}`;
      const sks = Array.from({ length: 12 }, (_, i) => `b#${String(i * 10).padStart(20, '0')}`);
      beforeAll(async () => {
        await store.transact([
          ...sks.map((sk, i) => put({ pk: p, sk, i })),
          put({ pk: p, sk: 'meta', i: -1 }),
        ]);
      });

      it('returns a partition in ascending sk order', async () => {
        const { items, lastKey } = await store.query(p);
        expect(items.map((item) => item.sk)).toEqual([...sks, 'meta']);
        expect(lastKey).toBeUndefined();
      });

      it('honours inclusive from/to bounds', async () => {
        const { items } = await store.query(p, { from: sks[2], to: sks[5] });
        expect(items.map((item) => item.i)).toEqual([2, 3, 4, 5]);
      });

      it('reads in reverse with a limit: the last entry at or below a key', async () => {
        const target = `b#${String(57).padStart(20, '0')}`;
        const { items } = await store.query(p, { from: 'b#', to: target, reverse: true, limit: 1 });
        expect(items.map((item) => item.i)).toEqual([5]);
      });

      it('pages with limit and lastKey in both directions', async () => {
        const forward: number[] = [];
        let page = await store.query(p, { from: 'b#', to: 'b#~', limit: 5 });
        for (;;) {
          forward.push(...page.items.map((item) => item.i as number));
          if (page.lastKey === undefined) break;
          expect(page.items).toHaveLength(5);
          page = await store.query(p, { from: 'b#', to: 'b#~', limit: 5, startAfter: page.lastKey });
        }
        expect(forward).toEqual(sks.map((_, i) => i));
        const first = await store.query(p, { to: 'b#~', reverse: true, limit: 4 });
        const second = await store.query(p, {
          to: 'b#~',
          reverse: true,
          limit: 4,
          startAfter: first.lastKey,
        });
        expect([...first.items, ...second.items].map((item) => item.i)).toEqual([11, 10, 9, 8, 7, 6, 5, 4]);
      });

      it('returns nothing for an empty range or unknown partition', async () => {
        expect((await store.query(p, { from: 'x', to: 'y' })).items).toEqual([]);
        expect((await store.query(`none#${randomUUID()}`)).items).toEqual([]);
      });

      it('reads past a storage page (over 1 MB of items) in order', async () => {
        const big = pk('big');
        const filler = 'x'.repeat(60 * 1024);
        const count = 20; // 20 × 60 KiB ≈ 1.2 MB: more than one DynamoDB query page
        for (let start = 0; start < count; start += 10) {
          const ops = Array.from({ length: 10 }, (_, i) =>
            put({ pk: big, sk: `s#${String(start + i).padStart(4, '0')}`, filler }),
          );
          await store.transact(ops);
        }
        const { items, lastKey } = await store.query(big);
        expect(items.map((item) => item.sk)).toEqual(
          Array.from({ length: count }, (_, i) => `s#${String(i).padStart(4, '0')}`),
        );
        expect(lastKey).toBeUndefined();
        const limited = await store.query(big, { limit: 17 });
        expect(limited.items).toHaveLength(17);
        expect(limited.lastKey).toBe('s#0016');
      });
    });

    describe('batchGet', () => {
      it('returns items in the order of the keys, undefined where absent', async () => {
        const p = pk();
        await store.transact([put({ pk: p, sk: 'a', n: 1 }), put({ pk: p, sk: 'c', n: 3 })]);
        const items = await store.batchGet([
          { pk: p, sk: 'c' },
          { pk: p, sk: 'b' },
          { pk: p, sk: 'a' },
        ]);
        expect(items.map((item) => item?.n)).toEqual([3, undefined, 1]);
      });

      it('reads up to 100 keys at once and refuses more', async () => {
        const p = pk();
        const keys = Array.from({ length: 100 }, (_, i) => ({ pk: p, sk: `k${String(i).padStart(3, '0')}` }));
        await store.transact(keys.map((key, i) => put({ ...key, i })));
        const items = await store.batchGet(keys, { consistent: true });
        expect(items.map((item) => item?.i)).toEqual(keys.map((_, i) => i));
        const error = await rejection(store.batchGet([...keys, { pk: p, sk: 'k100' }]));
        expect(error.code).toBe('INVALID_ARGUMENT');
      });

      it('returns an empty list for no keys', async () => {
        expect(await store.batchGet([])).toEqual([]);
      });
    });

    describe('TTL', () => {
      it('treats an expired item as absent for every reader, before the store deletes it', async () => {
        // Prepare: one item expiring in a minute, one that never expires
        const p = pk();
        const expiring = { pk: p, sk: 'a', expiresAt: clock.now() + 60_000 };
        await store.transact([put(expiring), put({ pk: p, sk: 'b' })]);
        expect(await store.get(expiring)).toEqual({ ...expiring, v: 1 });
        // Act
        clock.advance(60_000);
        // Assess
        expect(await store.get(expiring)).toBeUndefined();
        expect(await store.batchGet([expiring])).toEqual([undefined]);
        expect((await store.query(p)).items.map((item) => item.sk)).toEqual(['b']);
        expect((await store.query(p, { limit: 1 })).items.map((item) => item.sk)).toEqual(['b']);
      });

      it("lets 'absent' conditions hold for an expired item and version conditions fail", async () => {
        const key = { pk: pk(), sk: 'lease' };
        await store.transact([put({ ...key, owner: 'a', expiresAt: clock.now() + 1_000 })]);
        await expect(store.transact([put({ ...key, owner: 'b' })])).rejects.toBeInstanceOf(
          ConditionFailedError,
        );
        clock.advance(1_001);
        await expect(store.transact([put({ ...key, owner: 'b' }, 1)])).rejects.toBeInstanceOf(
          ConditionFailedError,
        );
        await store.transact([put({ ...key, owner: 'b', expiresAt: clock.now() + 1_000 })]);
        expect(await store.get(key)).toMatchObject({ owner: 'b', v: 1 });
      });
    });

    describe("DynamoDB's limits", () => {
      it('refuses a transaction of more than 100 ops and applies none', async () => {
        const p = pk();
        const ops = Array.from({ length: 101 }, (_, i) => put({ pk: p, sk: `k${i}` }));
        const error = await rejection(store.transact(ops));
        expect(error.code).toBe('INVALID_ARGUMENT');
        expect((await store.query(p)).items).toEqual([]);
        await store.transact(ops.slice(0, 100));
        expect((await store.query(p)).items).toHaveLength(100);
      });

      it('refuses an item over 400 KB', async () => {
        const key = { pk: pk(), sk: 'meta' };
        const error = await rejection(store.transact([put({ ...key, blob: new Uint8Array(400 * 1024) })]));
        expect(error.code).toBe('INVALID_ARGUMENT');
        expect(await store.get(key)).toBeUndefined();
        await store.transact([put({ ...key, blob: new Uint8Array(399 * 1024) })]);
        expect((await store.get(key))?.blob).toHaveLength(399 * 1024);
      });

      it('refuses a transaction over 4 MB', async () => {
        const p = pk();
        const blob = new Uint8Array(390 * 1024);
        const ops = Array.from({ length: 11 }, (_, i) => put({ pk: p, sk: `k${i}`, blob }));
        const error = await rejection(store.transact(ops));
        expect(error.code).toBe('INVALID_ARGUMENT');
        expect((await store.query(p)).items).toEqual([]);
      });

      it('refuses two ops on one item, an empty transaction, reserved names and bad versions', async () => {
        const key = { pk: pk(), sk: 'meta' };
        const cases: TransactOp[][] = [
          [put(key), { type: 'check', key, expect: 'absent' }],
          [],
          [put({ ...key, ttl: 5 })],
          [put(key, 0)],
          [put({ ...key, sk: '' })],
          [put({ ...key, n: Number.NaN })],
        ];
        for (const ops of cases) {
          expect((await rejection(store.transact(ops))).code).toBe('INVALID_ARGUMENT');
        }
        expect(await store.get(key)).toBeUndefined();
      });
    });
  });
}
