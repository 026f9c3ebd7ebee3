import { Buffer } from 'node:buffer';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../client/wire/crc32c.ts';
import {
  type Compression,
  canDecompress,
  checkRecords,
  decodeRecordBatch,
  encodeRecordBatch,
  type LogRecord,
  patchBaseOffset,
  RECORD_BATCH_OVERHEAD,
  readBatchHeader,
  splitBatches,
} from '../../client/wire/record-batch.ts';
import { concat } from '../support/byte-builders.ts';
import { thrownBy } from '../support/wire-error.ts';

// ---------------------------------------------------------------------------------------------------
// Helpers

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));

/** A copy of `batch` changed by `mutate`, with its CRC recomputed so only the inner damage remains. */
function resealed(batch: Uint8Array, mutate: (copy: Uint8Array, view: DataView) => void): Uint8Array {
  const copy = Uint8Array.from(batch);
  const view = new DataView(copy.buffer);
  mutate(copy, view);
  view.setUint32(17, crc32c(copy.subarray(21)));
  return copy;
}

/** A mutator for `resealed` that sets one byte. */
function setByte(position: number, value: number): (copy: Uint8Array) => void {
  return (copy) => {
    copy[position] = value;
  };
}

const bytesOrNull = fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null });
const headerArb = fc.record({ key: fc.string({ unit: 'grapheme', maxLength: 8 }), value: bytesOrNull });
const timestampArb = fc.oneof(
  fc.integer({ min: 1_600_000_000_000, max: 1_800_000_000_000 }),
  fc.maxSafeNat(), // far-apart timestamps force 64-bit timestamp deltas of either sign
);
const recordArb: fc.Arbitrary<LogRecord> = fc.record({
  key: bytesOrNull,
  value: bytesOrNull,
  timestamp: timestampArb,
  headers: fc.array(headerArb, { maxLength: 3 }),
});
const recordsArb = fc.array(recordArb, { minLength: 1, maxLength: 20 });
const compressionArb = fc.constantFrom<Compression>('none', 'gzip');

// ---------------------------------------------------------------------------------------------------
// The hand-checked fixture: two records, uncompressed.
//   record 0: key "k", value "v", timestamp 1700000000000 (0x18bcfe56800), no headers
//   record 1: null key, empty value, timestamp +5 ms, one header "h" with a null value
// CRC 0x13f3c0b7 was computed over bytes 21..79 with java.util.zip.CRC32C.

const FIXTURE_RECORDS: LogRecord[] = [
  { key: utf8('k'), value: utf8('v'), timestamp: 1_700_000_000_000, headers: [] },
  { key: null, value: new Uint8Array(0), timestamp: 1_700_000_000_005, headers: [{ key: 'h', value: null }] },
];

const FIXTURE_HEX = `
  0000000000000000 00000044 ffffffff 02 13f3c0b7
  0000 00000001 0000018bcfe56800 0000018bcfe56805 ffffffffffffffff ffff ffffffff 00000002
  10 00 00 00 02 6b 02 76 00
  12 00 0a 02 01 00 02 02 68 01`;

const fixture = (): Uint8Array => fromHex(FIXTURE_HEX);

// Offsets inside the fixture's records section, from the grammar.
const RECORD0_KEY_LENGTH = 61 + 4;
const RECORD1_OFFSET_DELTA = 61 + 9 + 3;
const RECORD1_HEADER_KEY = 61 + 9 + 8;

// ---------------------------------------------------------------------------------------------------

