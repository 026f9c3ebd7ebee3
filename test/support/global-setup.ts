/**
 * Starts the emulators the AWS adapter tests need, once per test run, and hands their endpoints to the
 * tests through vitest's provide/inject. LocalStack is optional: when none can be found the reason is
 * printed here and the LocalStack suites report themselves skipped with it.
 */
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from './dynamodb-local.ts';
import { findLocalStack } from './localstack.ts';
import { startS3Emulator } from './s3-emulator.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    s3Endpoint: string;
    localstackEndpoint: string;
    localstackSkipReason: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [dynamo, s3, localstack] = await Promise.all([
    startDynamoDbLocal(),
    startS3Emulator(),
    findLocalStack(),
  ]);
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('s3Endpoint', s3.endpoint);
  project.provide('localstackEndpoint', localstack.endpoint ?? '');
  project.provide('localstackSkipReason', localstack.skipReason ?? '');
  console.log(`emulators: DynamoDB Local ${dynamo.endpoint}, S3 (s3rver) ${s3.endpoint}`);
  console.log(
    localstack.endpoint !== undefined
      ? `LocalStack suites run against ${localstack.endpoint}`
      : `LocalStack suites skipped: ${localstack.skipReason}`,
  );
  return async () => {
    await Promise.all([dynamo.stop(), s3.stop(), localstack.stop()]);
  };
}
