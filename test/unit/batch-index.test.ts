import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BatchSpan,
  encodeBatchDirectory,
  entryBoundaries,
  type IndexEntry,
  MAX_DIRECTORY_POINTS,
} from '../../lambdas/core/batch-index.ts';
import { failure } from '../support/failure.ts';

/** An index entry at base offset 100 made of these batches, with their directory. */
function entryOf(batches: readonly BatchSpan[], directory = encodeBatchDirectory(batches)): IndexEntry {
  return {
    item: { pk: 'part#x#0', sk: 'b#00000000000000000100', v: 1 },
    baseOffset: 100,
    objectKey: 'compacted/x/0/01ARZ3NDEKTSV4RRFFQ69G5FAV.sbo',
    byteOffset: 8,
    byteLength: batches.reduce((sum, batch) => sum + batch.bytes, 0),
    recordCount: batches.reduce((sum, batch) => sum + batch.offsets, 0),
    minTimestamp: 0,
    maxTimestamp: 0,
    directory,
  };
}

/** Where each batch starts: [offset, entry-relative byte]. */
function starts(batches: readonly BatchSpan[]): [number, number][] {
  const out: [number, number][] = [];
  let offset = 100;
  let byte = 0;
  for (const batch of batches) {
    out.push([offset, byte]);
    offset += batch.offsets;
    byte += batch.bytes;
  }
  return out;
}

const span = fc.record({
  offsets: fc.integer({ min: 1, max: 5 }),
  bytes: fc.oneof(
    { weight: 20, arbitrary: fc.integer({ min: 70, max: 2_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 100_000, max: 1_000_000 }) },
  ),
});

describe('batch directory', () => {
  it('lists every batch of a small entry', () => {
    fc.assert(
      fc.property(
        fc.array(span, { minLength: 1, maxLength: MAX_DIRECTORY_POINTS, size: 'max' }),
        (batches) => {
          const entry = entryOf(batches);
          const bounds = entryBoundaries(entry).map((b) => [b.offset, b.byte]);
          expect(bounds).toEqual([...starts(batches), [100 + entry.recordCount, entry.byteLength]]);
        },
      ),
    );
  });

  it('stays within MAX_DIRECTORY_POINTS for any batch count, every point a batch start, every stretch one batch or under two spacings', () => {
    fc.assert(
      fc.property(fc.array(span, { minLength: 1, maxLength: 5_000, size: 'max' }), (batches) => {
        const entry = entryOf(batches);
        const bounds = entryBoundaries(entry);
        const spacing = Math.ceil((2 * entry.byteLength) / (MAX_DIRECTORY_POINTS - 1));
        expect(entry.directory?.byteLength).toBeLessThanOrEqual(1 + 8 * MAX_DIRECTORY_POINTS);
        const batchStarts = new Map(starts(batches).map(([offset, byte]) => [byte, offset]));
        batchStarts.set(entry.byteLength, 100 + entry.recordCount);
        for (const [i, bound] of bounds.entries()) {
          expect(batchStarts.get(bound.byte)).toBe(bound.offset);
          const next = bounds[i + 1];
          if (next === undefined) continue;
          const inside = [...batchStarts.keys()].filter((b) => b > bound.byte && b < next.byte);
          if (inside.length > 0) expect(next.byte - bound.byte).toBeLessThan(2 * spacing);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('reads an entry with a directory of an unknown version as one range', () => {
    const batches = [
      { offsets: 1, bytes: 100 },
      { offsets: 2, bytes: 200 },
    ];
    const directory = encodeBatchDirectory(batches);
    directory[0] = 2;
    expect(entryBoundaries(entryOf(batches, directory))).toEqual([
      { offset: 100, byte: 0 },
      { offset: 103, byte: 300 },
    ]);
  });

  it('refuses a directory whose points are cut short or out of order as CORRUPT_DATA', async () => {
    const batches = [
      { offsets: 1, bytes: 100 },
      { offsets: 2, bytes: 200 },
    ];
    // version 1, points (0, 0), (2, 150), (1, 100)
    const unordered = new Uint8Array([
      1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 150, 0, 0, 0, 1, 0, 0, 0, 100,
    ]);
    const past = encodeBatchDirectory([
      { offsets: 1, bytes: 350 },
      { offsets: 1, bytes: 10 },
    ]);
    for (const directory of [
      encodeBatchDirectory(batches).subarray(0, 12),
      unordered,
      past,
      new Uint8Array([1]),
    ]) {
      const error = await failure(Promise.resolve().then(() => entryBoundaries(entryOf(batches, directory))));
      expect(error.code).toBe('CORRUPT_DATA');
    }
  });
});
