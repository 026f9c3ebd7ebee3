import { randomUUID } from 'node:crypto';
import { afterAll } from 'vitest';
import { DynamoMetaStore, ensureTable } from '../../lambdas/adapters/dynamo-meta-store.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import { localDynamoClient, type RunningEmulator, startDynamoDbLocal } from '../support/dynamodb-local.ts';
import { metaStoreContract } from './meta-store.contract.ts';

let emulator: RunningEmulator | undefined;
afterAll(async () => emulator?.stop());

metaStoreContract('DynamoMetaStore', async () => {
  emulator = await startDynamoDbLocal();
  const client = localDynamoClient(emulator.endpoint);
  const table = `streambed-test-${randomUUID().slice(0, 8)}`;
  await ensureTable(client, table);
  const clock = new ManualClock(Date.now());
  return { store: new DynamoMetaStore({ client, table, clock }), clock };
});
