/**
 * Produce (DESIGN §4): validate everything, upload ONE object holding a record batch per partition,
 * then commit each partition independently and in parallel with a small compare-and-set transaction.
 *
 * Invariants:
 * - Offsets are assigned only after the object is durable; a commit never reserves offsets ahead.
 * - A partition's commit writes exactly two items: the partition item (highWatermark += count, CAS on
 *   its version) and the new batch index entry (put if absent). Partitions never share a transaction.
 * - Every request has a key; its hash in the partition's recentKeys means "already committed here",
 *   so retries and ambiguous outcomes re-read instead of writing twice.
 * - A commit lands within COMMIT_WINDOW_MS of the time in its object's key, or is never attempted:
 *   garbage collection (DESIGN §7) may delete objects older than that which no partition points at.
 *   One clock from one start: the key's time is taken before encoding and upload, and no attempt
 *   starts later than COMMIT_ATTEMPT_MS before the window closes (an attempt, with the adapter's own
 *   retries and timeouts, ends within that), so a slow upload or a slow commit can never land late.
 * - A request with an Idempotency-Key is partitioned as its first attempt was, even when the topic has
 *   grown partitions since (keyed records hash by the partition count): a retry lands where the first
 *   attempt did, for as long as the topic remembers the earlier count (PARTITION_HISTORY_MS).
 * - No record batch is larger than MAX_BATCH_BYTES, so one fetch response carries any batch whole; a
 *   request that would make one is refused (413) before anything is written.
 */
import { Buffer } from 'node:buffer';
import { createHash, randomInt, randomUUID } from 'node:crypto';
import type { ProduceRecord } from '../../client/wire/binary.ts';
import { BytePool } from '../../client/wire/bytes.ts';
import {
  MAX_BATCH_BYTES,
  MAX_HEADER_KEY_BYTES,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_RECORDS_PER_REQUEST,
} from '../../client/wire/limits.ts';
import { encodeRecordBatch } from '../../client/wire/record-batch.ts';
import type { Clock } from '../ports/clock.ts';
import type { MetaStore } from '../ports/meta-store.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import type { IndexAttributes } from './batch-index.ts';
import { COMMIT_ATTEMPT_MS, COMMIT_WINDOW_MS, commitPartition, readPartitionStates } from './commit.ts';
import type { CommitNotifier } from './commit-notifier.ts';
import { StreamError } from './errors.ts';
import { newDataObjectKey, partitionKey } from './layout.ts';
import type {
  AppendPartitionResult,
  OffsetRun,
  ProduceRequest,
  ProduceResult,
  RecordOffset,
  TopicDescription,
} from './log-types.ts';
import { encodeObject, OBJECT_HEADER_BYTES } from './object-format.ts';
import { appendRecentKey, findRecentKey, hashRequestKey, type PartitionMeta } from './partition-state.ts';
import { partitionForKey } from './partitioner.ts';
import { PARTITION_HISTORY_MS } from './topics.ts';

export { COMMIT_ATTEMPT_MS, COMMIT_WINDOW_MS } from './commit.ts';

export interface ProduceDeps {
  meta: MetaStore;
  objects: ObjectStore;
  clock: Clock;
  requireTopic(name: string): Promise<TopicDescription>;
  notifier?: CommitNotifier;
}

interface PartitionBatch {
  partition: number;
  /** Indexes of the request's records that go to this partition, in request order. */
  records: number[];
  meta: PartitionMeta;
}

/**
 * A record's size as max.message.bytes counts it (key, value, header keys and values), and what its
 * header keys take as MAX_HEADER_KEY_BYTES counts them (UTF-8 plus 8 per header): one pass.
 */
