/*
 * The compact binary forms of produce and fetch, for the SDK (DESIGN §8: "record batches as bytes").
 *
 * PRODUCE — `POST /v1/topics/{t}/records` with `Content-Type: application/vnd.streambed.produce.v1`.
 * All integers are big-endian, signed. The response is the usual JSON `{"offsets":[...]}`.
 *
 *   ProduceBody :=
 *     recordCount   int32    1 .. MAX_RECORDS_PER_REQUEST
 *     Record × recordCount
 *     (nothing after the last record: trailing bytes are a 400)
 *
 *   Record :=
 *     partition     int32    -1 = let the server choose (key hash, else sticky); otherwise ≥ 0
 *     timestamp     int64    -1 = the time the server accepts the request; otherwise 0 .. 2^53−1 ms
 *     keyLength     int32    -1 = null key; otherwise ≥ 0
 *     key           keyLength bytes
 *     valueLength   int32    -1 = null value (tombstone); otherwise ≥ 0
 *     value         valueLength bytes
 *     headerCount   int32    ≥ 0
 *     Header × headerCount
 *
 *   Header :=
 *     keyLength     int32    ≥ 0 (Kafka header keys are never null)
 *     key           keyLength bytes of UTF-8
 *     valueLength   int32    -1 = null value; otherwise ≥ 0
 *     value         valueLength bytes
 *
 * The leading recordCount makes truncation detectable even when a body is cut at a record boundary.
 * Header keys may repeat, as in Kafka (the JSON form cannot say that).
 *
 * PRODUCE AS BATCHES — the same `POST` with `Content-Type: application/vnd.streambed.batches.v1` (the
 * media type of the binary fetch): the record batches the server is to store, as the SDK builds them,
 * so the server checks them (CRC, every record, limits) and stores them as they came instead of
 * building them again.
 *
 *   ProduceBatchesBody :=
 *     Frame × 1 .. (one per partition; a partition appears at most once)
 *
 *   Frame :=
 *     partition     int32    ≥ 0
 *     batch         one Kafka RecordBatch v2 (record-batch.ts), baseOffset 0, CreateTime timestamps,
 *                   no producer id (-1); its batchLength field says where it ends
 *
 * The records of all frames count toward MAX_RECORDS_PER_REQUEST. The response is the JSON
 * `{"offsets":[...]}`, one per record in body order: frame by frame, each batch's records in order.
 *
 * FETCH — `GET /v1/topics/{t}/partitions/{p}/records?...` with
 * `Accept: application/vnd.streambed.batches.v1`. The body is concatenated Kafka RecordBatch v2 bytes
 * (see record-batch.ts), base offsets already patched; the first batch may start below the
 * requested offset (a batch is served whole), so the client drops records below it, as Kafka clients
 * do. Response headers `streambed-next-offset`, `streambed-high-watermark`,
 * `streambed-log-start-offset` carry what the JSON form puts in its body.
 */

import { type Allocate, uninitializedBytes } from './bytes.ts';
import { WireError } from './errors.ts';
import { MAX_RECORDS_PER_REQUEST } from './limits.ts';
import { encodeRecordBatch, LOG_OVERHEAD, type LogRecord, RECORD_BATCH_OVERHEAD } from './record-batch.ts';

/** One record as a producer hands it over; bytes are already encoded (serdes live at the edge). */
export interface ProduceRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: { key: string; value: Uint8Array | null }[];
  /** An explicit partition; otherwise keyed records hash like Kafka's default partitioner. */
  partition?: number;
  /** Milliseconds since the epoch; defaults to the time the server accepts the request. */
  timestamp?: number;
}

export const PRODUCE_CONTENT_TYPE = 'application/vnd.streambed.produce.v1';
export const BATCHES_CONTENT_TYPE = 'application/vnd.streambed.batches.v1';

export const NEXT_OFFSET_HEADER = 'streambed-next-offset';
export const HIGH_WATERMARK_HEADER = 'streambed-high-watermark';
export const LOG_START_OFFSET_HEADER = 'streambed-log-start-offset';

