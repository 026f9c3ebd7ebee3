/*
 * Apache Kafka RecordBatch v2 (magic 2) — the byte grammar this codec reads and writes.
 * All fixed-width integers are big-endian and signed unless marked unsigned.
 *
 *   offset size field
 *   ------ ---- ----------------------------------------------------------------------------------------
 *        0    8 baseOffset            int64   offset of the first record; 0 as written by Streambed,
 *                                             patched to the real offset when served (outside the CRC)
 *        8    4 batchLength           int32   bytes after this field = total batch size − 12
 *       12    4 partitionLeaderEpoch  int32   -1 (Streambed has no leaders; outside the CRC, as in Kafka)
 *       16    1 magic                 int8    2
 *       17    4 crc                   uint32  CRC-32C of bytes 21..end (attributes to the last record)
 *       21    2 attributes            int16   bits 0-2 compression codec (0 none, 1 gzip, 2 snappy,
 *                                             3 lz4, 4 zstd), bit 3 timestamp type (0 CreateTime,
 *                                             1 LogAppendTime), bit 4 transactional, bit 5 control
 *       23    4 lastOffsetDelta       int32   offset delta of the last record (recordCount − 1 as written)
 *       27    8 firstTimestamp        int64   timestamp of the first record (Kafka's "baseTimestamp"), ms
 *       35    8 maxTimestamp          int64   largest record timestamp, ms
 *       43    8 producerId            int64   -1 unless idempotent
 *       51    2 producerEpoch         int16   -1 unless idempotent
 *       53    4 baseSequence          int32   -1 unless idempotent
 *       57    4 recordCount           int32   number of records that follow
 *       61    … records               recordCount × Record; the whole section is compressed with the codec
 *
 *   Record :=
 *     length          varint   bytes of the record after this field
 *     attributes      int8     unused, 0
 *     timestampDelta  varlong  timestamp − firstTimestamp
 *     offsetDelta     varint   offset − baseOffset
 *     keyLength       varint   -1 = null key
 *     key             keyLength bytes
 *     valueLength     varint   -1 = null value
 *     value           valueLength bytes
 *     headerCount     varint
 *     Header × headerCount
 *
 *   Header :=
 *     keyLength    varint   ≥ 0 (header keys are never null)
 *     key          keyLength bytes of UTF-8
 *     valueLength  varint   -1 = null value
 *     value        valueLength bytes
 *
 * varint/varlong are zig-zag encoded (see varint.ts). Concatenated batches are walked by batchLength:
 * a batch occupies exactly 12 + batchLength bytes.
 */

import { Buffer, isUtf8 } from 'node:buffer';
import * as zlib from 'node:zlib';
import { gunzipSync, gzipSync } from 'node:zlib';
import { type Allocate, uninitializedBytes } from './bytes.ts';
import { crc32c } from './crc32c.ts';
import { WireError } from './errors.ts';
import { lz4Decompress } from './lz4.ts';
import { snappyDecompress } from './snappy.ts';
import {
  type Cursor,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from './varint.ts';

export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

/** A record as a producer hands it over. Named LogRecord so it does not shadow TypeScript's `Record`. */
export interface LogRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  /** Milliseconds since the epoch. */
  timestamp: number;
  headers: RecordHeader[];
}

export interface DecodedRecord extends LogRecord {
  offset: number;
}

export type Compression = 'none' | 'gzip';

export type TimestampType = 'CreateTime' | 'LogAppendTime';

export interface EncodeOptions {
  compression?: Compression;
  producerId?: bigint | number;
  producerEpoch?: number;
  baseSequence?: number;
  partitionLeaderEpoch?: number;
  /**
   * Bytes to leave free in front of the batch in its buffer (the returned array starts after them), so
   * a container can put its own header there without copying the batch (see object-format.ts).
   */
  headroom?: number;
  /** Where the batch's bytes come from (a BytePool's acquire); default a fresh uninitialized array. */
  allocate?: Allocate;
}

export interface DecodeOptions {
  /**
   * Ceiling on the decompressed size of a batch's records, so a small compressed batch cannot exhaust
   * a Lambda's memory ("zip bomb"). Defaults to 64 MiB, far above any request Streambed accepts.
   */
  maxUncompressedBytes?: number;
}

