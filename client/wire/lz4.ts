// biome-ignore-all lint/style/noNonNullAssertion: bounds-checked typed-array reads in the hot loop
/**
 * LZ4 frame decompression, for record batches Kafka clients compress with codec 3 (Kafka writes the
 * records section as LZ4 frames, the Java client's and librdkafka's alike).
 *
 * A frame (little-endian throughout):
 *   magic 0x184D2204 (4 bytes)
 *   FLG   bits 7-6 version (01), 5 blocks independent, 4 block checksums, 3 content size present,
 *         2 content checksum present, 1 reserved (0), 0 dictionary id present
 *   BD    bits 6-4 the largest block (4: 64 KiB, 5: 256 KiB, 6: 1 MiB, 7: 4 MiB), the rest reserved
 *   [content size, 8 bytes] [dictionary id, 4 bytes] header checksum (1 byte)
 *   blocks: a 4-byte size whose top bit marks a block stored uncompressed, the block, [its checksum,
 *           4 bytes]; a size of 0 ends the blocks
 *   [content checksum, 4 bytes]
 * Frames may follow one another, and skippable frames (magic 0x184D2A50-0x184D2A5F, a 4-byte size,
 * that many bytes) are skipped.
 *
 * A compressed block is a run of sequences: a token (literal count in its high 4 bits, match length
 * minus 4 in its low 4; a nibble of 15 goes on in bytes of 255 until one is smaller), the literals,
 * then a 2-byte offset back into the output and the match. The last sequence has literals only. With
 * linked blocks a match may reach back into the frame's earlier blocks; with independent ones only
 * into its own block.
 *
 * The xxHash checksums are skipped, not verified: the batch's CRC-32C covers these bytes and is
 * checked before its records are read. A frame needing a dictionary is refused. The output grows as
 * blocks decode, never past `maxOutputLength`; every length and offset is checked against the input
 * and the output, so broken input throws instead of reading or writing out of bounds.
 */

import { WireError } from './errors.ts';
import { copyLiterals, copyMatch } from './lz77.ts';

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC = 0x184d2a50;
const SKIPPABLE_MASK = 0xfffffff0;
const UNCOMPRESSED_BLOCK = 0x80000000;
const MIN_OUTPUT = 64 * 1024;
/** The most a compressed byte expands: each 255 of a match length's extension adds 255 bytes. */
const MAX_EXPANSION = 256;

function corrupt(message: string, position: number): WireError {
  return new WireError('CORRUPT_DATA', `lz4: ${message} at byte ${position}`, { details: { position } });
}

/** The output as it grows: `bytes[0, at)` are decoded. */
class Output {
  bytes: Uint8Array;
  at = 0;

  constructor(
    initial: number,
    private readonly max: number,
  ) {
    this.bytes = new Uint8Array(Math.min(initial, max));
  }

  /** Makes room for `count` more bytes, or throws past the limit; returns the (maybe new) array. */
  room(count: number, position: number): Uint8Array {
    const need = this.at + count;
    if (need <= this.bytes.length) return this.bytes;
    if (need > this.max) {
      throw new WireError(
        'CORRUPT_DATA',
        `lz4: the data decompresses to more than the limit of ${this.max} bytes (at byte ${position})`,
        { details: { position, maxOutputLength: this.max } },
      );
    }
    const grown = new Uint8Array(Math.min(this.max, Math.max(need, this.bytes.length * 2)));
    grown.set(this.bytes.subarray(0, this.at));
    this.bytes = grown;
    return grown;
  }
}

/** Decompresses one or more LZ4 frames; throws CORRUPT_DATA on anything else. */
export function lz4Decompress(input: Uint8Array, options: { maxOutputLength: number }): Uint8Array {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const output = new Output(Math.max(MIN_OUTPUT, input.length * 4), options.maxOutputLength);
  let pos = 0;
  if (input.length === 0) throw corrupt('no frame', 0);
  while (pos < input.length) {
    if (pos + 4 > input.length) throw corrupt('truncated magic number', pos);
    const magic = view.getUint32(pos, true);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (pos + 8 > input.length) throw corrupt('truncated skippable frame', pos);
      const size = view.getUint32(pos + 4, true);
      if (pos + 8 + size > input.length)
        throw corrupt(`a skippable frame of ${size} bytes runs past the input`, pos);
      pos += 8 + size;
      continue;
    }
    if (magic !== FRAME_MAGIC) {
      throw corrupt(`magic number 0x${magic.toString(16)} is not an LZ4 frame's (0x184d2204)`, pos);
    }
    pos = decodeFrame(input, view, pos + 4, output);
  }
  // Records are views into the result: a buffer much larger than the output would stay alive with
  // them, so a loose fit is copied to size.
  const { bytes, at } = output;
  return bytes.length - at > Math.max(4096, at >>> 3) ? bytes.slice(0, at) : bytes.subarray(0, at);
}

