/** Ready-made AWS adapters on an endpoint (DynamoDB Local, s3rver or LocalStack), one fresh table or bucket each. */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoMetaStore, ensureTable } from '../../lambdas/adapters/dynamo-meta-store.ts';
import { createS3Client, ensureBucket, S3ObjectStore } from '../../lambdas/adapters/s3-object-store.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';

/** Emulators accept any credentials of the right shape; s3rver insists on its own. */
export interface AwsTarget {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export async function dynamoOn(target: AwsTarget, clock?: Clock): Promise<DynamoMetaStore> {
  const client = new DynamoDBClient({
    endpoint: target.endpoint,
    region: 'us-east-1',
    credentials: target.credentials,
  });
  const table = `streambed-test-${randomUUID().slice(0, 8)}`;
  await ensureTable(client, table);
  return new DynamoMetaStore({ client, table, clock });
}

export async function s3On(target: AwsTarget): Promise<S3ObjectStore> {
  const client = createS3Client({
    endpoint: target.endpoint,
    region: 'us-east-1',
    credentials: target.credentials,
    forcePathStyle: true,
  });
  const bucket = `streambed-test-${randomUUID().slice(0, 8)}`;
  await ensureBucket(client, bucket);
  return new S3ObjectStore({ client, bucket });
}