export interface RecordBatchHeader {
  baseOffset: number;
  batchLength: number;
  /** Bytes the whole batch occupies: 12 + batchLength. */
  sizeInBytes: number;
  partitionLeaderEpoch: number;
  magic: number;
  /** The stored CRC-32C (unsigned); readBatchHeader does not verify it, decodeRecordBatch does. */
  crc: number;
  attributes: number;
  /** Attribute bits 0-2: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
  compressionCodec: number;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  lastOffsetDelta: number;
  firstTimestamp: number;
  maxTimestamp: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export interface DecodedRecordBatch extends RecordBatchHeader {
  records: DecodedRecord[];
}

/** Bytes before batchLength's coverage begins: baseOffset (8) + batchLength (4). */
export const LOG_OVERHEAD = 12;
/** Size of the fixed batch header; records start here. */
export const RECORD_BATCH_OVERHEAD = 61;
export const MAGIC = 2;

const BATCH_LENGTH_OFFSET = 8;
const PARTITION_LEADER_EPOCH_OFFSET = 12;
const MAGIC_OFFSET = 16;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;
const LAST_OFFSET_DELTA_OFFSET = 23;
const FIRST_TIMESTAMP_OFFSET = 27;
const MAX_TIMESTAMP_OFFSET = 35;
const PRODUCER_ID_OFFSET = 43;
const PRODUCER_EPOCH_OFFSET = 51;
const BASE_SEQUENCE_OFFSET = 53;
const RECORD_COUNT_OFFSET = 57;

const COMPRESSION_CODEC_MASK = 0x07;
const TIMESTAMP_TYPE_MASK = 0x08;
const TRANSACTIONAL_FLAG_MASK = 0x10;
const CONTROL_FLAG_MASK = 0x20;

const CODEC_NONE = 0;
const CODEC_GZIP = 1;
const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

type Decompress = (bytes: Uint8Array, options: { maxOutputLength: number }) => Uint8Array;
/** node:zlib's zstd, in the Node versions that have it (22.15+, 23.8+); undefined in older ones. */
const zstdDecompressSync = (zlib as unknown as { zstdDecompressSync?: Decompress }).zstdDecompressSync;

/** The decompressor of each codec this process can read, by codec id (none needs none). */
const DECOMPRESSORS: (Decompress | undefined)[] = [
  undefined,
  gunzipSync,
  snappyDecompress,
  lz4Decompress,
  zstdDecompressSync,
];

/** Whether `codec` (attribute bits 0-2) is one of Kafka's five: 0 none to 4 zstd; 5-7 mean nothing. */
export function isKnownCodec(codec: number): boolean {
  return CODEC_NAMES[codec] !== undefined;
}

/** A compression codec's name (attribute bits 0-2), as Kafka names it. */
export function compressionName(codec: number): string {
  return CODEC_NAMES[codec] ?? `unknown (${codec})`;
}

/**
 * Whether decodeRecordBatch can read the records of a batch compressed with `codec` in this process:
 * none, gzip, snappy and lz4 always, zstd when the running Node's zlib has it (a zstd batch is still a
 * valid batch where it does not: it is stored and served as it is, only not decoded here).
 */
export function canDecompress(codec: number): boolean {
  return codec === CODEC_NONE || DECOMPRESSORS[codec] !== undefined;
}

/** Smallest record body: attributes, timestampDelta, offsetDelta, keyLength, valueLength, headerCount. */
const MIN_RECORD_BODY = 6;
const DEFAULT_MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024;
const TWO_POW_32 = 2 ** 32;

// fatal: a header key that is not UTF-8 is a broken batch, not text to repair. ignoreBOM: a leading
// U+FEFF is part of the key and must survive the round trip.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function corrupt(message: string, details?: Record<string, unknown>): WireError {
  return new WireError('CORRUPT_DATA', `record batch: ${message}`, details ? { details } : {});
}

