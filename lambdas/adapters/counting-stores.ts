/**
 * Counting wrappers for both ports: what the core asks of storage, call by call. Tests use them to
 * prove the cost invariants (one object PUT per produce request, one two-item transaction per
 * partition); the bench turns the counts into requests and dollars per GiB.
 */
import type {
  GetOptions,
  Item,
  ItemKey,
  MetaStore,
  QueryOptions,
  QueryResult,
  TransactOp,
} from '../ports/meta-store.ts';
import type {
  ListOptions,
  ListResult,
  ObjectGetOptions,
  ObjectStore,
  RangeOptions,
} from '../ports/object-store.ts';

export interface ObjectCounts {
  puts: number;
  putBytes: number;
  gets: number;
  getBytes: number;
  deletes: number;
  deletedKeys: number;
  lists: number;
}

export const noObjectCounts = (): ObjectCounts => ({
  puts: 0,
  putBytes: 0,
  gets: 0,
  getBytes: 0,
  deletes: 0,
  deletedKeys: 0,
  lists: 0,
});

export class CountingObjectStore implements ObjectStore {
  readonly counts: ObjectCounts = noObjectCounts();

  constructor(private readonly inner: ObjectStore) {}

  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.counts.puts++;
    this.counts.putBytes += bytes.byteLength;
    return this.inner.put(key, bytes);
  }

  async get(key: string, range?: RangeOptions, options?: ObjectGetOptions): Promise<Uint8Array> {
    this.counts.gets++;
    const bytes = await this.inner.get(key, range, options);
    this.counts.getBytes += bytes.byteLength;
    return bytes;
  }

  async delete(keys: readonly string[]): Promise<void> {
    this.counts.deletes += Math.ceil(keys.length / 1000);
    this.counts.deletedKeys += keys.length;
    return this.inner.delete(keys);
  }

  async list(prefix: string, options?: ListOptions): Promise<ListResult> {
    this.counts.lists++;
    return this.inner.list(prefix, options);
  }

  reset(): void {
    for (const name of Object.keys(this.counts) as (keyof ObjectCounts)[]) this.counts[name] = 0;
  }
}

export interface MetaCounts {
  gets: number;
  batchGets: number;
  batchGetKeys: number;
  queries: number;
  transacts: number;
  /** Ops per transaction, in call order. */
  transactSizes: number[];
  /** Transactions refused for a condition or contention. */
  conflicts: number;
  /** Transactions that failed for any reason (conflicts included): a retry follows, or an error. */
  failedTransacts: number;
}

export const noMetaCounts = (): MetaCounts => ({
  gets: 0,
  batchGets: 0,
  batchGetKeys: 0,
  queries: 0,
  transacts: 0,
  transactSizes: [],
  conflicts: 0,
  failedTransacts: 0,
});

export class CountingMetaStore implements MetaStore {
  readonly counts: MetaCounts = noMetaCounts();
  /** Every transaction submitted, for assertions on what was written. */
  readonly transactions: TransactOp[][] = [];

  constructor(private readonly inner: MetaStore) {}

  async get(key: ItemKey, options?: GetOptions): Promise<Item | undefined> {
    this.counts.gets++;
    return this.inner.get(key, options);
  }

  async batchGet(keys: readonly ItemKey[], options?: GetOptions): Promise<(Item | undefined)[]> {
    this.counts.batchGets++;
    this.counts.batchGetKeys += keys.length;
    return this.inner.batchGet(keys, options);
  }

  async query(pk: string, options?: QueryOptions): Promise<QueryResult> {
    this.counts.queries++;
    return this.inner.query(pk, options);
  }

  async transact(ops: readonly TransactOp[]): Promise<void> {
    this.counts.transacts++;
    this.counts.transactSizes.push(ops.length);
    this.transactions.push([...ops]);
    try {
      await this.inner.transact(ops);
    } catch (error) {
      this.counts.failedTransacts++;
      if ((error as { code?: string }).code === 'CONFLICT') this.counts.conflicts++;
      throw error;
    }
  }

  reset(): void {
    Object.assign(this.counts, noMetaCounts());
    this.transactions.length = 0;
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
