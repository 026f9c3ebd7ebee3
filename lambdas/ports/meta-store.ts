/**
 * The metadata port: a versioned key-value store shaped like one DynamoDB table.
 *
 * Items are addressed by (pk, sk), ordered by sk within a pk. Every item carries a version `v`; every
 * write is a compare-and-set on it (DESIGN §1.4). Adapters: DynamoDB (production), SQLite (embedded),
 * memory (tests). All of them honour exactly the same contract — test/contract/meta-store.contract.ts.
 *
 * Invariants every adapter keeps:
 * - A put succeeds only if the item is absent (`expect: 'absent'`) or live at exactly version `expect`;
 *   the stored item then has `v = 1` or `expect + 1`.
 * - An item whose `expiresAt` (epoch ms) is not after the store clock's now is absent: readers never see
 *   it and 'absent' conditions hold for it, even before the store deletes it.
 * - `transact` applies all ops or none; when a condition fails, it throws `ConditionFailedError` whose
 *   `failedOps` name the failing ops by index.
 * - DynamoDB's limits hold everywhere (MAX_TRANSACT_OPS, MAX_TRANSACT_BYTES, MAX_ITEM_BYTES, one op per
 *   item per transaction), so local behaviour predicts AWS; breaking one is `INVALID_ARGUMENT`.
 */

/** Attribute values an item may hold. Numbers must be finite; binary travels as Uint8Array. */
export type AttrValue =
  | string
  | number
  | boolean
  | null
  | Uint8Array
  | AttrValue[]
  | { [name: string]: AttrValue };

export interface ItemKey {
  pk: string;
  sk: string;
}

/** The attributes a caller writes; `v` is assigned by the store. */
export interface ItemInput extends ItemKey {
  /** Epoch milliseconds after which the item is treated as absent (and later deleted by TTL). */
  expiresAt?: number;
  [attribute: string]: AttrValue | undefined;
}

/** A stored item as read back. */
export interface Item extends ItemInput {
  v: number;
}

/** Expected state of an item: absent (or expired), or live at exactly this version. */
export type Expectation = 'absent' | number;

export type TransactOp =
  | { type: 'put'; item: ItemInput; expect: Expectation }
  | { type: 'delete'; key: ItemKey; expect?: number }
  | { type: 'check'; key: ItemKey; expect: Expectation };

export interface GetOptions {
  /** Strongly consistent read (DynamoDB's ConsistentRead). Local adapters are always consistent. */
  consistent?: boolean;
}

export interface QueryOptions extends GetOptions {
  /** Lowest sk to return (inclusive). */
  from?: string;
  /** Highest sk to return (inclusive). */
  to?: string;
  /** Continue after this sk (exclusive, in the direction of the scan): a previous page's `lastKey`. */
  startAfter?: string;
  /** At most this many live items; `lastKey` is set when more may follow. */
  limit?: number;
  /** Descending sk order. */
  reverse?: boolean;
}

export interface QueryResult {
  items: Item[];
  /** Set when the limit was reached: pass it as `startAfter` to read the next page. */
  lastKey?: string;
}

export interface MetaStore {
  get(key: ItemKey, options?: GetOptions): Promise<Item | undefined>;
  /** Items in the order of `keys` (undefined where absent). At most MAX_BATCH_GET_KEYS keys per call. */
  batchGet(keys: readonly ItemKey[], options?: GetOptions): Promise<(Item | undefined)[]>;
  query(pk: string, options?: QueryOptions): Promise<QueryResult>;
  transact(ops: readonly TransactOp[]): Promise<void>;
  close?(): Promise<void>;
}

/** DynamoDB: TransactWriteItems takes at most 100 actions. */
export const MAX_TRANSACT_OPS = 100;
/** DynamoDB: the aggregate size of the items in one transaction cannot exceed 4 MB. */
export const MAX_TRANSACT_BYTES = 4 * 1024 * 1024;
/** DynamoDB: an item, names and values included, is at most 400 KB. */
export const MAX_ITEM_BYTES = 400 * 1024;
/** DynamoDB: BatchGetItem takes at most 100 keys. */
export const MAX_BATCH_GET_KEYS = 100;
/** DynamoDB: key attribute values. A partition key is at most 2048 bytes, a sort key 1024. */
export const MAX_PK_BYTES = 2048;
export const MAX_SK_BYTES = 1024;

/** An item's attributes without its version, ready to be written back with a new expectation. */
export function attributesOf(item: Item): ItemInput {
  const { v: _version, ...rest } = item;
  return rest;
}

/**
 * Every live item of a partition key within the query's range, page after page (each page at most
 * `pageSize` items). For item collections the caller knows to be bounded: a topic list, a group, a
 * partition's index.
 */
export async function queryAll(
  meta: MetaStore,
  pk: string,
  options: Omit<QueryOptions, 'startAfter' | 'limit'> & { pageSize?: number } = {},
): Promise<Item[]> {
  const { pageSize = 1000, ...query } = options;
  const items: Item[] = [];
  let startAfter: string | undefined;
  do {
    const page = await meta.query(pk, { ...query, startAfter, limit: pageSize });
    items.push(...page.items);
    startAfter = page.lastKey;
  } while (startAfter !== undefined);
  return items;
}
