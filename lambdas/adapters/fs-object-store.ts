import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { uninitializedBytes } from '../core/bytes.ts';
import { StreamError } from '../core/errors.ts';
import type { ListOptions, ListResult, ObjectStore, RangeOptions } from '../ports/object-store.ts';
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
 * ObjectStore on a local directory, the embedded backend of `npm start`. A key's '/' segments are
 * directories. Writes go to a temporary file first and are renamed into place, so a reader or a crash
 * never sees half an object. Like S3, a key cannot be both an object and a "directory" of other keys;
 * Streambed's key layout never asks for that.
 */
export class FsObjectStore implements ObjectStore {
  private readonly root: string;

  constructor(options: { root: string }) {
    this.root = options.root;
  }

  private path(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    validateObjectKey(key);
    const target = this.path(key);
    const temp = join(this.root, TEMP_DIR, randomUUID());
    try {
      await mkdir(dirname(temp), { recursive: true });
      await mkdir(dirname(target), { recursive: true });
      await writeFile(temp, bytes);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw translate(error, key);
    }
  }

  async get(key: string, range?: RangeOptions): Promise<Uint8Array> {
    validateObjectKey(key);
    validateRangeShape(key, range);
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      handle = await open(this.path(key), 'r');
      const { size } = await handle.stat();
      const { start, end } = resolveRange(key, size, range);
      const buffer = uninitializedBytes(end - start);
      let filled = 0;
      while (filled < buffer.byteLength) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.byteLength - filled, start + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled === buffer.byteLength ? buffer : buffer.subarray(0, filled);
    } catch (error) {
      throw translate(error, key);
    } finally {
      await handle?.close();
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) validateObjectKey(key);
    for (const key of keys) {
      try {
        await unlink(this.path(key));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw translate(error, key);
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