/** Smallest encodings, used to reject absurd counts before looping over them. */
const MIN_RECORD_BYTES = 4 + 8 + 4 + 4 + 4;
const MIN_HEADER_BYTES = 4 + 4;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

function invalid(message: string): WireError {
  return new WireError('INVALID_REQUEST', `binary produce body: ${message}`);
}

/** A forward-only reader that names what it was reading when the bytes run out. */
class Reader {
  private position = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.byteLength - this.position;
  }

  get offset(): number {
    return this.position;
  }

  private need(count: number, what: string): void {
    if (this.remaining < count) {
      throw invalid(
        `truncated at byte ${this.position} reading ${what}: needs ${count} bytes, ${this.remaining} left`,
      );
    }
  }

  int32(what: string): number {
    this.need(4, what);
    const value = this.view.getInt32(this.position);
    this.position += 4;
    return value;
  }

  int64(what: string): bigint {
    this.need(8, what);
    const value = this.view.getBigInt64(this.position);
    this.position += 8;
    return value;
  }

  /** A view into the body, not a copy: valid while the request is handled (see HttpRequest.body). */
  take(count: number, what: string): Uint8Array {
    this.need(count, what);
    const slice = this.bytes.subarray(this.position, this.position + count);
    this.position += count;
    return slice;
  }
}

function readNullableBytes(reader: Reader, what: string): Uint8Array | null {
  const length = reader.int32(`${what} length`);
  if (length === -1) return null;
  if (length < -1) throw invalid(`${what} length ${length} is invalid (-1 = null, else ≥ 0)`);
  return reader.take(length, what);
}

function readRecord(reader: Reader, index: number): ProduceRecord {
  const at = `record ${index}`;
  const partition = reader.int32(`${at} partition`);
  if (partition < -1)
    throw invalid(`${at}: partition ${partition} is invalid (-1 = server chooses, else ≥ 0)`);
  const timestamp = reader.int64(`${at} timestamp`);
  if (timestamp < -1n || timestamp > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalid(`${at}: timestamp ${timestamp} is invalid (-1 = server time, else 0 .. 2^53-1 ms)`);
  }
  const key = readNullableBytes(reader, `${at} key`);
  const value = readNullableBytes(reader, `${at} value`);
  const headerCount = reader.int32(`${at} header count`);
  if (headerCount < 0 || headerCount * MIN_HEADER_BYTES > reader.remaining) {
    throw invalid(`${at}: header count ${headerCount} is invalid or exceeds the bytes left`);
  }
  const headers: ProduceRecord['headers'] = [];
  for (let h = 0; h < headerCount; h += 1) {
    const keyLength = reader.int32(`${at} header ${h} key length`);
    if (keyLength < 0)
      throw invalid(`${at} header ${h}: key length ${keyLength} is invalid (header keys are never null)`);
    const keyBytes = reader.take(keyLength, `${at} header ${h} key`);
    let headerKey: string;
    try {
      headerKey = strictUtf8.decode(keyBytes);
    } catch {
      throw invalid(`${at} header ${h}: key is not valid UTF-8`);
    }
    headers.push({ key: headerKey, value: readNullableBytes(reader, `${at} header ${h} value`) });
  }
  const record: ProduceRecord = { key, value, headers };
  if (partition !== -1) record.partition = partition;
  if (timestamp !== -1n) record.timestamp = Number(timestamp);
  return record;
}

