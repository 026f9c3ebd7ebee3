import { describe, inject, it } from 'vitest';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import { dynamoOn, s3On } from '../support/aws-targets.ts';
import { metaStoreContract } from './meta-store.contract.ts';
import { objectStoreContract } from './object-store.contract.ts';

// LocalStack from AWS_ENDPOINT_URL or a testcontainers LocalStack (test/support/localstack.ts).
const endpoint = inject('localstackEndpoint');
const localstack = { endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

if (endpoint !== '') {
  metaStoreContract('DynamoMetaStore on LocalStack', async () => {
    const clock = new ManualClock(Date.now());
    return { store: await dynamoOn(localstack, clock), clock };
  });
  objectStoreContract('S3ObjectStore on LocalStack', () => s3On(localstack));
} else {
  describe.skip(`LocalStack contract suites (skipped: ${inject('localstackSkipReason')})`, () => {
    it('DynamoMetaStore and S3ObjectStore pass the port contracts on LocalStack', () => {});
  });
}
