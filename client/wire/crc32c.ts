// biome-ignore-all lint/style/noNonNullAssertion: bounds-checked typed-array reads in the hot loop
/**
 * CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2.
 *
 * Reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF, so
 * `crc32c("123456789") === 0xE3069283`.
 *
 * Slicing-by-8: eight 256-entry tables let the main loop consume 8 bytes per step with 8 independent
 * lookups instead of 8 dependent ones. This is the produce/fetch hot path (every batch is checksummed
 * on write and verified on read), and node:zlib offers only plain CRC-32, not CRC-32C.
 */

const POLYNOMIAL = 0x82f63b78;

/** TABLES[k][b] = CRC of byte b followed by k zero bytes. Int32Array keeps every entry a small integer. */
const TABLES: readonly Int32Array[] = buildTables();

function buildTables(): Int32Array[] {
  const tables = Array.from({ length: 8 }, () => new Int32Array(256));
  const t0 = tables[0] as Int32Array;
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    t0[b] = c;
  }
  // Extending by one zero byte: shift the previous table's CRC by 8 bits and fold the low byte back in.
  for (let k = 1; k < 8; k++) {
    const previous = tables[k - 1] as Int32Array;
    const current = tables[k] as Int32Array;
    for (let b = 0; b < 256; b++) {
      const c = previous[b] as number;
      current[b] = (c >>> 8) ^ (t0[c & 0xff] as number);
    }
  }
  return tables;
}

const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
];

/**
 * CRC-32C of `bytes`, as an unsigned 32-bit integer.
 *
 * `initial` is the CRC of data that precedes `bytes`, so checksums can be computed in pieces:
 * `crc32c(b, crc32c(a)) === crc32c(concat(a, b))`.
 */
export function crc32c(bytes: Uint8Array, initial = 0): number {
  let crc = ~initial;
  let i = 0;
  const length = bytes.length;
  const end8 = length - (length & 7);
  // Every index below is in range (i < end8 <= length; table indexes are bytes), so `!` is safe.
  while (i < end8) {
    const low = crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    crc =
      T7[low & 0xff]! ^
      T6[(low >>> 8) & 0xff]! ^
      T5[(low >>> 16) & 0xff]! ^
      T4[low >>> 24]! ^
      T3[bytes[i + 4]!]! ^
      T2[bytes[i + 5]!]! ^
      T1[bytes[i + 6]!]! ^
      T0[bytes[i + 7]!]!;
    i += 8;
  }
  while (i < length) {
    crc = T0[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
    i++;
  }
  return ~crc >>> 0;
}
