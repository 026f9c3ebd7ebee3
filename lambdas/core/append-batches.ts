/**
 * Appending Kafka record batches as a client sent them (DESIGN §13): what a Kafka Produce request
 * becomes. The batches are stored byte for byte — compressed ones stay compressed, in any of
 * Kafka's codecs — and served by the same fetch paths as produce.ts's batches (the base offset,
 * outside the CRC, is patched at read).
 *
 * Invariants:
 * - Every batch is checked before anything is written: magic 2, length fields, CRC-32C, a record count
 *   that matches its offsets, not transactional nor control, no bigger than the topic's
 *   max.message.bytes (Kafka compares the batch's size) nor MAX_BATCH_BYTES, first and max timestamps
 *   within message.timestamp.before/after.max.ms; every record of a batch this server can decompress
 *   is parsed (checkRecords: checked, none built), so a record that does not parse is refused too,
 *   and the timestamps checked and indexed are the records' own (a header may understate its max).
 *   A zstd batch on a Node without zstd is checked up to its CRC; codec bits 5-7 name no codec and
 *   are refused.
 * - Partitions are independent, as in Kafka's answer: an unknown topic or partition, a refused batch,
 *   a refused idempotent sequence or a failed commit is that partition's error and changes nothing
 *   for it; the other partitions go on. The request never rejects for one partition's sake.
 * - ONE object holds every accepted partition's batches, over all topics of the request, then each
 *   partition commits on its own through commit.ts (the same commit as produce, same window). A
 *   request whose partitions are all refused or already committed writes no object.
 *   Sharing an object across topics is safe for garbage collection (janitor.ts): a data/… object is
 *   deleted only once it is older than every live partition's oldestSharedObject — of every topic —
 *   and than the commit window, and each commit records its object there as produce's do.
 * - Idempotent producers (producerId ≥ 0) are admitted through the window (idempotent-producers.ts):
 *   a retried batch is answered with its original base offset and writes nothing. Several batches for
 *   one partition must then come from one producer and epoch, with consecutive sequences: they are
 *   one run. Batches without a producer id get a request key of their own (the client's
 *   Idempotency-Key when given), so an ambiguous commit is resolved as produce's are. A partition that
 *   holds the client's key already is answered from it before its batches are checked: the retry of
 *   an accepted request is not refused because the topic's config changed since. Sequences are
 *   judged against what is committed when the request runs: a caller must append one connection's
 *   requests in order, as a Kafka broker handles them, or a producer's pipelined batches could
 *   arrive ahead of their predecessors and look out of order.
 * - Refusals are StreamErrors: RECORD_TOO_LARGE for sizes, TOPIC_NOT_FOUND / PARTITION_NOT_FOUND, and
 *   INVALID_REQUEST with `details.reason` (AppendRefusal) naming the Kafka error a client expects.
 */
import { randomUUID } from 'node:crypto';
import { BytePool } from '../../client/wire/bytes.ts';
import { crc32c } from '../../client/wire/crc32c.ts';
import { MAX_BATCH_BYTES, MAX_HEADER_KEY_BYTES } from '../../client/wire/limits.ts';
import {
  canDecompress,
  checkRecords,
  compressionName,
  isKnownCodec,
  LOG_OVERHEAD,
  MAGIC,
  RECORD_BATCH_OVERHEAD,
  type RecordBatchHeader,
  type RecordsSummary,
  readBatchHeader,
} from '../../client/wire/record-batch.ts';
import type { Clock } from '../ports/clock.ts';
import type { MetaStore } from '../ports/meta-store.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { encodeBatchDirectory, type IndexAttributes } from './batch-index.ts';
import {
  type Admission,
  COMMIT_ATTEMPT_MS,
  COMMIT_WINDOW_MS,
  commitPartition,
  readPartitionStates,
} from './commit.ts';
import type { CommitNotifier } from './commit-notifier.ts';
import { fromWireError, StreamError } from './errors.ts';
import {
  admitRun,
  type IdempotenceRefusal,
  idempotenceError,
  nextSequence,
  type ProducerRun,
} from './idempotent-producers.ts';
import { newDataObjectKey, partitionKey } from './layout.ts';
import type {
  AppendBatchesRequest,
  AppendBatchesResult,
  AppendPartitionResult,
  TopicDescription,
} from './log-types.ts';
import { encodeObject } from './object-format.ts';
import { appendRecentKey, findRecentKey, hashRequestKey, type PartitionMeta } from './partition-state.ts';

