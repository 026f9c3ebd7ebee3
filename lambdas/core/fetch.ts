/**
 * Fetch (DESIGN §5): any reader serves any partition from the batch index plus ranged object reads.
 *
 * Find the index entry holding `offset` (the last entry at or below it) and walk forward; read byte
 * ranges — neighbours in one object coalesced into one GET — patch each batch's base offset (outside
 * its CRC), and for the JSON form drop the records below `offset`. Invariants:
 * - A page is whole record batches, from the batch holding `offset`, of at most `maxBytes` in all —
 *   or exactly one batch when that one alone is bigger. So at least one batch is returned whenever
 *   offset < highWatermark, and `nextOffset` is where the last batch returned ends.
 * - Reads start and end at batch boundaries the index knows (an entry's start and end, and the points
 *   of a compacted entry's batch directory, batch-index.ts), and take at most `maxBytes`, or the one
 *   stretch between two known boundaries that holds `offset`. However big an entry, a fetch reads only
 *   around what it serves; an entry without a directory is read whole and split.
 * - Index queries are consistent, like the read of the partition item whose high watermark they serve.
 * - Batches are served as stored, in any codec (Kafka clients' batches, append-batches.ts). The JSON form
 *   decodes only what this process can decompress: its page ends before any other batch, and a page
 *   that would start with one is a clear INVALID_REQUEST (reason UNSUPPORTED_COMPRESSION) — never
 *   wrong or missing records.
 */

import { type BytePool, concatBytes } from '../../client/wire/bytes.ts';
import { DEFAULT_FETCH_MAX_BYTES, MAX_FETCH_MAX_BYTES, MAX_FETCH_WAIT_MS } from '../../client/wire/limits.ts';
import {
  canDecompress,
  compressionName,
  decodeRecordBatch,
  patchBaseOffset,
  readBatchHeader,
  splitBatches,
} from '../../client/wire/record-batch.ts';
import type { Clock } from '../ports/clock.ts';
import type { MetaStore } from '../ports/meta-store.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { type Boundary, entryBoundaries, type IndexEntry, readIndexEntry } from './batch-index.ts';
import type { CommitNotifier } from './commit-notifier.ts';
import { StreamError } from './errors.ts';
import { batchSk, FIRST_BATCH_SK, LAST_BATCH_SK, partitionKey, partitionPk } from './layout.ts';
import type {
  FetchBatchesOptions,
  FetchBatchesResult,
  FetchedRecord,
  FetchRequest,
  FetchResult,
  OffsetsResult,
  TopicDescription,
} from './log-types.ts';
import { type PartitionMeta, readPartitionMeta } from './partition-state.ts';

export interface FetchDeps {
  meta: MetaStore;
  objects: ObjectStore;
  clock: Clock;
  requireTopic(name: string): Promise<TopicDescription>;
  notifier?: CommitNotifier;
}

/** How often a long poll re-reads the partition item when no in-process notification comes. */
const POLL_INTERVAL_MS = 200;
/** Index entries read by a fetch's first query: the entry at its offset and the one after it. */
const FIRST_PAGE = 2;
/** At most this many index entries are read per query while walking forward. */
const INDEX_PAGE = 64;

/**
 * The batches as one byte array. Batches read in one range GET are already neighbours in one buffer
 * (patched in place), so the common case needs no copy at all.
 */
function concatenate(batches: readonly Uint8Array[]): Uint8Array {
  const first = batches[0];
  if (first === undefined) return new Uint8Array(0);
  let end = first.byteOffset + first.byteLength;
  let contiguous = true;
  for (const batch of batches.slice(1)) {
    contiguous &&= batch.buffer === first.buffer && batch.byteOffset === end;
    end = batch.byteOffset + batch.byteLength;
  }
  if (contiguous) return new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset);
  return concatBytes(batches);
}

/** A byte range of one index entry to read: whole batches, between two known batch boundaries. */
interface Slice {
  objectKey: string;
  /** Where the range starts in the object, and how many bytes it takes. */
  start: number;
  byteLength: number;
  /** The first offset of its first batch, and the offset after its last batch. */
  baseOffset: number;
  endOffset: number;
  /** Whether it runs to the end of its entry, so a walk may go on to the next entry. */
  toEnd: boolean;
}

