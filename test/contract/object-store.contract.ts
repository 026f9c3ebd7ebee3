/**
 * The ObjectStore contract, written once and run against every adapter (memory, filesystem, S3 on an
 * emulator, and on LocalStack when there is one). Test names are identical for every adapter.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { StreamError } from '../../lambdas/core/errors.ts';
import type { ObjectStore } from '../../lambdas/ports/object-store.ts';

async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StreamError);
    return (error as StreamError).code;
  }
  throw new Error('expected the call to fail');
}

export function objectStoreContract(adapter: string, setup: () => Promise<ObjectStore>): void {
  describe(`ObjectStore contract: ${adapter}`, () => {
    let store: ObjectStore;
    // Each test writes under its own prefix, so tests never see each other's objects.
    const prefix = () => `t/${randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      store = await setup();
    });

    it('stores bytes and reads them back exactly', async () => {
      const key = `${prefix()}/data/ab/object.sbo`;
      const bytes = new Uint8Array(randomBytes(70_000));
      bytes[0] = 0;
      await store.put(key, bytes);
      const read = await store.get(key);
      expect(read).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(read).equals(Buffer.from(bytes))).toBe(true);
    });

    it('stores and reads an empty object', async () => {
      const key = `${prefix()}/empty`;
      await store.put(key, new Uint8Array(0));
      expect(await store.get(key)).toHaveLength(0);
    });

    it('reads byte ranges, including the last byte, with the end clamped to the size', async () => {
      const key = `${prefix()}/range`;
      const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
      await store.put(key, bytes);
      const slice = async (start?: number, end?: number) => [...(await store.get(key, { start, end }))];
      expect(await slice(0, 10)).toEqual([...bytes.subarray(0, 10)]);
      expect(await slice(500, 600)).toEqual([...bytes.subarray(500, 600)]);
      expect(await slice(999, 1000)).toEqual([bytes[999]]);
      expect(await slice(990)).toEqual([...bytes.subarray(990)]);
      expect(await slice(995, 5000)).toEqual([...bytes.subarray(995)]);
      expect(await slice(undefined, 3)).toEqual([...bytes.subarray(0, 3)]);
      expect(await slice(10, 10)).toEqual([]);
    });

    it('refuses a range that starts past the end of the object', async () => {
      const key = `${prefix()}/range`;
      await store.put(key, new Uint8Array(10));
      expect(await errorCode(store.get(key, { start: 10, end: 20 }))).toBe('INVALID_ARGUMENT');
      expect(await errorCode(store.get(key, { start: 5, end: 2 }))).toBe('INVALID_ARGUMENT');
      expect(await errorCode(store.get(key, { start: -1 }))).toBe('INVALID_ARGUMENT');
    });

    it('reports a missing object as NOT_FOUND, for whole and ranged reads', async () => {
      expect(await errorCode(store.get(`${prefix()}/missing`))).toBe('NOT_FOUND');
      expect(await errorCode(store.get(`${prefix()}/missing`, { start: 0, end: 4 }))).toBe('NOT_FOUND');
    });

    it('replaces an object on a second put of the same key', async () => {
      const key = `${prefix()}/again`;
      await store.put(key, new Uint8Array([1, 2, 3]));
      await store.put(key, new Uint8Array([4]));
      expect([...(await store.get(key))]).toEqual([4]);
    });

    it('refuses keys that are not safe as S3 keys and file paths', async () => {
      for (const key of ['', '/abs', 'a//b', 'a/../b', './a', 'a/', 'a\\b', 'nul\u0000x', 'x'.repeat(1025)]) {
        expect(await errorCode(store.put(key, new Uint8Array(1)))).toBe('INVALID_ARGUMENT');
      }
    });

    it('deletes a batch of keys, missing ones included', async () => {
      const p = prefix();
      await store.put(`${p}/a`, new Uint8Array([1]));
      await store.put(`${p}/b`, new Uint8Array([2]));
      await store.put(`${p}/c`, new Uint8Array([3]));
      await store.delete([`${p}/a`, `${p}/c`, `${p}/never`]);
      expect(await errorCode(store.get(`${p}/a`))).toBe('NOT_FOUND');
      expect([...(await store.get(`${p}/b`))]).toEqual([2]);
      expect((await store.list(`${p}/`)).objects.map((o) => o.key)).toEqual([`${p}/b`]);
      await store.delete([]);
    });

    it('lists keys under a prefix in byte order with sizes, paging with startAfter and limit', async () => {
      // Prepare: keys across nested "directories", and a sibling prefix that must not match
      const p = prefix();
      const keys = [`${p}/data/00/z`, `${p}/data/0a/a`, `${p}/data/ff/m`, `${p}/data/0a/b`, `${p}/index`];
      for (const [i, key] of keys.entries()) await store.put(key, new Uint8Array(i + 1));
      await store.put(`${p}x/other`, new Uint8Array(1));
      const sorted = [...keys].sort();
      // Act
      const all = await store.list(`${p}/`);
      const data = await store.list(`${p}/data/0`);
      const first = await store.list(`${p}/`, { limit: 2 });
      const rest = await store.list(`${p}/`, { startAfter: first.next });
      // Assess
      expect(all.objects.map((o) => o.key)).toEqual(sorted);
      expect(all.objects.find((o) => o.key === `${p}/index`)?.size).toBe(5);
      expect(all.next).toBeUndefined();
      expect(data.objects.map((o) => o.key)).toEqual([`${p}/data/00/z`, `${p}/data/0a/a`, `${p}/data/0a/b`]);
      expect(first.objects.map((o) => o.key)).toEqual(sorted.slice(0, 2));
      expect(first.next).toBe(sorted[1]);
      expect(rest.objects.map((o) => o.key)).toEqual(sorted.slice(2));
      expect((await store.list(`${p}/nothing`)).objects).toEqual([]);
    });

    it('lists past 1000 keys in pages and deletes them all in one call', async () => {
      // Prepare: 1010 objects (S3 returns at most 1000 keys a page and deletes 1000 a call)
      const p = prefix();
      const keys = Array.from({ length: 1010 }, (_, i) => `${p}/k/${String(i).padStart(5, '0')}`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((key) => store.put(key, new Uint8Array([1]))));
      }
      // Act
      const first = await store.list(`${p}/`);
      const second = await store.list(`${p}/`, { startAfter: first.next });
      // Assess
      expect(first.objects).toHaveLength(1000);
      expect(first.next).toBe(keys[999]);
      expect([...first.objects, ...second.objects].map((o) => o.key)).toEqual(keys);
      expect(second.next).toBeUndefined();
      await store.delete(keys);
      expect((await store.list(`${p}/`)).objects).toEqual([]);
    });
  });
}