/**
 * `details.reason` of a refused batch (INVALID_REQUEST), named after the Kafka error it stands for:
 * - CORRUPT_MESSAGE: a length field, the CRC, a codec id Kafka does not have, or a record that does
 *   not parse;
 * - UNSUPPORTED_FOR_MESSAGE_FORMAT: a magic other than 2;
 * - INVALID_RECORD: header fields that contradict each other (record count and offsets), LogAppendTime
 *   set by a producer, no batch at all, batches of one partition from different producers;
 * - INVALID_TIMESTAMP: a timestamp outside the topic's message.timestamp.before/after.max.ms;
 * - TRANSACTIONS_UNSUPPORTED: a transactional or control batch (Streambed has no transactions);
 * - UNSUPPORTED_COMPRESSION_TYPE: with `recordLimits`, a codec whose records cannot be checked here;
 * - OUT_OF_ORDER_SEQUENCE, INVALID_PRODUCER_EPOCH: idempotent-producers.ts.
 */
export type AppendRefusal =
  | 'CORRUPT_MESSAGE'
  | 'UNSUPPORTED_FOR_MESSAGE_FORMAT'
  | 'INVALID_RECORD'
  | 'INVALID_TIMESTAMP'
  | 'TRANSACTIONS_UNSUPPORTED'
  | 'UNSUPPORTED_COMPRESSION_TYPE'
  | IdempotenceRefusal;

export interface AppendBatchesDeps {
  meta: MetaStore;
  objects: ObjectStore;
  clock: Clock;
  requireTopic(name: string): Promise<TopicDescription>;
  notifier?: CommitNotifier;
}

/** A partition's batches, checked: what its index entry and its admission need. */
interface CheckedPart {
  bytes: Uint8Array;
  /** Offsets the batches span (each batch's lastOffsetDelta + 1, which is its record count). */
  recordCount: number;
  minTimestamp: number;
  maxTimestamp: number;
  /** For several batches: the batch directory, so a fetch reads from any of them (batch-index.ts). */
  directory?: Uint8Array;
  /** The idempotent producer's run, when the batches carry a producer id. */
  run?: ProducerRun;
}

function refused(reason: AppendRefusal, message: string): StreamError {
  return new StreamError('INVALID_REQUEST', message, { details: { reason } });
}

/** What a failure is to the partition it hit: a StreamError (unexpected ones become INTERNAL). */
function asStreamError(error: unknown, where: string): StreamError {
  const translated = fromWireError(error);
  if (translated instanceof StreamError) return translated;
  return new StreamError('INTERNAL', `produce to ${where} failed`, { cause: error });
}

