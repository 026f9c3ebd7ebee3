/**
 * The two copies Snappy and LZ4 decode with; the caller has checked every bound. Most runs are a few
 * bytes long, where a loop beats a subarray's allocation and a native call.
 */

const SHORT = 256;

/** `length` bytes of `input` from `pos` into `out` at `at`. */
export function copyLiterals(
  input: Uint8Array,
  pos: number,
  out: Uint8Array,
  at: number,
  length: number,
): void {
  if (length > SHORT) {
    out.set(input.subarray(pos, pos + length), at);
    return;
  }
  for (let i = 0; i < length; i++) out[at + i] = input[pos + i] as number;
}

/**
 * The back-reference: `length` bytes copied from `offset` bytes back in `out`, to `at`. A source
 * that overlaps the destination (offset < length) repeats the last `offset` bytes, so it is copied
 * byte by byte, in order.
 */
export function copyMatch(out: Uint8Array, at: number, offset: number, length: number): void {
  const from = at - offset;
  if (length > SHORT && offset >= length) {
    out.copyWithin(at, from, from + length);
    return;
  }
  for (let i = 0; i < length; i++) out[at + i] = out[from + i] as number;
}
