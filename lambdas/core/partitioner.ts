/**
 * Key → partition, bit-for-bit the Apache Kafka Java client's default for keyed records:
 * `toPositive(murmur2(keyBytes)) % numPartitions` (DESIGN §4.1). Matching it means a key lands on the
 * same partition whether a Kafka producer or Streambed placed it, so per-key order carries over when
 * data or producers move between the two.
 */

import { StreamError } from './errors.ts';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/**
 * MurmurHash2, 32-bit, as `org.apache.kafka.common.utils.Utils.murmur2`: seed 0x9747b28c,
 * little-endian 4-byte blocks, and a signed 32-bit result (what Java's `int` holds).
 *
 * Math.imul reproduces Java's wrapping 32-bit multiply; `>>>` is Java's unsigned shift.
 */
export function murmur2(bytes: Uint8Array): number {
  const length = bytes.length;
  let h = SEED ^ length;
  const blocksEnd = length & ~3;
  for (let i = 0; i < blocksEnd; i += 4) {
    let k =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The 1-3 trailing bytes, in the same cascade as the Java switch's fall-through.
  const remaining = length & 3;
  if (remaining === 3) h ^= (bytes[blocksEnd + 2] as number) << 16;
  if (remaining >= 2) h ^= (bytes[blocksEnd + 1] as number) << 8;
  if (remaining >= 1) {
    h ^= bytes[blocksEnd] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not Math.abs, which differs for negatives). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition the Kafka Java client's default partitioner picks for a non-null key. */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 0x7fffffff) {
    throw new StreamError('INVALID_REQUEST', `partition count ${partitions} must be a positive integer`);
  }
  return toPositive(murmur2(key)) % partitions;
}
