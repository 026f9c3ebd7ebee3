// biome-ignore-all lint/style/noNonNullAssertion: bounds-checked typed-array reads in the hot loop
/**
 * Snappy decompression, for record batches Kafka clients compress with codec 2.
 *
 * Kafka clients write one of two shapes into a batch's records section:
 * - raw Snappy (librdkafka): the uncompressed length as a little-endian base-128 varint, then
 *   elements, each a tag byte whose low two bits say what follows:
 *     0 literal  length-1 in the tag's upper six bits, or for 60..63 in the next 1..4 bytes (LE),
 *                then that many bytes, copied as they are
 *     1 copy     length 4..11 in tag bits 2-4, offset 0..2047: tag bits 5-7 above the next byte
 *     2 copy     length 1..64 in tag bits 2-7, offset in the next 2 bytes (LE)
 *     3 copy     length 1..64 in tag bits 2-7, offset in the next 4 bytes (LE)
 *   A copy repeats `length` bytes starting `offset` bytes back in the output; it may overlap what it
 *   writes (offset < length repeats a pattern).
 * - snappy-java's framing (the Java client and KafkaJS's snappy codec): an 8-byte magic
 *   (0x82 "SNAPPY" 0x00), two big-endian int32s (version, compatible version), then chunks, each a
 *   big-endian int32 length followed by that many bytes of raw Snappy. Chunks are independent.
 *
 * The output is allocated once, at the total the preambles declare, after checking it against
 * `maxOutputLength`; every length and offset is checked against the input and the output, so broken
 * input throws instead of reading or writing out of bounds.
 */

import { WireError } from './errors.ts';
import { copyLiterals, copyMatch } from './lz77.ts';

const FRAMING_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
/** The most an element expands: a 3-byte copy writes at most 64 bytes. */
const MAX_EXPANSION = 22;
const FRAMING_HEADER_BYTES = 16;

function corrupt(message: string, position: number): WireError {
  return new WireError('CORRUPT_DATA', `snappy: ${message} at byte ${position}`, { details: { position } });
}

/** Decompresses raw or snappy-java-framed Snappy; throws CORRUPT_DATA on anything else. */
export function snappyDecompress(input: Uint8Array, options: { maxOutputLength: number }): Uint8Array {
  const chunks = isFramed(input) ? framedChunks(input) : [0, input.length];
  const starts: number[] = [];
  let total = 0;
  for (let i = 0; i < chunks.length; i += 2) {
    const { length, pos } = preamble(input, chunks[i]!, chunks[i + 1]!);
    // Refused before anything is allocated: a few bytes cannot declare megabytes.
    if (length > (chunks[i + 1]! - pos) * MAX_EXPANSION) {
      throw corrupt(`${length} bytes declared from ${chunks[i + 1]! - pos} compressed`, chunks[i]!);
    }
    total += length;
    if (total > options.maxOutputLength) {
      throw new WireError(
        'CORRUPT_DATA',
        `snappy: the data declares ${total} or more bytes uncompressed, above the limit of ${options.maxOutputLength}`,
        { details: { maxOutputLength: options.maxOutputLength } },
      );
    }
    starts.push(pos, length);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < chunks.length; i += 2) {
    const length = starts[i + 1]!;
    decodeChunk(input, starts[i]!, chunks[i + 1]!, out, at, at + length);
    at += length;
  }
  return out;
}

function isFramed(input: Uint8Array): boolean {
  if (input.length < FRAMING_HEADER_BYTES) return false;
  for (let i = 0; i < FRAMING_MAGIC.length; i++) if (input[i] !== FRAMING_MAGIC[i]) return false;
  return true;
}

/** [start, end) of each framed chunk, flattened. */
function framedChunks(input: Uint8Array): number[] {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const chunks: number[] = [];
  let pos = FRAMING_HEADER_BYTES;
  while (pos < input.length) {
    if (pos + 4 > input.length) throw corrupt('truncated chunk length', pos);
    const length = view.getUint32(pos);
    pos += 4;
    if (pos + length > input.length) {
      throw corrupt(`a chunk of ${length} bytes runs past the end of ${input.length}`, pos);
    }
    chunks.push(pos, pos + length);
    pos += length;
  }
  return chunks;
}

/** The uncompressed length a raw Snappy stream starts with (a varint of at most 32 bits). */
function preamble(input: Uint8Array, start: number, end: number): { length: number; pos: number } {
  let length = 0;
  for (let pos = start, shift = 0; pos < end && shift < 35; shift += 7) {
    const byte = input[pos++]!;
    length += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) {
      if (length > 0xffffffff) break;
      return { length, pos };
    }
  }
  throw corrupt('no valid uncompressed length', start);
}

/** Decodes the elements in input[pos, end) into out[at, stop); they must fill it exactly. */
function decodeChunk(input: Uint8Array, pos: number, end: number, out: Uint8Array, at: number, stop: number) {
  const chunkStart = at;
  while (pos < end) {
    const tag = input[pos++]!;
    const type = tag & 3;
    if (type === 0) {
      let length = tag >>> 2;
      if (length >= 60) {
        const bytes = length - 59;
        if (pos + bytes > end) throw corrupt('truncated literal length', pos);
        // Integer arithmetic only, so that V8 keeps every length in the loop a small integer: a
        // 4-byte length of 2^30 or more cannot fit any output anyway.
        length = 0;
        for (let i = 0; i < bytes; i++) length |= input[pos + i]! << (8 * i);
        if (length < 0 || length >= 0x3fffffff) throw corrupt(`a literal of ${length >>> 0} bytes`, pos);
        pos += bytes;
      }
      length += 1;
      if (pos + length > end) throw corrupt(`a literal of ${length} bytes runs past the input`, pos);
      if (at + length > stop) throw corrupt(`a literal of ${length} bytes overruns the declared length`, pos);
      copyLiterals(input, pos, out, at, length);
      pos += length;
      at += length;
      continue;
    }
    let length: number;
    let offset: number;
    if (type === 1) {
      if (pos + 1 > end) throw corrupt('truncated copy', pos);
      length = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | input[pos++]!;
    } else if (type === 2) {
      if (pos + 2 > end) throw corrupt('truncated copy', pos);
      length = 1 + (tag >>> 2);
      offset = input[pos]! | (input[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > end) throw corrupt('truncated copy', pos);
      length = 1 + (tag >>> 2);
      offset = input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16) | (input[pos + 3]! << 24);
      if (offset < 0) throw corrupt(`a copy from ${offset >>> 0} bytes back`, pos);
      pos += 4;
    }
    if (offset === 0 || offset > at - chunkStart) {
      throw corrupt(`a copy from ${offset} bytes back, with ${at - chunkStart} bytes written`, pos);
    }
    if (at + length > stop) throw corrupt(`a copy of ${length} bytes overruns the declared length`, pos);
    copyMatch(out, at, offset, length);
    at += length;
  }
  if (at !== stop) {
    throw corrupt(`${at - chunkStart} bytes decoded where the chunk declares ${stop - chunkStart}`, end);
  }
}
