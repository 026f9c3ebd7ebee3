/**
 * The event a subscription delivers (DESIGN §12), and how the target's answer is read. Pure: no I/O,
 * no clock; the deliverer fetches the records, calls these, and acts on the outcome.
 *
 * Event: the self-managed Kafka Lambda event, so handlers written for Kafka triggers (and Powertools'
 * Kafka utility and parser) work unchanged:
 *
 *   {"eventSource":"SelfManagedKafka","bootstrapServers":"<listener address, or empty>",
 *    "records":{"<topic>-<partition>":[{"topic","partition","offset","timestamp",
 *      "timestampType":"CREATE_TIME","key"?,"value"?,"headers":[{"<name>":[<byte>,…]},…],
 *      "keySchemaMetadata"?,"valueSchemaMetadata"?}]}}
 *
 * Invariants and rules, each as AWS does it:
 * - One event carries one partition's records, in offset order, under the key `<topic>-<partition>`.
 * - `key` and `value` are padded standard base64 (RFC 4648 §4, `+/` and `=`). A null key or value is
 *   left out of the record (absent, not `null`): that is what Lambda sends for a record without a key
 *   or a tombstone, and what Powertools reads as "no key" (its parser's `key` is optional; its Kafka
 *   consumer returns `undefined` for an absent key or value). An empty value is `""`.
 * - Headers keep Kafka's list: one single-key object per header, in record order, repeated names
 *   kept; the value is its bytes as an array of numbers. Kafka allows a null header value, which the
 *   Lambda shape cannot express; it is sent as `[]` (an empty value), so every consumer can read it.
 * - Schema metadata, the Confluent rule: a key or value whose first byte is the magic byte 0 followed
 *   by a 4-byte big-endian schema id is registry-framed only when `schemaIdOf(id)` names that id (the
 *   caller knows which ids its registry issued; nothing is guessed from the bytes alone, since any
 *   payload may start with 0). Then the record carries `{"dataFormat":"AVRO","schemaId":"<id>"}` and
 *   the 5-byte frame is removed from the delivered bytes, as Lambda does for a mapping with a schema
 *   registry and the SOURCE record format ("Lambda removes all schema metadata, such as the schema ID,
 *   before sending the record"); what remains is plain Avro binary, which Powertools' Avro
 *   deserializer decodes directly. Without `schemaIdOf`, or for an id it does not name, the bytes are
 *   delivered exactly as stored and no metadata is set. The registry holds AVRO schemas only.
 *
 * Response (Lambda's partial batch response for streams, `ReportBatchItemFailures`): see
 * `parseBatchResponse`.
 */
import { StreamError } from '../core/errors.ts';
import type { FetchedRecord } from '../core/log-types.ts';

export interface KafkaSchemaMetadata {
  dataFormat: 'AVRO';
  schemaId: string;
}

/** One header: a single name mapped to its value's bytes. */
export type KafkaEventHeader = Record<string, number[]>;

export interface KafkaEventRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: 'CREATE_TIME';
  /** Absent for a null key. */
  key?: string;
  /** Absent for a null value (a tombstone). */
  value?: string;
  headers: KafkaEventHeader[];
  keySchemaMetadata?: KafkaSchemaMetadata;
  valueSchemaMetadata?: KafkaSchemaMetadata;
}

export interface KafkaEvent {
  eventSource: 'SelfManagedKafka';
  bootstrapServers: string;
  records: Record<string, KafkaEventRecord[]>;
}

export interface KafkaEventInput {
  topic: string;
  partition: number;
  /** One partition's records, in offset order; at least one. */
  records: readonly FetchedRecord[];
  /** The Kafka listener's address (`host:port[,host:port…]`), or `''` where there is none. */
  bootstrapServers: string;
  /**
   * Given the id read from a Confluent frame, the schema id to report if it is one of the registry's,
   * else `undefined`. Absent: no record is treated as framed.
   */
  schemaIdOf?: (candidateId: number) => string | undefined;
}

/** The size of Confluent's wire-format frame: magic byte 0 and a 4-byte big-endian schema id. */
const CONFLUENT_FRAME_BYTES = 5;

export function toKafkaEvent(input: KafkaEventInput): KafkaEvent {
  const { topic, partition, records, bootstrapServers, schemaIdOf } = input;
  if (records.length === 0) {
    throw new StreamError(
      'INVALID_ARGUMENT',
      `a subscription event needs at least one record (topic ${topic}, partition ${partition})`,
    );
  }
  const eventRecords = records.map((record): KafkaEventRecord => {
    const key = framed(record.key, schemaIdOf);
    const value = framed(record.value, schemaIdOf);
    // Built in AWS's field order; absent fields are left out, never set to undefined or null.
    return {
      topic,
      partition,
      offset: record.offset,
      timestamp: record.timestamp,
      timestampType: 'CREATE_TIME',
      ...(key !== null && { key: toBase64(key.bytes) }),
      ...(value !== null && { value: toBase64(value.bytes) }),
      headers: record.headers.map((header) => ({ [header.key]: Array.from(header.value ?? []) })),
      ...(key?.schema && { keySchemaMetadata: key.schema }),
      ...(value?.schema && { valueSchemaMetadata: value.schema }),
    };
  });
  return {
    eventSource: 'SelfManagedKafka',
    bootstrapServers,
    records: { [`${topic}-${partition}`]: eventRecords },
  };
}

