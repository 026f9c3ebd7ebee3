/**
 * Power-loss durability of the embedded backend (docs/reliability.md, "Power loss"): what must reach
 * the disk, and in which order, before a write is acknowledged. A power cut cannot be simulated here,
 * so the tests check the one thing that makes the guarantee: every fsync it needs has completed before
 * the call that depends on it resolves. The filesystem calls are recorded through the store's
 * injectable `fs`, never inferred from timing.
 */
import { mkdtempSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { type FsCalls, FsObjectStore, type WritableFile } from '../../lambdas/adapters/fs-object-store.ts';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { SqliteMetaStore } from '../../lambdas/adapters/sqlite-meta-store.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import type { TransactOp } from '../../lambdas/ports/meta-store.ts';
import { createEmbeddedBackend } from '../../lambdas/runtime/backends.ts';
import { parseStartArgs } from '../../lambdas/runtime/server-commands.ts';
import { logFixture, record } from '../support/log-fixture.ts';

const scratch = (name: string) => mkdtempSync(join(tmpdir(), `streambed-${name}-`));

/**
 * node:fs/promises behind a log of what the store asked for, in order: `mkdir`, `open`, `write`,
 * `sync`, `close` name the file or directory, `rename` its target; each fsync is also logged as
 * `begin N path` when asked for and `end N path` when done, N numbering it. `holdSyncs(dir)` keeps
 * every fsync of that directory pending until `release` is called, to see whether anything waits
 * for it.
 */
function recordingFs() {
  const events: string[] = [];
  let held: { dir: string; until: Promise<void> } | undefined;
  let release = () => {};
  let syncs = 0;
  const fs: FsCalls = {
    async mkdir(path, options) {
      events.push(`mkdir ${path}`);
      return fsp.mkdir(path, options);
    },
    rm: (path, options) => fsp.rm(path, options),
    async rename(from, to) {
      await fsp.rename(from, to);
      events.push(`rename ${to}`);
    },
    async open(path, flags) {
      const handle = await fsp.open(path, flags);
      events.push(`open ${path}`);
      const file: WritableFile = {
        async writeFile(data) {
          await handle.writeFile(data);
          events.push(`write ${path}`);
        },
        async sync() {
          const id = ++syncs;
          events.push(`begin ${id} ${path}`);
          if (held !== undefined && held.dir === path) await held.until;
          await handle.sync();
          events.push(`sync ${path}`, `end ${id} ${path}`);
        },
        async close() {
          await handle.close();
          events.push(`close ${path}`);
        },
      };
      return file;
    },
  };
  return {
    fs,
    events,
    holdSyncs(dir: string) {
      held = {
        dir,
        until: new Promise<void>((resolve) => {
          release = resolve;
        }),
      };
    },
    release: () => release(),
  };
}

/** The index in `events` of the first event that starts with `prefix`; fails the test if none does. */
function at(events: readonly string[], prefix: string): number {
  const index = events.findIndex((event) => event.startsWith(prefix));
  expect(index, `no event starting with "${prefix}" in:\n${events.join('\n')}`).toBeGreaterThanOrEqual(0);
  return index;
}

/** A store that has put one object into data/ab (so it knows the directory), with a fresh event log. */
async function storeKnowingDataAb(name: string) {
  const root = scratch(name);
  const recorder = recordingFs();
  const store = new FsObjectStore({ root, fs: recorder.fs });
  await store.put('data/ab/first.sbo', new Uint8Array([1]));
  recorder.events.length = 0;
  return { root, dir: join(root, 'data', 'ab'), recorder, store };
}

describe('FsObjectStore durability', () => {
  it('put fsyncs the object, renames it into place, then fsyncs its directory', async () => {
    // Prepare: a store whose directories already exist
    const root = scratch('durable');
    const recorder = recordingFs();
    const store = new FsObjectStore({ root, fs: recorder.fs });
    await store.put('data/ab/first.sbo', new Uint8Array([1]));
    recorder.events.length = 0;
    // Act
    await store.put('data/ab/object.sbo', new Uint8Array([1, 2, 3]));
    // Assess: the temporary file's bytes are on disk before its name moves, and the new name is
    // on disk (its directory fsynced) before put resolves
    const { events } = recorder;
    const temp = events[at(events, 'write ')]?.slice('write '.length) as string;
    const target = join(root, 'data', 'ab', 'object.sbo');
    expect(events.indexOf(`write ${temp}`)).toBeLessThan(events.indexOf(`sync ${temp}`));
    expect(events.indexOf(`sync ${temp}`)).toBeLessThan(events.indexOf(`rename ${target}`));
    expect(events.indexOf(`rename ${target}`)).toBeLessThan(events.indexOf(`sync ${dirname(target)}`));
    expect(Buffer.from(await fsp.readFile(target))).toEqual(Buffer.from([1, 2, 3]));
  });

  it('put does not resolve until the directory fsync has completed', async () => {
    // Prepare: the fsyncs of the object's directory held back
    const root = scratch('held');
    const recorder = recordingFs();
    const store = new FsObjectStore({ root, fs: recorder.fs });
    await store.put('data/ab/first.sbo', new Uint8Array([1]));
    recorder.holdSyncs(join(root, 'data', 'ab'));
    // Act: start a put and give it every chance to finish
    let resolved = false;
    const put = store.put('data/ab/object.sbo', new Uint8Array([4])).then(() => {
      resolved = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const resolvedWhileHeld = resolved;
    recorder.release();
    await put;
    // Assess
    expect(resolvedWhileHeld).toBe(false);
    expect(resolved).toBe(true);
  });

  it('put into directories it had to create fsyncs each parent up to the root before resolving', async () => {
    // Prepare: a root that does not exist yet, inside a fresh directory
    const parent = scratch('fresh');
    const root = join(parent, 'objects');
    const recorder = recordingFs();
    const store = new FsObjectStore({ root, fs: recorder.fs });
    // Act
    await store.put('data/ab/object.sbo', new Uint8Array([1]));
    // Assess: the entries of objects/ (in parent), data/ (in objects/), ab/ (in data/) and of the
    // object (in ab/) are all on disk
    const { events } = recorder;
    for (const dir of [parent, root, join(root, 'data'), join(root, 'data', 'ab')])
      expect(events, `${dir} was not fsynced`).toContain(`sync ${dir}`);
    // ...and a second put into the same directory syncs only that directory
    recorder.events.length = 0;
    await store.put('data/ab/second.sbo', new Uint8Array([2]));
    expect(events.filter((event) => event.startsWith('sync ') && !event.includes('.tmp'))).toEqual([
      `sync ${join(root, 'data', 'ab')}`,
    ]);
  });

  it('put into a new directory does not resolve until the entries above it are fsynced', async () => {
    // Prepare: the fsyncs of the root (which holds the new data/ directory's entry) held back
    const root = scratch('held-parent');
    const recorder = recordingFs();
    const store = new FsObjectStore({ root, fs: recorder.fs });
    recorder.holdSyncs(root);
    // Act
    let resolved = false;
    const put = store.put('data/ab/object.sbo', new Uint8Array([1])).then(() => {
      resolved = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const resolvedWhileHeld = resolved;
    recorder.release();
    await put;
    // Assess
    expect(resolvedWhileHeld).toBe(false);
    expect(recorder.events).toContain(`sync ${root}`);
  });

  it('a produce commits its index entry only after its object and directory are fsynced', async () => {
    // Prepare: the core log on the fs store, with commits recorded into the same event log
    const recorder = recordingFs();
    const objects = new FsObjectStore({ root: scratch('produce'), fs: recorder.fs });
    const meta = new (class extends MemoryMetaStore {
      override async transact(ops: readonly TransactOp[]): Promise<void> {
        recorder.events.push('commit');
        return super.transact(ops);
      }
    })();
    const fixture = logFixture({ meta, objects });
    await fixture.topics.createTopic('t', 1);
    recorder.events.length = 0;
    // Act
    await fixture.log.produce({ topic: 't', records: [record('v')] });
    // Assess
    const { events } = recorder;
    const temp = events[at(events, 'write ')]?.slice('write '.length) as string;
    const object = events[at(events, 'rename ')]?.slice('rename '.length) as string;
    expect(events.indexOf(`sync ${temp}`)).toBeGreaterThan(at(events, 'write '));
    expect(events.indexOf(`sync ${temp}`)).toBeLessThan(at(events, 'rename '));
    expect(events.indexOf(`sync ${dirname(object)}`)).toBeGreaterThan(at(events, 'rename '));
    expect(events.indexOf(`sync ${dirname(object)}`)).toBeLessThan(at(events, 'commit'));
  });

  it('concurrent puts into one directory share its fsyncs', async () => {
    // Prepare: a store that knows the directory; its fsyncs held until every put has renamed
    const { dir, recorder, store } = await storeKnowingDataAb('shared');
    recorder.holdSyncs(dir);
    // Act
    const puts = Array.from({ length: 8 }, (_, i) =>
      store.put(`data/ab/object-${i}.sbo`, new Uint8Array([i])),
    );
    await vi.waitFor(() =>
      expect(recorder.events.filter((event) => event.startsWith('rename '))).toHaveLength(8),
    );
    recorder.release();
    await Promise.all(puts);
    // Assess: one fsync that was running during the renames, one after them that covers them all
    expect(recorder.events.filter((event) => event === `sync ${dir}`)).toHaveLength(2);
  });

  it('no put resolves before an fsync of its directory that began after its rename has ended', async () => {
    // Prepare
    const { dir, recorder, store } = await storeKnowingDataAb('covered');
    const { events } = recorder;
    const putLogged = (i: number) =>
      store.put(`data/ab/object-${i}.sbo`, new Uint8Array([i])).then(() => {
        events.push(`resolved ${join(dir, `object-${i}.sbo`)}`);
      });
    // Act: puts that rename while an fsync of the directory is held, and puts that start as it ends
    recorder.holdSyncs(dir);
    const early = [0, 1, 2].map(putLogged);
    await vi.waitFor(() => expect(events.filter((event) => event.startsWith('rename '))).toHaveLength(3));
    recorder.release();
    const late = [3, 4, 5].map(putLogged);
    await Promise.all([...early, ...late]);
    // Assess
    for (let i = 0; i < 6; i++) {
      const target = join(dir, `object-${i}.sbo`);
      const renamed = events.indexOf(`rename ${target}`);
      const resolved = events.indexOf(`resolved ${target}`);
      const covering = events.some((event, index) => {
        if (index < renamed || !event.startsWith('begin ') || !event.endsWith(` ${dir}`)) return false;
        const ended = events.indexOf(`end ${event.slice('begin '.length)}`);
        return ended >= 0 && ended < resolved;
      });
      expect(covering, `put ${i} resolved without a covering fsync:\n${events.join('\n')}`).toBe(true);
    }
  });

  it('a put into directories it knows makes no mkdir', async () => {
    // Prepare
    const { recorder, store } = await storeKnowingDataAb('known');
    // Act
    await store.put('data/ab/second.sbo', new Uint8Array([2]));
    // Assess
    expect(recorder.events.filter((event) => event.startsWith('mkdir '))).toEqual([]);
  });

  it('a put into a known directory that was removed creates it again and fsyncs its entry', async () => {
    // Prepare: the directory and its object removed behind the store's back
    const { root, dir, recorder, store } = await storeKnowingDataAb('removed');
    await fsp.rm(dir, { recursive: true });
    // Act
    await store.put('data/ab/second.sbo', new Uint8Array([2]));
    // Assess
    expect(Buffer.from(await fsp.readFile(join(root, 'data', 'ab', 'second.sbo')))).toEqual(Buffer.from([2]));
    expect(recorder.events).toContain(`sync ${join(root, 'data')}`);
    expect(recorder.events).toContain(`sync ${join(root, 'data', 'ab')}`);
  });

  it('a put after the temporary directory was removed creates it again', async () => {
    // Prepare
    const { root, store } = await storeKnowingDataAb('temp-removed');
    await fsp.rm(join(root, '.tmp'), { recursive: true });
    // Act
    await store.put('data/ab/second.sbo', new Uint8Array([2]));
    // Assess
    expect(Buffer.from(await fsp.readFile(join(root, 'data', 'ab', 'second.sbo')))).toEqual(Buffer.from([2]));
  });

  it('a put that renamed into a directory created again meanwhile waits for its new entry to be fsynced', async () => {
    // Prepare: data/ab removed behind the store's back; a put into it (its directory known, from
    // before) held just before its rename, and the fsync of data/ (which holds ab's entry) held
    const { root, dir, recorder } = await storeKnowingDataAb('recreated');
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let atGate = false;
    const fs: FsCalls = {
      ...recorder.fs,
      async rename(from, to) {
        if (to.endsWith('two.sbo')) {
          atGate = true;
          await gate;
        }
        return recorder.fs.rename(from, to);
      },
    };
    const store = new FsObjectStore({ root, fs });
    await store.put('data/ab/first.sbo', new Uint8Array([1]));
    await fsp.rm(dir, { recursive: true });
    const data = join(root, 'data');
    recorder.holdSyncs(data);
    const { events } = recorder;
    events.length = 0;
    // Act: the held put waits at its rename; another put finds the directory gone, creates it again
    // and waits for the fsync of data/; then the held put renames into the new directory
    const two = store.put('data/ab/two.sbo', new Uint8Array([2])).then(() => events.push('resolved two'));
    await vi.waitFor(() => expect(atGate).toBe(true));
    const one = store.put('data/ab/one.sbo', new Uint8Array([1]));
    await vi.waitFor(() =>
      expect(events.some((event) => event.startsWith('begin ') && event.endsWith(` ${data}`))).toBe(true),
    );
    openGate();
    await vi.waitFor(() => expect(events).toContain(`rename ${join(dir, 'two.sbo')}`));
    // A put that does not wait for data/ resolves now (this wait then ends early); one that waits
    // cannot resolve before the release.
    await vi
      .waitFor(() => expect(events).toContain('resolved two'), { timeout: 1_000 })
      .catch(() => undefined);
    recorder.release();
    await Promise.all([one, two]);
    // Assess: the put into the new directory resolved only once the directory's entry was on the disk
    expect(events.indexOf('resolved two'), events.join('\n')).toBeGreaterThan(events.indexOf(`sync ${data}`));
  });

  it("durability 'none' writes without any fsync", async () => {
    // Prepare
    const recorder = recordingFs();
    const store = new FsObjectStore({ root: scratch('none'), durability: 'none', fs: recorder.fs });
    // Act
    await store.put('data/ab/object.sbo', new Uint8Array([1]));
    // Assess
    expect(recorder.events.filter((event) => event.startsWith('sync '))).toEqual([]);
    expect(recorder.events.some((event) => event.startsWith('rename '))).toBe(true);
  });
});

describe('SqliteMetaStore durability', () => {
  it('commits are fsynced (synchronous=FULL), also when the WAL database is reopened', async () => {
    // Prepare: better-sqlite3 opens an existing WAL database with synchronous=NORMAL unless told
    const path = join(scratch('sqlite'), 'meta.db');
    await new SqliteMetaStore({ path }).close();
    // Act
    const store = new SqliteMetaStore({ path });
    const settings = store.settings();
    await store.close();
    // Assess
    expect(settings).toEqual({ journalMode: 'wal', synchronous: 'FULL', fullfsync: true });
  });

  it("durability 'none' keeps WAL with synchronous=NORMAL: consistent, not durable", async () => {
    // Prepare
    const path = join(scratch('sqlite-none'), 'meta.db');
    // Act
    const store = new SqliteMetaStore({ path, durability: 'none' });
    const settings = store.settings();
    await store.close();
    // Assess
    expect(settings).toEqual({ journalMode: 'wal', synchronous: 'NORMAL', fullfsync: false });
  });
});

describe('the embedded backend', () => {
  it('is durable by default: SQLite synchronous=FULL and the object store fsyncs', async () => {
    // Act
    const backend = createEmbeddedBackend({ dataDir: join(scratch('backend'), 'data') });
    // Assess
    expect((backend.meta as SqliteMetaStore).settings().synchronous).toBe('FULL');
    expect((backend.objects as FsObjectStore).durability).toBe('fsync');
    await backend.close();
  });

  it("with durability 'none' neither store fsyncs on each write", async () => {
    // Act
    const backend = createEmbeddedBackend({ dataDir: scratch('backend-none'), durability: 'none' });
    // Assess
    expect((backend.meta as SqliteMetaStore).settings().synchronous).toBe('NORMAL');
    expect((backend.objects as FsObjectStore).durability).toBe('none');
    await backend.close();
  });

  it('refuses an unknown durability with INVALID_ARGUMENT', () => {
    // Act
    let error: unknown;
    try {
      createEmbeddedBackend({ dataDir: scratch('backend-bad'), durability: 'sometimes' as 'none' });
    } catch (thrown) {
      error = thrown;
    }
    // Assess
    expect(error).toBeInstanceOf(StreamError);
    expect((error as StreamError).code).toBe('INVALID_ARGUMENT');
    expect((error as StreamError).message).toBe(`durability must be 'fsync' or 'none', got "sometimes"`);
  });
});

describe('streambed start --no-fsync', () => {
  it('is durable unless --no-fsync is given', () => {
    // Act
    const durable = parseStartArgs([], {});
    const fast = parseStartArgs(['--no-fsync'], {});
    // Assess
    expect(durable.durability).toBe('fsync');
    expect(fast.durability).toBe('none');
  });

  it('refuses --no-fsync where there is nothing to fsync (--memory, --backend aws)', () => {
    // Act + Assess
    expect(() => parseStartArgs(['--memory', '--no-fsync'], {})).toThrow(/--no-fsync/);
    expect(() => parseStartArgs(['--backend', 'aws', '--no-fsync'], {})).toThrow(/--no-fsync/);
  });
});