function invalid(message: string): WireError {
  return new WireError('INVALID_REQUEST', `record batch: ${message}`);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Reads an int64 as a number, or throws CORRUPT_DATA when it is not a safe integer (a rounded offset
 * or timestamp would be garbage). Two 32-bit reads avoid a bigint on the hot path.
 */
function readInt64(view: DataView, pos: number, field: string): number {
  const high = view.getInt32(pos);
  const low = view.getUint32(pos + 4);
  // |value| < 2^53 exactly when the high word is within [-2^21, 2^21).
  if (high < -0x200000 || high >= 0x200000 || (high === -0x200000 && low === 0)) {
    throw corrupt(`${field} does not fit a safe integer`);
  }
  return high * TWO_POW_32 + low;
}

/** Writes a safe integer as an int64 (two's complement, big-endian). */
function writeInt64(view: DataView, pos: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  view.setInt32(pos, high);
  view.setUint32(pos + 4, value - high * TWO_POW_32);
}

function toInt64(value: bigint | number, field: string): bigint {
  if (typeof value === 'number' ? !Number.isSafeInteger(value) : value !== BigInt.asIntN(64, value)) {
    throw invalid(`${field} ${value} is not an int64`);
  }
  return BigInt(value);
}

function checkedInt(value: number, min: number, max: number, field: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${field} ${value} is outside [${min}, ${max}]`);
  }
  return value;
}

/**
 * Encodes `records` as one RecordBatch v2 with baseOffset 0. Offsets are the records' positions
 * (offsetDelta = index); firstTimestamp is the first record's timestamp and maxTimestamp the largest.
 *
 * Bad input (no records, a timestamp that is not a non-negative safe integer, a field out of range)
 * throws INVALID_REQUEST before anything is written. Header keys are written as UTF-8; a lone UTF-16
 * surrogate becomes U+FFFD, as with any UTF-8 encoder.
 */
export function encodeRecordBatch(records: readonly LogRecord[], options: EncodeOptions = {}): Uint8Array {
  const count = records.length;
  if (count === 0) throw invalid('a batch needs at least one record');
  const compression = options.compression ?? 'none';
  if (compression !== 'none' && compression !== 'gzip') throw invalid(`unknown compression ${compression}`);
  const producerId = toInt64(options.producerId ?? -1, 'producerId');
  const producerEpoch = checkedInt(options.producerEpoch ?? -1, -0x8000, 0x7fff, 'producerEpoch');
  const baseSequence = checkedInt(options.baseSequence ?? -1, -0x80000000, 0x7fffffff, 'baseSequence');
  const partitionLeaderEpoch = checkedInt(
    options.partitionLeaderEpoch ?? -1,
    -0x80000000,
    0x7fffffff,
    'partitionLeaderEpoch',
  );

  // Pass 1: validate and size every record, so the output is written into one exact allocation.
  const firstTimestamp = (records[0] as LogRecord).timestamp;
  let maxTimestamp = firstTimestamp;
  const bodySizes = new Int32Array(count);
  let recordsSize = 0;
  for (let i = 0; i < count; i++) {
    const record = records[i] as LogRecord;
    const { timestamp, key, value, headers } = record;
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
      throw invalid(`record ${i}: timestamp ${timestamp} is not a non-negative integer of milliseconds`);
    }
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const headerCount = headers?.length ?? 0;
    // attributes (1 byte) + timestampDelta + offsetDelta + key + value + headerCount + headers
    let body = 1 + sizeOfVarlong(timestamp - firstTimestamp) + sizeOfVarint(i);
    body += sizeOfBytesField(key, i, 'key') + sizeOfBytesField(value, i, 'value') + sizeOfVarint(headerCount);
    for (let h = 0; h < headerCount; h++) {
      const header = headers[h] as RecordHeader;
      if (typeof header.key !== 'string') throw invalid(`record ${i}: header ${h} key is not a string`);
      const keyLength = Buffer.byteLength(header.key, 'utf8');
      body += sizeOfVarint(keyLength) + keyLength + sizeOfBytesField(header.value, i, `header ${h} value`);
    }
    bodySizes[i] = body;
    recordsSize += sizeOfVarint(body) + body;
  }

  const codec = compression === 'gzip' ? CODEC_GZIP : CODEC_NONE;
  const headroom = checkedInt(options.headroom ?? 0, 0, 1024, 'headroom');
  let batch: Uint8Array;
  if (codec === CODEC_NONE) {
    batch = withHeadroom(headroom, RECORD_BATCH_OVERHEAD + recordsSize, options.allocate);
    wroteAll(writeRecords(batch, RECORD_BATCH_OVERHEAD, records, bodySizes, firstTimestamp), batch);
  } else {
    const section = new Uint8Array(recordsSize);
    wroteAll(writeRecords(section, 0, records, bodySizes, firstTimestamp), section);
    const compressed = gzipSync(section);
    batch = withHeadroom(headroom, RECORD_BATCH_OVERHEAD + compressed.length, options.allocate);
    batch.set(compressed, RECORD_BATCH_OVERHEAD);
  }

  const view = viewOf(batch);
  writeInt64(view, 0, 0);
  view.setInt32(BATCH_LENGTH_OFFSET, batch.length - LOG_OVERHEAD);
  view.setInt32(PARTITION_LEADER_EPOCH_OFFSET, partitionLeaderEpoch);
  view.setInt8(MAGIC_OFFSET, MAGIC);
  view.setInt16(ATTRIBUTES_OFFSET, codec);
  view.setInt32(LAST_OFFSET_DELTA_OFFSET, count - 1);
  writeInt64(view, FIRST_TIMESTAMP_OFFSET, firstTimestamp);
  writeInt64(view, MAX_TIMESTAMP_OFFSET, maxTimestamp);
  view.setBigInt64(PRODUCER_ID_OFFSET, producerId);
  view.setInt16(PRODUCER_EPOCH_OFFSET, producerEpoch);
  view.setInt32(BASE_SEQUENCE_OFFSET, baseSequence);
  view.setInt32(RECORD_COUNT_OFFSET, count);
  // The CRC is computed last: it covers every byte from attributes to the end.
  view.setUint32(CRC_OFFSET, crc32c(batch.subarray(ATTRIBUTES_OFFSET)));
  return batch;
}

/** The records filled `out` to its end: no byte of the uninitialized array is left unwritten. */
function wroteAll(end: number, out: Uint8Array): void {
  if (end !== out.byteLength) throw new RangeError(`record batch: wrote ${end} of ${out.byteLength} bytes`);
}

/**
 * `size` uninitialized bytes (every one is written by the encoder) behind `headroom` zeroed bytes
 * that an object header may later be written into.
 */
function withHeadroom(headroom: number, size: number, allocate: Allocate = uninitializedBytes): Uint8Array {
  const whole = allocate(headroom + size);
  whole.fill(0, 0, headroom);
  return whole.subarray(headroom);
}

function sizeOfBytesField(bytes: Uint8Array | null | undefined, index: number, field: string): number {
  if (bytes == null) return 1; // varint(-1)
  if (!(bytes instanceof Uint8Array)) throw invalid(`record ${index}: ${field} is not bytes or null`);
  return sizeOfVarint(bytes.length) + bytes.length;
}

/** Pass 2 of encode: writes the records section at `pos`; sizes come from pass 1 and are exact. */
function writeRecords(
  out: Uint8Array,
  pos: number,
  records: readonly LogRecord[],
  bodySizes: Int32Array,
  firstTimestamp: number,
): number {
  // A Buffer view of the same memory, for writing UTF-8 header keys in place without a temporary.
  const text = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < records.length; i++) {
    const { timestamp, key, value, headers } = records[i] as LogRecord;
    pos = writeVarint(out, pos, bodySizes[i] as number);
    out[pos++] = 0; // record attributes: unused
    pos = writeVarlong(out, pos, timestamp - firstTimestamp);
    pos = writeVarint(out, pos, i);
    pos = writeBytesField(out, pos, key);
    pos = writeBytesField(out, pos, value);
    const headerCount = headers?.length ?? 0;
    pos = writeVarint(out, pos, headerCount);
    for (let h = 0; h < headerCount; h++) {
      const header = headers[h] as RecordHeader;
      const keyLength = Buffer.byteLength(header.key, 'utf8');
      pos = writeVarint(out, pos, keyLength);
      pos += text.write(header.key, pos, keyLength, 'utf8');
      pos = writeBytesField(out, pos, header.value);
    }
  }
  return pos;
}

function writeBytesField(out: Uint8Array, pos: number, bytes: Uint8Array | null | undefined): number {
  if (bytes == null) return writeVarint(out, pos, -1);
  pos = writeVarint(out, pos, bytes.length);
  out.set(bytes, pos);
  return pos + bytes.length;
}

/**
 * The header of the batch at `offset` as a DataView, after the checks every reader needs before
 * trusting any other field: all 61 header bytes present, magic 2, and a batchLength that at least
 * covers the header (which also keeps walks over concatenated batches moving forward).
 */
function frameView(bytes: Uint8Array, offset: number): DataView {
  if (!Number.isInteger(offset) || offset < 0 || offset + RECORD_BATCH_OVERHEAD > bytes.length) {
    throw corrupt(`truncated header: need ${RECORD_BATCH_OVERHEAD} bytes at ${offset}, have ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, RECORD_BATCH_OVERHEAD);
  const magic = view.getInt8(MAGIC_OFFSET);
  if (magic !== MAGIC)
    throw corrupt(`unsupported magic ${magic} (only 2 is supported)`, { position: offset });
  const batchLength = view.getInt32(BATCH_LENGTH_OFFSET);
  if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) {
    throw corrupt(`batchLength ${batchLength} is shorter than the header`, { position: offset });
  }
  return view;
}