/** Strictly decodes a binary produce body; any deviation from the grammar is a 400 saying where. */
export function decodeProduceBody(body: Uint8Array): ProduceRecord[] {
  const reader = new Reader(body);
  const count = reader.int32('record count');
  if (count < 1 || count > MAX_RECORDS_PER_REQUEST) {
    throw invalid(`record count ${count} is out of range 1..${MAX_RECORDS_PER_REQUEST}`);
  }
  if (count * MIN_RECORD_BYTES > reader.remaining) {
    throw invalid(
      `record count ${count} needs at least ${count * MIN_RECORD_BYTES} bytes, ${reader.remaining} left`,
    );
  }
  const records: ProduceRecord[] = [];
  for (let index = 0; index < count; index += 1) records.push(readRecord(reader, index));
  if (reader.remaining !== 0) {
    throw invalid(
      `${reader.remaining} unexpected bytes after record ${count - 1} (at byte ${reader.offset})`,
    );
  }
  return records;
}

function sizeOfRecord(record: ProduceRecord, headerKeys: Uint8Array[]): number {
  let size = MIN_RECORD_BYTES + (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
  for (let h = 0; h < record.headers.length; h += 1) {
    size += MIN_HEADER_BYTES + (headerKeys[h]?.byteLength ?? 0) + (record.headers[h]?.value?.byteLength ?? 0);
  }
  return size;
}

/**
 * The inverse of decodeProduceBody, for the SDK and tests. `allocate` may lend the body's bytes from a
 * BytePool (the SDK producer does, and gives them back once the request is answered).
 */
export function encodeProduceBody(
  records: readonly ProduceRecord[],
  allocate: Allocate = uninitializedBytes,
): Uint8Array {
  const headerKeys = records.map((record) => record.headers.map((header) => utf8Encoder.encode(header.key)));
  const total = records.reduce((sum, record, i) => sum + sizeOfRecord(record, headerKeys[i] ?? []), 4);
  const bytes = allocate(total);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The SDK's hot path (every produce request): a plain loop, and the int64 timestamp as two int32s
  // (a BigInt per record costs more than copying its value).
  let at = 0;
  const nullable = (value: Uint8Array | null): void => {
    if (value === null) {
      view.setInt32(at, -1);
      at += 4;
      return;
    }
    view.setInt32(at, value.byteLength);
    bytes.set(value, at + 4);
    at += 4 + value.byteLength;
  };
  view.setInt32(at, records.length);
  at += 4;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as ProduceRecord;
    view.setInt32(at, record.partition ?? -1);
    const timestamp = record.timestamp ?? -1;
    if (timestamp !== -1 && !(Number.isSafeInteger(timestamp) && timestamp >= 0)) {
      throw invalid(`record ${i}: timestamp ${timestamp} is not a whole number of milliseconds 0 .. 2^53-1`);
    }
    // -1 is all ones; a non-negative timestamp is below 2^53, so its high half fits an int32.
    view.setInt32(at + 4, timestamp === -1 ? -1 : Math.floor(timestamp / 2 ** 32));
    view.setUint32(at + 8, timestamp === -1 ? 0xffffffff : timestamp >>> 0);
    at += 12;
    nullable(record.key);
    nullable(record.value);
    const keys = headerKeys[i] as Uint8Array[];
    view.setInt32(at, keys.length);
    at += 4;
    for (let h = 0; h < keys.length; h++) {
      nullable(keys[h] as Uint8Array);
      nullable((record.headers[h] as ProduceRecord['headers'][number]).value);
    }
  }
  if (at !== total) throw new RangeError(`produce body: wrote ${at} of ${total} bytes`);
  return bytes;
}

/** One partition's records, for encodeProduceBatches. */
export interface ProduceBatchPart {
  partition: number;
  records: readonly LogRecord[];
}

/** A frame of a ProduceBatchesBody: a view of its batch, and the record count its header states. */
export interface ProduceBatchFrame {
  partition: number;
  batch: Uint8Array;
  recordCount: number;
}

/** Where a RecordBatch v2 keeps its record count (its last header field) and its producer id. */
const RECORD_COUNT_AT = RECORD_BATCH_OVERHEAD - 4;
const PRODUCER_ID_AT = 43;

/**
 * A ProduceBatchesBody of one batch per part, in the order given. With one part (a producer that
 * writes to one partition per request) the batch is encoded straight into the body, behind the
 * partition; `allocate` as encodeProduceBody's.
 */
