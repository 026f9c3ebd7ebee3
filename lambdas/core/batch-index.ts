/**
 * A batch index entry (`part#{topicId}#{p}` / `b#{baseOffset}`): where a run of record batches lives.
 * Produce writes one per partition per request (one batch); compaction replaces a run of them by one
 * entry of many batches, and gives that entry a batch directory so a reader can start at any batch.
 *
 * The batch directory (attribute `directory`, binary; docs/storage.md):
 *
 *   directory := version uint8 (= 1) | point{1..MAX_DIRECTORY_POINTS}
 *   point     := offsetDelta uint32 BE | byteDelta uint32 BE
 *
 * A point is the start of one batch of the entry: its first offset minus the entry's baseOffset, and
 * its first byte minus the entry's byteOffset. Invariants:
 * - the first point is (0, 0); points strictly increase in both fields and lie inside the entry;
 * - at most MAX_DIRECTORY_POINTS points (≤ 2,049 bytes, so the item stays within one 4 KB read unit)
 *   however many batches the entry holds: repeated compaction can put ~100,000 tiny batches in one;
 * - an entry of at most MAX_DIRECTORY_POINTS batches lists every batch. A bigger one lists a batch at
 *   least every `spacing` = ceil(2 × byteLength / (MAX_DIRECTORY_POINTS − 1)) bytes, and brackets
 *   every batch of `spacing` bytes or more (it starts at a point and the next point, or the entry's
 *   end, is its end). So the bytes between neighbouring points are one batch, or less than 2 × spacing.
 *
 * An entry without a directory (every produce entry, and compacted entries written before directories
 * existed) is read as one range: its start and its end are its only known batch boundaries.
 */
import type { Item } from '../ports/meta-store.ts';
import { StreamError } from './errors.ts';
import { parseBatchSk } from './layout.ts';

/** What an entry stores (its base offset is in its sort key). */
export interface IndexAttributes {
  objectKey: string;
  /** Where the entry's batches start in the object, and how many bytes they take. */
  byteOffset: number;
  byteLength: number;
  /** Records covered: the entry spans offsets [baseOffset, baseOffset + recordCount). */
  recordCount: number;
  minTimestamp: number;
  maxTimestamp: number;
  /** The batch directory (see above); written by compaction only. */
  directory?: Uint8Array;
}

export interface IndexEntry extends IndexAttributes {
  baseOffset: number;
  /** The stored item, for conditions on its version. */
  item: Item;
}

export function readIndexEntry(item: Item): IndexEntry {
  const entry: IndexEntry = {
    item,
    baseOffset: parseBatchSk(item.sk),
    objectKey: item.objectKey as string,
    byteOffset: item.byteOffset as number,
    byteLength: item.byteLength as number,
    recordCount: item.recordCount as number,
    minTimestamp: item.minTimestamp as number,
    maxTimestamp: item.maxTimestamp as number,
  };
  if (item.directory instanceof Uint8Array) entry.directory = item.directory;
  return entry;
}

export const BATCH_DIRECTORY_VERSION = 1;
/** Most points a directory holds: 1 + 256 × 8 bytes, so an index item stays under 4 KB. */
export const MAX_DIRECTORY_POINTS = 256;
const POINT_BYTES = 8;
const UINT32_LIMIT = 2 ** 32;

/** One batch of an entry, as the directory sees it: the offsets it spans and the bytes it takes. */
export interface BatchSpan {
  /** lastOffsetDelta + 1 of the batch. */
  offsets: number;
  bytes: number;
}

/** The directory of an entry made of these batches, in order (see the module comment). */
export function encodeBatchDirectory(batches: readonly BatchSpan[]): Uint8Array {
  const total = batches.reduce((sum, batch) => sum + batch.bytes, 0);
  const spacing =
    batches.length <= MAX_DIRECTORY_POINTS ? 0 : Math.ceil((2 * total) / (MAX_DIRECTORY_POINTS - 1));
  const points: [number, number][] = [];
  let offsetDelta = 0;
  let byteDelta = 0;
  for (const batch of batches) {
    const last = points.at(-1);
    // The first batch; then a batch `spacing` past the last point, and every big batch (whose
    // successor is then `spacing` past it and gets a point too). Never a batch spanning no offsets
    // (Kafka allows them; produce never writes one): a point must name the batch holding its offset.
    const due =
      last === undefined ||
      (batch.offsets > 0 &&
        offsetDelta > last[0] &&
        (byteDelta - last[1] >= spacing || batch.bytes >= spacing));
    if (due) points.push([offsetDelta, byteDelta]);
    offsetDelta += batch.offsets;
    byteDelta += batch.bytes;
  }
  if (offsetDelta >= UINT32_LIMIT || byteDelta >= UINT32_LIMIT) {
    throw new StreamError('INVALID_ARGUMENT', `an index entry of ${byteDelta} bytes is too large`);
  }
  // Guaranteed by the spacing (docs/storage.md has the count); checked because the item size depends on it.
  if (points.length > MAX_DIRECTORY_POINTS) {
    throw new StreamError('INVALID_ARGUMENT', `batch directory of ${points.length} points`);
  }
  const bytes = new Uint8Array(1 + points.length * POINT_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, BATCH_DIRECTORY_VERSION);
  points.forEach(([offsets, at], i) => {
    view.setUint32(1 + i * POINT_BYTES, offsets);
    view.setUint32(1 + i * POINT_BYTES + 4, at);
  });
  return bytes;
}

/** A batch boundary of an entry: the absolute offset and the entry-relative byte where a batch starts. */
export interface Boundary {
  offset: number;
  byte: number;
}

/**
 * The entry's known batch boundaries in order: its directory's points, then its end (recordCount,
 * byteLength). Without a directory, or with one of a version this build does not know (written by a
 * newer one), the entry's start and end — reading the whole entry is always correct.
 */
export function entryBoundaries(entry: IndexEntry): Boundary[] {
  const end = { offset: entry.baseOffset + entry.recordCount, byte: entry.byteLength };
  const start = { offset: entry.baseOffset, byte: 0 };
  const directory = entry.directory;
  if (directory === undefined || directory[0] !== BATCH_DIRECTORY_VERSION) return [start, end];
  const count = (directory.byteLength - 1) / POINT_BYTES;
  const corrupt = (why: string) =>
    new StreamError(
      'CORRUPT_DATA',
      `batch directory of index entry ${entry.item.pk} ${entry.item.sk}: ${why}`,
    );
  if (!Number.isInteger(count) || count < 1) throw corrupt(`${directory.byteLength} bytes`);
  const view = new DataView(directory.buffer, directory.byteOffset, directory.byteLength);
  const boundaries: Boundary[] = [];
  for (let i = 0; i < count; i++) {
    const offset = entry.baseOffset + view.getUint32(1 + i * POINT_BYTES);
    const byte = view.getUint32(1 + i * POINT_BYTES + 4);
    const previous = boundaries.at(-1);
    const ordered =
      previous === undefined
        ? offset === start.offset && byte === 0
        : offset > previous.offset && byte > previous.byte;
    if (!ordered || offset >= end.offset || byte >= end.byte) throw corrupt(`point ${i} out of order`);
    boundaries.push({ offset, byte });
  }
  boundaries.push(end);
  return boundaries;
}