/**
 * Reads the fixed header of the batch starting at `offset` without touching its records or verifying
 * its CRC (for indexing and for walking concatenated batches). Only the 61 header bytes need to be
 * present. Throws CORRUPT_DATA if they are missing, the magic is not 2, or batchLength is impossible.
 */
export function readBatchHeader(bytes: Uint8Array, offset = 0): RecordBatchHeader {
  const view = frameView(bytes, offset);
  const batchLength = view.getInt32(BATCH_LENGTH_OFFSET);
  const magic = view.getInt8(MAGIC_OFFSET);
  const baseOffset = readInt64(view, 0, 'baseOffset');
  if (baseOffset < 0) throw corrupt(`negative baseOffset ${baseOffset}`, { position: offset });
  const attributes = view.getInt16(ATTRIBUTES_OFFSET);
  return {
    baseOffset,
    batchLength,
    sizeInBytes: LOG_OVERHEAD + batchLength,
    partitionLeaderEpoch: view.getInt32(PARTITION_LEADER_EPOCH_OFFSET),
    magic,
    crc: view.getUint32(CRC_OFFSET),
    attributes,
    compressionCodec: attributes & COMPRESSION_CODEC_MASK,
    timestampType: attributes & TIMESTAMP_TYPE_MASK ? 'LogAppendTime' : 'CreateTime',
    isTransactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
    isControl: (attributes & CONTROL_FLAG_MASK) !== 0,
    lastOffsetDelta: view.getInt32(LAST_OFFSET_DELTA_OFFSET),
    firstTimestamp: readInt64(view, FIRST_TIMESTAMP_OFFSET, 'firstTimestamp'),
    maxTimestamp: readInt64(view, MAX_TIMESTAMP_OFFSET, 'maxTimestamp'),
    producerId: view.getBigInt64(PRODUCER_ID_OFFSET),
    producerEpoch: view.getInt16(PRODUCER_EPOCH_OFFSET),
    baseSequence: view.getInt32(BASE_SEQUENCE_OFFSET),
    recordCount: view.getInt32(RECORD_COUNT_OFFSET),
  };
}