function recordSizes(record: ProduceRecord): { size: number; headerKeyBytes: number } {
  let size = (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
  let headerKeyBytes = 0;
  for (const header of record.headers) {
    const keyBytes = Buffer.byteLength(header.key);
    size += keyBytes + (header.value?.byteLength ?? 0);
    headerKeyBytes += keyBytes + 8;
  }
  return { size, headerKeyBytes };
}

export function createProducer({ meta, objects, clock, requireTopic, notifier }: ProduceDeps) {
  // Unkeyed records of a request without a client key go to one partition, rotating across requests.
  let rotation = randomInt(0, 2 ** 31);
  // Object buffers, reused from request to request (see BytePool).
  const buffers = new BytePool();

  function validate(topic: TopicDescription, request: ProduceRequest, now: number): void {
    const { records } = request;
    if (records.length === 0)
      throw new StreamError('INVALID_REQUEST', `produce to ${topic.name} holds no records`);
    if (records.length > MAX_RECORDS_PER_REQUEST) {
      throw new StreamError(
        'INVALID_REQUEST',
        `produce to ${topic.name} holds ${records.length} records; the limit is ${MAX_RECORDS_PER_REQUEST}`,
      );
    }
    const key = request.idempotencyKey;
    if (key !== undefined && (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
      throw new StreamError(
        'INVALID_REQUEST',
        `Idempotency-Key must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
      );
    }
    const limit = topic.config['max.message.bytes'];
    records.forEach((record, i) => {
      const { partition, timestamp } = record;
      if (
        partition !== undefined &&
        (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitions)
      ) {
        throw new StreamError(
          'PARTITION_NOT_FOUND',
          `record ${i}: topic ${topic.name} has no partition ${partition} (it has ${topic.partitions})`,
        );
      }
      if (timestamp !== undefined && (!Number.isSafeInteger(timestamp) || timestamp < 0)) {
        throw new StreamError(
          'INVALID_REQUEST',
          `record ${i}: timestamp must be a non-negative integer (ms)`,
        );
      }
      if (timestamp !== undefined && timestamp - now > topic.config['message.timestamp.after.max.ms']) {
        throw new StreamError(
          'INVALID_REQUEST',
          `record ${i}: timestamp ${timestamp} is ${timestamp - now} ms ahead of the server's clock; topic ${topic.name} allows ${topic.config['message.timestamp.after.max.ms']} (message.timestamp.after.max.ms)`,
        );
      }
      if (timestamp !== undefined && now - timestamp > topic.config['message.timestamp.before.max.ms']) {
        throw new StreamError(
          'INVALID_REQUEST',
          `record ${i}: timestamp ${timestamp} is ${now - timestamp} ms behind the server's clock; topic ${topic.name} allows ${topic.config['message.timestamp.before.max.ms']} (message.timestamp.before.max.ms)`,
        );
      }
      const { size, headerKeyBytes } = recordSizes(record);
      if (headerKeyBytes > MAX_HEADER_KEY_BYTES) {
        throw new StreamError(
          'RECORD_TOO_LARGE',
          `record ${i}: its ${record.headers.length} header keys take ${headerKeyBytes} bytes (UTF-8, plus 8 per header); the limit is ${MAX_HEADER_KEY_BYTES}`,
        );
      }
      if (size > limit) {
        throw new StreamError(
          'RECORD_TOO_LARGE',
          `record ${i} is ${size} bytes; topic ${topic.name} allows ${limit} (max.message.bytes)`,
        );
      }
    });
  }

  /** Groups record indexes by partition, in ascending partition order, for a topic of `partitions`. */
  function assignPartitions(partitions: number, request: ProduceRequest): Map<number, number[]> {
    // A client key pins the unkeyed partition, so a retry lands where the first attempt did.
    const unkeyed =
      request.idempotencyKey !== undefined
        ? createHash('sha256').update(request.idempotencyKey).digest().readUInt32BE(0) % partitions
        : rotation++ % partitions;
    const groups = new Map<number, number[]>();
    request.records.forEach((record, i) => {
      const partition =
        record.partition ?? (record.key !== null ? partitionForKey(record.key, partitions) : unkeyed);
      const group = groups.get(partition);
      if (group === undefined) groups.set(partition, [i]);
      else group.push(i);
    });
    return new Map([...groups.entries()].sort(([a], [b]) => a - b));
  }

  async function readPartitions(topicId: string, partitions: number[]): Promise<PartitionMeta[]> {
    return readPartitionStates(
      meta,
      partitions.map((p) => partitionKey(topicId, p)),
    );
  }

  /**
   * The request's partitioning, its key's hash and those partitions' states. A client key that no
   * partition of today's partitioning has seen may belong to a first attempt made before the topic
   * grew: the partitioning by each earlier count is checked too, newest first, and the one whose hash
   * (which names its count) a partition holds wins, so the retry completes what the first attempt
   * started instead of writing the records again elsewhere.
   */
  async function partitionRequest(topic: TopicDescription, request: ProduceRequest, now: number) {
    const requestKey = request.idempotencyKey ?? randomUUID();
    const attempt = async (partitions: number) => {
      const groups = assignPartitions(partitions, request);
      const keyHash = hashRequestKey(topic.topicId, requestKey, partitions);
      const states = await readPartitions(topic.topicId, [...groups.keys()]);
      const seen = states.some((state) => findRecentKey(state.recentKeys, keyHash) !== undefined);
      return { groups, keyHash, states, requestKey, seen };
    };
    const current = await attempt(topic.partitions);
    if (request.idempotencyKey === undefined || current.seen) return current;
    for (const change of topic.partitionHistory ?? []) {
      if (change.until < now - PARTITION_HISTORY_MS) break;
      // An explicit partition beyond the earlier count cannot have been written under it.
      if (request.records.some((record) => (record.partition ?? 0) >= change.partitions)) continue;
      const earlier = await attempt(change.partitions);
      if (earlier.seen) return earlier;
    }
    return current;
  }

  return async function produce(request: ProduceRequest): Promise<ProduceResult> {
    const topic = await requireTopic(request.topic);
    const now = clock.now();
    validate(topic, request, now);
    const { groups, keyHash, states, requestKey } = await partitionRequest(topic, request, now);
    const baseOffsets = new Map<number, number>();
    const pending: PartitionBatch[] = [];
    [...groups.entries()].forEach(([partition, records], i) => {
      const state = states[i] as PartitionMeta;
      const done = findRecentKey(state.recentKeys, keyHash);
      if (done === undefined) {
        pending.push({ partition, records, meta: state });
      } else if (done.recordCount !== records.length) {
        throw new StreamError(
          'INVALID_REQUEST',
          `Idempotency-Key ${requestKey} was already used for a different request to ${topic.name}`,
        );
      } else {
        baseOffsets.set(partition, done.baseOffset);
      }
    });

    if (pending.length > 0) {
      const entries: IndexAttributes[] = [];
      const batches = pending.map((batch) => {
        const records = batch.records.map((i) => {
          const record = request.records[i] as ProduceRecord;
          return {
            key: record.key,
            value: record.value,
            headers: record.headers,
            timestamp: record.timestamp ?? now,
          };
        });
        const timestamps = records.map((record) => record.timestamp);
        entries.push({
          objectKey: '',
          byteOffset: 0,
          byteLength: 0,
          recordCount: records.length,
          minTimestamp: Math.min(...timestamps),
          maxTimestamp: Math.max(...timestamps),
        });
        // A lone batch leaves room for the object header, so the object is written without a copy.
        return encodeRecordBatch(records, {
          headroom: pending.length === 1 ? OBJECT_HEADER_BYTES : 0,
          allocate: buffers.acquire,
        });
      });
      // A batch is served whole by a binary fetch, so it must fit one response (client/wire/limits.ts): refuse
      // the request before anything is written rather than store a batch no fetch could return.
      const oversized = batches.findIndex((batch) => batch.byteLength > MAX_BATCH_BYTES);
      if (oversized !== -1) {
        buffers.release(batches);
        const { partition, records } = pending[oversized] as PartitionBatch;
        throw new StreamError(
          'RECORD_TOO_LARGE',
          `produce to ${topic.name}: the ${records.length} records for partition ${partition} make a record batch of ${(batches[oversized] as Uint8Array).byteLength} bytes, over the ${MAX_BATCH_BYTES} one fetch response can carry; split them over several requests`,
        );
      }
      const object = encodeObject(batches, { headroom: batches.length === 1, allocate: buffers.acquire });
      const objectKey = newDataObjectKey(now);
      try {
        await objects.put(objectKey, object.bytes);
      } finally {
        // The put has settled: every adapter has copied or written the bytes; only positions are kept.
        buffers.release([...batches, object.bytes]);
      }
      // The window runs from the time in the object's key (GC reads the same time), not from now.
      const deadline = now + COMMIT_WINDOW_MS - COMMIT_ATTEMPT_MS;
      const outcomes = await Promise.allSettled(
        pending.map((batch, i) => {
          const entry = { ...(entries[i] as IndexAttributes), objectKey, ...object.positions[i] };
          return commitPartition(
            { meta, clock },
            {
              topic,
              partition: batch.partition,
              state: batch.meta,
              entry,
              deadline,
              admit: (state) => {
                const done = findRecentKey(state.recentKeys, keyHash);
                if (done !== undefined) return { committed: done.baseOffset };
                return {
                  recentKeys: (baseOffset) =>
                    appendRecentKey(state.recentKeys, keyHash, {
                      baseOffset,
                      recordCount: entry.recordCount,
                    }),
                };
              },
            },
          );
        }),
      );
      const failures: unknown[] = [];
      outcomes.forEach((outcome, i) => {
        const { partition } = pending[i] as PartitionBatch;
        if (outcome.status === 'fulfilled') {
          baseOffsets.set(partition, outcome.value.baseOffset);
          notifier?.notify(partitionKey(topic.topicId, partition).pk);
        } else {
          failures.push(outcome.reason);
        }
      });
      if (failures.length > 0) throw partialFailure(topic, request, groups, baseOffsets, failures[0]);
    }
    return { offsets: offsetsFor(request, groups, baseOffsets) };
  };
}