describe('encodeRecordBatch / decodeRecordBatch round trip', () => {
  it('gives back every record, header and timestamp, with offsets 0..n-1, for both compressions', () => {
    fc.assert(
      fc.property(recordsArb, compressionArb, (records, compression) => {
        // Prepare: the records

        // Act
        const bytes = encodeRecordBatch(records, { compression });
        const batch = decodeRecordBatch(bytes);

        // Assess
        expect(batch.records).toEqual(records.map((record, offset) => ({ ...record, offset })));
        expect(batch.baseOffset).toBe(0);
        expect(batch.recordCount).toBe(records.length);
        expect(batch.lastOffsetDelta).toBe(records.length - 1);
        expect(batch.firstTimestamp).toBe(records[0]?.timestamp);
        expect(batch.maxTimestamp).toBe(Math.max(...records.map((record) => record.timestamp)));
        expect(batch.compressionCodec).toBe(compression === 'gzip' ? 1 : 0);
        expect(batch.sizeInBytes).toBe(bytes.length);
        expect(batch.crc).toBe(crc32c(bytes.subarray(21)));
      }),
    );
  });

  it('writes the Kafka defaults for a non-idempotent batch', () => {
    // Prepare
    const records = FIXTURE_RECORDS;

    // Act
    const header = readBatchHeader(encodeRecordBatch(records));

    // Assess
    expect(header).toMatchObject({
      baseOffset: 0,
      partitionLeaderEpoch: -1,
      magic: 2,
      attributes: 0,
      timestampType: 'CreateTime',
      isTransactional: false,
      isControl: false,
      producerId: -1n,
      producerEpoch: -1,
      baseSequence: -1,
    });
  });

  it('writes producer fields and the leader epoch when given', () => {
    // Prepare
    const options = {
      producerId: 2n ** 40n,
      producerEpoch: 3,
      baseSequence: 7,
      partitionLeaderEpoch: 9,
    };

    // Act
    const batch = decodeRecordBatch(encodeRecordBatch(FIXTURE_RECORDS, options));

    // Assess
    expect(batch).toMatchObject(options);
  });

  it('gzips exactly the uncompressed records section and marks codec 1', () => {
    // Prepare
    const plain = encodeRecordBatch(FIXTURE_RECORDS);

    // Act
    const gzipped = encodeRecordBatch(FIXTURE_RECORDS, { compression: 'gzip' });

    // Assess
    expect(new DataView(gzipped.buffer).getInt16(21)).toBe(1);
    expect(gunzipSync(gzipped.subarray(RECORD_BATCH_OVERHEAD))).toEqual(
      Buffer.from(plain.subarray(RECORD_BATCH_OVERHEAD)),
    );
  });

  it('keeps header keys exactly, including a leading byte-order mark and astral characters', () => {
    // Prepare
    const record: LogRecord = {
      key: null,
      value: null,
      timestamp: 0,
      headers: [
        { key: '\ufeffbom', value: utf8('x') },
        { key: 'emoji 😀', value: null },
        { key: '', value: new Uint8Array(0) },
      ],
    };

    // Act
    const [decoded] = decodeRecordBatch(encodeRecordBatch([record])).records;

    // Assess
    expect(decoded?.headers).toEqual(record.headers);
  });

  it('returns plain Uint8Array views even when given a Buffer', () => {
    // Prepare
    const bytes = Buffer.from(encodeRecordBatch(FIXTURE_RECORDS));

    // Act
    const [first] = decodeRecordBatch(bytes).records;

    // Assess
    expect(Object.getPrototypeOf(first?.key)).toBe(Uint8Array.prototype);
    expect(Object.getPrototypeOf(first?.value)).toBe(Uint8Array.prototype);
  });
});

describe('checkRecords', () => {
  it('accepts what decodes and answers the oldest and newest timestamps and the largest records, for both compressions', () => {
    for (const compression of ['none', 'gzip'] as const) {
      // Prepare: the first record is not the oldest
      const records: LogRecord[] = [
        { key: null, value: utf8('a'), timestamp: 5_000, headers: [{ key: 'h', value: null }] },
        { key: utf8('k'), value: null, timestamp: 1_000, headers: [] },
        { key: null, value: utf8('c'), timestamp: 9_000, headers: [] },
      ];
      const batch = encodeRecordBatch(records, { compression });

      // Act
      const summary = checkRecords(batch, readBatchHeader(batch));

      // Assess: sizes count key, value, header keys and header values; header keys 8 more each
      expect(summary, compression).toEqual({
        minTimestamp: 1_000,
        maxTimestamp: 9_000,
        largest: { index: 0, bytes: 2 },
        mostHeaderKeyBytes: { index: 0, bytes: 9 },
      });
      expect(Math.min(...decodeRecordBatch(batch).records.map((r) => r.timestamp))).toBe(1_000);
    }
  });
});

