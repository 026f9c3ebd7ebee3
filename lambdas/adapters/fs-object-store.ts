import { randomUUID } from 'node:crypto';
import * as nodeFs from 'node:fs/promises';
import { type FileHandle, open, readdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { uninitializedBytes } from '../../client/wire/bytes.ts';
import { StreamError } from '../core/errors.ts';
import type {
  ListOptions,
  ListResult,
  ObjectGetOptions,
  ObjectStore,
  RangeOptions,
} from '../ports/object-store.ts';
import { checkDurability, DEFAULT_DURABILITY, type Durability } from './durability.ts';
import {
  compareKeys,
  listLimit,
  notFound,
  resolveRange,
  validateObjectKey,
  validatePrefix,
  validateRangeShape,
} from './object-rules.ts';

/** Where half-written objects live until renamed into place; never listed. */
const TEMP_DIR = '.tmp';

/**
 * Read handles kept open at most: an object is read again by each partition whose batches it holds,
 * and by each consumer group reading those offsets.
 */
const READ_HANDLES = 16;
/** A read handle unused for this long is closed (a dropped store's handles with it). */
const READ_HANDLE_IDLE_MS = 2_000;

/** An object file opened for reading, shared by the reads that find it open. */
interface ReadHandle {
  opened: Promise<FileHandle>;
  /** Reads using it now: a retired handle is closed when the last one ends. */
  users: number;
  retired: boolean;
  /** Used since the idle sweep last looked. */
  used: boolean;
  /** Settles once the file is closed (or could not be opened). */
  closed: Promise<void>;
  markClosed(): void;
}

/** A file opened for writing, or a directory opened to be fsynced: what `put` does with a handle. */
export interface WritableFile {
  writeFile(data: Uint8Array): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The filesystem calls `put` makes, node:fs/promises by default. Injectable so that a test can record
 * their order (test/unit/durability.test.ts): a power cut cannot be simulated, the order can be seen.
 */
export interface FsCalls {
  mkdir(path: string, options: { recursive: true }): Promise<string | undefined>;
  open(path: string, flags: 'w' | 'r'): Promise<WritableFile>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: true }): Promise<void>;
}

export interface FsObjectStoreOptions {
  root: string;
  /** `fsync` (default): a put is on the disk when it resolves; `none`: in the page cache only. */
  durability?: Durability;
  fs?: FsCalls;
  /** How long an unused read handle stays open (default READ_HANDLE_IDLE_MS). */
  readHandleIdleMs?: number;
}

/**
 * ObjectStore on a local directory, the embedded backend of `npm start`. A key's '/' segments are
 * directories. Writes go to a temporary file first and are renamed into place, so a reader or a crash
 * never sees half an object. Like S3, a key cannot be both an object and a "directory" of other keys;
 * Streambed's key layout never asks for that.
 *
 * Durability `fsync` (the default; see durability.ts): when `put` resolves, the object's bytes and
 * every directory entry on the path from the root's parent to it are on the disk, so the commit that
 * follows (an index entry naming the key) can never point at a missing or empty file after a power
 * loss. The order that makes it so: write the temporary file, fsync it, rename it into place, fsync
 * the target's directory (the rename is only durable once the directory holding the new name is).
 * A directory the store has not yet seen durable has each entry above it fsynced, up to the root's
 * parent, before the first object goes in: a new file in a directory whose own entry is lost is lost
 * with it. The store owns its root: nothing else removes its directories while it runs.
 *
 * Reads keep the files they open open (at most READ_HANDLES, the least recently used closed first,
 * any closed after READ_HANDLE_IDLE_MS unused): a handle of an immutable object reads the same bytes
 * as a fresh open, without the open and close, two of a ranged read's three trips to libuv's
 * threadpool. A put or delete of a key retires its handle once the new name or the unlink is done, so
 * every read that starts after the put or delete resolves opens the file anew. A read that fails
 * retires the handle it used, and a put that finds a directory removed under the store retires them
 * all. (A delete by another process sharing the root is seen by a kept handle only once it is
 * closed; that process's reads are its own.) After `close`, reads still work, each on a file of its
 * own, closed when it ends.
 */
