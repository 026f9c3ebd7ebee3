/**
 * DynamoDB + S3, the production backend. Kept apart from the embedded one (backends.ts) so that a
 * Lambda bundle importing it never pulls in SQLite (a native module) or the filesystem store.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoMetaStore, ensureTable } from '../adapters/dynamo-meta-store.ts';
import { createS3Client, ensureBucket, S3ObjectStore } from '../adapters/s3-object-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { Backend } from './services.ts';

/**
 * Every AWS call is bounded: an SDK call with no socket timeout can hang until the Lambda times out
 * (DESIGN §11), and a produce commit must end within COMMIT_ATTEMPT_MS of its start (produce.ts), since
 * garbage collection counts on no commit landing after the commit window. A DynamoDB call is at most
 * DYNAMO_MAX_ATTEMPTS tries of one connection plus one response timeout each, with the SDK's short
 * backoff between them (test/unit/aws-timeouts.test.ts checks the sum stays inside the attempt budget).
 */
export const CONNECTION_TIMEOUT_MS = 1_000;
export const DYNAMO_REQUEST_TIMEOUT_MS = 3_000;
export const DYNAMO_MAX_ATTEMPTS = 3;
/** Produce objects are up to ~6 MB (a request Lambda carries): a response (or a socket idle) this long means the call is stuck. */
export const S3_REQUEST_TIMEOUT_MS = 15_000;

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
  const dynamo = new DynamoDBClient({
    ...common,
    maxAttempts: DYNAMO_MAX_ATTEMPTS,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: DYNAMO_REQUEST_TIMEOUT_MS },
  });
  // Path-style addressing only for emulators: they rarely serve virtual-hosted buckets.
  const s3 = createS3Client({
    ...common,
    forcePathStyle: options.emulated === true,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: S3_REQUEST_TIMEOUT_MS },
  });
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