describe('byte fixture', () => {
  it('encodes the fixture records to exactly the hand-checked bytes', () => {
    // Prepare
    const expected = fixture();

    // Act
    const bytes = encodeRecordBatch(FIXTURE_RECORDS);

    // Assess
    expect(toHex(bytes)).toBe(toHex(expected));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(view.getBigInt64(0)).toBe(0n); // baseOffset
    expect(view.getInt32(8)).toBe(bytes.length - 12); // batchLength
    expect(view.getInt8(16)).toBe(2); // magic
    expect(view.getUint32(17)).toBe(0x13f3c0b7); // crc, from java.util.zip.CRC32C
    expect(view.getInt32(57)).toBe(2); // recordCount
  });

  it('decodes the hand-checked bytes to the fixture records', () => {
    // Prepare
    const bytes = fixture();

    // Act
    const batch = decodeRecordBatch(bytes);

    // Assess
    expect(batch.records).toEqual([
      { offset: 0, timestamp: 1_700_000_000_000, key: utf8('k'), value: utf8('v'), headers: [] },
      {
        offset: 1,
        timestamp: 1_700_000_000_005,
        key: null,
        value: new Uint8Array(0),
        headers: [{ key: 'h', value: null }],
      },
    ]);
  });
});

describe('corruption is detected, never decoded', () => {
  it.each([
    ['the uncompressed fixture', fixture()],
    ['a gzip batch', encodeRecordBatch(FIXTURE_RECORDS, { compression: 'gzip' })],
  ])(
    'throws CORRUPT_DATA for any single-byte change from the magic byte to the end of %s',
    (_name, batch) => {
      for (let position = 16; position < batch.length; position++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          // Prepare
          const damaged = Uint8Array.from(batch);
          damaged[position] = (damaged[position] as number) ^ mask;

          // Act
          const error = thrownBy(() => decodeRecordBatch(damaged));

          // Assess
          expect(error.code, `byte ${position} ^ ${mask}`).toBe('CORRUPT_DATA');
        }
      }
    },
  );

  it('throws CORRUPT_DATA for a random single-byte change in any random batch', () => {
    fc.assert(
      fc.property(
        recordsArb,
        compressionArb,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (records, compression, where, mask) => {
          // Prepare
          const damaged = encodeRecordBatch(records, { compression });
          const position = 16 + (where % (damaged.length - 16));
          damaged[position] = (damaged[position] as number) ^ mask;

          // Act
          const error = thrownBy(() => decodeRecordBatch(damaged));

          // Assess
          expect(error.code).toBe('CORRUPT_DATA');
        },
      ),
    );
  });

  it('throws CORRUPT_DATA when batchLength (bytes 8..11) is changed', () => {
    for (let position = 8; position < 12; position++) {
      // Prepare
      const damaged = fixture();
      damaged[position] = (damaged[position] as number) ^ 0x01;

      // Act
      const error = thrownBy(() => decodeRecordBatch(damaged));

      // Assess
      expect(error.code).toBe('CORRUPT_DATA');
    }
  });

  it('leaves baseOffset and partitionLeaderEpoch outside the CRC, as Kafka does', () => {
    // Prepare
    const changed = fixture();
    changed[7] = 0x05; // baseOffset 5
    changed[15] = 0x07; // partitionLeaderEpoch 0xffffff07

    // Act
    const batch = decodeRecordBatch(changed);

    // Assess
    expect(batch.baseOffset).toBe(5);
    expect(batch.partitionLeaderEpoch).toBe(-249);
    expect(batch.records.map((record) => record.offset)).toEqual([5, 6]);
  });

  it('throws CORRUPT_DATA for every truncation and for trailing bytes', () => {
    // Prepare
    const batch = encodeRecordBatch(FIXTURE_RECORDS, { compression: 'gzip' });
    const candidates = [
      ...Array.from({ length: batch.length }, (_, cut) => batch.subarray(0, cut)),
      concat(batch, Uint8Array.of(0)),
    ];

    for (const candidate of candidates) {
      // Act
      const error = thrownBy(() => decodeRecordBatch(candidate));

      // Assess
      expect(error.code, `${candidate.length} bytes`).toBe('CORRUPT_DATA');
    }
  });

  // Damage under a valid CRC: what a buggy writer (or a forged batch) produces. Each must be refused.
  it.each<[string, (copy: Uint8Array, view: DataView) => void]>([
    ['recordCount larger than the records', (_, view) => view.setInt32(57, 3)],
    ['recordCount smaller than the records', (_, view) => view.setInt32(57, 1)],
    ['negative recordCount', (_, view) => view.setInt32(57, -1)],
    ['lastOffsetDelta below recordCount - 1', (_, view) => view.setInt32(23, 0)],
    ['a repeated offsetDelta', setByte(RECORD1_OFFSET_DELTA, 0x00)],
    ['an offsetDelta beyond lastOffsetDelta', setByte(RECORD1_OFFSET_DELTA, 0x04)],
    ['a key longer than its record', setByte(RECORD0_KEY_LENGTH, 0x0c)],
    ['a key length of -2', setByte(RECORD0_KEY_LENGTH, 0x03)],
    ['a header key that is not UTF-8', setByte(RECORD1_HEADER_KEY, 0xff)],
    ['a record length beyond the batch', setByte(61, 0x7e)],
    ['a first timestamp that is not a safe integer', (_, view) => view.setBigInt64(27, 2n ** 62n)],
  ])('throws CORRUPT_DATA for %s', (_name, mutate) => {
    // Prepare
    const damaged = resealed(fixture(), mutate);

    // Act
    const error = thrownBy(() => decodeRecordBatch(damaged));
    const checked = thrownBy(() => checkRecords(damaged, readBatchHeader(damaged)));

    // Assess: the check that builds no records refuses what decoding refuses
    expect(error.code).toBe('CORRUPT_DATA');
    expect(checked.code).toBe('CORRUPT_DATA');
  });

  it.each(
    (
      [
        [4, 'zstd'],
        [5, 'unknown (5)'],
        [7, 'unknown (7)'],
      ] as const
    ).filter(([codec]) => !canDecompress(codec)),
  )('throws CORRUPT_DATA naming codec %i (%s) as not decodable here', (codec, name) => {
    // Prepare
    const batch = resealed(fixture(), (_, view) => view.setInt16(21, codec));

    // Act
    const error = thrownBy(() => decodeRecordBatch(batch));

    // Assess
    expect(error.code).toBe('CORRUPT_DATA');
    expect(error.message).toContain(`compression codec ${name} cannot be decoded here`);
  });

  it('throws CORRUPT_DATA for a gzip section that does not decompress', () => {
    // Prepare
    const batch = resealed(fixture(), (_, view) => view.setInt16(21, 1));

    // Act
    const error = thrownBy(() => decodeRecordBatch(batch));

    // Assess
    expect(error.code).toBe('CORRUPT_DATA');
  });

  it('throws CORRUPT_DATA instead of inflating past maxUncompressedBytes', () => {
    // Prepare: 1 MiB of zeros gzips to about 1 KiB
    const bomb = gzipSync(new Uint8Array(1024 * 1024));
    const batch = resealed(concat(fixture().subarray(0, RECORD_BATCH_OVERHEAD), bomb), (_, view) => {
      view.setInt16(21, 1);
      view.setInt32(8, view.byteLength - 12);
    });

    // Act
    const error = thrownBy(() => decodeRecordBatch(batch, { maxUncompressedBytes: 64 * 1024 }));

    // Assess
    expect(error.code).toBe('CORRUPT_DATA');
  });
});

