import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { WireError } from '../../client/wire/errors.ts';
import { lz4Decompress } from '../../client/wire/lz4.ts';
import { snappyDecompress } from '../../client/wire/snappy.ts';
import { concat, u32be, u32le, utf8 } from '../support/byte-builders.ts';

// The snappy and lz4 decoders' edges: streams built element by element here (every tag form and
// length encoding, not only what the reference compressors happen to write), their output computed
// alongside; spec corner cases; and garbage, which may only ever be refused with CORRUPT_DATA.

const LIMIT = { maxOutputLength: 64 * 1024 * 1024 };
const SNAPPY_JAVA_HEADER = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1];
const LZ4_MAGIC = u32le(0x184d2204);

/** A deterministic xorshift32: `next(n)` is an integer in [0, n). */
function random(seed: number) {
  let state = seed >>> 0 || 1;
  return (n: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}

/** The WireError `action` throws; a result or any other error fails the test, naming what it got. */
function corruptFrom(action: () => unknown): WireError {
  let result: unknown;
  try {
    result = action();
  } catch (error) {
    if (error instanceof WireError && error.code === 'CORRUPT_DATA') return error;
    throw new Error(`expected a CORRUPT_DATA WireError, got ${String(error)}`);
  }
  throw new Error(`expected a CORRUPT_DATA WireError, got ${(result as Uint8Array).length} bytes`);
}

function varint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

/** A literal of `length` bytes, its length-1 in `extra` bytes (0: in the tag; 1-4 may be non-canonical). */
function snappyLiteral(length: number, extra: number): number[] {
  if (extra === 0) return [(length - 1) << 2];
  const out = [(59 + extra) << 2];
  for (let i = 0; i < extra; i++) out.push(Math.floor((length - 1) / 256 ** i) % 256);
  return out;
}

/** A copy of `length` bytes from `offset` back, with a 1-, 2- or 4-byte offset. */
function snappyCopy(length: number, offset: number, kind: number): number[] {
  if (kind === 1) return [1 | ((length - 4) << 2) | ((offset >>> 8) << 5), offset & 0xff];
  if (kind === 2) return [2 | ((length - 1) << 2), offset & 0xff, offset >>> 8];
  return [3 | ((length - 1) << 2), ...u32le(offset)];
}

/** A raw Snappy chunk of random elements in every form, and what it decodes to. */
function snappyProgram(next: (n: number) => number, elements: number) {
  const body: number[] = [];
  const expected: number[] = [];
  for (let e = 0; e < elements; e++) {
    if (expected.length === 0 || next(3) === 0) {
      const length = 1 + (next(4) === 0 ? next(400) : next(70));
      const minExtra = length - 1 < 60 ? 0 : length - 1 < 256 ? 1 : 2;
      const extra = minExtra + next(5 - minExtra);
      body.push(...snappyLiteral(length, extra));
      for (let i = 0; i < length; i++) {
        const byte = next(4) === 0 ? next(256) : 97 + next(3);
        body.push(byte);
        expected.push(byte);
      }
      continue;
    }
    const kind = 1 + next(3);
    const maxOffset = Math.min(expected.length, kind === 1 ? 2047 : kind === 2 ? 65_535 : 1 << 30);
    // Now and then, the furthest copy there is: from the chunk's very first byte.
    const offset = next(5) === 0 ? maxOffset : 1 + next(maxOffset);
    const length = kind === 1 ? 4 + next(8) : 1 + next(64);
    body.push(...snappyCopy(length, offset, kind));
    for (let i = 0; i < length; i++) expected.push(expected[expected.length - offset] as number);
  }
  return { chunk: concat(varint(expected.length), body), expected: Uint8Array.from(expected) };
}

/** An LZ4 length nibble's continuation: 255s, then the rest (a 0 when the rest is 255 exactly). */
function lz4Extension(rest: number): number[] {
  const out: number[] = [];
  let left = rest;
  while (left >= 255) {
    out.push(255);
    left -= 255;
  }
  out.push(left);
  return out;
}

/** One sequence; a `matchLength` of 0 makes it the last sequence (literals only). */
function lz4Sequence(literals: number[], matchLength: number, offset: number): number[] {
  const litNibble = Math.min(literals.length, 15);
  const matchNibble = matchLength === 0 ? 0 : Math.min(matchLength - 4, 15);
  const out = [(litNibble << 4) | matchNibble];
  if (litNibble === 15) out.push(...lz4Extension(literals.length - 15));
  out.push(...literals);
  if (matchLength === 0) return out;
  out.push(offset & 0xff, offset >>> 8);
  if (matchNibble === 15) out.push(...lz4Extension(matchLength - 19));
  return out;
}

/** Lengths around the nibble and the first extension byte's boundaries. */
const LITERAL_LENGTHS = [0, 1, 14, 15, 16, 269, 270, 271, 524, 525, 526];
const MATCH_LENGTHS = [4, 5, 18, 19, 20, 273, 274, 275, 528, 529, 530];

/**
 * A compressed block of random sequences whose matches reach back at most `window` bytes before it
 * (what the frame holds already, for linked blocks; 0 for independent ones), appended to `decoded`.
 */
function lz4Program(next: (n: number) => number, sequences: number, decoded: number[], window: number) {
  const block: number[] = [];
  const start = decoded.length;
  for (let s = 0; s < sequences; s++) {
    const count = next(2) === 0 ? (LITERAL_LENGTHS[next(LITERAL_LENGTHS.length)] as number) : next(20);
    const literals: number[] = [];
    for (let i = 0; i < count; i++) literals.push(next(3) === 0 ? next(256) : 120 + next(3));
    decoded.push(...literals);
    const reach = Math.min(65_535, decoded.length - start + window);
    if (reach === 0) {
      block.push(...lz4Sequence(literals, 0, 0));
      return block;
    }
    const offset = next(4) === 0 ? reach : 1 + next(reach);
    const length = next(2) === 0 ? (MATCH_LENGTHS[next(MATCH_LENGTHS.length)] as number) : 4 + next(40);
    block.push(...lz4Sequence(literals, length, offset));
    for (let i = 0; i < length; i++) decoded.push(decoded[decoded.length - offset] as number);
  }
  const last: number[] = [];
  for (let i = next(8); i > 0; i--) last.push(next(256));
  decoded.push(...last);
  block.push(...lz4Sequence(last, 0, 0));
  return block;
}

/** An LZ4 frame around the given block bodies (`raw` ones stored uncompressed). */
function lz4Frame(
  blocks: { bytes: number[] | Uint8Array; raw?: boolean }[],
  shape: { independent: boolean; contentSize?: number; blockSizeId?: number },
): Uint8Array {
  const flags = 0x40 | (shape.independent ? 0x20 : 0) | (shape.contentSize === undefined ? 0 : 0x08);
  const parts: (number[] | Uint8Array)[] = [LZ4_MAGIC, [flags, (shape.blockSizeId ?? 4) << 4]];
  if (shape.contentSize !== undefined) parts.push(u32le(shape.contentSize), [0, 0, 0, 0]);
  parts.push([0]);
  for (const block of blocks) {
    parts.push(u32le((block.bytes.length | (block.raw ? 0x80000000 : 0)) >>> 0), block.bytes);
  }
  parts.push(u32le(0));
  return concat(...parts);
}

/** `bytes` at a non-zero byteOffset, inside a larger buffer, as a Buffer from the pool would be. */
function offsetView(bytes: Uint8Array, before = 13): Uint8Array {
  const backing = new Uint8Array(before + bytes.length + 7).fill(0xee);
  backing.set(bytes, before);
  return backing.subarray(before, before + bytes.length);
}

const same = (actual: Uint8Array, expected: Uint8Array) =>
  expect(Buffer.from(actual).equals(Buffer.from(expected))).toBe(true);

describe('snappyDecompress at its edges', () => {
  it('decodes random streams of every element form, literal lengths in 0 to 4 extra bytes', () => {
    const next = random(0x5eed);
    for (let run = 0; run < 300; run++) {
      const { chunk, expected } = snappyProgram(next, 1 + next(40));
      same(snappyDecompress(chunk, LIMIT), expected);
    }
  });

  it("decodes random snappy-java framings, copies reaching each chunk's first byte", () => {
    const next = random(77);
    for (let run = 0; run < 100; run++) {
      const chunks = Array.from({ length: 1 + next(4) }, () => snappyProgram(next, 1 + next(20)));
      const framed = concat(SNAPPY_JAVA_HEADER, ...chunks.flatMap((c) => [u32be(c.chunk.length), c.chunk]));
      const expected = concat(...chunks.map((c) => c.expected));
      same(snappyDecompress(offsetView(framed, 1 + next(30)), LIMIT), expected);
    }
  });

  it('reads literal lengths at each extra-byte boundary (61, 256, 257, 65536, 65537 bytes)', () => {
    for (const [length, extra] of [
      [60, 0],
      [61, 1],
      [256, 1],
      [257, 2],
      [65_536, 2],
      [65_537, 3],
      [5, 4],
    ] as const) {
      const literal = Uint8Array.from({ length }, (_, i) => (i * 7) & 0xff);
      const stream = concat(varint(length), snappyLiteral(length, extra), literal);
      same(snappyDecompress(stream, LIMIT), literal);
    }
  });

  it('lets a copy reach back exactly to the first byte, and not one byte further', () => {
    const ok = concat([9], [2 << 2], utf8('abc'), snappyCopy(6, 3, 2));
    expect(new TextDecoder().decode(snappyDecompress(ok, LIMIT))).toBe('abcabcabc');
    corruptFrom(() => snappyDecompress(concat([9], [2 << 2], utf8('abc'), snappyCopy(6, 4, 2)), LIMIT));
  });

  it('refuses a copy in a snappy-java chunk that reaches into the chunk before it', () => {
    const first = concat([4], [3 << 2], utf8('abcd'));
    const second = concat([4], snappyCopy(4, 4, 1));
    const framed = concat(SNAPPY_JAVA_HEADER, u32be(first.length), first, u32be(second.length), second);
    expect(corruptFrom(() => snappyDecompress(framed, LIMIT)).message).toContain('with 0 bytes written');
  });

  it('reads the framing header alone as nothing, a chunk of uncompressed length 0 as nothing', () => {
    expect(snappyDecompress(Uint8Array.from(SNAPPY_JAVA_HEADER), LIMIT).length).toBe(0);
    const empty = concat(SNAPPY_JAVA_HEADER, u32be(1), [0], u32be(3), [1, 0, 120]);
    expect(new TextDecoder().decode(snappyDecompress(empty, LIMIT))).toBe('x');
  });

  it('refuses a snappy-java chunk of length 0 with CORRUPT_DATA', () => {
    corruptFrom(() => snappyDecompress(concat(SNAPPY_JAVA_HEADER, u32be(0)), LIMIT));
  });

  it("reads a raw stream whose preamble is the framing magic's first two bytes (10626 bytes)", () => {
    const literal = Uint8Array.from({ length: 10_626 }, (_, i) => (i * 31) & 0xff);
    const stream = concat(varint(10_626), snappyLiteral(10_626, 2), literal);
    expect([...stream.subarray(0, 2)]).toEqual([0x82, 0x53]);
    same(snappyDecompress(stream, LIMIT), literal);
  });

  it('reads a stream that fills maxOutputLength exactly, and refuses one byte more', () => {
    const literal = utf8('0123456789');
    const stream = concat([10], snappyLiteral(10, 0), literal);
    same(snappyDecompress(stream, { maxOutputLength: 10 }), literal);
    corruptFrom(() => snappyDecompress(stream, { maxOutputLength: 9 }));
  });

  it('refuses 4-byte literal lengths and offsets with the top bit set with CORRUPT_DATA', () => {
    corruptFrom(() => snappyDecompress(concat([10], [63 << 2, 0xff, 0xff, 0xff, 0xff], utf8('a')), LIMIT));
    corruptFrom(() => snappyDecompress(concat([10], [0], utf8('a'), snappyCopy(4, 0x80000001, 3)), LIMIT));
  });

  it('throws only CORRUPT_DATA for random bytes, raw or framed, within the output limit', () => {
    const next = random(3);
    for (let run = 0; run < 3000; run++) {
      const body = Array.from({ length: next(40) }, () => next(256));
      const input = next(2) === 0 ? concat(body) : concat(SNAPPY_JAVA_HEADER, u32be(body.length), body);
      try {
        expect(snappyDecompress(input, { maxOutputLength: 4096 }).length).toBeLessThanOrEqual(4096);
      } catch (error) {
        expect(error).toBeInstanceOf(WireError);
        expect((error as WireError).code).toBe('CORRUPT_DATA');
      }
    }
  });
});

describe('lz4Decompress at its edges', () => {
  it('decodes random linked and independent frames, lengths at every nibble boundary', () => {
    const next = random(0x1234);
    for (let run = 0; run < 200; run++) {
      const independent = next(2) === 0;
      const decoded: number[] = [];
      const blocks: { bytes: number[]; raw?: boolean }[] = [];
      for (let b = 1 + next(3); b > 0; b--) {
        if (next(5) === 0) {
          const raw = Array.from({ length: next(50) }, () => next(256));
          decoded.push(...raw);
          blocks.push({ bytes: raw, raw: true });
        } else {
          blocks.push({ bytes: lz4Program(next, 1 + next(12), decoded, independent ? 0 : decoded.length) });
        }
      }
      const contentSize = next(2) === 0 ? decoded.length : undefined;
      const frame = lz4Frame(blocks, { independent, contentSize });
      same(lz4Decompress(offsetView(frame, next(9)), LIMIT), Uint8Array.from(decoded));
    }
  });

  it('reads a frame whose content size is present and 0, and the frame after it', () => {
    const empty = lz4Frame([], { independent: true, contentSize: 0 });
    expect(lz4Decompress(empty, LIMIT).length).toBe(0);
    const then = lz4Frame([{ bytes: utf8('abc'), raw: true }], { independent: true });
    expect(new TextDecoder().decode(lz4Decompress(concat(empty, then), LIMIT))).toBe('abc');
  });

  it('reads blocks of exactly the maximum size, raw and compressed', () => {
    const raw = Uint8Array.from({ length: 65_536 }, (_, i) => (i * 13) & 0xff);
    same(lz4Decompress(lz4Frame([{ bytes: raw, raw: true }], { independent: true }), LIMIT), raw);
    let count = 65_000;
    while (1 + lz4Extension(count - 15).length + count < 65_536) count++;
    const literals = Array.from({ length: count }, (_, i) => i & 0xff);
    const block = lz4Sequence(literals, 0, 0);
    expect(block.length).toBe(65_536);
    const frame = lz4Frame([{ bytes: block }], { independent: true });
    same(lz4Decompress(frame, LIMIT), Uint8Array.from(literals));
  });

  it('refuses a block that ends with a match (the last sequence must be literals only)', () => {
    const block = lz4Sequence([...utf8('abcd')], 8, 4);
    corruptFrom(() => lz4Decompress(lz4Frame([{ bytes: block }], { independent: true }), LIMIT));
  });

  it('ignores the match nibble of a last sequence whose literals end the block', () => {
    const block = [(3 << 4) | 0x0f, ...utf8('xyz')];
    const frame = lz4Frame([{ bytes: block }], { independent: true });
    expect(new TextDecoder().decode(lz4Decompress(frame, LIMIT))).toBe('xyz');
  });

  it('reads skippable frames at both ends of the magic range, alone or around a frame', () => {
    const low = concat(u32le(0x184d2a50), u32le(0));
    const high = concat(u32le(0x184d2a5f), u32le(2), [1, 2]);
    expect(lz4Decompress(concat(low, high), LIMIT).length).toBe(0);
    const frame = lz4Frame([{ bytes: utf8('hi'), raw: true }], { independent: false });
    expect(new TextDecoder().decode(lz4Decompress(concat(high, frame, low), LIMIT))).toBe('hi');
    corruptFrom(() => lz4Decompress(concat(u32le(0x184d2a60), u32le(0)), LIMIT));
  });

  it('refuses a content size of 2^53 and more, or above the limit, with CORRUPT_DATA', () => {
    for (const high of [0x00200000, 0xffffffff, 0x00000001]) {
      const frame = concat(LZ4_MAGIC, [0x68, 0x40], u32le(0), u32le(high), [0], u32le(0));
      corruptFrom(() => lz4Decompress(frame, LIMIT));
    }
  });

  it('reads a frame that fills maxOutputLength exactly, and refuses one byte more', () => {
    const frame = lz4Frame([{ bytes: lz4Sequence([...utf8('abcd')], 0, 0) }], { independent: true });
    expect(lz4Decompress(frame, { maxOutputLength: 4 }).length).toBe(4);
    corruptFrom(() => lz4Decompress(frame, { maxOutputLength: 3 }));
    // 1 literal, then a match of 99 from 1 back, then an empty last sequence: 100 bytes.
    const block = [0x1f, 0, 1, 0, ...lz4Extension(99 - 19), 0x00];
    const zeros = lz4Frame([{ bytes: block }], { independent: true });
    expect(lz4Decompress(zeros, { maxOutputLength: 100 }).length).toBe(100);
    corruptFrom(() => lz4Decompress(zeros, { maxOutputLength: 99 }));
  });

  it('throws only CORRUPT_DATA for random bytes after a frame header, within the output limit', () => {
    const next = random(11);
    for (let run = 0; run < 3000; run++) {
      const flags = 0x40 | (next(2) << 5) | (next(2) << 4) | (next(2) << 3) | (next(2) << 2);
      const body = Array.from({ length: next(48) }, () => (next(3) === 0 ? 0 : next(256)));
      const input = concat(LZ4_MAGIC, [flags, (4 + next(4)) << 4], body);
      try {
        expect(lz4Decompress(input, { maxOutputLength: 4096 }).length).toBeLessThanOrEqual(4096);
      } catch (error) {
        expect(error).toBeInstanceOf(WireError);
        expect((error as WireError).code).toBe('CORRUPT_DATA');
      }
    }
  });

  it('returns an output whose buffer is not 4 times its size (1 MiB stored uncompressed)', () => {
    const raw = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 2_654_435_761) >>> 24);
    const frame = lz4Frame([{ bytes: raw, raw: true }], { independent: true, blockSizeId: 7 });
    const output = lz4Decompress(frame, LIMIT);
    same(output, raw);
    expect(output.buffer.byteLength).toBeLessThanOrEqual(2 * raw.length);
  });

  it('returns an output that does not pin a buffer far larger than itself (5 bytes)', () => {
    // Records decoded from the section are views into it: a consumer that keeps a few records of many
    // small batches keeps each batch's whole output buffer alive.
    const small = lz4Frame([{ bytes: utf8('hello'), raw: true }], { independent: true, contentSize: 5 });
    const output = lz4Decompress(small, LIMIT);
    expect(output.length).toBe(5);
    expect(output.buffer.byteLength).toBeLessThanOrEqual(4096);
  });
});
