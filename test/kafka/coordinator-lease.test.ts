import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { SqliteMetaStore } from '../../lambdas/adapters/sqlite-meta-store.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import { dynamoOn } from '../support/aws-targets.ts';
import { coordinatorLeaseContract } from './coordinator-lease.contract.ts';

coordinatorLeaseContract('MemoryMetaStore', async () => {
  const clock = new ManualClock();
  return { store: new MemoryMetaStore(clock), clock };
});

coordinatorLeaseContract('SqliteMetaStore', async () => {
  const clock = new ManualClock();
  const path = join(mkdtempSync(join(tmpdir(), 'streambed-sqlite-')), 'meta.db');
  return { store: new SqliteMetaStore({ path, clock }), clock };
});

// DynamoDB Local, started by test/support/global-setup.ts.
coordinatorLeaseContract('DynamoMetaStore', async () => {
  const clock = new ManualClock(Date.now());
  const dynamoLocal = {
    endpoint: inject('dynamoEndpoint'),
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  return { store: await dynamoOn(dynamoLocal, clock), clock };
});
