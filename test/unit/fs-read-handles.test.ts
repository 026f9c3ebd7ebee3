/**
 * FsObjectStore keeps the files its reads open open (see the class comment): these tests look at the
 * process's open descriptors (Linux's /proc/self/fd) to see which of the store's files are open, and
 * check that a kept handle never answers for a key that was written or deleted since.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../lambdas/adapters/fs-object-store.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import { canListOpenFiles, openUnder } from '../support/open-files.ts';

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function scratchStore(readHandleIdleMs?: number) {
  const root = mkdtempSync(join(tmpdir(), 'streambed-read-handles-'));
  return { root, store: new FsObjectStore({ root, readHandleIdleMs }) };
}

const bytes = (...values: number[]) => new Uint8Array(values);

describe.skipIf(!canListOpenFiles)('FsObjectStore read handles', () => {
  it('reads an object again through the handle its first read opened', async () => {
    const { root, store } = scratchStore();
    await store.put('t/0/a.sbo', bytes(1, 2, 3, 4));
    for (let i = 0; i < 5; i++)
      expect(await store.get('t/0/a.sbo', { start: 1, end: 3 })).toEqual(bytes(2, 3));
    expect(openUnder(root)).toEqual([join(root, 't', '0', 'a.sbo')]);
    await store.close();
    await until(() => openUnder(root).length === 0, 'close() has closed the handle');
  });

  it('a read after a put of the same key sees the new bytes, not the kept file', async () => {
    const { store } = scratchStore();
    await store.put('t/0/a.sbo', bytes(1, 1, 1));
    expect(await store.get('t/0/a.sbo')).toEqual(bytes(1, 1, 1));
    await store.put('t/0/a.sbo', bytes(2, 2));
    expect(await store.get('t/0/a.sbo')).toEqual(bytes(2, 2));
    expect(await store.get('t/0/a.sbo', { start: 0, end: 2 })).toEqual(bytes(2, 2));
    await store.close();
  });

  it('a read after a delete is NOT_FOUND, though the deleted file was open', async () => {
    const { root, store } = scratchStore();
    await store.put('t/0/a.sbo', bytes(7));
    expect(await store.get('t/0/a.sbo')).toEqual(bytes(7));
    await store.delete(['t/0/a.sbo']);
    const error = await store.get('t/0/a.sbo').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamError);
    expect((error as StreamError).code).toBe('NOT_FOUND');
    // The deleted file's handle is closed: its disk space is not held.
    await until(() => openUnder(root).length === 0, 'the deleted file is closed');
    await store.close();
  });

  it('a key that could not be opened is opened again by the next read', async () => {
    const { store } = scratchStore();
    const missing = await store.get('t/0/later.sbo').catch((e: unknown) => e);
    expect((missing as StreamError).code).toBe('NOT_FOUND');
    await store.put('t/0/later.sbo', bytes(9, 9));
    expect(await store.get('t/0/later.sbo')).toEqual(bytes(9, 9));
    await store.close();
  });

  it('keeps at most 16 files open, the least recently read closed first', async () => {
    const { root, store } = scratchStore();
    const keys = Array.from({ length: 24 }, (_, i) => `t/${i % 3}/o${i}.sbo`);
    for (const key of keys) await store.put(key, bytes(keys.indexOf(key)));
    for (const key of keys) expect(await store.get(key)).toEqual(bytes(keys.indexOf(key)));
    await until(() => openUnder(root).length === 16, 'the oldest handles are closed');
    const open = new Set(openUnder(root));
    for (const key of keys.slice(8)) expect(open.has(join(root, ...key.split('/')))).toBe(true);
    // Every object still reads right, whether its file was kept or opened anew.
    for (const key of [...keys].reverse()) expect(await store.get(key)).toEqual(bytes(keys.indexOf(key)));
    await store.close();
    await until(() => openUnder(root).length === 0, 'close() has closed every handle');
  });

  it('closes a handle no read has used for the idle time, and the read after opens it again', async () => {
    const { root, store } = scratchStore(50);
    await store.put('t/0/a.sbo', bytes(5));
    expect(await store.get('t/0/a.sbo')).toEqual(bytes(5));
    expect(openUnder(root)).toHaveLength(1);
    await until(() => openUnder(root).length === 0, 'the idle handle is closed');
    expect(await store.get('t/0/a.sbo')).toEqual(bytes(5));
    expect(openUnder(root)).toHaveLength(1);
    await store.close();
  });

  it('a read running while the last handle is retired finishes, then the file is closed', async () => {
    const { root, store } = scratchStore();
    const size = 4 * 1024 * 1024;
    await store.put('t/0/big.sbo', new Uint8Array(size).fill(3));
    const reads = Array.from({ length: 4 }, () => store.get('t/0/big.sbo'));
    await store.delete(['t/0/big.sbo']);
    // Reads that began before the delete may see the object (as on S3); none fails midway.
    for (const read of await Promise.allSettled(reads)) {
      if (read.status === 'fulfilled')
        expect(read.value.byteLength === size && read.value.every((byte) => byte === 3)).toBe(true);
      else expect((read.reason as StreamError).code).toBe('NOT_FOUND');
    }
    await until(() => openUnder(root).length === 0, 'the retired handle is closed');
    await store.close();
  });
});