function framed(
  bytes: Uint8Array | null,
  schemaIdOf: KafkaEventInput['schemaIdOf'],
): { bytes: Uint8Array; schema?: KafkaSchemaMetadata } | null {
  if (bytes === null) return null;
  if (schemaIdOf === undefined || bytes.length < CONFLUENT_FRAME_BYTES || bytes[0] !== 0) return { bytes };
  const candidateId = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt32(1);
  const schemaId = schemaIdOf(candidateId);
  if (schemaId === undefined) return { bytes };
  return { bytes: bytes.subarray(CONFLUENT_FRAME_BYTES), schema: { dataFormat: 'AVRO', schemaId } };
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export type BatchOutcome =
  | { kind: 'success' }
  /** Records below `failedOffset` succeeded; delivery resumes at `failedOffset`. */
  | { kind: 'partial'; failedOffset: number }
  /** The whole batch failed (retried like an error). */
  | { kind: 'invalid'; reason: string };

/**
 * Reads a target's answer to a delivered batch (`body`: the Lambda's return value, or a URL target's
 * parsed 2xx JSON body; `offsets`: the offsets the batch carried) with the semantics of Lambda's
 * partial batch response for streams, `{"batchItemFailures":[{"itemIdentifier":"<offset>"}]}`
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html,
 * "Success and failure conditions"; Kafka mappings follow the same contract with the offset as
 * identifier):
 * - complete success: no response (null, absent, or anything that is not a JSON object: a URL
 *   target's 2xx is success whatever its body), an object without `batchItemFailures`, a null
 *   `batchItemFailures`, or an empty list;
 * - partial: the LOWEST failed offset is the checkpoint ("If the batchItemFailures array contains
 *   multiple items, Lambda uses the record with the lowest sequence number as the checkpoint. Lambda
 *   then retries all records starting from that checkpoint");
 * - complete failure: Lambda documents "an empty string itemIdentifier", "a null itemIdentifier" and
 *   "an itemIdentifier with a bad key name" as complete failures. Any other identifier that names no
 *   record of the batch (not an integer, or an offset the batch did not carry) is equally unusable as
 *   a checkpoint; the page does not list it, and it is treated the same way, so a bad answer can
 *   never move the committed offset past a record that was not delivered.
 * An identifier may be the offset as a decimal string (Lambda's form) or as a JSON integer.
 */
export function parseBatchResponse(body: unknown, offsets: readonly number[]): BatchOutcome {
  if (!isPlainObject(body)) return { kind: 'success' };
  const failures = body.batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) {
    return { kind: 'invalid', reason: 'batchItemFailures must be a list' };
  }
  if (failures.length === 0) return { kind: 'success' };
  const carried = new Set(offsets);
  let lowest = Number.POSITIVE_INFINITY;
  for (const [index, failure] of failures.entries()) {
    if (!isPlainObject(failure) || !('itemIdentifier' in failure)) {
      return { kind: 'invalid', reason: `batchItemFailures[${index}] has no itemIdentifier` };
    }
    const offset = offsetOf(failure.itemIdentifier);
    if (offset === undefined || !carried.has(offset)) {
      return {
        kind: 'invalid',
        reason: `batchItemFailures[${index}].itemIdentifier ${JSON.stringify(failure.itemIdentifier)} is not an offset of this batch`,
      };
    }
    lowest = Math.min(lowest, offset);
  }
  return { kind: 'partial', failedOffset: lowest };
}

function offsetOf(identifier: unknown): number | undefined {
  if (typeof identifier === 'number') return Number.isSafeInteger(identifier) ? identifier : undefined;
  if (typeof identifier !== 'string' || !/^(0|[1-9][0-9]*)$/.test(identifier)) return undefined;
  const offset = Number(identifier);
  return Number.isSafeInteger(offset) ? offset : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One delivered batch, as its idempotency key names it. */
export interface DeliveredBatch {
  subscription: string;
  /** The incarnation of the topic the records were read from (a re-created topic restarts at 0). */
  topicId: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
}

/**
 * The `Idempotency-Key` of one delivery, `<name>/<partition>/<first>-<last>/<topicId>`: the same batch
 * gives the same key on every retry, and any other batch another key, so a target can drop a batch it
 * already applied. Every part is needed: a batch that starts at the same offset can end elsewhere (a
 * retry after a lost commit may carry more records, a bisected one fewer), and a re-created topic
 * restarts at offset 0. A target that applied a batch can thus receive an overlapping one under a new
 * key (at least once), but never a batch with records it did not apply under a key it already has.
 * The name is percent-encoded, which keeps the key a valid header value and the `/` unambiguous.
 */
export function idempotencyKeyOf(batch: DeliveredBatch): string {
  const { subscription, topicId, partition, firstOffset, lastOffset } = batch;
  if (subscription === '') throw new StreamError('INVALID_ARGUMENT', 'subscription name must not be empty');
  if (!/^[0-9A-Za-z]+$/.test(topicId)) {
    throw new StreamError('INVALID_ARGUMENT', `topicId must be alphanumeric, got ${JSON.stringify(topicId)}`);
  }
  if (!Number.isSafeInteger(partition) || partition < 0) {
    throw new StreamError('INVALID_ARGUMENT', `partition must be a non-negative integer, got ${partition}`);
  }
  if (!Number.isSafeInteger(firstOffset) || firstOffset < 0) {
    throw new StreamError('INVALID_ARGUMENT', `offset must be a non-negative integer, got ${firstOffset}`);
  }
  if (!Number.isSafeInteger(lastOffset) || lastOffset < firstOffset) {
    throw new StreamError(
      'INVALID_ARGUMENT',
      `last offset must be an integer >= the first (${firstOffset}), got ${lastOffset}`,
    );
  }
  return `${encodeURIComponent(subscription)}/${partition}/${firstOffset}-${lastOffset}/${topicId}`;
}
