/** What a fetch page should hold, worked out from the log's batches as stored (the fetch tests' oracle). */

import { readBatchHeader, splitBatches } from '../../client/wire/record-batch.ts';

export interface StoredBatch {
  baseOffset: number;
  nextOffset: number;
  byteLength: number;
}

/** The batches of concatenated record batches (a fetch's `batches`), in order. */
export function storedBatches(batches: Uint8Array): StoredBatch[] {
  return [...splitBatches(batches)].map((batch) => {
    const { baseOffset, lastOffsetDelta } = readBatchHeader(batch);
    return { baseOffset, nextOffset: baseOffset + lastOffsetDelta + 1, byteLength: batch.byteLength };
  });
}

/** The batches a page from `offset` holds: the one holding it, then whole ones within `maxBytes`. */
export function expectedPage(
  stored: readonly StoredBatch[],
  offset: number,
  maxBytes: number,
): StoredBatch[] {
  const first = stored.findIndex((b) => b.baseOffset <= offset && offset < b.nextOffset);
  const page = [stored[first] as StoredBatch];
  let bytes = page[0]?.byteLength ?? 0;
  for (const batch of stored.slice(first + 1)) {
    if (bytes + batch.byteLength > maxBytes) break;
    page.push(batch);
    bytes += batch.byteLength;
  }
  return page;
}
