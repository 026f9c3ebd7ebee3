/**
 * The shapes the log's services (topics, produce, fetch) take and return. The HTTP layer and
 * the tests speak these; storage details stay behind them. A produced record's shape is the wire's
 * (client/wire/binary.ts), shared with the SDK.
 */

import type { ProduceRecord } from '../../client/wire/binary.ts';
import type { BytePool } from '../../client/wire/bytes.ts';
import type { StreamError } from './errors.ts';

/** Topic configuration (Kafka's names). Absent keys take the defaults in topics.ts. */
export interface TopicConfig {
  /** Batches whose newest record is older than this are deleted; -1 keeps data forever. */
  'retention.ms': number;
  /** The oldest batches are deleted while a partition holds more bytes than this; -1 = no limit. */
  'retention.bytes': number;
  /** The largest record (key + value + headers, in bytes) a producer may send. */
  'max.message.bytes': number;
  'cleanup.policy': 'delete';
  /** A record whose timestamp is more than this before the server's clock is refused (Kafka's name). */
  'message.timestamp.before.max.ms': number;
  /** A record whose timestamp is more than this after the server's clock is refused (Kafka's name). */
  'message.timestamp.after.max.ms': number;
}

/** A partition count the topic had until `until` (epoch ms), when it grew. */
export interface PartitionCountChange {
  partitions: number;
  until: number;
}

export interface TopicDescription {
  name: string;
  topicId: string;
  partitions: number;
  config: TopicConfig;
  createdAt: number;
  /**
   * Earlier partition counts, newest first, kept for a while after each growth so that a produce retry
   * with the same Idempotency-Key lands where its first attempt did (produce.ts).
   */
  partitionHistory?: PartitionCountChange[];
}

export interface PartitionState {
  partition: number;
  logStartOffset: number;
  highWatermark: number;
  /** Batch index entries (a compacted run counts once). */
  batches: number;
  /** Bytes of record batches the partition's index points at. */
  bytes: number;
}

export interface TopicDetails extends TopicDescription {
  partitionStates: PartitionState[];
}

export interface ProduceRequest {
  topic: string;
  records: ProduceRecord[];
  /** The client's Idempotency-Key; a retry with the same key never writes twice. */
  idempotencyKey?: string;
}

export interface RecordOffset {
  partition: number;
  offset: number;
}

export interface ProduceResult {
  /** One per record, in request order. */
  offsets: RecordOffset[];
}

/**
 * Records in a row of one partition with consecutive offsets from `baseOffset`: how a produce's
 * answer is written without an object per record (a partition's records of one request get
 * consecutive offsets).
 */
export interface OffsetRun {
  partition: number;
  baseOffset: number;
  count: number;
}

export interface FetchRequest {
  topic: string;
  partition: number;
  offset: number;
  /** Soft cap on the bytes returned; at least one batch is returned whenever offset < highWatermark. */
  maxBytes?: number;
  /** Long poll: wait up to this long for data when offset == highWatermark. */
  maxWaitMs?: number;
}

export interface FetchedRecord {
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: { key: string; value: Uint8Array | null }[];
}

export interface FetchResult {
  records: FetchedRecord[];
  /** The offset to fetch next. */
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
}

/** Raw form of a fetch for the binary API: Kafka record batches, base offsets patched. */
export interface FetchBatchesResult {
  /** Concatenated RecordBatch v2 bytes; records below the requested offset may lead the first batch. */
  batches: Uint8Array;
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
  /**
   * Gives the buffers under `batches` back to the pool they came from (FetchBatchesOptions.buffers) once
   * the caller is done with them: after it, `batches` must not be read. A no-op without a pool.
   */
  release(): void;
}

export interface FetchBatchesOptions {
  /**
   * Reused buffers to read objects into (adapters that allocate their reads: the filesystem), so that a
   * busy server does not allocate, and collect, a fresh buffer per fetch. The result's `release` gives
   * them back.
   */
  buffers?: BytePool;
}

