/**
 * Memory stores with a tap: `tap` runs before every call (and may act, fail it, or move a clock), so a
 * test can put another actor's work exactly between two steps of the code under test.
 */
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import type {
  GetOptions,
  Item,
  ItemKey,
  QueryOptions,
  QueryResult,
  TransactOp,
} from '../../lambdas/ports/meta-store.ts';
import type { ListOptions, ListResult, RangeOptions } from '../../lambdas/ports/object-store.ts';

export type MetaCall =
  | { op: 'get'; key: ItemKey }
  | { op: 'batchGet'; keys: readonly ItemKey[] }
  | { op: 'query'; pk: string; options: QueryOptions }
  | { op: 'transact'; ops: readonly TransactOp[] };

export class TappedMetaStore extends MemoryMetaStore {
  tap: ((call: MetaCall) => Promise<void>) | undefined;

  override async get(key: ItemKey, options?: GetOptions): Promise<Item | undefined> {
    await this.tap?.({ op: 'get', key });
    return super.get(key, options);
  }
  override async batchGet(keys: readonly ItemKey[], options?: GetOptions): Promise<(Item | undefined)[]> {
    await this.tap?.({ op: 'batchGet', keys });
    return super.batchGet(keys, options);
  }
  override async query(pk: string, options: QueryOptions = {}): Promise<QueryResult> {
    await this.tap?.({ op: 'query', pk, options });
    return super.query(pk, options);
  }
  override async transact(ops: readonly TransactOp[]): Promise<void> {
    await this.tap?.({ op: 'transact', ops });
    return super.transact(ops);
  }
}

export type ObjectCall =
  | { op: 'put'; key: string; stored: boolean }
  | { op: 'get'; key: string }
  | { op: 'delete'; keys: readonly string[] }
  | { op: 'list'; prefix: string };

export class TappedObjectStore extends MemoryObjectStore {
  tap: ((call: ObjectCall) => Promise<void>) | undefined;

  /** A put's tap runs twice: before the object is stored (stored: false) and after (stored: true). */
  override async put(key: string, bytes: Uint8Array): Promise<void> {
    await this.tap?.({ op: 'put', key, stored: false });
    await super.put(key, bytes);
    await this.tap?.({ op: 'put', key, stored: true });
  }
  override async get(key: string, range?: RangeOptions): Promise<Uint8Array> {
    await this.tap?.({ op: 'get', key });
    return super.get(key, range);
  }
  override async delete(keys: readonly string[]): Promise<void> {
    await this.tap?.({ op: 'delete', keys });
    return super.delete(keys);
  }
  override async list(prefix: string, options?: ListOptions): Promise<ListResult> {
    await this.tap?.({ op: 'list', prefix });
    return super.list(prefix, options);
  }
}