export class FsObjectStore implements ObjectStore {
  private readonly root: string;
  readonly durability: Durability;
  private readonly fs: FsCalls;
  /**
   * Directories known to exist and, with fsync, whose entries from the root's parent down to them are
   * known to be on the disk, by the work that made them so (concurrent puts into a new directory wait
   * for the same one).
   */
  private readonly directories = new Map<string, Promise<void>>();
  /** Per directory, the fsync running now, and the one that callers arriving during it wait for. */
  private readonly directorySyncs = new Map<string, DirectorySync>();
  /** Open read handles by path, least recently used first. */
  private readonly readHandles = new Map<string, ReadHandle>();
  private idleSweep: NodeJS.Timeout | undefined;
  private readonly readHandleIdleMs: number;
  private closed = false;

  constructor(options: FsObjectStoreOptions) {
    // Absolute, so that the paths mkdir reports compare with the root's.
    this.root = resolve(options.root);
    this.durability = checkDurability(options.durability ?? DEFAULT_DURABILITY);
    this.fs = options.fs ?? nodeFs;
    this.readHandleIdleMs = options.readHandleIdleMs ?? READ_HANDLE_IDLE_MS;
  }

  private path(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    validateObjectKey(key);
    try {
      await this.write(key, bytes);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw translate(error, key);
      // A directory the store knew was removed under it: forget them all, create them again; and
      // the files kept open, which may have gone with it.
      this.directories.clear();
      this.retireReadHandles();
      try {
        await this.write(key, bytes);
      } catch (retryError) {
        throw translate(retryError, key);
      }
    }
  }

  private async write(key: string, bytes: Uint8Array): Promise<void> {
    const target = this.path(key);
    const temp = join(this.root, TEMP_DIR, randomUUID());
    try {
      await this.directory(dirname(temp));
      const dir = dirname(target);
      const known = this.directory(dir);
      await known;
      const file = await this.fs.open(temp, 'w');
      try {
        await file.writeFile(bytes);
        if (this.durability === 'fsync') await file.sync();
      } finally {
        await file.close();
      }
      await this.fs.rename(temp, target);
      this.retireReadHandle(target);
      // The directory may have been created again since it was known (another put found it removed):
      // then this object is in the new one, whose entry must be on the disk before the put resolves.
      if (this.directories.get(dir) !== known) await this.directory(dir);
      // The temporary name's removal from TEMP_DIR needs no fsync: if it were lost, a stray file would
      // be left there, never listed.
      if (this.durability === 'fsync') await this.syncDirectory(dirname(target));
    } catch (error) {
      // A failure after the rename (the directory fsync) leaves an object nothing will point at: the
      // put fails, so no commit names it, and garbage collection removes it like any orphan upload.
      await this.fs.rm(temp, { force: true });
      throw error;
    }
  }

  /**
   * Creates `dir` the first time the store needs it; with fsync, makes sure its entry and its
   * ancestors' are on the disk. Later puts into it make no filesystem call for it at all.
   */
  private directory(dir: string): Promise<void> {
    let ready = this.directories.get(dir);
    if (ready === undefined) {
      ready = this.createDirectory(dir);
      this.directories.set(dir, ready);
      const settled = ready;
      // A failed mkdir or fsync is not remembered: the next put into the directory tries again.
      settled.catch(() => {
        if (this.directories.get(dir) === settled) this.directories.delete(dir);
      });
    }
    return ready;
  }

  private async createDirectory(dir: string): Promise<void> {
    const created = await this.fs.mkdir(dir, { recursive: true });
    if (this.durability === 'fsync') await this.syncAncestors(dir, created);
  }

