import { ConditionFailedError } from '../core/errors.ts';
import { type Clock, systemClock } from '../ports/clock.ts';
import type {
  GetOptions,
  Item,
  ItemKey,
  MetaStore,
  QueryOptions,
  QueryResult,
  TransactOp,
} from '../ports/meta-store.ts';
import {
  conditionHolds,
  inQueryRange,
  isLive,
  nextVersion,
  opKey,
  validateBatchGet,
  validateKey,
  validateQuery,
  validateTransact,
  withVersion,
} from './meta-rules.ts';

/** MetaStore in a Map, for unit tests and `--memory`. Items are copied in and out, never shared. */
export class MemoryMetaStore implements MetaStore {
  private readonly partitions = new Map<string, Map<string, Item>>();

  constructor(private readonly clock: Clock = systemClock) {}

  private live(key: ItemKey): Item | undefined {
    const item = this.partitions.get(key.pk)?.get(key.sk);
    return item !== undefined && isLive(item, this.clock.now()) ? item : undefined;
  }

  async get(key: ItemKey, _options?: GetOptions): Promise<Item | undefined> {
    validateKey(key);
    const item = this.live(key);
    return item === undefined ? undefined : structuredClone(item);
  }

  async batchGet(keys: readonly ItemKey[], _options?: GetOptions): Promise<(Item | undefined)[]> {
    validateBatchGet(keys);
    return keys.map((key) => {
      const item = this.live(key);
      return item === undefined ? undefined : structuredClone(item);
    });
  }

  async query(pk: string, options: QueryOptions = {}): Promise<QueryResult> {
    validateQuery(pk, options);
    const now = this.clock.now();
    const sorted = [...(this.partitions.get(pk)?.values() ?? [])]
      .filter((item) => isLive(item, now) && inQueryRange(item.sk, options))
      .sort((a, b) => (a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0));
    if (options.reverse) sorted.reverse();
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const items = sorted.slice(0, limit).map((item) => structuredClone(item));
    const last = items.at(-1);
    return sorted.length > limit && last !== undefined ? { items, lastKey: last.sk } : { items };
  }

  async transact(ops: readonly TransactOp[]): Promise<void> {
    validateTransact(ops);
    const failed = ops.flatMap((op, index) => (conditionHolds(op, this.live(opKey(op))) ? [] : [index]));
    if (failed.length > 0) throw new ConditionFailedError(failed);
    for (const op of ops) {
      if (op.type === 'put') {
        const item = withVersion(structuredClone(op.item), nextVersion(op.expect));
        let partition = this.partitions.get(item.pk);
        if (partition === undefined) {
          partition = new Map();
          this.partitions.set(item.pk, partition);
        }
        partition.set(item.sk, item);
      } else if (op.type === 'delete') {
        const partition = this.partitions.get(op.key.pk);
        partition?.delete(op.key.sk);
        if (partition?.size === 0) this.partitions.delete(op.key.pk);
      }
    }
  }

  /** Number of stored items, expired ones included (for tests of TTL clean-up). */
  get size(): number {
    let n = 0;
    for (const partition of this.partitions.values()) n += partition.size;
    return n;
  }
}
