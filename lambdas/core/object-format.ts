/**
 * The object format (DESIGN §2): what one produce request writes to the object store.
 *
 *   object  := header batch*
 *   header  := magic "SBED" (4 bytes) | formatVersion uint16 BE (= 1) | flags uint16 BE (= 0)
 *   batch   := an Apache Kafka RecordBatch v2 with baseOffset 0 (client/wire/record-batch.ts)
 *
 * Batches are addressed by byte range from the batch index, so the header is never read on the fetch
 * path; it identifies the format for tools and for the janitor's rewrites.
 */
import { type Allocate, uninitializedBytes } from '../../client/wire/bytes.ts';
import { StreamError } from './errors.ts';

const MAGIC = [0x53, 0x42, 0x45, 0x44];
export const OBJECT_FORMAT_VERSION = 1;
export const OBJECT_HEADER_BYTES = 8;

export interface BatchPosition {
  byteOffset: number;
  byteLength: number;
}

/**
 * Concatenates batches behind the header; returns the bytes and where each batch landed. With
 * `headroom`, the caller promises that the lone batch was encoded with OBJECT_HEADER_BYTES of headroom
 * (encodeRecordBatch's option), and the header is written in front of it in place: no copy. The
 * promise must be explicit — the bytes before an arbitrary subarray may belong to someone else.
 */
export function encodeObject(
  batches: readonly Uint8Array[],
  options: { headroom?: boolean; allocate?: Allocate } = {},
): {
  bytes: Uint8Array;
  positions: BatchPosition[];
} {
  const [only] = batches;
  if (
    options.headroom &&
    batches.length === 1 &&
    only !== undefined &&
    only.byteOffset >= OBJECT_HEADER_BYTES
  ) {
    const start = only.byteOffset - OBJECT_HEADER_BYTES;
    const bytes = new Uint8Array(only.buffer, start, OBJECT_HEADER_BYTES + only.byteLength);
    writeHeader(bytes);
    return { bytes, positions: [{ byteOffset: OBJECT_HEADER_BYTES, byteLength: only.byteLength }] };
  }
  const total = batches.reduce((sum, batch) => sum + batch.byteLength, OBJECT_HEADER_BYTES);
  const bytes = (options.allocate ?? uninitializedBytes)(total);
  writeHeader(bytes);
  const positions: BatchPosition[] = [];
  let at = OBJECT_HEADER_BYTES;
  for (const batch of batches) {
    bytes.set(batch, at);
    positions.push({ byteOffset: at, byteLength: batch.byteLength });
    at += batch.byteLength;
  }
  return { bytes, positions };
}

function writeHeader(bytes: Uint8Array): void {
  bytes.set(MAGIC, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, OBJECT_HEADER_BYTES);
  view.setUint16(4, OBJECT_FORMAT_VERSION);
  view.setUint16(6, 0);
}

/** Checks an object's header; throws CORRUPT_DATA for anything that is not a version-1 object. */
export function checkObjectHeader(bytes: Uint8Array, key: string): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < OBJECT_HEADER_BYTES || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new StreamError('CORRUPT_DATA', `object ${key} is not a Streambed object`);
  }
  const version = view.getUint16(4);
  if (version !== OBJECT_FORMAT_VERSION) {
    throw new StreamError(
      'CORRUPT_DATA',
      `object ${key} has format version ${version}; this build reads ${OBJECT_FORMAT_VERSION}`,
    );
  }
}