function offsetsFor(
  request: ProduceRequest,
  groups: Map<number, number[]>,
  baseOffsets: Map<number, number>,
): (RecordOffset & { offset: number })[] {
  const offsets: RecordOffset[] = new Array(request.records.length);
  for (const [partition, records] of groups) {
    const base = baseOffsets.get(partition);
    if (base === undefined) continue;
    records.forEach((recordIndex, i) => {
      offsets[recordIndex] = { partition, offset: base + i };
    });
  }
  return offsets;
}

/**
 * Some partitions could not commit. The reply is that failure (retriable when it was), carrying the
 * offsets of the records that did commit (null for the others); a retry with the same key completes
 * only the missing partitions.
 */
function partialFailure(
  topic: TopicDescription,
  request: ProduceRequest,
  groups: Map<number, number[]>,
  baseOffsets: Map<number, number>,
  first: unknown,
): StreamError {
  const offsets = offsetsFor(request, groups, baseOffsets);
  const committed = Array.from({ length: request.records.length }, (_, i) => offsets[i] ?? null);
  const missing = [...groups.keys()].filter((p) => !baseOffsets.has(p));
  return partitionsFailed(topic.name, committed, missing, baseOffsets.size > 0, first);
}

/** The error of a produce some of whose partitions did not commit (see partialFailure). */
function partitionsFailed(
  topic: string,
  committed: (RecordOffset | null)[],
  missing: number[],
  someCommitted: boolean,
  first: unknown,
): StreamError {
  const cause = first instanceof StreamError ? first : undefined;
  // A refusal's reason (a corrupt batch, say) is what the client acts on: it stays with its code.
  const reason = cause?.details?.reason;
  return new StreamError(
    cause?.code ?? 'INTERNAL',
    `produce to ${topic}: partitions ${missing.join(', ')} did not commit${someCommitted ? ' (the others did)' : ''}; ${
      cause === undefined || cause.retriable
        ? 'retry with the same Idempotency-Key'
        : `the first refusal: ${cause.message}`
    }`,
    {
      retriable: cause?.retriable ?? false,
      cause: first,
      details: { offsets: committed, ...(reason === undefined ? {} : { reason }) },
    },
  );
}