  /**
   * Fsyncs every directory holding an entry on the way to `dir`: its parent, up to the root's parent
   * (which holds the root's entry), or higher when mkdir had to create directories above the root
   * (`created` is the first directory it created). Done once per directory and process, also for one
   * that already existed: it may have been created by a process that died before syncing it.
   */
  private async syncAncestors(dir: string, created: string | undefined): Promise<void> {
    const createdAboveRoot =
      created !== undefined && (this.root === created || this.root.startsWith(`${created}${sep}`));
    const top = createdAboveRoot ? dirname(created) : dirname(this.root);
    for (let parent = dirname(dir); ; parent = dirname(parent)) {
      await this.syncDirectory(parent);
      if (parent === top || parent === dirname(parent)) break;
    }
  }

  /**
   * Resolves once an fsync of `dir` that began after this call has ended, so it covers every entry
   * changed in `dir` before the call. Callers share fsyncs: with none running, one starts now; while
   * one runs (it may have begun before the caller's change), the caller waits for the next one, which
   * starts when it ends and serves everyone who arrived meanwhile. So N concurrent puts into one
   * directory cost two directory fsyncs, not N.
   */
  private syncDirectory(dir: string): Promise<void> {
    const running = this.directorySyncs.get(dir);
    if (running === undefined) return this.startDirectorySync(dir);
    running.next ??= running.done.then(
      () => this.startDirectorySync(dir),
      () => this.startDirectorySync(dir),
    );
    return running.next;
  }

  private startDirectorySync(dir: string): Promise<void> {
    const done = fsyncDirectory(this.fs, dir);
    const sync: DirectorySync = { done };
    this.directorySyncs.set(dir, sync);
    const finished = () => {
      // With callers waiting for a next fsync, it takes this one's place as soon as it starts.
      if (sync.next === undefined && this.directorySyncs.get(dir) === sync) this.directorySyncs.delete(dir);
    };
    done.then(finished, finished);
    return done;
  }

  async get(key: string, range?: RangeOptions, options: ObjectGetOptions = {}): Promise<Uint8Array> {
    validateObjectKey(key);
    validateRangeShape(key, range);
    const path = this.path(key);
    const entry = this.readHandle(path);
    try {
      const handle = await entry.opened;
      const resolved = async () => resolveRange(key, (await handle.stat()).size, range);
      // A range with both ends names its length (a fetch reads what the index says): it is read
      // without asking the size first; only a file that ends early is measured, to clamp or refuse.
      const { start, end } =
        range?.end === undefined ? await resolved() : { start: range.start ?? 0, end: range.end };
      const buffer = (options.allocate ?? uninitializedBytes)(end - start);
      let filled = 0;
      while (filled < buffer.byteLength) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.byteLength - filled, start + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      if (filled < buffer.byteLength && range?.end !== undefined) await resolved();
      return filled === buffer.byteLength ? buffer : buffer.subarray(0, filled);
    } catch (error) {
      // Whatever failed, the next read opens the file anew rather than trust this handle again.
      this.retireReadHandle(path, entry);
      throw translate(error, key);
    } finally {
      entry.users--;
      if (entry.retired && entry.users === 0) closeQuietly(entry);
    }
  }

  /** The open handle of `path` (opened now if none is), counted as used until the caller's read ends. */
  private readHandle(path: string): ReadHandle {
    const entry = this.readHandles.get(path);
    if (entry === undefined) {
      let markClosed = () => {};
      const closed = new Promise<void>((resolve) => {
        markClosed = resolve;
      });
      const opened = open(path, 'r');
      // After close, a read's file is its own: retired from the start, closed when the read ends.
      const created: ReadHandle = { opened, users: 1, retired: this.closed, used: true, closed, markClosed };
      // A file that cannot be opened (missing, say) is not remembered: the next read tries again.
      opened.catch(() => this.retireReadHandle(path, created));
      if (this.closed) return created;
      this.readHandles.set(path, created);
      for (const [oldest] of this.readHandles) {
        if (this.readHandles.size <= READ_HANDLES) break;
        this.retireReadHandle(oldest);
      }
      this.idleSweep ??= setTimeout(() => this.sweepReadHandles(), this.readHandleIdleMs).unref();
      return created;
    }
    // Most recently used last.
    this.readHandles.delete(path);
    this.readHandles.set(path, entry);
    entry.used = true;
    entry.users++;
    return entry;
  }