/** Checks one batch (`bytes` from `pos`) and returns its header; throws a refusal (module comment). */
function checkBatch(
  topic: TopicDescription,
  bytes: Uint8Array,
  pos: number,
  at: string,
  now: number,
  recordLimits: boolean,
): { header: RecordBatchHeader; minTimestamp: number; maxTimestamp: number } {
  const left = bytes.byteLength - pos;
  const view = new DataView(bytes.buffer, bytes.byteOffset + pos, left);
  if (left > 16 && view.getInt8(16) !== MAGIC) {
    throw refused(
      'UNSUPPORTED_FOR_MESSAGE_FORMAT',
      `${at}: magic ${view.getInt8(16)}; only record batches of magic 2 are accepted`,
    );
  }
  if (left < RECORD_BATCH_OVERHEAD) {
    throw refused('CORRUPT_MESSAGE', `${at}: truncated, ${left} bytes where a batch header takes 61`);
  }
  const size = LOG_OVERHEAD + view.getInt32(8);
  if (size < RECORD_BATCH_OVERHEAD || size > left) {
    throw refused(
      'CORRUPT_MESSAGE',
      `${at}: its length field says ${size} bytes, but ${size < RECORD_BATCH_OVERHEAD ? 'a batch header takes 61' : `only ${left} are left`}`,
    );
  }
  const batch = bytes.subarray(pos, pos + size);
  const stored = view.getUint32(17);
  const computed = crc32c(batch.subarray(21));
  if (stored !== computed) {
    throw refused(
      'CORRUPT_MESSAGE',
      `${at}: CRC mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`,
    );
  }
  let header: RecordBatchHeader;
  try {
    header = readBatchHeader(batch);
  } catch (error) {
    throw refused('CORRUPT_MESSAGE', `${at}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (header.isTransactional || header.isControl) {
    throw refused(
      'TRANSACTIONS_UNSUPPORTED',
      `${at}: a ${header.isControl ? 'control' : 'transactional'} batch; Streambed has no transactions (use an idempotent, non-transactional producer)`,
    );
  }
  if (header.recordCount < 1 || header.lastOffsetDelta !== header.recordCount - 1) {
    throw refused(
      'INVALID_RECORD',
      `${at}: recordCount ${header.recordCount} with lastOffsetDelta ${header.lastOffsetDelta}; a producer's batch holds at least one record, at offset deltas 0 to recordCount − 1`,
    );
  }
  if (header.timestampType === 'LogAppendTime') {
    throw refused(
      'INVALID_RECORD',
      `${at}: timestamp type LogAppendTime is the broker's to set, not a producer's`,
    );
  }
  if (!isKnownCodec(header.compressionCodec)) {
    throw refused(
      'CORRUPT_MESSAGE',
      `${at}: compression codec ${header.compressionCodec} does not exist (Kafka's are 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)`,
    );
  }
  const limit = topic.config['max.message.bytes'];
  const batchLimit = recordLimits ? MAX_BATCH_BYTES : Math.min(limit, MAX_BATCH_BYTES);
  if (size > batchLimit) {
    const [max, name] =
      size > limit && !recordLimits
        ? [limit, 'max.message.bytes']
        : [MAX_BATCH_BYTES, 'what one fetch response carries'];
    throw new StreamError(
      'RECORD_TOO_LARGE',
      `${at}: a batch of ${size} bytes; topic ${topic.name} allows ${max} (${name})`,
    );
  }
  const { firstTimestamp } = header;
  let { maxTimestamp } = header;
  let minTimestamp = firstTimestamp;
  if (recordLimits && !canDecompress(header.compressionCodec)) {
    throw refused(
      'UNSUPPORTED_COMPRESSION_TYPE',
      `${at}: compression codec ${compressionName(header.compressionCodec)} cannot be checked here; send it uncompressed or with gzip, snappy or lz4`,
    );
  }
  if (canDecompress(header.compressionCodec)) {
    let records: RecordsSummary;
    try {
      records = checkRecords(batch, header);
    } catch (error) {
      throw refused('CORRUPT_MESSAGE', `${at}: ${error instanceof Error ? error.message : String(error)}`);
    }
    minTimestamp = Math.min(minTimestamp, records.minTimestamp);
    // A producer may understate it (KafkaJS leaves records without a timestamp out of its max): the
    // newest record bounds the batch, for after.max.ms and for time lookups (Kafka's broker rewrites it).
    maxTimestamp = Math.max(maxTimestamp, records.maxTimestamp);
    if (recordLimits) checkRecordSizes(topic, records, at);
  }
  // The oldest and newest timestamps are the header's unless the records were checked (they may differ).
  const before = topic.config['message.timestamp.before.max.ms'];
  const after = topic.config['message.timestamp.after.max.ms'];
  if (minTimestamp < 0 || header.maxTimestamp < firstTimestamp) {
    throw refused(
      'INVALID_TIMESTAMP',
      `${at}: timestamps from ${minTimestamp} to ${header.maxTimestamp} (first ${firstTimestamp}) are not valid`,
    );
  }
  if (now - minTimestamp > before) {
    throw refused(
      'INVALID_TIMESTAMP',
      `${at}: timestamp ${minTimestamp} is ${now - minTimestamp} ms behind the server's clock; topic ${topic.name} allows ${before} (message.timestamp.before.max.ms)`,
    );
  }
  if (maxTimestamp - now > after) {
    throw refused(
      'INVALID_TIMESTAMP',
      `${at}: timestamp ${maxTimestamp} is ${maxTimestamp - now} ms ahead of the server's clock; topic ${topic.name} allows ${after} (message.timestamp.after.max.ms)`,
    );
  }
  return { header, minTimestamp, maxTimestamp };
}

