import fc from 'fast-check';
import * as lz4js from 'lz4js';
import SnappyJS from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { WireError } from '../../client/wire/errors.ts';
import { lz4Decompress } from '../../client/wire/lz4.ts';
import {
  canDecompress,
  decodeRecordBatch,
  encodeRecordBatch,
  type LogRecord,
} from '../../client/wire/record-batch.ts';
import { snappyDecompress } from '../../client/wire/snappy.ts';
import { concat, u32be, u32le, utf8 } from '../support/byte-builders.ts';
import { compressedBatch } from '../support/compressed-batch.ts';
import { thrownBy } from '../support/wire-error.ts';

// The reference compressors (snappyjs: raw Snappy; lz4js: LZ4 frames and blocks) write what the
// decoders must read back byte for byte; the frames' other shapes are assembled here by hand.

const LIMIT = { maxOutputLength: 64 * 1024 * 1024 };

/** Deterministic bytes of a given character: random, text-like (compressible) or one repeated byte. */
function sample(size: number, kind: 'random' | 'text' | 'run', seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const words = ['user-', 'signed up ', 'paid ', '{"amount":', '12', '}', ' clicked', '\n'];
  for (let i = 0; i < size; ) {
    if (kind === 'random') out[i++] = next() & 0xff;
    else if (kind === 'run') out[i++] = 0x61;
    else for (const byte of utf8(words[next() % words.length] as string)) if (i < size) out[i++] = byte;
  }
  return out;
}

const SIZES = [1, 15, 16, 17, 60, 61, 255, 256, 4096, 65_535, 65_536, 65_537, 300_000, 1_048_576];
const KINDS = ['random', 'text', 'run'] as const;
const CASES = SIZES.flatMap((size) => KINDS.map((kind) => [size, kind] as const));

/** snappy-java's framing around raw Snappy chunks of `chunk` bytes of input. */
function snappyFramed(input: Uint8Array, chunk = 32 * 1024): Uint8Array {
  const parts: (Uint8Array | number[])[] = [
    [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00],
    u32be(1),
    u32be(1),
  ];
  for (let at = 0; at < input.length; at += chunk) {
    const compressed = SnappyJS.compress(input.subarray(at, at + chunk));
    parts.push(u32be(compressed.length), compressed);
  }
  return concat(...parts);
}

/** One LZ4 block compressed by the reference, or undefined when it does not shrink. */
function lz4Block(input: Uint8Array): Uint8Array | undefined {
  const out = new Uint8Array(lz4js.compressBound(input.length));
  const size = lz4js.compressBlock(input, out, 0, input.length, new Uint32Array(1 << 16));
  return size === 0 || size >= input.length ? undefined : out.subarray(0, size);
}

interface FrameShape {
  independent?: boolean;
  blockChecksums?: boolean;
  contentSize?: number;
  contentChecksum?: boolean;
  blockSizeId?: number;
}

/** An LZ4 frame of the given blocks ({ raw } stored as they are), in the shape asked for. */
function lz4Frame(
  blocks: readonly ({ compressed: Uint8Array } | { raw: Uint8Array })[],
  shape: FrameShape = {},
) {
  const flags =
    0x40 |
    (shape.independent === false ? 0 : 0x20) |
    (shape.blockChecksums ? 0x10 : 0) |
    (shape.contentSize === undefined ? 0 : 0x08) |
    (shape.contentChecksum ? 0x04 : 0);
  const parts: (Uint8Array | number[])[] = [u32le(0x184d2204), [flags, (shape.blockSizeId ?? 4) << 4]];
  if (shape.contentSize !== undefined) parts.push(u32le(shape.contentSize), u32le(0));
  parts.push([0x00]); // the header checksum, not verified
  for (const block of blocks) {
    const [bytes, marker] = 'raw' in block ? [block.raw, 0x80000000] : [block.compressed, 0];
    parts.push(u32le((bytes.length | marker) >>> 0), bytes);
    if (shape.blockChecksums) parts.push([1, 2, 3, 4]);
  }
  parts.push(u32le(0));
  if (shape.contentChecksum) parts.push([5, 6, 7, 8]);
  return concat(...parts);
}

/** The input as independent 64 KiB blocks, each compressed when that shrinks it. */
function lz4Blocks(input: Uint8Array, size = 64 * 1024) {
  const blocks: ({ compressed: Uint8Array } | { raw: Uint8Array })[] = [];
  for (let at = 0; at < input.length; at += size) {
    const slice = input.subarray(at, at + size);
    const compressed = lz4Block(slice);
    blocks.push(compressed ? { compressed } : { raw: slice });
  }
  return blocks;
}

