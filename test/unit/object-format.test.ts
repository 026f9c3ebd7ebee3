import { describe, expect, it } from 'vitest';
import { decodeRecordBatch, encodeRecordBatch } from '../../client/wire/record-batch.ts';
import { checkObjectHeader, encodeObject, OBJECT_HEADER_BYTES } from '../../lambdas/core/object-format.ts';

const records = [{ key: null, value: new Uint8Array([1, 2, 3]), headers: [], timestamp: 5 }];

describe('object format', () => {
  it('writes the header in front of a lone batch encoded with headroom, without copying it', () => {
    // Prepare
    const batch = encodeRecordBatch(records, { headroom: OBJECT_HEADER_BYTES });
    // Act
    const { bytes, positions } = encodeObject([batch], { headroom: true });
    // Assess
    expect(bytes.buffer).toBe(batch.buffer);
    expect(positions).toEqual([{ byteOffset: OBJECT_HEADER_BYTES, byteLength: batch.byteLength }]);
    checkObjectHeader(bytes, 'k');
    expect(decodeRecordBatch(bytes.subarray(OBJECT_HEADER_BYTES)).records[0]?.value).toEqual(
      new Uint8Array([1, 2, 3]),
    );
  });

  it('concatenates several batches behind one header', () => {
    const a = encodeRecordBatch(records);
    const b = encodeRecordBatch(records, { headroom: OBJECT_HEADER_BYTES });
    const { bytes, positions } = encodeObject([a, b]);
    expect(bytes.byteLength).toBe(OBJECT_HEADER_BYTES + a.byteLength + b.byteLength);
    expect(positions.map((p) => p.byteOffset)).toEqual([
      OBJECT_HEADER_BYTES,
      OBJECT_HEADER_BYTES + a.byteLength,
    ]);
    checkObjectHeader(bytes, 'k');
    for (const p of positions) {
      expect(
        decodeRecordBatch(bytes.subarray(p.byteOffset, p.byteOffset + p.byteLength)).records,
      ).toHaveLength(1);
    }
  });

  it('never writes in front of a batch it was not promised headroom for', () => {
    const shared = new Uint8Array(200).fill(7);
    const batch = encodeRecordBatch(records);
    shared.set(batch, 50);
    const { bytes } = encodeObject([shared.subarray(50, 50 + batch.byteLength)]);
    expect(bytes.buffer).not.toBe(shared.buffer);
    expect(shared.subarray(40, 50)).toEqual(new Uint8Array(10).fill(7));
  });

  it('refuses bytes that are not a Streambed object', () => {
    expect(() => checkObjectHeader(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 'x')).toThrow(
      /not a Streambed object/,
    );
  });
});