/**
 * What a produce of record batches (client/wire/binary.ts, "PRODUCE AS BATCHES") answers, from
 * appendBatches' result for each of its frames: every record's offset in body order, as one run per
 * frame (no object per record). When no frame committed, the first frame's error as it is (a refusal
 * keeps its code and `details.reason`); when some did, produce's partial failure, with the committed
 * records' offsets.
 */
export function batchesProduceRuns(
  topic: string,
  frames: readonly { partition: number; recordCount: number }[],
  results: readonly AppendPartitionResult[],
): OffsetRun[] {
  const runs: OffsetRun[] = [];
  const missing: number[] = [];
  let first: StreamError | undefined;
  frames.forEach(({ partition, recordCount }, i) => {
    const result = results[i] as AppendPartitionResult;
    if (result.error === undefined)
      runs.push({ partition, baseOffset: result.baseOffset, count: recordCount });
    else {
      first ??= result.error;
      missing.push(partition);
    }
  });
  if (first === undefined) return runs;
  if (missing.length === frames.length) throw first;
  // A partial failure names every record's offset, null where its partition did not commit.
  const offsets: (RecordOffset | null)[] = [];
  frames.forEach(({ partition, recordCount }, i) => {
    const result = results[i] as AppendPartitionResult;
    for (let r = 0; r < recordCount; r++)
      offsets.push(result.error === undefined ? { partition, offset: result.baseOffset + r } : null);
  });
  throw partitionsFailed(topic, offsets, missing, true, first);
}