/** Produce's limits on each record (produce.ts), for batches checked record by record. */
function checkRecordSizes(topic: TopicDescription, records: RecordsSummary, at: string): void {
  const limit = topic.config['max.message.bytes'];
  const { largest, mostHeaderKeyBytes } = records;
  if (mostHeaderKeyBytes.bytes > MAX_HEADER_KEY_BYTES) {
    throw new StreamError(
      'RECORD_TOO_LARGE',
      `${at}: record ${mostHeaderKeyBytes.index}'s header keys take ${mostHeaderKeyBytes.bytes} bytes (UTF-8, plus 8 per header); the limit is ${MAX_HEADER_KEY_BYTES}`,
    );
  }
  if (largest.bytes > limit) {
    throw new StreamError(
      'RECORD_TOO_LARGE',
      `${at}: record ${largest.index} is ${largest.bytes} bytes; topic ${topic.name} allows ${limit} (max.message.bytes)`,
    );
  }
}

/** The idempotent run of a batch, or undefined for a producer without a producer id. */
function runOf(header: RecordBatchHeader, at: string): ProducerRun | undefined {
  if (header.producerId < 0n) return undefined;
  if (
    header.producerId > BigInt(Number.MAX_SAFE_INTEGER) ||
    header.producerEpoch < 0 ||
    header.baseSequence < 0
  ) {
    throw refused(
      'INVALID_RECORD',
      `${at}: producer id ${header.producerId}, epoch ${header.producerEpoch}, sequence ${header.baseSequence} are not those of an idempotent producer (InitProducerId)`,
    );
  }
  return {
    producerId: Number(header.producerId),
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    recordCount: header.recordCount,
  };
}

/** Checks a partition's batches (module comment); throws the refusal of the first bad one. */
function checkPart(
  topic: TopicDescription,
  partition: number,
  bytes: Uint8Array,
  now: number,
  recordLimits: boolean,
): CheckedPart {
  const where = `produce to ${topic.name}/${partition}`;
  if (bytes.byteLength === 0) throw refused('INVALID_RECORD', `${where} holds no record batch`);
  const spans: { offsets: number; bytes: number }[] = [];
  let minTimestamp = Number.POSITIVE_INFINITY;
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  let run: ProducerRun | undefined;
  for (let pos = 0; pos < bytes.byteLength; ) {
    const at = `${where}, batch ${spans.length} (byte ${pos})`;
    const checked = checkBatch(topic, bytes, pos, at, now, recordLimits);
    const { header } = checked;
    const next = runOf(header, at);
    if (spans.length > 0 && (next === undefined) !== (run === undefined)) {
      throw refused('INVALID_RECORD', `${at}: batches with and without a producer id for one partition`);
    }
    if (run === undefined || next === undefined) {
      run = next;
    } else if (next.producerId !== run.producerId || next.producerEpoch !== run.producerEpoch) {
      throw refused('INVALID_RECORD', `${at}: batches of different producers for one partition`);
    } else if (next.baseSequence !== nextSequence(run)) {
      throw idempotenceError(
        'OUT_OF_ORDER_SEQUENCE',
        `${at}: sequence ${next.baseSequence} does not follow the previous batch's (${nextSequence(run)} expected)`,
        next,
      );
    } else {
      run = { ...run, recordCount: run.recordCount + next.recordCount };
    }
    spans.push({ offsets: header.lastOffsetDelta + 1, bytes: header.sizeInBytes });
    minTimestamp = Math.min(minTimestamp, checked.minTimestamp);
    maxTimestamp = Math.max(maxTimestamp, checked.maxTimestamp);
    pos += header.sizeInBytes;
  }
  const part: CheckedPart = {
    bytes,
    recordCount: spans.reduce((sum, span) => sum + span.offsets, 0),
    minTimestamp,
    maxTimestamp,
  };
  if (spans.length > 1) part.directory = encodeBatchDirectory(spans);
  if (run !== undefined) part.run = run;
  return part;
}

/**
 * The offsets a partition's batches span, read from their headers alone (as CheckedPart.recordCount
 * counts them), or -1 when a header cannot be read: to match a retry with its first attempt.
 */