export function encodeProduceBatches(
  parts: readonly ProduceBatchPart[],
  allocate: Allocate = uninitializedBytes,
): Uint8Array {
  const [only] = parts;
  if (parts.length === 1 && only !== undefined) {
    const batch = encodeRecordBatch(only.records, { headroom: 4, allocate });
    const body = new Uint8Array(batch.buffer, batch.byteOffset - 4, batch.byteLength + 4);
    new DataView(body.buffer, body.byteOffset, 4).setInt32(0, only.partition);
    return body;
  }
  const batches = parts.map((part) => encodeRecordBatch(part.records));
  const body = allocate(batches.reduce((sum, batch) => sum + 4 + batch.byteLength, 0));
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  parts.forEach((part, i) => {
    const batch = batches[i] as Uint8Array;
    view.setInt32(at, part.partition);
    body.set(batch, at + 4);
    at += 4 + batch.byteLength;
  });
  return body;
}

/**
 * Splits a ProduceBatchesBody into its frames (views into `body`), checking the framing and the
 * record limit: what is inside each batch is the server's to check (append-batches.ts).
 */
export function splitProduceBatches(body: Uint8Array): ProduceBatchFrame[] {
  const reader = new Reader(body);
  const frames: ProduceBatchFrame[] = [];
  let records = 0;
  while (reader.remaining > 0) {
    const at = `frame ${frames.length} (byte ${reader.offset})`;
    const partition = reader.int32(`${at} partition`);
    if (partition < 0) throw invalid(`${at}: partition ${partition} is invalid (≥ 0)`);
    if (reader.remaining < RECORD_BATCH_OVERHEAD) {
      throw invalid(`${at}: ${reader.remaining} bytes left where a record batch takes at least 61`);
    }
    const start = reader.offset;
    const view = new DataView(body.buffer, body.byteOffset + start, RECORD_BATCH_OVERHEAD);
    const size = LOG_OVERHEAD + view.getInt32(8);
    if (size < RECORD_BATCH_OVERHEAD || size > reader.remaining) {
      throw invalid(
        `${at}: the batch's length field says ${size} bytes, but ${size < RECORD_BATCH_OVERHEAD ? 'a batch takes at least 61' : `only ${reader.remaining} are left`}`,
      );
    }
    // Idempotent by its Idempotency-Key: a producer id would have the batch admitted by its sequence,
    // in the state Kafka producers share, instead.
    const producerId = view.getBigInt64(PRODUCER_ID_AT);
    if (producerId >= 0n) {
      throw invalid(
        `${at}: the batch carries producer id ${producerId}; a produce of batches has none (-1) and is made idempotent by its Idempotency-Key`,
      );
    }
    const recordCount = view.getInt32(RECORD_COUNT_AT);
    records += Math.max(recordCount, 0);
    if (records > MAX_RECORDS_PER_REQUEST) {
      throw invalid(`the batches hold more than ${MAX_RECORDS_PER_REQUEST} records`);
    }
    frames.push({ partition, batch: reader.take(size, `${at} batch`), recordCount });
  }
  if (frames.length === 0) throw invalid('the body holds no record batch');
  return frames;
}

/** True when the Accept header asks for record batches (media type match, q > 0). */
export function acceptsBatches(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((range) => {
    const [type, ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    if (type !== BATCHES_CONTENT_TYPE) return false;
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** Where a binary fetch leaves the partition: what the JSON form puts beside its records. */
export interface BatchesPosition {
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
}

/** Headers of a binary fetch response: the JSON body's offsets, moved to headers. */
export function batchesHeaders(result: BatchesPosition): Record<string, string> {
  return {
    'content-type': BATCHES_CONTENT_TYPE,
    [NEXT_OFFSET_HEADER]: String(result.nextOffset),
    [HIGH_WATERMARK_HEADER]: String(result.highWatermark),
    [LOG_START_OFFSET_HEADER]: String(result.logStartOffset),
  };
}