/**
 * Decodes exactly one batch (`bytes` must hold it and nothing else; use splitBatches for several).
 * Magic, length and CRC are checked before any record is parsed, and every length inside is checked
 * against its enclosing record, so a damaged batch throws CORRUPT_DATA and never yields records.
 *
 * Keys, values and header values are views into `bytes` (or into the decompressed section): no copies
 * on the fetch path. They stay valid as long as the caller does not overwrite `bytes`; patching the
 * base offset touches only the header and is safe.
 */
export function decodeRecordBatch(bytes: Uint8Array, options: DecodeOptions = {}): DecodedRecordBatch {
  // Framing and CRC first: no other field is interpreted until the bytes are known to be intact.
  const view = frameView(bytes, 0);
  const sizeInBytes = LOG_OVERHEAD + view.getInt32(BATCH_LENGTH_OFFSET);
  if (sizeInBytes !== bytes.length) {
    throw corrupt(`batchLength says ${sizeInBytes} bytes but ${bytes.length} were given`, {
      expected: sizeInBytes,
      actual: bytes.length,
    });
  }
  const stored = view.getUint32(CRC_OFFSET);
  const computed = crc32c(bytes.subarray(ATTRIBUTES_OFFSET));
  if (computed !== stored) throw corrupt(`CRC mismatch: stored ${hex(stored)}, computed ${hex(computed)}`);
  const header = readBatchHeader(bytes);

  checkRecordCount(header);
  const { compressionCodec } = header;
  const section = recordsSection(bytes, compressionCodec, options);
  // Kafka semantics: with LogAppendTime every record's timestamp is the batch's maxTimestamp.
  const logAppendTime = header.timestampType === 'LogAppendTime' ? header.maxTimestamp : undefined;
  const records: DecodedRecord[] = [];
  walkRecords(section, header, logAppendTime, records);
  return { ...header, records };
}

