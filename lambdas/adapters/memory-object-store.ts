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

/** ObjectStore in a Map, for unit tests and `--memory`. */
export class MemoryObjectStore implements ObjectStore {
  private readonly objects = new Map<string, Uint8Array>();

  async put(key: string, bytes: Uint8Array): Promise<void> {
    validateObjectKey(key);
    this.objects.set(key, Uint8Array.from(bytes));
  }

  async get(key: string, range?: RangeOptions): Promise<Uint8Array> {
    validateObjectKey(key);
    validateRangeShape(key, range);
    const bytes = this.objects.get(key);
    if (bytes === undefined) throw notFound(key);
    const { start, end } = resolveRange(key, bytes.byteLength, range);
    return bytes.slice(start, end);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) validateObjectKey(key);
    for (const key of keys) this.objects.delete(key);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    validatePrefix(prefix);
    const limit = listLimit(options);
    const keys = [...this.objects.keys()]
      .filter(
        (key) =>
          key.startsWith(prefix) &&
          (options.startAfter === undefined || compareKeys(key, options.startAfter) > 0),
      )
      .sort(compareKeys);
    const page = keys.slice(0, limit);
    const objects = page.map((key) => ({ key, size: this.objects.get(key)?.byteLength ?? 0 }));
    const last = page.at(-1);
    return keys.length > limit && last !== undefined ? { objects, next: last } : { objects };
  }
}