  /** Forgets `path`'s handle (only `entry`, when given) and closes it once no read uses it. */
  private retireReadHandle(path: string, entry = this.readHandles.get(path)): void {
    if (entry === undefined || this.readHandles.get(path) !== entry) return;
    this.readHandles.delete(path);
    entry.retired = true;
    if (entry.users === 0) closeQuietly(entry);
  }

  /** Closes the handles no read used since the last sweep; sweeps again while any is open. */
  private sweepReadHandles(): void {
    this.idleSweep = undefined;
    for (const [path, entry] of this.readHandles) {
      if (entry.used) entry.used = false;
      else this.retireReadHandle(path, entry);
    }
    if (this.readHandles.size > 0)
      this.idleSweep = setTimeout(() => this.sweepReadHandles(), this.readHandleIdleMs).unref();
  }

  /** Retires every kept handle. */
  private retireReadHandles(): ReadHandle[] {
    const kept = [...this.readHandles];
    for (const [path, entry] of kept) this.retireReadHandle(path, entry);
    return kept.map(([, entry]) => entry);
  }

  /** Closes the kept files, waiting for the reads using them to end; later reads keep nothing open. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleSweep);
    this.idleSweep = undefined;
    await Promise.all(this.retireReadHandles().map((entry) => entry.closed));
  }

  /**
   * No fsync, whatever the durability: a delete lost to a power cut brings back an object that nothing
   * points at any more (its index entries were removed first), which garbage collection deletes
   * again. Losing it costs disk space for a while, never correctness.
   */
  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) validateObjectKey(key);
    for (const key of keys) {
      try {
        await unlink(this.path(key));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw translate(error, key);
      } finally {
        this.retireReadHandle(this.path(key));
      }
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    validatePrefix(prefix);
    const limit = listLimit(options);
    // Walk only the deepest directory the prefix pins down, then filter by the full prefix.
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const keys: string[] = [];
    await this.walk(base === '' ? this.root : this.path(base), keys);
    const matching = keys
      .filter(
        (key) =>
          key.startsWith(prefix) &&
          (options.startAfter === undefined || compareKeys(key, options.startAfter) > 0),
      )
      .sort(compareKeys);
    const page = matching.slice(0, limit);
    const objects = await Promise.all(
      page.map(async (key) => ({ key, size: (await stat(this.path(key)).catch(() => ({ size: 0 }))).size })),
    );
    const last = page.at(-1);
    return matching.length > limit && last !== undefined ? { objects, next: last } : { objects };
  }

  private async walk(dir: string, keys: string[]): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw translate(error, relative(this.root, dir));
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (dir === this.root && entry.name === TEMP_DIR) continue;
        await this.walk(full, keys);
      } else if (entry.isFile()) {
        keys.push(relative(this.root, full).split(sep).join('/'));
      }
    }
  }
}

interface DirectorySync {
  done: Promise<void>;
  next?: Promise<void>;
}

async function fsyncDirectory(fs: FsCalls, dir: string): Promise<void> {
  // Windows cannot open a directory to flush it; NTFS journals the rename and its directory itself.
  if (process.platform === 'win32') return;
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Closes a retired handle; a read handle's close loses nothing, so its failure is ignored. */
function closeQuietly(entry: ReadHandle): void {
  entry.opened
    .then(
      (handle) => handle.close(),
      () => {},
    )
    .catch(() => {})
    .finally(entry.markClosed);
}

function translate(error: unknown, key: string): StreamError {
  if (error instanceof StreamError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return notFound(key, error);
  if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'ENAMETOOLONG') {
    return new StreamError('INVALID_ARGUMENT', `object key ${key} clashes with the directory layout`, {
      cause: error,
    });
  }
  return new StreamError('UNAVAILABLE', `object store I/O error (${code ?? 'unknown'}) on ${key}`, {
    cause: error,
  });
}