/**
 * Damages valid inputs (bytes overwritten, the end cut off) and checks that `decode` either decodes
 * within its limit or throws CORRUPT_DATA: never another error, an overrun or a hang.
 */
function decodesOrRefuses(
  valid: readonly Uint8Array[],
  decode: (input: Uint8Array, options: { maxOutputLength: number }) => Uint8Array,
): void {
  fc.assert(
    fc.property(
      fc.constantFrom(...valid),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      fc.option(fc.nat()),
      (bytes, flips, cut) => {
        const damaged = Uint8Array.from(bytes);
        for (const [at, value] of flips) damaged[at % damaged.length] = value;
        const input = cut === null ? damaged : damaged.subarray(0, cut % damaged.length);
        try {
          expect(decode(input, { maxOutputLength: 1024 * 1024 }).length).toBeLessThanOrEqual(1024 * 1024);
        } catch (error) {
          expect(error).toBeInstanceOf(WireError);
          expect((error as WireError).code).toBe('CORRUPT_DATA');
        }
      },
    ),
    { numRuns: 500 },
  );
}

describe('snappyDecompress', () => {
  it.each(CASES)('reads back %i bytes of %s data compressed as raw Snappy', (size, kind) => {
    // Prepare
    const input = sample(size, kind, size);
    // Act
    const output = snappyDecompress(SnappyJS.compress(input), LIMIT);
    // Assess
    expect(Buffer.from(output).equals(Buffer.from(input))).toBe(true);
  });

  it.each(CASES)("reads back %i bytes of %s data in snappy-java's framing", (size, kind) => {
    const input = sample(size, kind, size);
    expect(Buffer.from(snappyDecompress(snappyFramed(input), LIMIT)).equals(Buffer.from(input))).toBe(true);
  });

  it('reads every element kind: long literals, 1-, 2- and 4-byte offsets, overlapping copies', () => {
    // Prepare: hand-written elements (the reference compressor writes no 4-byte offsets)
    const literal = sample(70, 'random');
    const stream = concat(
      [150, 1], // 150 bytes uncompressed (varint)
      [60 << 2, 69], // a literal of 70 bytes, its length-1 in one extra byte
      literal,
      [(4 << 2) | 1 | (0 << 5), 70], // copy 1-byte offset: 8 bytes from 70 back
      [(11 << 2) | 2, 78, 0], // copy 2-byte offset: 12 bytes from 78 back
      [(9 << 2) | 3, 1, 0, 0, 0], // copy 4-byte offset: 10 bytes from 1 back (a run)
      [(49 << 2) | 2, 3, 0], // copy 2-byte offset: 50 bytes from 3 back (overlapping, repeating 3)
    );
    // Act
    const output = snappyDecompress(stream, LIMIT);
    // Assess
    const expected = [...literal];
    for (const [length, offset] of [
      [8, 70],
      [12, 78],
      [10, 1],
      [50, 3],
    ] as const) {
      for (let i = 0; i < length; i++) expected.push(expected[expected.length - offset] as number);
    }
    expect([...output]).toEqual(expected);
  });

  it.each([
    ['an empty input', new Uint8Array(0), 'no valid uncompressed length'],
    [
      'a preamble past 32 bits',
      Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x7f]),
      'no valid uncompressed length',
    ],
    [
      'fewer bytes than the preamble declares',
      concat([5], [3 << 2], utf8('abcd')),
      '4 bytes decoded where the chunk declares 5',
    ],
    [
      'more bytes than the preamble declares',
      concat([3], [3 << 2], utf8('abcd')),
      'overruns the declared length',
    ],
    [
      'a copy before the start',
      concat([8], [0], utf8('a'), [(3 << 2) | 2, 2, 0]),
      'a copy from 2 bytes back, with 1 bytes written',
    ],
    ['a copy from offset 0', concat([8], [0], utf8('a'), [(3 << 2) | 2, 0, 0]), 'a copy from 0 bytes back'],
    ['a literal past the input', concat([8], [7 << 2], utf8('abc')), 'runs past the input'],
    ['a truncated copy', concat([8], [0], utf8('a'), [(3 << 2) | 3, 1, 0]), 'truncated copy'],
    [
      'a framed chunk past the input',
      concat(snappyFramed(utf8('hello')).subarray(0, 16), u32be(100), [1]),
      'runs past the end',
    ],
  ])('throws CORRUPT_DATA for %s', (_, input, message) => {
    const error = thrownBy(() => snappyDecompress(input, LIMIT));
    expect(error.code).toBe('CORRUPT_DATA');
    expect(error.message).toContain(message);
  });

  it('refuses to allocate past maxOutputLength, or more than its input could expand to', () => {
    // Prepare: a 1 MiB run compresses to a few KiB; a 6-byte chunk may also declare 4 GiB
    const bomb = SnappyJS.compress(new Uint8Array(1024 * 1024));
    const liar = concat([0xff, 0xff, 0xff, 0xff, 0x0f], [0]);
    // Act + Assess
    for (const input of [bomb, snappyFramed(new Uint8Array(1024 * 1024))]) {
      const error = thrownBy(() => snappyDecompress(input, { maxOutputLength: 64 * 1024 }));
      expect(error.code).toBe('CORRUPT_DATA');
      expect(error.message).toContain('above the limit of 65536');
    }
    const lie = thrownBy(() => snappyDecompress(liar, LIMIT));
    expect(lie.code).toBe('CORRUPT_DATA');
    expect(lie.message).toContain('4294967295 bytes declared from 1 compressed');
  });

  it('throws CORRUPT_DATA or decodes for any damaged stream, never anything else', () => {
    const valid = [SnappyJS.compress(sample(3000, 'text')), snappyFramed(sample(3000, 'text'), 1000)];
    decodesOrRefuses(valid, snappyDecompress);
  });
});