describe('LogAppendTime batches', () => {
  it('give every record the batch maxTimestamp, as Kafka does', () => {
    // Prepare: attribute bit 3 set and maxTimestamp rewritten, as a broker would
    const batch = resealed(fixture(), (_, view) => {
      view.setInt16(21, 0x08);
      view.setBigInt64(35, 1_800_000_000_000n);
    });

    // Act
    const decoded = decodeRecordBatch(batch);

    // Assess
    expect(decoded.timestampType).toBe('LogAppendTime');
    expect(decoded.records.map((record) => record.timestamp)).toEqual([1_800_000_000_000, 1_800_000_000_000]);
  });
});

describe('readBatchHeader', () => {
  it('reads every header field from the first 61 bytes alone', () => {
    // Prepare
    const headerOnly = fixture().subarray(0, RECORD_BATCH_OVERHEAD);

    // Act
    const header = readBatchHeader(headerOnly);

    // Assess
    expect(header).toEqual({
      baseOffset: 0,
      batchLength: 68,
      sizeInBytes: 80,
      partitionLeaderEpoch: -1,
      magic: 2,
      crc: 0x13f3c0b7,
      attributes: 0,
      compressionCodec: 0,
      timestampType: 'CreateTime',
      isTransactional: false,
      isControl: false,
      lastOffsetDelta: 1,
      firstTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_005,
      producerId: -1n,
      producerEpoch: -1,
      baseSequence: -1,
      recordCount: 2,
    });
  });

  it('reads the batch at a given offset of a larger buffer', () => {
    // Prepare
    const first = encodeRecordBatch([{ key: null, value: utf8('first'), timestamp: 1, headers: [] }]);
    const joined = concat(first, fixture());

    // Act
    const header = readBatchHeader(joined, first.length);

    // Assess
    expect(header.recordCount).toBe(2);
    expect(header.maxTimestamp).toBe(1_700_000_000_005);
  });

  it.each<[string, Uint8Array]>([
    ['fewer than 61 bytes', fixture().subarray(0, 60)],
    ['a magic byte of 1', resealed(fixture(), setByte(16, 1))],
    ['a batchLength shorter than the header', resealed(fixture(), (_, view) => view.setInt32(8, 48))],
    ['a negative baseOffset', resealed(fixture(), (_, view) => view.setBigInt64(0, -1n))],
  ])('throws CORRUPT_DATA for %s', (_name, bytes) => {
    // Prepare: the damaged bytes

    // Act
    const error = thrownBy(() => readBatchHeader(bytes));

    // Assess
    expect(error.code).toBe('CORRUPT_DATA');
  });
});

