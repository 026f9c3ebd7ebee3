import { inject } from 'vitest';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import { dynamoOn, s3On } from '../support/aws-targets.ts';
import { metaStoreContract } from './meta-store.contract.ts';
import { objectStoreContract } from './object-store.contract.ts';

// The emulators started by test/support/global-setup.ts: DynamoDB Local and s3rver.
const dynamoLocal = {
  endpoint: inject('dynamoEndpoint'),
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};
const s3rver = {
  endpoint: inject('s3Endpoint'),
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
};

metaStoreContract('DynamoMetaStore', async () => {
  const clock = new ManualClock(Date.now());
  return { store: await dynamoOn(dynamoLocal, clock), clock };
});

objectStoreContract('S3ObjectStore', () => s3On(s3rver));