function offsetsSpanned(bytes: Uint8Array): number {
  let offsets = 0;
  try {
    for (let pos = 0; pos < bytes.byteLength; ) {
      const header = readBatchHeader(bytes, pos);
      offsets += header.lastOffsetDelta + 1;
      pos += header.sizeInBytes;
    }
  } catch {
    return -1;
  }
  return offsets;
}

/** A partition of the request on its way: checked, then admitted, then committed. */
interface Work {
  index: number;
  topic: TopicDescription;
  partition: number;
  part: CheckedPart;
  state: PartitionMeta;
}

export function createBatchAppender({ meta, objects, clock, requireTopic, notifier }: AppendBatchesDeps) {
  // Object buffers, reused from request to request (see BytePool), as produce's are.
  const buffers = new BytePool();
  async function resolveTopics(names: string[]): Promise<Map<string, TopicDescription | StreamError>> {
    const out = new Map<string, TopicDescription | StreamError>();
    await Promise.all(
      names.map(async (name) => {
        try {
          out.set(name, await requireTopic(name));
        } catch (error) {
          out.set(name, asStreamError(error, name));
        }
      }),
    );
    return out;
  }

  return async function appendBatches(request: AppendBatchesRequest): Promise<AppendBatchesResult> {
    const now = clock.now();
    const { partitions } = request;
    const results: AppendPartitionResult[] = new Array(partitions.length);
    const fail = (index: number, error: unknown) => {
      const { topic, partition } = partitions[index] as (typeof partitions)[number];
      results[index] = { topic, partition, error: asStreamError(error, `${topic}/${partition}`) };
    };
    const topics = await resolveTopics([...new Set(partitions.map((p) => p.topic))]);
    const occurrences = new Map<string, number>();
    for (const { topic, partition } of partitions) {
      const id = `${topic}\u0000${partition}`;
      occurrences.set(id, (occurrences.get(id) ?? 0) + 1);
    }

    // Locate: every partition named must exist, once.
    const located: { index: number; topic: TopicDescription; partition: number; batches: Uint8Array }[] = [];
    partitions.forEach(({ topic: name, partition, batches }, index) => {
      const topic = topics.get(name) as TopicDescription | StreamError;
      try {
        if (topic instanceof StreamError) throw topic;
        if (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitions) {
          throw new StreamError(
            'PARTITION_NOT_FOUND',
            `topic ${name} has no partition ${partition} (it has ${topic.partitions})`,
          );
        }
        if ((occurrences.get(`${name}\u0000${partition}`) ?? 0) > 1) {
          throw refused(
            'INVALID_RECORD',
            `produce to ${name}/${partition}: the partition appears more than once in the request`,
          );
        }
        located.push({ index, topic, partition, batches });
      } catch (error) {
        fail(index, error);
      }
    });

    // A retry with the client's key is answered from its first attempt before its batches are checked:
    // the topic's config (timestamp bounds, max.message.bytes) may have changed since it was accepted.
    const { idempotencyKey } = request;
    const requestKey = idempotencyKey ?? randomUUID();
    // The batches name their partitions, so the key's hash leaves out the partition count (-1), unlike
    // produce's: a retry after the topic grew still finds its first attempt.
    const keyHashOf = (topic: TopicDescription) => hashRequestKey(topic.topicId, requestKey, -1);
    // Each partition's state, read once (request index → state): before the check with a key.
    const stateAt = new Map<number, PartitionMeta>();
    let toCheck = located;
    if (idempotencyKey !== undefined && located.length > 0) {
      let known: PartitionMeta[];
      try {
        known = await readPartitionStates(
          meta,
          located.map(({ topic, partition }) => partitionKey(topic.topicId, partition)),
        );
      } catch (error) {
        for (const { index } of located) fail(index, error);
        return { partitions: results };
      }
      toCheck = located.filter(({ index, topic, partition, batches }, i) => {
        const state = known[i] as PartitionMeta;
        stateAt.set(index, state);
        const done = findRecentKey(state.recentKeys, keyHashOf(topic));
        if (done === undefined || done.recordCount !== offsetsSpanned(batches)) return true;
        results[index] = {
          topic: topic.name,
          partition,
          baseOffset: done.baseOffset,
          logStartOffset: state.logStartOffset,
        };
        return false;
      });
    }

    // Check: every partition's batches, before anything is written.
    const checked: Omit<Work, 'state'>[] = [];
    for (const { index, topic, partition, batches } of toCheck) {
      try {
        const part = checkPart(topic, partition, batches, now, request.recordLimits === true);
        checked.push({ index, topic, partition, part });
      } catch (error) {
        fail(index, error);
      }
    }
    if (checked.length === 0) return { partitions: results };

    // Admit: what the idempotency window already holds is answered without writing.
    const admitFor = (work: Omit<Work, 'state'>) => {
      const { topic, partition, part } = work;
      const run = part.run;
      if (run !== undefined) {
        const where = { topicId: topic.topicId, name: topic.name, partition };
        return (state: PartitionMeta): Admission => admitRun(where, state, run);
      }
      const keyHash = keyHashOf(topic);
      return (state: PartitionMeta): Admission => {
        const done = findRecentKey(state.recentKeys, keyHash);
        if (done !== undefined && done.recordCount !== part.recordCount) {
          throw new StreamError(
            'INVALID_REQUEST',
            `Idempotency-Key ${idempotencyKey} was already used for a different request to ${topic.name}/${partition}`,
          );
        }
        if (done !== undefined) return { committed: done.baseOffset };
        return {
          recentKeys: (baseOffset) =>
            appendRecentKey(state.recentKeys, keyHash, { baseOffset, recordCount: part.recordCount }),
        };
      };
    };
    const unread = checked.filter((work) => !stateAt.has(work.index));
    if (unread.length > 0) {
      try {
        const states = await readPartitionStates(
          meta,
          unread.map((work) => partitionKey(work.topic.topicId, work.partition)),
        );
        unread.forEach((work, i) => {
          stateAt.set(work.index, states[i] as PartitionMeta);
        });
      } catch (error) {
        for (const work of checked) fail(work.index, error);
        return { partitions: results };
      }
    }
    const pending: Work[] = [];
    checked.forEach((work) => {
      const state = stateAt.get(work.index) as PartitionMeta;
      try {
        const admission = admitFor(work)(state);
        if ('committed' in admission) {
          results[work.index] = {
            topic: work.topic.name,
            partition: work.partition,
            baseOffset: admission.committed,
            logStartOffset: state.logStartOffset,
          };
        } else {
          pending.push({ ...work, state });
        }
      } catch (error) {
        fail(work.index, error);
      }
    });
    if (pending.length === 0) return { partitions: results };

    // Write: one object for every partition still to commit, whatever its topic.
    const object = encodeObject(
      pending.map((work) => work.part.bytes),
      { allocate: buffers.acquire },
    );
    const objectKey = newDataObjectKey(now);
    try {
      await objects.put(objectKey, object.bytes);
    } catch (error) {
      for (const work of pending) fail(work.index, error);
      return { partitions: results };
    } finally {
      // The put has settled: every adapter has copied or written the bytes; only positions are kept.
      buffers.release([object.bytes]);
    }

    // Commit: each partition on its own, within the window that starts at the object's key time.
    const deadline = now + COMMIT_WINDOW_MS - COMMIT_ATTEMPT_MS;
    const outcomes = await Promise.allSettled(
      pending.map((work, i) => {
        const { part } = work;
        const entry: IndexAttributes = {
          objectKey,
          ...(object.positions[i] as { byteOffset: number; byteLength: number }),
          recordCount: part.recordCount,
          minTimestamp: part.minTimestamp,
          maxTimestamp: part.maxTimestamp,
        };
        if (part.directory !== undefined) entry.directory = part.directory;
        return commitPartition(
          { meta, clock },
          {
            topic: work.topic,
            partition: work.partition,
            state: work.state,
            entry,
            deadline,
            admit: admitFor(work),
          },
        );
      }),
    );
    outcomes.forEach((outcome, i) => {
      const work = pending[i] as Work;
      if (outcome.status === 'rejected') {
        fail(work.index, outcome.reason);
      } else {
        results[work.index] = { topic: work.topic.name, partition: work.partition, ...outcome.value };
        notifier?.notify(partitionKey(work.topic.topicId, work.partition).pk);
      }
    });
    return { partitions: results };
  };
}
