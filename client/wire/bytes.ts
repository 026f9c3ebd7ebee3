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
  // A plain Uint8Array view: callers and tests compare these with other Uint8Arrays.
  return new Uint8Array(freshBuffer(size));
}

/** An uninitialized ArrayBuffer of exactly `size` bytes (allocUnsafeSlow never pools or offsets). */
function freshBuffer(size: number): ArrayBuffer {
  return Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer;
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

/** Allocates `size` bytes that the caller will write whole (uninitializedBytes, or a pool's). */
export type Allocate = (size: number) => Uint8Array;

/**
 * A few large buffers kept for reuse, for arrays whose life ends at a known point: produce encodes a
 * request's object into one, writes it to the object store, and gives it back once the put has
 * settled (the adapters copy or finish with the bytes by then; the commit keeps only positions).
 * Reuse skips the page faults a fresh megabyte costs (see uninitializedBytes) on every request.
 *
 * Buffers are handed out whole and never shared: `acquire` takes the smallest free buffer large
 * enough or allocates one (rounded up, so similar sizes reuse each other), `release` returns it. At
 * most `maxBuffers` are kept, none larger than `maxBufferBytes`; when the pool is full, a returned
 * buffer replaces the smallest free one if it is larger (so a few small requests cannot keep the
 * pool from ever serving a large one); the rest are left to the garbage collector. Arrays from
 * `acquire` hold old bytes until written, as uninitializedBytes.
 *
 * The rule for whoever receives a lent array: its bytes are valid until the lender's release point
 * (documented where each pool is used) and must be copied to be kept beyond it.
 */
export class BytePool {
  private readonly free: ArrayBuffer[] = [];
  private readonly lent = new WeakSet<ArrayBuffer>();

  constructor(
    private readonly maxBuffers = 4,
    private readonly maxBufferBytes = 8 * 1024 * 1024,
    private readonly granularity = 64 * 1024,
  ) {}

  /** A view of exactly `size` bytes over a buffer that is the caller's until `release`. */
  readonly acquire: Allocate = (size) => {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const capacity = (this.free[i] as ArrayBuffer).byteLength;
      if (capacity >= size && (best === -1 || capacity < (this.free[best] as ArrayBuffer).byteLength))
        best = i;
    }
    const buffer: ArrayBuffer =
      best === -1
        ? freshBuffer(Math.ceil(Math.max(size, 1) / this.granularity) * this.granularity)
        : (this.free.splice(best, 1)[0] as ArrayBuffer);
    this.lent.add(buffer);
    return new Uint8Array(buffer, 0, size);
  };

  /** Gives back the buffers under `arrays` (each once, however many arrays share one). */
  release(arrays: readonly Uint8Array[]): void {
    for (const { buffer } of arrays) {
      if (!(buffer instanceof ArrayBuffer) || !this.lent.has(buffer)) continue;
      this.lent.delete(buffer);
      if (buffer.byteLength > this.maxBufferBytes) continue;
      if (this.free.length < this.maxBuffers) {
        this.free.push(buffer);
        continue;
      }
      let smallest = 0;
      for (let i = 1; i < this.free.length; i++) {
        if ((this.free[i] as ArrayBuffer).byteLength < (this.free[smallest] as ArrayBuffer).byteLength)
          smallest = i;
      }
      if ((this.free[smallest] as ArrayBuffer).byteLength < buffer.byteLength) this.free[smallest] = buffer;
    }
  }

  /** Buffers waiting for reuse (for tests). */
  get idle(): number {
    return this.free.length;
  }
}
