/**
 * DynamoDB + S3, the production backend. Kept apart from the embedded one (backends.ts) so that a
 * Lambda bundle importing it never pulls in SQLite (a native module) or the filesystem store.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoMetaStore, ensureTable } from '../adapters/dynamo-meta-store.ts';
import { createS3Client, ensureBucket, S3ObjectStore } from '../adapters/s3-object-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { Backend } from './services.ts';

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
