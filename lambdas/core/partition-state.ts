/**
 * The partition item (`part#{topicId}#{p}` / `meta`), written by every commit, so kept small: DynamoDB
 * bills a write by the whole item's size in 1 KB units, and this item stays well under 1 KB.
 *
 * recentKeys is the idempotency window: the last RECENT_KEYS commits' request keys, packed as
 *   entry := keyHash (8 bytes) | baseOffset (uint48 BE) | recordCount (uint32 BE)     — 18 bytes
 * newest last. A produce whose key hash is in the window was already committed to this partition: it
 * answers with the recorded offsets and writes nothing. Kafka's idempotent producers keep their batches
 * and their state (epoch, next sequence) here too, as entries of the same shape
 * (idempotent-producers.ts).
 */
import { createHash } from 'node:crypto';
import type { Item } from '../ports/meta-store.ts';

/** Commits remembered per partition: a retry is exactly-once while fewer commits came in between. */
export const RECENT_KEYS = 32;
const ENTRY_BYTES = 18;
export const KEY_HASH_BYTES = 8;

export interface PartitionMeta {
  highWatermark: number;
  logStartOffset: number;
  bytes: number;
  batches: number;
  recentKeys: Uint8Array;
  /** Key of the oldest multi-partition object this partition's index may point to (for GC). */
  oldestSharedObject?: string;
  /** Version of the item, or undefined when the partition has never been written. */
  v?: number;
}

export function readPartitionMeta(item: Item | undefined): PartitionMeta {
  if (item === undefined) {
    return { highWatermark: 0, logStartOffset: 0, bytes: 0, batches: 0, recentKeys: new Uint8Array(0) };
  }
  const state: PartitionMeta = {
    highWatermark: item.highWatermark as number,
    logStartOffset: item.logStartOffset as number,
    bytes: item.bytes as number,
    batches: item.batches as number,
    recentKeys: (item.recentKeys as Uint8Array | undefined) ?? new Uint8Array(0),
    v: item.v,
  };
  if (typeof item.oldestSharedObject === 'string') state.oldestSharedObject = item.oldestSharedObject;
  return state;
}

/** The attributes to store for a state (without key and version). */
export function partitionAttributes(state: PartitionMeta): Record<string, number | string | Uint8Array> {
  const attributes: Record<string, number | string | Uint8Array> = {
    highWatermark: state.highWatermark,
    logStartOffset: state.logStartOffset,
    bytes: state.bytes,
    batches: state.batches,
    recentKeys: state.recentKeys,
  };
  if (state.oldestSharedObject !== undefined) attributes.oldestSharedObject = state.oldestSharedObject;
  return attributes;
}

/**
 * Where the log starts once asked to start at `offset`: only ever forward, and never past the high
 * watermark. Retention (janitor.ts) and deleted records (delete-records.ts) both move it through this.
 */
export function advancedLogStart(state: PartitionMeta, offset: number): number {
  return Math.min(state.highWatermark, Math.max(state.logStartOffset, offset));
}

/**
 * A request key's hash, scoped to a topic incarnation so keys never match across re-created topics,
 * and to the partition count the request was partitioned by: finding it in a partition tells which
 * count a first attempt used, so its retry is partitioned the same way after the topic grew.
 */
export function hashRequestKey(topicId: string, requestKey: string, partitions: number): Uint8Array {
  return createHash('sha256')
    .update(topicId)
    .update('\u0000')
    .update(String(partitions))
    .update('\u0000')
    .update(requestKey)
    .digest()
    .subarray(0, KEY_HASH_BYTES);
}

export interface RecentCommit {
  baseOffset: number;
  recordCount: number;
}

export function findRecentKey(recentKeys: Uint8Array, keyHash: Uint8Array): RecentCommit | undefined {
  const view = new DataView(recentKeys.buffer, recentKeys.byteOffset, recentKeys.byteLength);
  for (let at = recentKeys.byteLength - ENTRY_BYTES; at >= 0; at -= ENTRY_BYTES) {
    let same = true;
    for (let i = 0; i < KEY_HASH_BYTES && same; i++) same = recentKeys[at + i] === keyHash[i];
    if (same) {
      const baseOffset = view.getUint16(at + 8) * 2 ** 32 + view.getUint32(at + 10);
      return { baseOffset, recordCount: view.getUint32(at + 14) };
    }
  }
  return undefined;
}

/** The window without the entries of `keyHash` (for entries that stand for a state, kept once). */
export function removeRecentKey(recentKeys: Uint8Array, keyHash: Uint8Array): Uint8Array {
  const kept: Uint8Array[] = [];
  for (let at = 0; at + ENTRY_BYTES <= recentKeys.byteLength; at += ENTRY_BYTES) {
    const entry = recentKeys.subarray(at, at + ENTRY_BYTES);
    if (!keyHash.subarray(0, KEY_HASH_BYTES).every((byte, i) => entry[i] === byte)) kept.push(entry);
  }
  if (kept.length * ENTRY_BYTES === recentKeys.byteLength) return recentKeys;
  const out = new Uint8Array(kept.length * ENTRY_BYTES);
  kept.forEach((entry, i) => {
    out.set(entry, i * ENTRY_BYTES);
  });
  return out;
}

/** The window with one more commit appended, the oldest dropped beyond RECENT_KEYS. */
export function appendRecentKey(
  recentKeys: Uint8Array,
  keyHash: Uint8Array,
  commit: RecentCommit,
): Uint8Array {
  const kept = recentKeys.subarray(Math.max(0, recentKeys.byteLength - (RECENT_KEYS - 1) * ENTRY_BYTES));
  const out = new Uint8Array(kept.byteLength + ENTRY_BYTES);
  out.set(kept, 0);
  const at = kept.byteLength;
  out.set(keyHash.subarray(0, KEY_HASH_BYTES), at);
  const view = new DataView(out.buffer);
  view.setUint16(at + 8, Math.floor(commit.baseOffset / 2 ** 32));
  view.setUint32(at + 10, commit.baseOffset % 2 ** 32);
  view.setUint32(at + 14, commit.recordCount);
  return out;
}
