/**
 * The primitive types of Kafka's wire protocol, read from and written to buffers.
 *
 * Byte grammar (all integers big-endian unless they are varints):
 *
 *   int8 | int16 | int32 | int64 | uint16 | float64   fixed width, two's complement (float64: IEEE 754)
 *   bool              int8, 0 = false, anything else = true
 *   uuid              16 bytes
 *   uvarint           unsigned, 7 bits per byte, least significant group first, high bit = more follows
 *   string            int16 length, then UTF-8 bytes; length -1 = null
 *   compact string    uvarint (length + 1), then UTF-8 bytes; 0 = null
 *   bytes, records    int32 length, then the bytes; -1 = null
 *   compact bytes     uvarint (length + 1), then the bytes; 0 = null
 *   array             int32 count, then the elements; -1 = null
 *   compact array     uvarint (count + 1), then the elements; 0 = null
 *   tag buffer        uvarint count, then per field: uvarint tag, uvarint size, `size` bytes
 *
 * "Compact" forms and tag buffers are used by the flexible versions of each API (KIP-482).
 *
 * int64 values are held in JS numbers: only safe integers are accepted on write and produced on read.
 * `bytes` and `records` are read as views into the frame (no copy) and written without copying large
 * buffers: the writer keeps them as separate chunks, so a Fetch response hands stored record batches
 * to the socket as they are.
 */

/** A frame that does not follow the grammar: the listener closes the connection, as Kafka does. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

/** Reads primitives from one frame, front to back. */
export class Reader {
  pos: number;

  constructor(
    readonly buffer: Buffer,
    pos = 0,
    readonly end = buffer.length,
  ) {
    this.pos = pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private take(size: number): number {
    if (size < 0 || this.pos + size > this.end) {
      throw new ProtocolError(`frame ends ${this.pos + size - this.end} bytes early at byte ${this.pos}`);
    }
    const at = this.pos;
    this.pos += size;
    return at;
  }

  int8(): number {
    return this.buffer.readInt8(this.take(1));
  }
  int16(): number {
    return this.buffer.readInt16BE(this.take(2));
  }
  uint16(): number {
    return this.buffer.readUInt16BE(this.take(2));
  }
  int32(): number {
    return this.buffer.readInt32BE(this.take(4));
  }
  int64(): number {
    const at = this.take(8);
    const value = this.buffer.readBigInt64BE(at);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new ProtocolError(`int64 ${value} at byte ${at} is beyond the safe integer range`);
    }
    return Number(value);
  }
  float64(): number {
    return this.buffer.readDoubleBE(this.take(8));
  }
  bool(): boolean {
    return this.buffer[this.take(1)] !== 0;
  }
  uuid(): string {
    const at = this.take(16);
    return this.buffer.toString('hex', at, at + 16);
  }

  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.buffer[this.take(1)] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) {
        if (value > 0xffffffff) break;
        return value;
      }
    }
    throw new ProtocolError(`unsigned varint wider than 32 bits at byte ${this.pos}`);
  }

  /** A length prefix: int16/int32 or compact; -1 means null. */
  private length(compact: boolean, wide: boolean): number {
    if (compact) return this.uvarint() - 1;
    return wide ? this.int32() : this.int16();
  }

  string(compact: boolean): string | null {
    const length = this.length(compact, false);
    if (length < -1) throw new ProtocolError(`string length ${length} at byte ${this.pos}`);
    if (length === -1) return null;
    const at = this.take(length);
    return this.buffer.toString('utf8', at, at + length);
  }

  bytes(compact: boolean): Buffer | null {
    const length = this.length(compact, true);
    if (length < -1) throw new ProtocolError(`bytes length ${length} at byte ${this.pos}`);
    if (length === -1) return null;
    const at = this.take(length);
    return this.buffer.subarray(at, at + length);
  }

  /** An element count; -1 means null. Bounded by the bytes left, so a forged count cannot allocate. */
  arrayLength(compact: boolean): number {
    const count = this.length(compact, true);
    if (count < -1 || count > this.remaining) {
      throw new ProtocolError(`array count ${count} at byte ${this.pos} with ${this.remaining} bytes left`);
    }
    return count;
  }
}

