/**
 * The services every runtime builds on a storage backend. Free of adapter imports, so the Lambda
 * composition root (which may only use DynamoDB + S3) and the local server share it.
 */

import { randomUUID } from 'node:crypto';
import { type CommitNotifier, createCommitNotifier } from '../core/commit-notifier.ts';
import { StreamError } from '../core/errors.ts';
import { createGroupService, type GroupService } from '../core/groups.ts';
import { createJanitor, type Janitor, type JanitorOptions } from '../core/janitor.ts';
import { createLogService } from '../core/log.ts';
import type { LogService } from '../core/log-types.ts';
import { createSchemaRegistryService, type SchemaRegistryService } from '../core/schemas.ts';
import { createTopicService, type TopicServiceImpl } from '../core/topics.ts';
import { type Clock, systemClock } from '../ports/clock.ts';
import type { MetaStore } from '../ports/meta-store.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import {
  createSubscriptionService,
  type SubscriptionService,
  type TargetPolicy,
} from '../subscriptions/subscriptions.ts';
import { isLoopbackUrl, validateTargetUrl } from '../subscriptions/url-target.ts';

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
  subscriptions: SubscriptionService;
  notifier: CommitNotifier;
}

export interface ServiceOptions {
  janitor?: Partial<JanitorOptions>;
  /** Which subscription targets this runtime accepts (DESIGN §12). Default: none but loopback URLs. */
  subscriptionTargets?: TargetPolicy;
  /** Told after every subscription create, change and delete (the local runner listens). */
  onSubscriptionChange?: (name: string) => void;
}

/** The policy of every runtime but the deployed stack: it cannot invoke Lambda functions. */
export function noFunctions(fn: string): void {
  throw new StreamError(
    'INVALID_REQUEST',
    `target.function ${fn}: function targets exist only on a deployed stack (the CDK construct's addSubscription grants the invoke); use target.url here`,
  );
}

/** Until a runtime says otherwise, only a URL on this machine: nothing leaves it by accident. */
const LOOPBACK_ONLY: TargetPolicy = {
  validateFunction: noFunctions,
  validateUrl(url) {
    if (!isLoopbackUrl(validateTargetUrl(url, { allowPrivate: true }))) {
      throw new StreamError('INVALID_REQUEST', `target.url ${url} is not allowed here: only loopback URLs`);
    }
  },
};

export function createServices(
  backend: Backend,
  clock: Clock = systemClock,
  options: ServiceOptions = {},
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
  const subscriptions = createSubscriptionService({
    meta: backend.meta,
    clock,
    topics,
    log,
    groups,
    targets: options.subscriptionTargets ?? LOOPBACK_ONLY,
    onChange: options.onSubscriptionChange,
  });
  return { janitor, topics, log, groups, schemas, subscriptions, notifier };
}
