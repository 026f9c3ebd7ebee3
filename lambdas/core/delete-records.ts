/**
 * Deleting records (Kafka's DeleteRecords, KafkaJS's `admin.deleteTopicRecords`): a partition's
 * `logStartOffset` moves forward to a requested offset, and the records below it are gone for readers
 * at once — fetch answers OFFSET_OUT_OF_RANGE below the start, offsets for a timestamp and group
 * resets to `earliest` start there.
 *
 * Invariants:
 * - Only the partition item changes, by one compare-and-set (cas.ts) per partition; the start moves
 *   as retention moves it (advancedLogStart): forward only, never past the high watermark.
 * - Offset -1 means the high watermark as the write finds it; an offset above the high watermark is
 *   OFFSET_OUT_OF_RANGE; one at or below the current start changes nothing (and writes nothing).
 * - A request is checked whole before anything is written (topic, partitions, every offset against
 *   its partition's high watermark), so a bad one changes nothing. High watermarks only grow, so an
 *   offset checked once stays valid while the partitions are then moved one after the other.
 * - Index entries and objects wholly below the new start stay until the janitor's next pass, which
 *   removes them the way retention does (janitor.ts); the entry holding the start stays, and fetch
 *   serves from the start within it.
 */
import type { Clock } from '../ports/clock.ts';
import { type Item, MAX_BATCH_GET_KEYS, type MetaStore } from '../ports/meta-store.ts';
import { retryOnConflict } from './cas.ts';
import { StreamError } from './errors.ts';
import { partitionKey } from './layout.ts';
import type { DeleteRecordsRequest, DeleteRecordsResult, TopicDescription } from './log-types.ts';
import { advancedLogStart, partitionAttributes, readPartitionMeta } from './partition-state.ts';

/** The offset that means "the high watermark" (Kafka's DeleteRecords sentinel). */
export const HIGH_WATERMARK_OFFSET = -1;

export interface RecordDeleterDeps {
  meta: MetaStore;
  clock: Clock;
  requireTopic(name: string): Promise<TopicDescription>;
}

const invalid = (message: string) => new StreamError('INVALID_REQUEST', message);

function checkRequest(topic: TopicDescription, request: DeleteRecordsRequest): void {
  if (request.partitions.length === 0) throw invalid('partitions: give at least one partition');
  const seen = new Set<number>();
  for (const { partition, offset } of request.partitions) {
    if (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitions) {
      throw new StreamError(
        'PARTITION_NOT_FOUND',
        `topic ${topic.name} has no partition ${partition} (it has ${topic.partitions})`,
      );
    }
    if (seen.has(partition)) throw invalid(`partition ${partition} of ${topic.name} is given more than once`);
    seen.add(partition);
    if (!Number.isSafeInteger(offset) || offset < HIGH_WATERMARK_OFFSET) {
      throw invalid(
        `offset for ${topic.name}/${partition} must be a non-negative integer or -1 (the high watermark), got ${offset}`,
      );
    }
  }
}

export function createRecordDeleter({ meta, clock, requireTopic }: RecordDeleterDeps) {
  return async function deleteRecords(request: DeleteRecordsRequest): Promise<DeleteRecordsResult> {
    const topic = await requireTopic(request.topic);
    checkRequest(topic, request);
    const keys = request.partitions.map(({ partition }) => partitionKey(topic.topicId, partition));
    const items: (Item | undefined)[] = [];
    for (let first = 0; first < keys.length; first += MAX_BATCH_GET_KEYS)
      items.push(
        ...(await meta.batchGet(keys.slice(first, first + MAX_BATCH_GET_KEYS), { consistent: true })),
      );
    request.partitions.forEach(({ partition, offset }, i) => {
      const state = readPartitionMeta(items[i]);
      if (offset > state.highWatermark) {
        throw new StreamError(
          'OFFSET_OUT_OF_RANGE',
          `offset ${offset} is outside ${topic.name}/${partition}: records can be deleted up to the high watermark, valid offsets are ${state.logStartOffset} to ${state.highWatermark}`,
          { details: { logStartOffset: state.logStartOffset, highWatermark: state.highWatermark } },
        );
      }
    });
    const partitions: DeleteRecordsResult['partitions'] = [];
    for (const [i, { partition, offset }] of request.partitions.entries()) {
      const key = keys[i] as (typeof keys)[number];
      const logStartOffset = await retryOnConflict(
        { clock, what: `the log start of ${topic.name}/${partition}` },
        async () => {
          const current = readPartitionMeta(await meta.get(key, { consistent: true }));
          const next = advancedLogStart(
            current,
            offset === HIGH_WATERMARK_OFFSET ? current.highWatermark : offset,
          );
          if (next === current.logStartOffset) return next;
          await meta.transact([
            {
              type: 'put',
              item: { ...key, ...partitionAttributes({ ...current, logStartOffset: next }) },
              expect: current.v ?? 'absent',
            },
          ]);
          return next;
        },
      );
      partitions.push({ partition, logStartOffset });
    }
    return { topic: topic.name, partitions };
  };
}