/** A batch as read, base offset patched, with the offset after it. */
interface ServedBatch {
  bytes: Uint8Array;
  nextOffset: number;
}

/**
 * The slice of `entry` from its known boundary at or below `offset`, over whole stretches between
 * known boundaries while it stays within `budget` bytes. The first stretch (it holds `offset`) is taken
 * however big, unless `optional`: then a first stretch over budget means nothing to read here.
 */
function sliceOf(
  entry: IndexEntry,
  offset: number,
  budget: number,
  { optional = false } = {},
): Slice | undefined {
  const bounds = entryBoundaries(entry);
  const at = (i: number) => bounds[i] as Boundary;
  let from = 0;
  while (from + 2 < bounds.length && at(from + 1).offset <= offset) from++;
  let to = from + 1;
  if (optional && at(to).byte - at(from).byte > budget) return undefined;
  while (to + 1 < bounds.length && at(to + 1).byte - at(from).byte <= budget) to++;
  return {
    objectKey: entry.objectKey,
    start: entry.byteOffset + at(from).byte,
    byteLength: at(to).byte - at(from).byte,
    baseOffset: at(from).offset,
    endOffset: at(to).offset,
    toEnd: to === bounds.length - 1,
  };
}

/**
 * The page served from the batches read: from the batch holding `offset` (a read may start at a
 * directory point before it), whole batches while they fit in `maxBytes`, and at least one.
 */
function pageOf(
  read: readonly ServedBatch[],
  offset: number,
  maxBytes: number,
  where: string,
): { batches: Uint8Array[]; nextOffset: number } {
  const batches: Uint8Array[] = [];
  let bytes = 0;
  let nextOffset = offset;
  for (const batch of read) {
    if (batch.nextOffset <= offset) continue;
    if (batches.length > 0 && bytes + batch.bytes.byteLength > maxBytes) break;
    batches.push(batch.bytes);
    bytes += batch.bytes.byteLength;
    nextOffset = batch.nextOffset;
  }
  if (batches.length === 0) {
    throw new StreamError(
      'CORRUPT_DATA',
      `${where}: the batches its index points at do not hold offset ${offset}`,
    );
  }
  return { batches, nextOffset };
}

function checkPartition(topic: TopicDescription, partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitions) {
    throw new StreamError(
      'PARTITION_NOT_FOUND',
      `topic ${topic.name} has no partition ${partition} (it has ${topic.partitions})`,
    );
  }
}

const isNotFound = (error: unknown): boolean => error instanceof StreamError && error.code === 'NOT_FOUND';

/** The index moved under a reader (retention, compaction, GC): retriable, a new read sees the new index. */
const changing = (topic: TopicDescription, partition: number, cause?: unknown) =>
  new StreamError('UNAVAILABLE', `${topic.name}/${partition} is changing; retry`, { cause });

/**
 * A JSON fetch from a batch whose codec this server cannot decode (zstd on a Node without it; codecs
 * 5-7). The batch is stored as the Kafka client sent it: the binary fetch and Kafka clients read it.
 */
function undecodable(request: FetchRequest, offset: number, codec: string): StreamError {
  const { topic, partition } = request;
  return new StreamError(
    'INVALID_REQUEST',
    `${topic}/${partition} at offset ${offset} holds a record batch compressed with ${codec}, which this server cannot decode into JSON records; read it with the binary fetch or a Kafka client`,
    { details: { reason: 'UNSUPPORTED_COMPRESSION', topic, partition, offset, codec } },
  );
}

function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new StreamError('INVALID_REQUEST', `offset must be a non-negative integer, got ${offset}`);
  }
}