describe('lz4Decompress', () => {
  it.each(CASES)("reads back %i bytes of %s data in the reference's LZ4 frame", (size, kind) => {
    // Prepare
    const input = sample(size, kind, size);
    // Act
    const output = lz4Decompress(lz4js.compress(input), LIMIT);
    // Assess
    expect(Buffer.from(output).equals(Buffer.from(input))).toBe(true);
  });

  it.each([
    [
      'content size, block and content checksums',
      { contentSize: -1, blockChecksums: true, contentChecksum: true },
    ],
    ['1 MiB blocks', { blockSizeId: 6 }],
    ['no optional fields', {}],
  ] as const)('reads frames with %s', (_, shape) => {
    // Prepare: text (compressed blocks) then random bytes (blocks stored uncompressed)
    const input = concat(sample(200_000, 'text'), sample(70_000, 'random'));
    const frame = lz4Frame(lz4Blocks(input), {
      ...shape,
      contentSize: 'contentSize' in shape ? input.length : undefined,
    });
    // Act + Assess
    expect(Buffer.from(lz4Decompress(frame, LIMIT)).equals(Buffer.from(input))).toBe(true);
  });

  it('lets a linked block match into the block before it, and an independent one not', () => {
    // Prepare: block 1 is 8 literals; block 2 is one sequence, no literals, a 12-byte match 8 back
    const first = { compressed: concat([0x80], utf8('abcdefgh')) };
    const second = { compressed: Uint8Array.from([0x08, 8, 0, 0x00]) };
    // Act
    const linked = lz4Decompress(lz4Frame([first, second], { independent: false }), LIMIT);
    const error = thrownBy(() => lz4Decompress(lz4Frame([first, second], { independent: true }), LIMIT));
    // Assess
    expect(new TextDecoder().decode(linked)).toBe('abcdefghabcdefghabcd');
    expect(error.message).toContain('a match from 8 bytes back, with 0 bytes behind it');
  });

  it('reads frames one after another, skipping skippable frames, and matches only within a frame', () => {
    // Prepare
    const a = sample(100_000, 'text', 7);
    const b = sample(5_000, 'run');
    const skippable = concat(u32le(0x184d2a53), u32le(3), [9, 9, 9]);
    // Act
    const output = lz4Decompress(concat(lz4js.compress(a), skippable, lz4js.compress(b)), LIMIT);
    const across = thrownBy(() =>
      lz4Decompress(
        concat(lz4js.compress(a), lz4Frame([{ compressed: Uint8Array.from([0x00, 1, 0, 0x00]) }])),
        LIMIT,
      ),
    );
    // Assess
    expect(Buffer.from(output).equals(Buffer.from(concat(a, b)))).toBe(true);
    expect(across.message).toContain('a match from 1 bytes back, with 0 bytes behind it');
  });

  it.each([
    ['an empty input', new Uint8Array(0), 'no frame'],
    ['another magic number', Uint8Array.from(u32le(0x184c2102)), 'is not an LZ4 frame'],
    ['frame version 0', concat(u32le(0x184d2204), [0x20, 0x40, 0]), 'frame version 0'],
    ['reserved bits', concat(u32le(0x184d2204), [0x62, 0x40, 0]), 'reserved bits'],
    ['a dictionary', concat(u32le(0x184d2204), [0x61, 0x40, 0, 0, 0, 0, 0]), 'needs a dictionary'],
    ['a block size id below 4', concat(u32le(0x184d2204), [0x60, 0x30, 0]), 'block size id 3'],
    ['no end mark', lz4Frame([{ raw: utf8('abc') }]).subarray(0, -4), 'no end mark'],
    ['a block past the input', lz4Frame([{ raw: utf8('abc') }]).subarray(0, 12), 'runs past the input'],
    [
      'a block above the frame maximum',
      concat(u32le(0x184d2204), [0x60, 0x40, 0], u32le(65_537)),
      'blocks up to 65536',
    ],
    ['a wrong content size', lz4Frame([{ raw: utf8('abc') }], { contentSize: 4 }), 'the frame declares 4'],
    [
      'literals past the block',
      lz4Frame([{ compressed: Uint8Array.from([0x50, 1, 2]) }]),
      'literals run past the block',
    ],
    [
      'a match offset of 0',
      lz4Frame([{ compressed: Uint8Array.from([0x10, 97, 0, 0]) }]),
      'a match from 0 bytes back',
    ],
    [
      'a truncated offset',
      lz4Frame([{ compressed: Uint8Array.from([0x10, 97, 1]) }]),
      'truncated match offset',
    ],
  ])('throws CORRUPT_DATA for %s', (_, input, message) => {
    const error = thrownBy(() => lz4Decompress(input, LIMIT));
    expect(error.code).toBe('CORRUPT_DATA');
    expect(error.message).toContain(message);
  });

  it('stops at maxOutputLength, whether the frame declares its size or not', () => {
    // Prepare: 1 MiB of zeros is a few KiB of LZ4
    const zeros = new Uint8Array(1024 * 1024);
    const declared = lz4Frame(lz4Blocks(zeros), { contentSize: zeros.length });
    for (const input of [lz4js.compress(zeros), declared]) {
      // Act
      const error = thrownBy(() => lz4Decompress(input, { maxOutputLength: 100_000 }));
      // Assess
      expect(error.code).toBe('CORRUPT_DATA');
      expect(error.message).toContain('more than the limit of 100000 bytes');
    }
  });

  it('refuses a content size its frame could not expand to, and a block above its frame maximum', () => {
    // Prepare: 1 GiB declared by a frame of a few bytes; a 64 KiB-block frame whose block makes 70,000
    const liar = lz4Frame([{ raw: utf8('abc') }], { contentSize: 2 ** 30 });
    const long = lz4Frame([
      { compressed: concat([0x1f], utf8('a'), [1, 0], new Array<number>(300).fill(255), [0], [0x00]) },
    ]);
    // Act
    const declared = thrownBy(() => lz4Decompress(liar, LIMIT));
    const oversized = thrownBy(() => lz4Decompress(long, LIMIT));
    // Assess
    expect(declared.message).toContain(`a content size of ${2 ** 30}`);
    expect(oversized.message).toContain('above its frame');
  });

  it('throws CORRUPT_DATA or decodes for any damaged frame, never anything else', () => {
    const valid = [
      lz4js.compress(sample(3000, 'text')),
      lz4Frame(lz4Blocks(sample(3000, 'text'), 1000), { independent: false, contentSize: 3000 }),
    ];
    decodesOrRefuses(valid, lz4Decompress);
  });
});

