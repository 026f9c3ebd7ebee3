/**
 * FsObjectStore's kept read handles, the cases test/unit/fs-read-handles.test.ts leaves out: what
 * `close()` promises, reads after `close()`, objects removed behind the store's back (the case its put
 * already recovers from), and a kept handle whose reads fail.
 */
import { pbkdf2 } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FsObjectStore } from '../../lambdas/adapters/fs-object-store.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import { createEmbeddedBackend } from '../../lambdas/runtime/backends.ts';
import { canListOpenFiles, openUnder } from '../support/open-files.ts';

/** Reads of files whose path is in `failing` fail as a stale descriptor does (NFS's ESTALE). */
const failing = new Set<string>();

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof actual.open = async (path, flags, mode) => {
    const handle = await actual.open(path, flags, mode);
    if (typeof path !== 'string' || !failing.has(path)) return handle;
    // This descriptor stays stale whatever happens next; a new open of the path would not be.
    failing.delete(path);
    const stale = Object.assign(new Error(`ESTALE: stale file handle, read`), { code: 'ESTALE' });
    return new Proxy(handle, {
      get(target, property) {
        if (property === 'read') return async () => Promise.reject(stale);
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
  return { ...actual, open, default: { ...actual, open } };
});

const scratch = () => mkdtempSync(join(tmpdir(), 'streambed-read-handles-faults-'));
const bytes = (...values: number[]) => new Uint8Array(values);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keeps libuv's threadpool busy for a while: file closes queued meanwhile wait for it. */
function busyThreadpool(): Promise<unknown> {
  const jobs = Array.from(
    { length: 8 },
    () => new Promise((resolve) => pbkdf2('x', 'y', 300_000, 32, 'sha256', resolve)),
  );
  return Promise.all(jobs);
}

afterEach(() => failing.clear());

describe.skipIf(!canListOpenFiles)(
  'FsObjectStore read handles: close, removal behind the store, failing reads',
  () => {
    it('await backend.close() has closed the object files its reads opened', async () => {
      const dataDir = scratch();
      const backend = createEmbeddedBackend({ dataDir, durability: 'none' });
      await backend.objects.put('t/0/a.sbo', bytes(1, 2, 3));
      expect(await backend.objects.get('t/0/a.sbo')).toEqual(bytes(1, 2, 3));
      const busy = busyThreadpool();
      await backend.close();
      const left = openUnder(dataDir);
      await busy;
      expect(left).toEqual([]);
    });

    it('a read after close() leaves no descriptor open once it has answered', async () => {
      const root = scratch();
      const store = new FsObjectStore({ root, durability: 'none', readHandleIdleMs: 60_000 });
      await store.put('t/0/a.sbo', bytes(4));
      await store.close();
      expect(await store.get('t/0/a.sbo')).toEqual(bytes(4));
      await sleep(200);
      expect(openUnder(root)).toEqual([]);
    });

    it('a read of an object whose directory was removed behind the store is NOT_FOUND, as list says', async () => {
      const root = scratch();
      const store = new FsObjectStore({ root, durability: 'none' });
      await store.put('data/ab/first.sbo', bytes(1));
      expect(await store.get('data/ab/first.sbo')).toEqual(bytes(1));
      await fsp.rm(join(root, 'data', 'ab'), { recursive: true });
      // The put finds the directory gone and creates it again (its ENOENT path): the store knows.
      await store.put('data/ab/second.sbo', bytes(2));
      expect((await store.list('data/ab/')).objects.map((o) => o.key)).toEqual(['data/ab/second.sbo']);
      const error = await store.get('data/ab/first.sbo').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StreamError);
      expect((error as StreamError).code).toBe('NOT_FOUND');
      await store.close();
    });

    it('a kept handle whose reads fail is dropped: a read after the failure opens the file anew', async () => {
      const root = scratch();
      const store = new FsObjectStore({ root, durability: 'none', readHandleIdleMs: 100 });
      await store.put('t/0/a.sbo', bytes(5, 6));
      failing.add(join(root, 't', '0', 'a.sbo'));
      const first = await store.get('t/0/a.sbo').catch((e: unknown) => e);
      expect((first as StreamError).code).toBe('UNAVAILABLE');
      // Reads keep coming, each within the idle time: the failed handle is never idle.
      const answers: string[] = [];
      for (let i = 0; i < 10; i++) {
        await sleep(50);
        answers.push(
          await store.get('t/0/a.sbo').then(
            (value) => `ok ${[...value].join(',')}`,
            (e: StreamError) => e.code,
          ),
        );
      }
      expect(answers).toEqual(Array(10).fill('ok 5,6'));
      await store.close();
    });
  },
);
