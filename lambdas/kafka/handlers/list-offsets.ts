/**
 * ListOffsets: per partition, the log start (timestamp -2, earliest), the high watermark (-1, latest;
 * also the last stable offset, as nothing is transactional), or the first offset whose record's
 * timestamp is at or after the one asked — offset and timestamp -1 when no record is that recent.
 */
import { KafkaError, toKafkaError } from '../errors.ts';
import { handler } from '../handler.ts';
import { ListOffsets } from '../protocol/messages.ts';

const LATEST = -1;
const EARLIEST = -2;

export const listOffsets = handler(ListOffsets, async (request, context) => {
  const { log } = context.services;
  const topics = await Promise.all(
    request.topics.map(async ({ name, partitions }) => ({
      name,
      partitions: await Promise.all(
        partitions.map(async ({ partitionIndex, timestamp }) => {
          try {
            if (timestamp === LATEST || timestamp === EARLIEST) {
              const range = await log.offsets(name, partitionIndex);
              const offset = timestamp === LATEST ? range.highWatermark : range.logStartOffset;
              return { partitionIndex, errorCode: KafkaError.NONE, timestamp: -1, offset };
            }
            if (timestamp < 0) {
              return { partitionIndex, errorCode: KafkaError.INVALID_REQUEST, timestamp: -1, offset: -1 };
            }
            const found = await log.offsets(name, partitionIndex, timestamp);
            // Past the end: no record is that recent. A batch whose records cannot be decoded here
            // (a codec Node lacks) answers its first offset without a timestamp.
            const offset = found.offset ?? found.highWatermark;
            const none = offset >= found.highWatermark;
            return {
              partitionIndex,
              errorCode: KafkaError.NONE,
              timestamp: none ? -1 : (found.timestamp ?? -1),
              offset: none ? -1 : offset,
            };
          } catch (error) {
            return { partitionIndex, errorCode: toKafkaError(error).errorCode, timestamp: -1, offset: -1 };
          }
        }),
      ),
    })),
  );
  return { throttleTimeMs: 0, topics };
});