describe('patchBaseOffset', () => {
  it('sets the offsets of every record and keeps the CRC valid', () => {
    fc.assert(
      fc.property(
        recordsArb,
        compressionArb,
        fc.nat({ max: 2 ** 50 }),
        (records, compression, baseOffset) => {
          // Prepare
          const bytes = encodeRecordBatch(records, { compression });
          const before = Uint8Array.from(bytes);

          // Act
          patchBaseOffset(bytes, baseOffset);

          // Assess
          const batch = decodeRecordBatch(bytes);
          expect(batch.baseOffset).toBe(baseOffset);
          expect(batch.records.map((record) => record.offset)).toEqual(records.map((_, i) => baseOffset + i));
          expect(new DataView(bytes.buffer).getBigInt64(0)).toBe(BigInt(baseOffset));
          expect(bytes.subarray(8)).toEqual(before.subarray(8));
        },
      ),
    );
  });

  it('patches a batch inside a larger buffer without touching its neighbours', () => {
    // Prepare
    const batch = fixture();
    const joined = concat(Uint8Array.of(0xaa), batch, Uint8Array.of(0xbb));
    const view = joined.subarray(1, 1 + batch.length);

    // Act
    patchBaseOffset(view, 0x0102030405);

    // Assess
    expect(joined[0]).toBe(0xaa);
    expect(joined[joined.length - 1]).toBe(0xbb);
    expect(toHex(joined.subarray(1, 9))).toBe('0000000102030405');
    expect(decodeRecordBatch(view).baseOffset).toBe(0x0102030405);
  });

  it.each<[string, Uint8Array, number]>([
    ['a negative offset', fixture(), -1],
    ['a fractional offset', fixture(), 1.5],
    ['an offset whose last record would pass 2^53', fixture(), Number.MAX_SAFE_INTEGER],
    ['bytes shorter than a header', fixture().subarray(0, 20), 1],
    ['bytes that are not a magic 2 batch', new Uint8Array(RECORD_BATCH_OVERHEAD), 1],
  ])('throws INVALID_REQUEST for %s', (_name, bytes, baseOffset) => {
    // Prepare: the inputs

    // Act
    const error = thrownBy(() => patchBaseOffset(bytes, baseOffset));

    // Assess
    expect(error.code).toBe('INVALID_REQUEST');
  });
});

