/**
 * Rules every MetaStore adapter enforces identically: DynamoDB's limits and the port's validity
 * checks. Running them before touching storage means a local store rejects exactly what DynamoDB would.
 */
import { StreamError } from '../core/errors.ts';
import {
  type AttrValue,
  type Item,
  type ItemInput,
  type ItemKey,
  MAX_BATCH_GET_KEYS,
  MAX_ITEM_BYTES,
  MAX_PK_BYTES,
  MAX_SK_BYTES,
  MAX_TRANSACT_BYTES,
  MAX_TRANSACT_OPS,
  type QueryOptions,
  type TransactOp,
} from '../ports/meta-store.ts';

/** Attribute names the stores use themselves; callers cannot write them. */
const RESERVED = new Set(['v', 'ttl']);

const invalid = (message: string) => new StreamError('INVALID_ARGUMENT', message);
const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');

/** Live means not expired: an item expiring at or before `nowMs` is absent for every reader. */
export function isLive(item: { expiresAt?: number }, nowMs: number): boolean {
  return item.expiresAt === undefined || item.expiresAt > nowMs;
}

export function keyId(key: ItemKey): string {
  return `${key.pk}\u0000${key.sk}`;
}

export function validateKey(key: ItemKey): void {
  if (typeof key.pk !== 'string' || key.pk.length === 0 || utf8Length(key.pk) > MAX_PK_BYTES) {
    throw invalid(`pk must be a non-empty string of at most ${MAX_PK_BYTES} bytes`);
  }
  if (typeof key.sk !== 'string' || key.sk.length === 0 || utf8Length(key.sk) > MAX_SK_BYTES) {
    throw invalid(`sk must be a non-empty string of at most ${MAX_SK_BYTES} bytes (pk ${key.pk})`);
  }
}

/** Size of a number as DynamoDB bills it: about one byte per two significant digits, plus one. */
function numberSize(n: number): number {
  const digits = Math.abs(n).toExponential().replace(/e.*$/, '').replace('.', '').length;
  return Math.min(21, Math.ceil(digits / 2) + 1);
}

function valueSize(value: AttrValue, path: string): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return utf8Length(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(`attribute ${path} is not a finite number`);
    return numberSize(value);
  }
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) {
    return value.reduce<number>((sum, element, i) => sum + 1 + valueSize(element, `${path}[${i}]`), 3);
  }
  if (typeof value === 'object') {
    let size = 3;
    for (const [name, element] of Object.entries(value)) {
      if (element === undefined) throw invalid(`attribute ${path}.${name} is undefined`);
      size += utf8Length(name) + 1 + valueSize(element, `${path}.${name}`);
    }
    return size;
  }
  throw invalid(`attribute ${path} has an unsupported type ${typeof value}`);
}

/** DynamoDB's size of an item: attribute names plus values (the stored version number included). */
export function itemSize(item: ItemInput): number {
  let size = utf8Length('v') + 21;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += utf8Length(name) + valueSize(value, name);
  }
  return size;
}

/** Validates an item for writing and returns its size. */
export function validateItem(item: ItemInput): number {
  validateKey(item);
  for (const name of Object.keys(item)) {
    if (RESERVED.has(name))
      throw invalid(`attribute name ${name} is reserved (pk ${item.pk}, sk ${item.sk})`);
  }
  if (
    item.expiresAt !== undefined &&
    (typeof item.expiresAt !== 'number' || !Number.isFinite(item.expiresAt))
  ) {
    throw invalid(`expiresAt must be epoch milliseconds (pk ${item.pk}, sk ${item.sk})`);
  }
  const size = itemSize(item);
  if (size > MAX_ITEM_BYTES) {
    throw invalid(`item ${item.pk} / ${item.sk} is ${size} bytes; the limit is ${MAX_ITEM_BYTES}`);
  }
  return size;
}

function validateExpect(expect: unknown, where: string): void {
  if (expect === 'absent') return;
  if (typeof expect !== 'number' || !Number.isInteger(expect) || expect < 1) {
    throw invalid(`${where}: expect must be 'absent' or a version (integer >= 1)`);
  }
}

export function opKey(op: TransactOp): ItemKey {
  return op.type === 'put' ? op.item : op.key;
}

/** Checks a transaction against DynamoDB's rules before anything is applied. */
export function validateTransact(ops: readonly TransactOp[]): void {
  if (ops.length === 0) throw invalid('a transaction needs at least one op');
  if (ops.length > MAX_TRANSACT_OPS) {
    throw invalid(`a transaction holds at most ${MAX_TRANSACT_OPS} ops, got ${ops.length}`);
  }
  const seen = new Set<string>();
  let bytes = 0;
  ops.forEach((op, index) => {
    const key = opKey(op);
    validateKey(key);
    const id = keyId(key);
    if (seen.has(id)) throw invalid(`op ${index}: a transaction touches item ${key.pk} / ${key.sk} twice`);
    seen.add(id);
    if (op.type === 'put') {
      validateExpect(op.expect, `op ${index}`);
      bytes += validateItem(op.item);
    } else if (op.type === 'check') {
      validateExpect(op.expect, `op ${index}`);
    } else if (op.type === 'delete') {
      if (op.expect !== undefined) validateExpect(op.expect, `op ${index}`);
    } else {
      throw invalid(`op ${index}: unknown op type`);
    }
  });
  if (bytes > MAX_TRANSACT_BYTES) {
    throw invalid(`a transaction writes at most ${MAX_TRANSACT_BYTES} bytes, got ${bytes}`);
  }
}

/** Whether an op's condition holds against the current live item (undefined when absent or expired). */
export function conditionHolds(op: TransactOp, current: Item | undefined): boolean {
  const expect = op.expect;
  if (expect === undefined) return true;
  if (expect === 'absent') return current === undefined;
  return current !== undefined && current.v === expect;
}

/** The version a put stores. */
export function nextVersion(expect: 'absent' | number): number {
  return expect === 'absent' ? 1 : expect + 1;
}

export function validateBatchGet(keys: readonly ItemKey[]): void {
  if (keys.length > MAX_BATCH_GET_KEYS) {
    throw invalid(`batchGet takes at most ${MAX_BATCH_GET_KEYS} keys, got ${keys.length}`);
  }
  for (const key of keys) validateKey(key);
}

export function validateQuery(pk: string, options: QueryOptions): void {
  if (typeof pk !== 'string' || pk.length === 0) throw invalid('query needs a non-empty pk');
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
    throw invalid(`query limit must be a positive integer, got ${options.limit}`);
  }
}

/** Whether `sk` lies inside the query's range and after its `startAfter` cursor. */
export function inQueryRange(sk: string, options: QueryOptions): boolean {
  if (options.from !== undefined && sk < options.from) return false;
  if (options.to !== undefined && sk > options.to) return false;
  if (options.startAfter !== undefined) {
    return options.reverse ? sk < options.startAfter : sk > options.startAfter;
  }
  return true;
}

/** Drops undefined attributes so every adapter stores and returns the same shape. */
export function withVersion(item: ItemInput, v: number): Item {
  const out: Item = { pk: item.pk, sk: item.sk, v };
  for (const [name, value] of Object.entries(item)) {
    if (value !== undefined && name !== 'pk' && name !== 'sk') out[name] = value;
  }
  return out;
}
