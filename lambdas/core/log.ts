/** The log service: produce (records, or Kafka's record batches), fetch and deleting records wired to one set of ports (DESIGN §4, §5). */
import type { Clock } from '../ports/clock.ts';
import type { MetaStore } from '../ports/meta-store.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { createBatchAppender } from './append-batches.ts';
import type { CommitNotifier } from './commit-notifier.ts';
import { createRecordDeleter } from './delete-records.ts';
import { createFetcher } from './fetch.ts';
import { createProducerIds } from './idempotent-producers.ts';
import type { LogService, TopicDescription } from './log-types.ts';
import { createProducer } from './produce.ts';

export interface LogServiceDeps {
  meta: MetaStore;
  objects: ObjectStore;
  clock: Clock;
  topics: { requireTopic(name: string): Promise<TopicDescription> };
  notifier?: CommitNotifier;
}

export function createLogService({ topics, ...deps }: LogServiceDeps): LogService {
  const requireTopic = (name: string) => topics.requireTopic(name);
  const produce = createProducer({ ...deps, requireTopic });
  const { fetch, fetchBatches, offsets } = createFetcher({ ...deps, requireTopic });
  const deleteRecords = createRecordDeleter({ meta: deps.meta, clock: deps.clock, requireTopic });
  const appendBatches = createBatchAppender({ ...deps, requireTopic });
  const initProducerId = createProducerIds(deps);
  return { produce, fetch, fetchBatches, offsets, deleteRecords, appendBatches, initProducerId };
}