describe('record batches compressed with snappy and lz4', () => {
  const records: LogRecord[] = Array.from({ length: 300 }, (_, i) => ({
    key: utf8(`user-${i % 7}`),
    value: sample(200 + (i % 13) * 50, i % 3 === 0 ? 'random' : 'text', i + 1),
    timestamp: 1_790_000_000_000 + i,
    headers: [{ key: 'trace', value: utf8(`t-${i}`) }],
  }));

  it.each([
    [2, 'raw Snappy', (section: Uint8Array) => SnappyJS.compress(section)],
    [2, "snappy-java's framing", (section: Uint8Array) => snappyFramed(section, 4096)],
    [3, 'an LZ4 frame', (section: Uint8Array) => lz4js.compress(section)],
  ] as const)('decodes codec %i in %s to the records of the uncompressed batch', (codec, _, compress) => {
    // Prepare
    expect(canDecompress(codec)).toBe(true);
    const plain = decodeRecordBatch(encodeRecordBatch(records));
    // Act
    const decoded = decodeRecordBatch(compressedBatch(records, codec, compress));
    // Assess
    expect(decoded.compressionCodec).toBe(codec);
    expect(decoded.records).toEqual(plain.records);
  });

  it('names the codec and the reason when the section does not decompress', () => {
    const batch = compressedBatch(records, 3, () => Uint8Array.from([1, 2, 3, 4, 5]));
    const error = thrownBy(() => decodeRecordBatch(batch));
    expect(error.code).toBe('CORRUPT_DATA');
    expect(error.message).toContain('lz4 records section could not be decompressed: lz4: magic number');
  });
});