export function createFetcher({ meta, objects, clock, requireTopic, notifier }: FetchDeps) {
  async function readState(topic: TopicDescription, partition: number): Promise<PartitionMeta> {
    return readPartitionMeta(await meta.get(partitionKey(topic.topicId, partition), { consistent: true }));
  }

  function outOfRange(topic: TopicDescription, partition: number, offset: number, state: PartitionMeta) {
    return new StreamError(
      'OFFSET_OUT_OF_RANGE',
      `offset ${offset} is outside ${topic.name}/${partition}: valid offsets are ${state.logStartOffset} to ${state.highWatermark}`,
      { details: { logStartOffset: state.logStartOffset, highWatermark: state.highWatermark } },
    );
  }

  /**
   * Throws OFFSET_OUT_OF_RANGE unless `offset` is servable in `state`. Checked again after every read
   * of the partition item: records may have been deleted (delete-records.ts, retention) meanwhile.
   */
  function requireInRange(topic: TopicDescription, partition: number, offset: number, state: PartitionMeta) {
    if (offset < state.logStartOffset || offset > state.highWatermark)
      throw outOfRange(topic, partition, offset, state);
  }

  /** Long poll: re-read until the high watermark passes `offset` or the wait is over. */
  async function awaitData(
    topic: TopicDescription,
    partition: number,
    offset: number,
    state: PartitionMeta,
    waitMs: number,
  ) {
    const pk = partitionPk(topic.topicId, partition);
    const until = clock.now() + waitMs;
    let current = state;
    while (current.highWatermark <= offset && clock.now() < until) {
      const wake = notifier?.next(pk);
      await Promise.race([clock.sleep(Math.min(POLL_INTERVAL_MS, until - clock.now())), wake?.promise]);
      wake?.cancel();
      current = await readState(topic, partition);
    }
    return current;
  }

  /**
   * What to read for a page from `offset`: a slice of the entry holding it, then of the entries after
   * it, until `maxBytes`. The walk is several queries, and compaction may swap entries between them;
   * each entry must start where the previous one ended, so the walk stops at a seam rather than skip
   * offsets (the next fetch goes on from there). Empty when the index no longer covers `offset`.
   */
  async function locate(
    pk: string,
    offset: number,
    highWatermark: number,
    maxBytes: number,
  ): Promise<Slice[]> {
    // Consistent reads: the high watermark was read consistently, and an eventually consistent query
    // may not yet hold the entries it already counts (the newest batch would look missing).
    // A consumer reading on asks for the offset its last page ended at: an entry's base offset. So the
    // first query reads forward from it, and finds that entry and the one after it in one trip; an
    // offset inside an entry takes a second query, back to the entry below it.
    const ahead = await meta.query(pk, {
      from: batchSk(offset),
      to: LAST_BATCH_SK,
      limit: FIRST_PAGE,
      consistent: true,
    });
    let items = ahead.items;
    let lastKey = ahead.lastKey;
    let head = items[0] === undefined ? undefined : readIndexEntry(items[0]);
    if (head?.baseOffset === offset) {
      items = items.slice(1);
    } else {
      const below = await meta.query(pk, {
        from: FIRST_BATCH_SK,
        to: batchSk(offset),
        reverse: true,
        limit: 1,
        consistent: true,
      });
      head = below.items[0] === undefined ? undefined : readIndexEntry(below.items[0]);
    }
    if (head === undefined || head.baseOffset + head.recordCount <= offset) return [];
    const slices = [sliceOf(head, offset, maxBytes) as Slice];
    let bytes = slices[0]?.byteLength ?? 0;
    let smallest = head.byteLength;
    // Stopped inside an entry (the budget is spent), or at the end of the committed log.
    const ended = (last: Slice) => bytes >= maxBytes || !last.toEnd || last.endOffset >= highWatermark;
    for (;;) {
      for (const item of items) {
        const last = slices[slices.length - 1] as Slice;
        if (ended(last)) return slices;
        const entry = readIndexEntry(item);
        if (entry.baseOffset !== last.endOffset || entry.baseOffset >= highWatermark) return slices;
        const slice = sliceOf(entry, entry.baseOffset, maxBytes - bytes, { optional: true });
        if (slice === undefined) return slices;
        slices.push(slice);
        bytes += slice.byteLength;
        smallest = Math.min(smallest, entry.byteLength);
      }
      if (ended(slices[slices.length - 1] as Slice) || lastKey === undefined) return slices;
      // As many entries as the budget left could hold, judged by the smallest seen, and one more to
      // find where the page ends.
      const page = await meta.query(pk, {
        startAfter: lastKey,
        to: LAST_BATCH_SK,
        limit: Math.min(INDEX_PAGE, Math.floor((maxBytes - bytes) / Math.max(1, smallest)) + 1),
        consistent: true,
      });
      items = page.items;
      lastKey = page.lastKey;
    }
  }

  /**
   * Reads the slices' batches, one GET per run of neighbouring ranges in one object, and patches each
   * batch's base offset. Batches read in one GET stay neighbours in its buffer. With `buffers`, the
   * reads go into buffers from that pool (listed in `reads`, for the caller to give back).
   */
  async function readBatches(
    slices: readonly Slice[],
    buffers?: BytePool,
    reads: Uint8Array[] = [],
  ): Promise<ServedBatch[]> {
    const runs: { key: string; start: number; end: number; slices: Slice[] }[] = [];
    for (const slice of slices) {
      const run = runs[runs.length - 1];
      if (run !== undefined && run.key === slice.objectKey && run.end === slice.start) {
        run.end = slice.start + slice.byteLength;
        run.slices.push(slice);
      } else {
        runs.push({
          key: slice.objectKey,
          start: slice.start,
          end: slice.start + slice.byteLength,
          slices: [slice],
        });
      }
    }
    const options = buffers === undefined ? undefined : { allocate: buffers.acquire };
    // Every read settles before a failure is reported: one still running would otherwise land in
    // `reads` after the caller gave them back, and its buffer would never return to the pool.
    const settled = await Promise.allSettled(
      runs.map(async (run) => {
        const bytes = await objects.get(run.key, { start: run.start, end: run.end }, options);
        reads.push(bytes);
        return bytes;
      }),
    );
    const failed = settled.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const got = settled.map((outcome) => (outcome as PromiseFulfilledResult<Uint8Array>).value);
    const batches: ServedBatch[] = [];
    runs.forEach((run, i) => {
      const bytes = got[i] as Uint8Array;
      for (const slice of run.slices) {
        // A slice may cover several batches (a compacted entry): each gets its own base offset.
        let base = slice.baseOffset;
        const at = slice.start - run.start;
        for (const batch of splitBatches(bytes.subarray(at, at + slice.byteLength))) {
          patchBaseOffset(batch, base);
          base += readBatchHeader(batch).lastOffsetDelta + 1;
          batches.push({ bytes: batch, nextOffset: base });
        }
      }
    });
    return batches;
  }

  async function fetchBatchList(request: FetchRequest, buffers?: BytePool, reads?: Uint8Array[]) {
    checkOffset(request.offset);
    const topic = await requireTopic(request.topic);
    checkPartition(topic, request.partition);
    const maxBytes = Math.min(Math.max(1, request.maxBytes ?? DEFAULT_FETCH_MAX_BYTES), MAX_FETCH_MAX_BYTES);
    const waitMs = Math.min(Math.max(0, request.maxWaitMs ?? 0), MAX_FETCH_WAIT_MS);
    let state = await readState(topic, request.partition);
    const { offset, partition } = request;
    requireInRange(topic, partition, offset, state);
    if (offset === state.highWatermark && waitMs > 0) {
      state = await awaitData(topic, partition, offset, state, waitMs);
      requireInRange(topic, partition, offset, state);
    }
    const empty = { batches: [] as Uint8Array[], nextOffset: offset, state };
    if (offset >= state.highWatermark) return empty;
    const pk = partitionPk(topic.topicId, partition);
    // An entry may vanish between the index read and the object read (retention, compaction): read
    // the index again once before giving up.
    for (let attempt = 0; ; attempt++) {
      const slices = await locate(pk, offset, state.highWatermark, maxBytes);
      if (slices.length === 0) {
        // The index no longer covers `offset` (retention moved past it since the state was read).
        state = await readState(topic, partition);
        requireInRange(topic, partition, offset, state);
        if (attempt > 0) throw changing(topic, partition);
        continue;
      }
      let read: ServedBatch[];
      try {
        read = await readBatches(slices, buffers, reads);
      } catch (error) {
        if (!isNotFound(error)) throw error;
        // Gone twice: the index is changing under this reader (compaction and GC racing it). The data
        // is still there under a newer entry, so the client should simply ask again.
        if (attempt > 0) throw changing(topic, partition, error);
        state = await readState(topic, partition);
        requireInRange(topic, partition, offset, state);
        continue;
      }
      return { ...pageOf(read, offset, maxBytes, `${topic.name}/${partition}`), state };
    }
  }

  async function fetchBatches(
    request: FetchRequest,
    options: FetchBatchesOptions = {},
  ): Promise<FetchBatchesResult> {
    const { buffers } = options;
    const reads: Uint8Array[] = [];
    const release = () => buffers?.release(reads.splice(0));
    try {
      const { batches, nextOffset, state } = await fetchBatchList(request, buffers, reads);
      const joined = concatenate(batches);
      // A copy (batches from several reads) leaves the read buffers free at once.
      if (!reads.some((read) => read.buffer === joined.buffer)) release();
      return {
        batches: joined,
        nextOffset,
        highWatermark: state.highWatermark,
        logStartOffset: state.logStartOffset,
        release,
      };
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * The page's records from `offset` on. Only `max_bytes` of batch bytes bound it: how many records a
   * response can carry depends on how they are rendered, which is the HTTP layer's business (the router
   * cuts a JSON page where its Lambda response document is full).
   */
  async function fetch(request: FetchRequest): Promise<FetchResult> {
    const page = await fetchBatchList(request);
    const { batches, state } = page;
    let { nextOffset } = page;
    const records: FetchedRecord[] = [];
    for (const [i, batch] of batches.entries()) {
      const header = readBatchHeader(batch);
      if (!canDecompress(header.compressionCodec)) {
        // The page ends before a batch this server cannot decode; alone, that batch is the answer.
        if (i > 0) {
          nextOffset = header.baseOffset;
          break;
        }
        throw undecodable(request, header.baseOffset, compressionName(header.compressionCodec));
      }
      for (const record of decodeRecordBatch(batch).records) {
        if (record.offset < request.offset) continue;
        records.push({
          offset: record.offset,
          timestamp: record.timestamp,
          key: record.key,
          value: record.value,
          headers: record.headers,
        });
      }
    }
    return { records, nextOffset, highWatermark: state.highWatermark, logStartOffset: state.logStartOffset };
  }

  /** Kafka's ListOffsets: the range, and for a timestamp the earliest offset at or after it. */
  async function offsets(topicName: string, partition: number, timestamp?: number): Promise<OffsetsResult> {
    const topic = await requireTopic(topicName);
    checkPartition(topic, partition);
    const state = await readState(topic, partition);
    const range = { logStartOffset: state.logStartOffset, highWatermark: state.highWatermark };
    if (timestamp === undefined) return range;
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
      throw new StreamError(
        'INVALID_REQUEST',
        `timestamp must be a non-negative integer (ms), got ${timestamp}`,
      );
    }
    // Timestamps are the producers' and need not grow with offsets, so this is a scan of the index by
    // maxTimestamp: the first entry holding a record at or after `timestamp`, then its records.
    const pk = partitionPk(topic.topicId, partition);
    let startAfter: string | undefined;
    for (;;) {
      const page = await meta.query(pk, {
        from: FIRST_BATCH_SK,
        to: LAST_BATCH_SK,
        startAfter,
        limit: 500,
        consistent: true,
      });
      for (const item of page.items) {
        const entry = readIndexEntry(item);
        if (entry.maxTimestamp < timestamp || entry.baseOffset >= state.highWatermark) continue;
        // Wholly below the log start: deleted records the janitor has yet to remove, skipped unread.
        if (entry.baseOffset + entry.recordCount <= state.logStartOffset) continue;
        let batches: Uint8Array[];
        try {
          batches = (await readBatches([sliceOf(entry, entry.baseOffset, entry.byteLength) as Slice])).map(
            (batch) => batch.bytes,
          );
        } catch (error) {
          // The entry was swapped or retained since the query: the next scan finds its successor.
          if (isNotFound(error)) throw changing(topic, partition, error);
          throw error;
        }
        for (const batch of batches) {
          const header = readBatchHeader(batch);
          if (!canDecompress(header.compressionCodec)) {
            // Records this server cannot decode: their batch's first offset is the earliest that may
            // hold the timestamp (a reader from there misses nothing).
            if (header.maxTimestamp >= timestamp) {
              return { ...range, offset: Math.max(header.baseOffset, state.logStartOffset) };
            }
            continue;
          }
          for (const record of decodeRecordBatch(batch).records) {
            if (record.timestamp >= timestamp && record.offset >= state.logStartOffset) {
              return { ...range, offset: record.offset, timestamp: record.timestamp };
            }
          }
        }
      }
      if (page.lastKey === undefined) return { ...range, offset: state.highWatermark };
      startAfter = page.lastKey;
    }
  }

  return { fetch, fetchBatches, offsets };
}