/** Decodes the frame whose descriptor starts at `pos`; returns the position after it. */
function decodeFrame(input: Uint8Array, view: DataView, pos: number, output: Output): number {
  if (pos + 3 > input.length) throw corrupt('truncated frame descriptor', pos);
  const flags = input[pos]!;
  const bd = input[pos + 1]!;
  if (flags >>> 6 !== 1) throw corrupt(`frame version ${flags >>> 6} (only 1 exists)`, pos);
  if ((flags & 0x02) !== 0 || (bd & 0x8f) !== 0)
    throw corrupt('reserved bits set in the frame descriptor', pos);
  const blockSizeId = (bd >>> 4) & 7;
  if (blockSizeId < 4) throw corrupt(`block size id ${blockSizeId} (4 to 7 exist)`, pos + 1);
  if ((flags & 0x01) !== 0) throw corrupt('the frame needs a dictionary', pos);
  const independent = (flags & 0x20) !== 0;
  const blockChecksums = (flags & 0x10) !== 0;
  const hasContentSize = (flags & 0x08) !== 0;
  const contentChecksum = (flags & 0x04) !== 0;
  const maxBlock = 1 << (8 + 2 * blockSizeId);
  pos += 2;
  let contentSize = -1;
  if (hasContentSize) {
    if (pos + 9 > input.length) throw corrupt('truncated content size', pos);
    contentSize = view.getUint32(pos, true) + view.getUint32(pos + 4, true) * 2 ** 32;
    // Refused before anything is allocated: a few bytes cannot declare megabytes.
    if (contentSize > (input.length - pos) * MAX_EXPANSION) {
      throw corrupt(`a content size of ${contentSize} from ${input.length - pos} bytes of frame`, pos);
    }
    output.room(contentSize, pos);
    pos += 8;
  }
  pos += 1; // the header checksum
  const frameStart = output.at;
  for (;;) {
    if (pos + 4 > input.length) throw corrupt('truncated block size (no end mark)', pos);
    const word = view.getUint32(pos, true);
    pos += 4;
    if (word === 0) break;
    const size = (word & ~UNCOMPRESSED_BLOCK) >>> 0;
    if (size > maxBlock)
      throw corrupt(`a block of ${size} bytes in a frame of blocks up to ${maxBlock}`, pos);
    if (pos + size > input.length) throw corrupt(`a block of ${size} bytes runs past the input`, pos);
    if (word >= UNCOMPRESSED_BLOCK) {
      output.room(size, pos).set(input.subarray(pos, pos + size), output.at);
      output.at += size;
    } else {
      const blockStart = output.at;
      decodeBlock(input, pos, pos + size, output, independent ? blockStart : frameStart);
      if (output.at - blockStart > maxBlock) {
        throw corrupt(
          `a block decodes to ${output.at - blockStart} bytes, above its frame's ${maxBlock}`,
          pos,
        );
      }
    }
    pos += size + (blockChecksums ? 4 : 0);
  }
  if (contentChecksum) pos += 4;
  if (pos > input.length) throw corrupt('truncated checksum', input.length);
  if (contentSize >= 0 && output.at - frameStart !== contentSize) {
    throw corrupt(`${output.at - frameStart} bytes decoded where the frame declares ${contentSize}`, pos);
  }
  return pos;
}

/** Decodes the sequences in input[pos, end); matches reach back no further than `windowStart`. */
function decodeBlock(input: Uint8Array, pos: number, end: number, output: Output, windowStart: number): void {
  for (;;) {
    if (pos >= end) throw corrupt('truncated sequence', pos);
    const token = input[pos++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let byte: number;
      do {
        if (pos >= end) throw corrupt('truncated literal length', pos);
        byte = input[pos++]!;
        literals += byte;
      } while (byte === 255);
    }
    if (pos + literals > end) throw corrupt(`${literals} literals run past the block`, pos);
    if (literals > 0) {
      copyLiterals(input, pos, output.room(literals, pos), output.at, literals);
      output.at += literals;
      pos += literals;
    }
    if (pos === end) return;
    if (pos + 2 > end) throw corrupt('truncated match offset', pos);
    const offset = input[pos]! | (input[pos + 1]! << 8);
    pos += 2;
    if (offset === 0 || offset > output.at - windowStart) {
      throw corrupt(
        `a match from ${offset} bytes back, with ${output.at - windowStart} bytes behind it`,
        pos,
      );
    }
    let length = (token & 15) + 4;
    if ((token & 15) === 15) {
      let byte: number;
      do {
        if (pos >= end) throw corrupt('truncated match length', pos);
        byte = input[pos++]!;
        length += byte;
      } while (byte === 255);
    }
    copyMatch(output.room(length, pos), output.at, offset, length);
    output.at += length;
  }
}
