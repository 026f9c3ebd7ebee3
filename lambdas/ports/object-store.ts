/**
 * The object port: immutable blobs under string keys, shaped like S3.
 *
 * Adapters: S3 (production), filesystem (embedded), memory (tests); one contract suite proves them
 * equal (test/contract/object-store.contract.ts). Streambed never overwrites an object (DESIGN §1.2),
 * but the port does not rely on conditional writes: a put of an existing key simply replaces it.
 *
 * Keys: 1..1024 bytes of UTF-8, segments separated by '/', no empty, '.' or '..' segment, no control
 * characters or backslashes — safe as S3 keys and as relative file paths alike.
 */

import type { Allocate } from '../../client/wire/bytes.ts';

export interface RangeOptions {
  /** First byte to read (inclusive). Defaults to 0. */
  start?: number;
  /** End of the range (exclusive, like Uint8Array.subarray); clamped to the object size. */
  end?: number;
}

/**
 * How `get` may place the bytes it reads. An adapter that reads into memory it allocates itself (the
 * filesystem) takes the array from `allocate`, so a caller can hand out reused buffers (BytePool); one
 * that receives its bytes from elsewhere (S3, memory) ignores it. Either way the result is the caller's.
 */
export interface ObjectGetOptions {
  allocate?: Allocate;
}

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface ListOptions {
  /** List keys strictly after this one (S3's StartAfter). */
  startAfter?: string;
  /** At most this many keys (1..1000, default 1000). */
  limit?: number;
}

export interface ListResult {
  objects: ObjectInfo[];
  /** Set when more keys may follow: pass it as `startAfter` for the next page. */
  next?: string;
}

export interface ObjectStore {
  /**
   * Stores `bytes` under `key`. The bytes are the caller's again once the returned promise settles
   * (produce reuses the buffer): an adapter copies or finishes with them before settling.
   */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** The object's bytes, or the range [start, end). A missing key is `NOT_FOUND`. */
  get(key: string, range?: RangeOptions, options?: ObjectGetOptions): Promise<Uint8Array>;
  /** Deletes every key; missing keys are not an error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Keys with this prefix in ascending (byte) order. */
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  close?(): Promise<void>;
}

export const MAX_LIST_LIMIT = 1000;
/** S3's DeleteObjects takes at most 1000 keys per call; adapters split larger deletes. */
export const MAX_DELETE_BATCH = 1000;
