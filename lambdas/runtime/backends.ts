/**
 * The composition root: builds storage adapters and the services on top of them, once per process
 * (once per Lambda container). The only place that chooses adapters.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoMetaStore, ensureTable } from '../adapters/dynamo-meta-store.ts';
import { FsObjectStore } from '../adapters/fs-object-store.ts';
import { MemoryMetaStore } from '../adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../adapters/memory-object-store.ts';
import { createS3Client, ensureBucket, S3ObjectStore } from '../adapters/s3-object-store.ts';
import { SqliteMetaStore } from '../adapters/sqlite-meta-store.ts';
import { type CommitNotifier, createCommitNotifier } from '../core/commit-notifier.ts';
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
  notifier: CommitNotifier;
}

/** The embedded backend of `npm start`: SQLite + files under `dataDir`, or everything in memory. */
export function createEmbeddedBackend(options: {
  dataDir?: string;
  memory?: boolean;
  clock?: Clock;
}): Backend {
  const clock = options.clock ?? systemClock;
  if (options.memory) {
    return { meta: new MemoryMetaStore(clock), objects: new MemoryObjectStore(), close: async () => {} };
  }
  const dataDir = options.dataDir ?? '.streambed';
  mkdirSync(dataDir, { recursive: true });
  const meta = new SqliteMetaStore({ path: join(dataDir, 'meta.db'), clock });
  const objects = new FsObjectStore({ root: join(dataDir, 'objects') });
  return { meta, objects, close: () => meta.close() };
}

export interface AwsBackendOptions {
  table: string;
  bucket: string;
  region?: string;
  /** An emulator or LocalStack; unset on AWS (the SDK also honours AWS_ENDPOINT_URL[_S3|_DYNAMODB]). */
  endpoint?: string;
  /** Running against emulators: path-style S3 addressing, and the table and bucket are created when missing. */
  emulated?: boolean;
  clock?: Clock;
}

/** DynamoDB + S3, as on AWS. Credentials and region come from the standard AWS chain. */
export async function createAwsBackend(options: AwsBackendOptions): Promise<Backend> {
  const common = { region: options.region, endpoint: options.endpoint };
  const dynamo = new DynamoDBClient(common);
  // Path-style addressing only for emulators: they rarely serve virtual-hosted buckets.
  const s3 = createS3Client({ ...common, forcePathStyle: options.emulated === true });
  if (options.emulated) {
    await ensureTable(dynamo, options.table);
    await ensureBucket(s3, options.bucket);
  }
  return {
    meta: new DynamoMetaStore({ client: dynamo, table: options.table, clock: options.clock }),
    objects: new S3ObjectStore({ client: s3, bucket: options.bucket }),
    close: async () => {
      dynamo.destroy();
      s3.destroy();
    },
  };
}

export function createServices(backend: Backend, clock: Clock = systemClock): Services {
  const notifier = createCommitNotifier();
  const topics = createTopicService({ meta: backend.meta, clock });
  const log = createLogService({ meta: backend.meta, objects: backend.objects, clock, topics, notifier });
  return { topics, log, notifier };
}
