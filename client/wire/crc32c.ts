// biome-ignore-all lint/style/noNonNullAssertion: bounds-checked typed-array reads in the hot loop
/**
 * CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2.
 *
 * Reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF, so
 * `crc32c("123456789") === 0xE3069283`.
 *
 * This is the produce/fetch hot path (every batch is checksummed on write and verified on read), and
 * node:zlib offers only plain CRC-32, not CRC-32C. Two implementations give the same answers:
 *
 * - native: `@node-rs/crc32`, which uses the CPU's CRC instruction (about 5× faster per MiB here).
 *   It is optional: loaded on first use through `createRequire`, and any failure to load it (not
 *   installed, no prebuilt binary for the platform, a bundle without node_modules such as the
 *   Lambdas', a binary whose answers are wrong) means the JavaScript one is used instead.
 * - JavaScript: slicing-by-8. Eight 256-entry tables let the main loop consume 8 bytes per step with
 *   8 independent lookups instead of 8 dependent ones. A native call costs about 0.19 µs before it
 *   reads a byte, so inputs under `NATIVE_MIN_BYTES` always take this path.
 */
import { createRequire } from 'node:module';

/**
 * CRC-32C of `bytes`, as an unsigned 32-bit integer.
 *
 * `initial` is the CRC of data that precedes `bytes`, so checksums can be computed in pieces:
 * `crc32c(b, crc32c(a)) === crc32c(concat(a, b))`.
 */
export type Crc32cFunction = (bytes: Uint8Array, initial?: number) => number;

export type Crc32cImplementation = 'native' | 'js';

/**
 * Inputs shorter than this take the JavaScript path even where the native one loaded. Measured on the
 * bench machine (x86-64, node 20): the two cost the same at about 190 bytes (0.22 µs); at 128 bytes
 * JavaScript takes 0.75× the native time, at 256 bytes 1.24×, at 1 KiB 2.9×, at 1 MiB 5.8×.
 */
export const NATIVE_MIN_BYTES = 256;

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

/** The JavaScript implementation (slicing-by-8), whichever implementation `crc32c` uses. */
export function jsCrc32c(bytes: Uint8Array, initial = 0): number {
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

export interface Crc32c {
  /** CRC-32C of `bytes`, continuing from `initial` (see `Crc32cFunction`). */
  crc32c: Crc32cFunction;
  /** Which implementation inputs of `NATIVE_MIN_BYTES` or more take; loads the native one if not yet tried. */
  implementation(): Crc32cImplementation;
}

const CHECK_INPUT = new TextEncoder().encode('123456789');
const CHECK_VALUE = 0xe3069283;

/** Whether `candidate` computes CRC-32C, with this module's convention for `initial` (whole and in two pieces). */
function computesCheckValues(candidate: Crc32cFunction): boolean {
  const head = CHECK_INPUT.subarray(0, 4);
  const tail = CHECK_INPUT.subarray(4);
  return candidate(CHECK_INPUT, 0) === CHECK_VALUE && candidate(tail, candidate(head, 0)) === CHECK_VALUE;
}

/**
 * A CRC-32C that uses `loadNative()`'s function for inputs of `minNativeBytes` or more, and the
 * JavaScript one for shorter inputs or when `loadNative` throws or returns a function that gets the
 * check value wrong. `loadNative` is called at most once, on first need.
 */
export function createCrc32c(
  loadNative: () => Crc32cFunction,
  minNativeBytes: number = NATIVE_MIN_BYTES,
): Crc32c {
  /** undefined: not tried yet; null: unavailable. */
  let native: Crc32cFunction | null | undefined;
  const resolveNative = (): Crc32cFunction | null => {
    if (native === undefined) {
      try {
        const candidate = loadNative();
        native = typeof candidate === 'function' && computesCheckValues(candidate) ? candidate : null;
      } catch {
        native = null;
      }
    }
    return native;
  };
  return {
    crc32c(bytes, initial = 0) {
      if (bytes.length >= minNativeBytes) {
        const fast = native === undefined ? resolveNative() : native;
        // `>>> 0`: any number as the u32 JavaScript's `~` makes of it, which the binding may read otherwise.
        if (fast !== null) return fast(bytes, initial >>> 0);
      }
      return jsCrc32c(bytes, initial);
    },
    implementation: () => (resolveNative() === null ? 'js' : 'native'),
  };
}

/**
 * `@node-rs/crc32`'s CRC-32C, resolved from this file's location. `createRequire` keeps bundlers from
 * following it (a Lambda bundle has no node_modules, so there it throws and JavaScript is used).
 */
function loadNodeRsCrc32c(): Crc32cFunction {
  const load = createRequire(import.meta.url);
  return (load('@node-rs/crc32') as { crc32c: Crc32cFunction }).crc32c;
}

const shared = createCrc32c(loadNodeRsCrc32c);

/**
 * CRC-32C of `bytes` continuing from `initial` (see `Crc32cFunction`): native where `@node-rs/crc32`
 * loads and the input is long enough to gain from it, JavaScript otherwise.
 */
export const crc32c: Crc32cFunction = shared.crc32c;

/** Which implementation `crc32c` uses for inputs of `NATIVE_MIN_BYTES` or more. */
export const crc32cImplementation: () => Crc32cImplementation = shared.implementation;
