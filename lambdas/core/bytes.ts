/**
 * Allocation for the large byte arrays of the hot path (record batches, objects, fetch responses,
 * request bodies).
 *
 * `new Uint8Array(n)` asks for zeroed memory; for the megabyte-sized arrays produce and fetch build on
 * every request that means fresh pages from the kernel, each faulted in and zeroed, and the batch
 * encoder then spent more time there than copying record values (bench/results/report.md, "Where the
 * time of one request goes"). `Buffer.allocUnsafeSlow` takes memory the allocator can reuse and does
 * not clear it.
 *
 * The price is that the memory holds old bytes: a caller of `uninitializedBytes` must write every byte
 * before the array leaves it. Each caller below writes the whole array (a record batch writes all its
 * header fields and every record; a join copies every part; a file read fills its buffer or returns
 * only the filled prefix), and the codec tests compare whole encodings byte for byte with Kafka's.
 */
export function uninitializedBytes(size: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(size);
  // A plain Uint8Array view: callers and tests compare these with other Uint8Arrays.
  return new Uint8Array(buffer.buffer, buffer.byteOffset, size);
}

/** `parts` joined into one new array (every byte written, so uninitialized memory is safe). */
export function concatBytes(parts: readonly Uint8Array[], total?: number): Uint8Array {
  const size = total ?? parts.reduce((sum, part) => sum + part.byteLength, 0);
  const joined = uninitializedBytes(size);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.byteLength;
  }
  if (at !== size) throw new RangeError(`concatBytes: parts hold ${at} bytes, expected ${size}`);
  return joined;
}