/** What checkRecords learns of a batch's records on the way. */
export interface RecordsSummary {
  /** The smallest record timestamp. */
  minTimestamp: number;
  /** The largest record timestamp (a header's maxTimestamp may understate it). */
  maxTimestamp: number;
  /** The largest record by its key, value, header keys (UTF-8) and header values, and its index. */
  largest: { index: number; bytes: number };
  /** The record whose header keys take the most bytes, counting 8 more per header, and its index. */
  mostHeaderKeyBytes: { index: number; bytes: number };
}

/**
 * Checks every record of a batch whose framing and CRC the caller has verified (readBatchHeader gave
 * `header`) as decodeRecordBatch would, without building the records: for a server that stores the
 * batch as it came and only needs to know that every record parses, and how large they are. Throws
 * CORRUPT_DATA as decodeRecordBatch does, and for a codec this build cannot decode.
 */
export function checkRecords(
  batch: Uint8Array,
  header: RecordBatchHeader,
  options: DecodeOptions = {},
): RecordsSummary {
  checkRecordCount(header);
  const summary: RecordsSummary = {
    minTimestamp: Number.POSITIVE_INFINITY,
    maxTimestamp: Number.NEGATIVE_INFINITY,
    largest: { index: -1, bytes: -1 },
    mostHeaderKeyBytes: { index: -1, bytes: -1 },
  };
  walkRecords(recordsSection(batch, header.compressionCodec, options), header, undefined, summary);
  return summary;
}

function checkRecordCount({ recordCount, lastOffsetDelta }: RecordBatchHeader): void {
  if (recordCount < 0) throw corrupt(`negative recordCount ${recordCount}`);
  if (lastOffsetDelta < recordCount - 1) {
    throw corrupt(`lastOffsetDelta ${lastOffsetDelta} cannot cover ${recordCount} records`);
  }
}

/** The records section of a batch: a view of its bytes, or the decompressed section. */
function recordsSection(bytes: Uint8Array, compressionCodec: number, options: DecodeOptions): Uint8Array {
  if (compressionCodec === CODEC_NONE) {
    // A plain Uint8Array view, so records never surface as Buffers whatever the caller passed in.
    return new Uint8Array(
      bytes.buffer,
      bytes.byteOffset + RECORD_BATCH_OVERHEAD,
      bytes.length - RECORD_BATCH_OVERHEAD,
    );
  }
  const inflate = DECOMPRESSORS[compressionCodec];
  if (inflate !== undefined) {
    return decompress(
      inflate,
      compressionName(compressionCodec),
      bytes.subarray(RECORD_BATCH_OVERHEAD),
      options.maxUncompressedBytes,
    );
  }
  throw corrupt(`compression codec ${compressionName(compressionCodec)} cannot be decoded here`, {
    codec: compressionCodec,
  });
}