export interface OffsetsResult {
  logStartOffset: number;
  highWatermark: number;
  /** For a timestamp query: the earliest offset whose timestamp is >= it (highWatermark past the end). */
  offset?: number;
  /** For a timestamp query that found a record: that record's timestamp. */
  timestamp?: number;
}

/** Kafka's DeleteRecords for one topic: per partition, the offset the log is to start at. */
export interface DeleteRecordsRequest {
  topic: string;
  /** `offset` -1 means the high watermark (every record so far). */
  partitions: { partition: number; offset: number }[];
}

export interface DeleteRecordsResult {
  topic: string;
  /** Per partition of the request, in its order: where the log starts now. */
  partitions: { partition: number; logStartOffset: number }[];
}

/** Record batches for one partition as a Kafka client sent them: one or more RecordBatch v2, concatenated. */
export interface AppendPartition {
  topic: string;
  partition: number;
  batches: Uint8Array;
}

export interface AppendBatchesRequest {
  /** Over any topics; one object holds them all (append-batches.ts). */
  partitions: AppendPartition[];
  /**
   * The client's Idempotency-Key (an SDK's produce of batches): a retry with the same key answers the
   * first attempt's offsets for the partitions that committed and writes only the others. Batches of
   * an idempotent producer (a producer id) are admitted by their sequence instead.
   */
  idempotencyKey?: string;
  /**
   * Limits each record, as produce does (max.message.bytes, the header-key limit), and each batch
   * only to what one fetch carries, instead of each batch to max.message.bytes as Kafka does: for the
   * batches an SDK builds, whose size its user did not choose. Batches must then be uncompressed or
   * gzipped, so that their records can be checked.
   */
  recordLimits?: boolean;
}

/** One per partition of the request, in its order: where its batches start, or why they were refused. */
export type AppendPartitionResult =
  | { topic: string; partition: number; baseOffset: number; logStartOffset: number; error?: undefined }
  | { topic: string; partition: number; error: StreamError };

export interface AppendBatchesResult {
  partitions: AppendPartitionResult[];
}

/** A Kafka producer id and epoch (InitProducerId). */
export interface ProducerIdentity {
  producerId: number;
  producerEpoch: number;
}

/** Topic administration (DESIGN §8). Config values arrive validated in shape; rules live in topics.ts. */
export interface TopicService {
  createTopic(name: string, partitions: number, config?: Record<string, unknown>): Promise<TopicDescription>;
  listTopics(): Promise<string[]>;
  describeTopic(name: string): Promise<TopicDetails>;
  /** Changes config keys (others kept) and/or raises the partition count (never lowers it). */
  alterTopic(
    name: string,
    change: { config?: Record<string, unknown>; partitions?: number },
  ): Promise<TopicDescription>;
  deleteTopic(name: string): Promise<void>;
}

/** The data path (DESIGN §4, §5). */
export interface LogService {
  produce(request: ProduceRequest): Promise<ProduceResult>;
  fetch(request: FetchRequest): Promise<FetchResult>;
  fetchBatches(request: FetchRequest, options?: FetchBatchesOptions): Promise<FetchBatchesResult>;
  offsets(topic: string, partition: number, timestamp?: number): Promise<OffsetsResult>;
  /** Moves log start offsets forward (delete-records.ts); the janitor removes what is below later. */
  deleteRecords(request: DeleteRecordsRequest): Promise<DeleteRecordsResult>;
  /**
   * Stores Kafka record batches as received, one object for the request, each partition committed on
   * its own (append-batches.ts). Never rejects for one partition's sake: its result carries the error.
   */
  appendBatches(request: AppendBatchesRequest): Promise<AppendBatchesResult>;
  /** A producer id no other call over this backend returns, at epoch 0 (idempotent-producers.ts). */
  initProducerId(): Promise<ProducerIdentity>;
}
