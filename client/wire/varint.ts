// biome-ignore-all lint/style/noNonNullAssertion: bounds-checked typed-array reads in the hot loop
/**
 * Zig-zag variable-length integers, as Kafka writes them inside RecordBatch v2 records.
 *
 * A signed value n is first mapped to an unsigned one, z = (n << 1) ^ (n >> width-1), so that small
 * magnitudes of either sign stay small (0→0, -1→1, 1→2, -2→3 …); z is then written 7 bits per byte,
 * least significant group first, with the high bit of each byte meaning "more bytes follow".
 *
 * - varint: a signed 32-bit value, at most 5 bytes.
 * - varlong: a signed 64-bit value, at most 10 bytes. Streambed holds these in JS numbers, so only safe
 *   integers (|n| ≤ 2^53 − 1) are accepted on write and produced on read; anything wider is reported
 *   as corrupt rather than silently rounded.
 *
 * Readers take an explicit `end` so a value can never be read past the enclosing record, and they
 * accept non-minimal encodings within the size limit (as Kafka's and protobuf's readers do).
 * Truncated input, too many bytes, or bits beyond the type's width throw CORRUPT_DATA.
 */

import { WireError } from './errors.ts';

/** Read position shared between successive reads, so decoding allocates no result objects. */
export interface Cursor {
  pos: number;
}

export const MAX_VARINT_BYTES = 5;
export const MAX_VARLONG_BYTES = 10;

const INT31_MIN = -(2 ** 30);
const INT31_MAX = 2 ** 30 - 1;

function corrupt(message: string, pos: number): WireError {
  return new WireError('CORRUPT_DATA', `${message} at byte ${pos}`, { details: { position: pos } });
}

function assertInt32(value: number): void {
  if ((value | 0) !== value) {
    throw new WireError('INVALID_REQUEST', `varint value ${value} is not a 32-bit signed integer`);
  }
}

function assertSafeInteger(value: number): void {
  if (!Number.isSafeInteger(value)) {
    throw new WireError('INVALID_REQUEST', `varlong value ${value} is not a safe integer`);
  }
}

/** Unsigned size in bytes of the 7-bit groups of a 32-bit zig-zag value. */
function sizeOfUnsigned32(z: number): number {
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  if (z < 0x10000000) return 4;
  return 5;
}

/** Number of bytes `writeVarint(value)` produces. */
export function sizeOfVarint(value: number): number {
  assertInt32(value);
  return sizeOfUnsigned32(((value << 1) ^ (value >> 31)) >>> 0);
}

/**
 * Writes `value` (a signed 32-bit integer) at `pos` and returns the position after it. The caller
 * sized `buf`; writing past its end is a programming error, not a data error.
 */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  assertInt32(value);
  let z = ((value << 1) ^ (value >> 31)) >>> 0;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

/** Reads a signed 32-bit varint at `cursor.pos` (not reading at or beyond `end`) and advances the cursor. */
export function readVarint(buf: Uint8Array, cursor: Cursor, end: number = buf.length): number {
  const start = cursor.pos;
  const limit = Math.min(end, buf.length);
  let pos = start;
  let z = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= limit) throw corrupt('truncated varint', start);
    const byte = buf[pos++]!;
    if (shift === 28) {
      // Fifth byte: only 4 payload bits remain in 32 bits, and no continuation is allowed.
      if (byte > 0x0f) throw corrupt('varint longer than 5 bytes or wider than 32 bits', start);
      z |= byte << 28;
      break;
    }
    z |= (byte & 0x7f) << shift;
    if (byte < 0x80) break;
  }
  cursor.pos = pos;
  return (z >>> 1) ^ -(z & 1);
}

/** Number of bytes `writeVarlong(value)` produces. */
export function sizeOfVarlong(value: number): number {
  assertSafeInteger(value);
  if (value >= INT31_MIN && value <= INT31_MAX) return sizeOfUnsigned32(((value << 1) ^ (value >> 31)) >>> 0);
  let z = zigZag64(value);
  let size = 1;
  while (z >= 0x80n) {
    z >>= 7n;
    size++;
  }
  return size;
}

/** Writes `value` (a safe integer, held as a signed 64-bit value) at `pos`; returns the position after it. */
export function writeVarlong(buf: Uint8Array, pos: number, value: number): number {
  assertSafeInteger(value);
  // Fast path: record timestamp deltas are almost always small, and 32-bit arithmetic avoids bigint.
  if (value >= INT31_MIN && value <= INT31_MAX) return writeVarint(buf, pos, value);
  let z = zigZag64(value);
  while (z >= 0x80n) {
    buf[pos++] = Number(z & 0x7fn) | 0x80;
    z >>= 7n;
  }
  buf[pos++] = Number(z);
  return pos;
}

function zigZag64(value: number): bigint {
  const n = BigInt(value);
  return BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
}

/**
 * Reads a signed 64-bit varlong at `cursor.pos` (not reading at or beyond `end`) and advances the
 * cursor. Values outside the safe-integer range are CORRUPT_DATA: Streambed never writes them, and a
 * rounded timestamp would be garbage.
 */
export function readVarlong(buf: Uint8Array, cursor: Cursor, end: number = buf.length): number {
  const start = cursor.pos;
  const limit = Math.min(end, buf.length);
  // Fast path: up to 4 bytes (28 bits) fits 32-bit arithmetic exactly.
  let pos = start;
  let z = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= limit) throw corrupt('truncated varlong', start);
    const byte = buf[pos++]!;
    z |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      cursor.pos = pos;
      return (z >>> 1) ^ -(z & 1);
    }
  }
  return readVarlongSlow(buf, cursor, limit);
}

function readVarlongSlow(buf: Uint8Array, cursor: Cursor, limit: number): number {
  const start = cursor.pos;
  let pos = start;
  let z = 0n;
  for (let shift = 0n; ; shift += 7n) {
    if (pos >= limit) throw corrupt('truncated varlong', start);
    const byte = buf[pos++]!;
    if (shift === 63n) {
      // Tenth byte: a single payload bit remains in 64 bits, and no continuation is allowed.
      if (byte > 0x01) throw corrupt('varlong longer than 10 bytes or wider than 64 bits', start);
      z |= BigInt(byte) << shift;
      break;
    }
    z |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) break;
  }
  const n = (z >> 1n) ^ -(z & 1n);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw corrupt(`varlong ${n} is outside the safe-integer range`, start);
  }
  cursor.pos = pos;
  return Number(n);
}
