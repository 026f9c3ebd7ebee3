/**
 * A MetaStore wrapper that counts DynamoDB request units the way DynamoDB on-demand bills them, from
 * the sizes of the items actually read and written (lambdas/adapters/meta-rules.ts `itemSize`, the
 * same size rule the adapters enforce). It sits on top of CountingMetaStore, which counts calls.
 *
 * Billing rules applied (DynamoDB developer guide, "read/write request units"):
 * - GetItem / each BatchGetItem key: ceil(itemSize / 4 KB) units, at least 1 (a missing item costs
 *   the minimum too); strongly consistent = 1 RRU per unit, eventually consistent = 0.5.
 * - Query: the items read are summed first, then ceil(total / 4 KB), at least 1 per call.
 * - TransactWriteItems: each put ceil(itemSize / 1 KB) WRU, x2 because transactional; a delete or a
 *   condition check is counted as one 1 KB item, x2. Transactions refused for a condition are counted
 *   too (conservatively: DynamoDB bills the capacity a cancelled transaction consumed).
 * - TransactGetItems is not used by the core.
 * The size of a put is the new item's size (DynamoDB bills the larger of old and new; the partition
 * item only grows up to its idempotency window, so the difference is at most one 18-byte entry).
 */
import { itemSize } from '../lambdas/adapters/meta-rules.ts';
import type {
  GetOptions,
  Item,
  ItemKey,
  MetaStore,
  QueryOptions,
  QueryResult,
  TransactOp,
} from '../lambdas/ports/meta-store.ts';

const READ_UNIT_BYTES = 4 * 1024;
const WRITE_UNIT_BYTES = 1024;

export interface RequestUnits {
  /** Read request units, strongly and eventually consistent reads priced together. */
  readUnits: number;
  /** Write request units (transactional writes already doubled). */
  writeUnits: number;
  /** Bytes of items read (gets, batch gets, queries). */
  itemBytesRead: number;
  /** Items written by puts. */
  itemsWritten: number;
  /** Largest item written, in bytes (the partition item must stay under 1 KB). */
  largestItemWritten: number;
  queriedItems: number;
}

export const emptyUnits = (): RequestUnits => ({
  readUnits: 0,
  writeUnits: 0,
  itemBytesRead: 0,
  itemsWritten: 0,
  largestItemWritten: 0,
  queriedItems: 0,
});

function sizeOfRead(item: Item | undefined): number {
  if (item === undefined) return 0;
  // itemSize adds the stored version itself; drop `v` so it is not counted twice.
  const { v: _version, ...attributes } = item;
  return itemSize(attributes);
}

const readCost = (bytes: number, options?: GetOptions): number =>
  Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES)) * (options?.consistent ? 1 : 0.5);

export class MeteredMetaStore implements MetaStore {
  units: RequestUnits = emptyUnits();

  constructor(private readonly inner: MetaStore) {}

  /** Returns the units counted since the last reset and starts again from zero. */
  reset(): RequestUnits {
    const units = this.units;
    this.units = emptyUnits();
    return units;
  }

  async get(key: ItemKey, options?: GetOptions): Promise<Item | undefined> {
    const item = await this.inner.get(key, options);
    const bytes = sizeOfRead(item);
    this.units.itemBytesRead += bytes;
    this.units.readUnits += readCost(bytes, options);
    return item;
  }

  async batchGet(keys: readonly ItemKey[], options?: GetOptions): Promise<(Item | undefined)[]> {
    const items = await this.inner.batchGet(keys, options);
    for (const item of items) {
      const bytes = sizeOfRead(item);
      this.units.itemBytesRead += bytes;
      this.units.readUnits += readCost(bytes, options);
    }
    return items;
  }

  async query(pk: string, options?: QueryOptions): Promise<QueryResult> {
    const result = await this.inner.query(pk, options);
    const bytes = result.items.reduce((sum, item) => sum + sizeOfRead(item), 0);
    this.units.itemBytesRead += bytes;
    this.units.queriedItems += result.items.length;
    this.units.readUnits += readCost(bytes, options);
    return result;
  }

  async transact(ops: readonly TransactOp[]): Promise<void> {
    for (const op of ops) {
      if (op.type === 'put') {
        const size = itemSize(op.item);
        this.units.itemsWritten++;
        this.units.largestItemWritten = Math.max(this.units.largestItemWritten, size);
        this.units.writeUnits += 2 * Math.ceil(size / WRITE_UNIT_BYTES);
      } else {
        this.units.writeUnits += 2;
      }
    }
    await this.inner.transact(ops);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