function decompress(
  inflate: Decompress,
  name: string,
  compressed: Uint8Array,
  maxUncompressedBytes = DEFAULT_MAX_UNCOMPRESSED_BYTES,
): Uint8Array {
  let out: Uint8Array;
  try {
    out = inflate(compressed, { maxOutputLength: maxUncompressedBytes });
  } catch (cause) {
    const reason = cause instanceof Error ? `: ${cause.message}` : '';
    throw new WireError(
      'CORRUPT_DATA',
      `record batch: ${name} records section could not be decompressed${reason}`,
      {
        cause,
        details: { maxUncompressedBytes },
      },
    );
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Parses every record of `section`, checking each length against its record and the record against
 * the batch. Decoding (`out` an array) pushes the records onto it (keys, values and header values as
 * views into `section`); checking (`out` a summary) builds nothing (header keys are checked for
 * UTF-8 without making strings) and notes sizes and the oldest and newest timestamps in the summary.
 */
function walkRecords(
  section: Uint8Array,
  header: RecordBatchHeader,
  logAppendTime: number | undefined,
  out: DecodedRecord[] | RecordsSummary,
): void {
  const decoded = Array.isArray(out) ? out : undefined;
  const summary = Array.isArray(out) ? undefined : out;
  const { recordCount, baseOffset, firstTimestamp, lastOffsetDelta } = header;
  const end = section.length;
  // Each record takes at least 7 bytes: refuse an impossible count before parsing any record.
  if (recordCount > end / (MIN_RECORD_BODY + 1)) {
    throw corrupt(`recordCount ${recordCount} cannot fit in ${end} bytes of records`);
  }
  const cursor: Cursor = { pos: 0 };
  let previousDelta = -1;
  for (let i = 0; i < recordCount; i++) {
    const length = readVarint(section, cursor, end);
    const recordEnd = cursor.pos + length;
    if (length < MIN_RECORD_BODY || recordEnd > end) {
      throw corrupt(`record ${i} length ${length} does not fit the batch`);
    }
    cursor.pos++; // record attributes: unused by magic 2
    const timestampDelta = readVarlong(section, cursor, recordEnd);
    const offsetDelta = readVarint(section, cursor, recordEnd);
    // Offsets strictly increase and stay within the batch (gaps are legal: Kafka compaction makes them).
    if (offsetDelta <= previousDelta || offsetDelta > lastOffsetDelta) {
      throw corrupt(`record ${i} offsetDelta ${offsetDelta} is out of order or beyond lastOffsetDelta`);
    }
    previousDelta = offsetDelta;
    // Lengths first, views only when decoding: checking makes no object per record.
    const keyLength = skipBytesField(section, cursor, recordEnd, i, 'key');
    const keyEnd = cursor.pos;
    const valueLength = skipBytesField(section, cursor, recordEnd, i, 'value');
    const valueEnd = cursor.pos;
    const headerCount = readVarint(section, cursor, recordEnd);
    if (headerCount < 0) throw corrupt(`record ${i} has negative headerCount ${headerCount}`);
    const headers: RecordHeader[] | undefined = decoded === undefined ? undefined : [];
    let headerBytes = 0;
    let headerKeyBytes = 0;
    for (let h = 0; h < headerCount; h++) {
      const keyLength = readVarint(section, cursor, recordEnd);
      if (keyLength < 0 || cursor.pos + keyLength > recordEnd) {
        throw corrupt(`record ${i} header ${h} key length ${keyLength} does not fit the record`);
      }
      const keyBytes = section.subarray(cursor.pos, cursor.pos + keyLength);
      let headerKey = '';
      try {
        if (decoded !== undefined) headerKey = utf8Decoder.decode(keyBytes);
        else if (!isUtf8(keyBytes)) throw new TypeError('invalid UTF-8');
      } catch (cause) {
        throw new WireError('CORRUPT_DATA', `record batch: record ${i} header ${h} key is not UTF-8`, {
          cause,
        });
      }
      cursor.pos += keyLength;
      const headerValueLength = skipBytesField(section, cursor, recordEnd, i, `header ${h}`);
      headers?.push({ key: headerKey, value: bytesFieldView(section, cursor.pos, headerValueLength) });
      headerBytes += keyLength + Math.max(headerValueLength, 0);
      headerKeyBytes += keyLength + 8;
    }
    if (cursor.pos !== recordEnd) {
      throw corrupt(`record ${i} has ${recordEnd - cursor.pos} bytes beyond its fields`);
    }
    const timestamp = logAppendTime ?? firstTimestamp + timestampDelta;
    if (!Number.isSafeInteger(timestamp)) throw corrupt(`record ${i} timestamp is not a safe integer`);
    if (decoded !== undefined) {
      decoded.push({
        offset: baseOffset + offsetDelta,
        timestamp,
        key: bytesFieldView(section, keyEnd, keyLength),
        value: bytesFieldView(section, valueEnd, valueLength),
        headers: headers ?? [],
      });
    } else if (summary !== undefined) {
      if (timestamp < summary.minTimestamp) summary.minTimestamp = timestamp;
      if (timestamp > summary.maxTimestamp) summary.maxTimestamp = timestamp;
      const bytes = Math.max(keyLength, 0) + Math.max(valueLength, 0) + headerBytes;
      if (bytes > summary.largest.bytes) summary.largest = { index: i, bytes };
      if (headerKeyBytes > summary.mostHeaderKeyBytes.bytes)
        summary.mostHeaderKeyBytes = { index: i, bytes: headerKeyBytes };
    }
  }
  if (cursor.pos !== end) {
    throw corrupt(`${end - cursor.pos} bytes follow the last of ${recordCount} records`);
  }
}

/**
 * Reads a bytes field's length (-1 for null) and moves the cursor past its bytes, which must fit the
 * record.
 */
function skipBytesField(
  section: Uint8Array,
  cursor: Cursor,
  recordEnd: number,
  index: number,
  field: string,
): number {
  const length = readVarint(section, cursor, recordEnd);
  if (length === -1) return -1;
  const start = cursor.pos;
  if (length < -1 || start + length > recordEnd) {
    throw corrupt(`record ${index} ${field} length ${length} does not fit the record`);
  }
  cursor.pos = start + length;
  return length;
}

/** The bytes field of `length` (-1: null) that ends at `end` of `section`, as a view. */
function bytesFieldView(section: Uint8Array, end: number, length: number): Uint8Array | null {
  return length === -1 ? null : section.subarray(end - length, end);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/**
 * Writes `baseOffset` into bytes 0..8 of the batch, in place. Those bytes are outside the CRC, so the
 * batch stays valid: this is how a stored batch (written with baseOffset 0) is served at its real
 * offset. Throws INVALID_REQUEST if `bytes` is not a batch header or the offsets would not be safe
 * integers.
 */
export function patchBaseOffset(bytes: Uint8Array, baseOffset: number): void {
  if (bytes.length < RECORD_BATCH_OVERHEAD) {
    throw invalid(`cannot patch baseOffset: ${bytes.length} bytes is shorter than a batch header`);
  }
  const view = viewOf(bytes);
  if (view.getInt8(MAGIC_OFFSET) !== MAGIC) throw invalid('cannot patch baseOffset: not a magic 2 batch');
  const lastOffset = baseOffset + view.getInt32(LAST_OFFSET_DELTA_OFFSET);
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0 || !Number.isSafeInteger(lastOffset)) {
    throw invalid(`baseOffset ${baseOffset} is not a non-negative safe integer for this batch`);
  }
  writeInt64(view, 0, baseOffset);
}

/**
 * Walks concatenated batches (as stored in an object or returned by a range read) and yields a view of
 * each one, without copying or verifying CRCs. Throws CORRUPT_DATA on a truncated batch or a header
 * that cannot start a batch; batches before the damage have already been yielded.
 */
export function* splitBatches(bytes: Uint8Array): Generator<Uint8Array> {
  let pos = 0;
  while (pos < bytes.length) {
    const { sizeInBytes } = readBatchHeader(bytes, pos);
    if (pos + sizeInBytes > bytes.length) {
      throw corrupt(
        `truncated batch at byte ${pos}: needs ${sizeInBytes} bytes, ${bytes.length - pos} left`,
        {
          position: pos,
        },
      );
    }
    yield bytes.subarray(pos, pos + sizeInBytes);
    pos += sizeInBytes;
  }
}
