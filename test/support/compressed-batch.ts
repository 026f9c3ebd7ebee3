import { crc32c } from '../../client/wire/crc32c.ts';
import { encodeRecordBatch, type LogRecord, RECORD_BATCH_OVERHEAD } from '../../client/wire/record-batch.ts';

/**
 * A record batch of `records` whose records section `compress` rewrote, marked with `codec` and
 * resealed (batchLength and CRC-32C): what a Kafka client sends with that compression.
 */
export function compressedBatch(
  records: readonly LogRecord[],
  codec: number,
  compress: (section: Uint8Array) => Uint8Array,
): Uint8Array {
  const plain = encodeRecordBatch(records);
  const section = compress(plain.subarray(RECORD_BATCH_OVERHEAD));
  const batch = new Uint8Array(RECORD_BATCH_OVERHEAD + section.length);
  batch.set(plain.subarray(0, RECORD_BATCH_OVERHEAD));
  batch.set(section, RECORD_BATCH_OVERHEAD);
  const view = new DataView(batch.buffer);
  view.setInt32(8, batch.length - 12);
  view.setInt16(21, (view.getInt16(21) & ~0x07) | codec);
  view.setUint32(17, crc32c(batch.subarray(21)));
  return batch;
}
