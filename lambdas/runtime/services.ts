/**
 * The services every runtime builds on a storage backend. Free of adapter imports, so the Lambda
 * composition root (which may only use DynamoDB + S3) and the local server share it.
 */

import { randomUUID } from 'node:crypto';
import { type CommitNotifier, createCommitNotifier } from '../core/commit-notifier.ts';
import { createGroupService, type GroupService } from '../core/groups.ts';
import { createJanitor, type Janitor, type JanitorOptions } from '../core/janitor.ts';
import { createLogService } from '../core/log.ts';
import type { LogService } from '../core/log-types.ts';
import { createSchemaRegistryService, type SchemaRegistryService } from '../core/schemas.ts';
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
  /** Retention, compaction, GC and deleted-topic clean-up; run on a schedule. */
  janitor: Janitor;
  topics: TopicServiceImpl;
  log: LogService;
  groups: GroupService;
  schemas: SchemaRegistryService;
  notifier: CommitNotifier;
}

export function createServices(
  backend: Backend,
  clock: Clock = systemClock,
  options: { janitor?: Partial<JanitorOptions> } = {},
): Services {
  const notifier = createCommitNotifier();
  const topics = createTopicService({ meta: backend.meta, clock });
  const log = createLogService({ meta: backend.meta, objects: backend.objects, clock, topics, notifier });
  const groups = createGroupService({ meta: backend.meta, clock, topics, log });
  const janitor = createJanitor(
    { meta: backend.meta, objects: backend.objects, clock, topics },
    { owner: `janitor-${randomUUID()}`, ...options.janitor },
  );
  const schemas = createSchemaRegistryService({ meta: backend.meta, clock });
  return { janitor, topics, log, groups, schemas, notifier };
}