const CHUNK = 16 * 1024;
/** Buffers at least this large are kept as their own chunk instead of being copied. */
const ZERO_COPY = 1024;

/** Writes primitives into a list of chunks: small values into pooled space, large buffers as they are. */
export class Writer {
  private readonly chunks: Buffer[] = [];
  private current = Buffer.allocUnsafe(CHUNK);
  private start = 0;
  private pos = 0;
  private total = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.total + this.pos - this.start;
  }

  private room(size: number): void {
    if (this.current.length - this.pos >= size) return;
    this.seal();
    this.current = Buffer.allocUnsafe(Math.max(CHUNK, size));
    this.start = 0;
    this.pos = 0;
  }

  private seal(): void {
    if (this.pos === this.start) return;
    this.chunks.push(this.current.subarray(this.start, this.pos));
    this.total += this.pos - this.start;
    this.start = this.pos;
  }

  int8(value: number): void {
    this.room(1);
    this.pos = this.current.writeInt8(value, this.pos);
  }
  int16(value: number): void {
    this.room(2);
    this.pos = this.current.writeInt16BE(value, this.pos);
  }
  uint16(value: number): void {
    this.room(2);
    this.pos = this.current.writeUInt16BE(value, this.pos);
  }
  int32(value: number): void {
    this.room(4);
    this.pos = this.current.writeInt32BE(value, this.pos);
  }
  int64(value: number): void {
    if (!Number.isSafeInteger(value)) throw new ProtocolError(`int64 ${value} is not a safe integer`);
    this.room(8);
    this.pos = this.current.writeBigInt64BE(BigInt(value), this.pos);
  }
  float64(value: number): void {
    this.room(8);
    this.pos = this.current.writeDoubleBE(value, this.pos);
  }
  bool(value: boolean): void {
    this.int8(value ? 1 : 0);
  }
  uuid(value: string): void {
    if (!/^[0-9a-f]{32}$/.test(value))
      throw new ProtocolError(`uuid ${JSON.stringify(value)} is not 32 hex digits`);
    this.raw(Buffer.from(value, 'hex'));
  }

  uvarint(value: number): void {
    this.room(5);
    let rest = value;
    while (rest >= 0x80) {
      this.current[this.pos++] = (rest & 0x7f) | 0x80;
      rest = Math.floor(rest / 128);
    }
    this.current[this.pos++] = rest;
  }

  private lengthPrefix(value: number, compact: boolean, wide: boolean): void {
    if (compact) this.uvarint(value + 1);
    else if (wide) this.int32(value);
    else this.int16(value);
  }

  string(value: string | null, compact: boolean): void {
    if (value === null) {
      this.lengthPrefix(-1, compact, false);
      return;
    }
    const size = Buffer.byteLength(value);
    if (!compact && size > 0x7fff)
      throw new ProtocolError(`string of ${size} bytes is longer than int16 allows`);
    this.lengthPrefix(size, compact, false);
    this.room(size);
    this.pos += this.current.write(value, this.pos, 'utf8');
  }

  bytes(value: Uint8Array | null, compact: boolean): void {
    if (value === null) {
      this.lengthPrefix(-1, compact, true);
      return;
    }
    this.lengthPrefix(value.length, compact, true);
    this.raw(value);
  }

  arrayLength(count: number | null, compact: boolean): void {
    this.lengthPrefix(count ?? -1, compact, true);
  }

  /** Appends bytes as they are: copied when small, kept as a chunk of their own when large. */
  raw(value: Uint8Array): void {
    if (value.length >= ZERO_COPY) {
      this.seal();
      this.chunks.push(Buffer.from(value.buffer, value.byteOffset, value.length));
      this.total += value.length;
      return;
    }
    this.room(value.length);
    this.current.set(value, this.pos);
    this.pos += value.length;
  }

  /** Appends another writer's output. */
  append(other: Writer): void {
    for (const chunk of other.finish()) this.raw(chunk);
  }

  /** The chunks written, in order; the writer must not be used afterwards. */
  finish(): Buffer[] {
    this.seal();
    return this.chunks;
  }
}
