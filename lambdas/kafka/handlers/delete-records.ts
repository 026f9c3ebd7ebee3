/**
 * DeleteRecords: moves each partition's log start to the offset given (-1: the high watermark), as
 * the HTTP API's records/delete does, and answers the new start as the low watermark. Partitions are
 * answered one by one: an unknown partition or an offset past the high watermark fails only itself.
 */
import { HIGH_WATERMARK_OFFSET } from '../../core/delete-records.ts';
import { KafkaError, toKafkaError } from '../errors.ts';
import { handler } from '../handler.ts';
import { DeleteRecords } from '../protocol/messages.ts';
import { checkTopicName, refused } from './topic-admin.ts';

/** Kafka's low watermark where a partition failed. */
const UNKNOWN = -1;

export const deleteRecords = handler(DeleteRecords, async (request, context) => ({
  throttleTimeMs: 0,
  topics: await Promise.all(
    request.topics.map(async ({ name, partitions }) => ({
      name,
      partitions: await Promise.all(
        partitions.map(async ({ partitionIndex, offset }) => {
          try {
            if (offset < HIGH_WATERMARK_OFFSET) {
              throw refused(
                'OFFSET_OUT_OF_RANGE',
                `offset ${offset} for ${name}/${partitionIndex} is negative`,
              );
            }
            const { partitions: moved } = await context.services.log.deleteRecords({
              topic: checkTopicName(name),
              partitions: [{ partition: partitionIndex, offset }],
            });
            const lowWatermark = moved[0]?.logStartOffset ?? UNKNOWN;
            return { partitionIndex, lowWatermark, errorCode: KafkaError.NONE };
          } catch (error) {
            return { partitionIndex, lowWatermark: UNKNOWN, errorCode: toKafkaError(error).errorCode };
          }
        }),
      ),
    })),
  ),
}));