describe('splitBatches', () => {
  it('yields each batch of a concatenation, in order, as it was encoded', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(recordsArb, compressionArb), { maxLength: 5 }), (specs) => {
        // Prepare
        const batches = specs.map(([records, compression]) => encodeRecordBatch(records, { compression }));
        const joined = concat(...batches);

        // Act
        const split = [...splitBatches(joined)];

        // Assess
        expect(split).toEqual(batches);
        for (const [i, batch] of split.entries()) {
          expect(decodeRecordBatch(batch).recordCount).toBe(specs[i]?.[0].length);
        }
      }),
    );
  });

  it('yields the batches before a truncated one, then throws CORRUPT_DATA', () => {
    // Prepare
    const first = fixture();
    const joined = concat(first, fixture().subarray(0, 70));
    const seen: Uint8Array[] = [];

    // Act
    const error = thrownBy(() => {
      for (const batch of splitBatches(joined)) seen.push(batch);
    });

    // Assess
    expect(seen).toEqual([first]);
    expect(error.code).toBe('CORRUPT_DATA');
  });

  it.each<[string, Uint8Array]>([
    ['a tail shorter than a header', concat(fixture(), new Uint8Array(10))],
    ['a tail of zeros (batchLength 0, which would never advance)', concat(fixture(), new Uint8Array(80))],
  ])('throws CORRUPT_DATA for %s', (_name, bytes) => {
    // Prepare: the bytes

    // Act
    const error = thrownBy(() => [...splitBatches(bytes)]);

    // Assess
    expect(error.code).toBe('CORRUPT_DATA');
  });

  it('yields nothing for no bytes', () => {
    // Prepare
    const empty = new Uint8Array(0);

    // Act
    const split = [...splitBatches(empty)];

    // Assess
    expect(split).toEqual([]);
  });
});

describe('encodeRecordBatch input validation', () => {
  const good = (): LogRecord => ({ key: null, value: utf8('v'), timestamp: 1, headers: [] });

  it.each<[string, LogRecord[], Parameters<typeof encodeRecordBatch>[1]]>([
    ['no records', [], {}],
    ['a negative timestamp', [{ ...good(), timestamp: -1 }], {}],
    ['a fractional timestamp', [{ ...good(), timestamp: 1.5 }], {}],
    ['a timestamp past 2^53', [{ ...good(), timestamp: 2 ** 53 }], {}],
    ['a key that is not bytes', [{ ...good(), key: 'text' as unknown as Uint8Array }], {}],
    [
      'a header key that is not a string',
      [{ ...good(), headers: [{ key: 1 as unknown as string, value: null }] }],
      {},
    ],
    ['an unsupported compression', [good()], { compression: 'snappy' as Compression }],
    ['a producerId beyond int64', [good()], { producerId: 2n ** 63n }],
    ['a fractional producerId', [good()], { producerId: 0.5 }],
    ['a producerEpoch beyond int16', [good()], { producerEpoch: 0x8000 }],
    ['a baseSequence beyond int32', [good()], { baseSequence: 2 ** 31 }],
  ])('throws INVALID_REQUEST for %s', (_name, records, options) => {
    // Prepare: the inputs

    // Act
    const error = thrownBy(() => encodeRecordBatch(records, options));

    // Assess
    expect(error.code).toBe('INVALID_REQUEST');
  });
});
