/**
 * The services every runtime builds on a storage backend. Free of adapter imports, so the Lambda
 * composition root (which may only use DynamoDB + S3) and the local server share it.
 */
import { type CommitNotifier, createCommitNotifier } from '../core/commit-notifier.ts';
import { createGroupService, type GroupService } from '../core/groups.ts';
import { createLogService } from '../core/log.ts';
import type { LogService } from '../core/log-types.ts';
import { createTopicService, type TopicServiceImpl } from '../core/topics.ts';
import { type Clock, systemClock } from '../ports/clock.ts';
import type { MetaStore } from '../ports/meta-store.ts';
import type { ObjectStore } from '../ports/object-store.ts';

export interface Backend {
  meta: MetaStore;
  objects: ObjectStore;
  close(): Promise<void>;
}

export interface Services {
  topics: TopicServiceImpl;
  log: LogService;
  groups: GroupService;
  notifier: CommitNotifier;
}

export function createServices(backend: Backend, clock: Clock = systemClock): Services {
  const notifier = createCommitNotifier();
  const topics = createTopicService({ meta: backend.meta, clock });
  const log = createLogService({ meta: backend.meta, objects: backend.objects, clock, topics, notifier });
  const groups = createGroupService({ meta: backend.meta, clock, topics, log });
  return { topics, log, groups, notifier };
}
