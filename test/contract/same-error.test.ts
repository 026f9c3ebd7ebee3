import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { SqliteMetaStore } from '../../lambdas/adapters/sqlite-meta-store.ts';
import { ConditionFailedError } from '../../lambdas/core/errors.ts';
import type { MetaStore, TransactOp } from '../../lambdas/ports/meta-store.ts';
import { dynamoOn } from '../support/aws-targets.ts';

/** Runs one transaction whose second op's condition fails, and returns what was thrown. */
async function failedTransaction(store: MetaStore): Promise<unknown> {
  const pk = 'part#same-error#0';
  await store.transact([{ type: 'put', item: { pk, sk: 'meta', highWatermark: 0 }, expect: 'absent' }]);
  const ops: TransactOp[] = [
    { type: 'put', item: { pk, sk: 'b#00000000000000000000', recordCount: 1 }, expect: 'absent' },
    { type: 'put', item: { pk, sk: 'meta', highWatermark: 1 }, expect: 5 },
  ];
  return store.transact(ops).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('a failing condition is the same domain error on every adapter', () => {
  it('DynamoMetaStore and SqliteMetaStore throw equal ConditionFailedErrors', async () => {
    // Prepare
    const dynamo = await dynamoOn({
      endpoint: inject('dynamoEndpoint'),
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const sqlite = new SqliteMetaStore({ path: join(mkdtempSync(join(tmpdir(), 'streambed-')), 'meta.db') });
    // Act
    const [fromDynamo, fromSqlite] = [await failedTransaction(dynamo), await failedTransaction(sqlite)];
    // Assess
    const shape = (error: unknown) => {
      expect(error).toBeInstanceOf(ConditionFailedError);
      const { code, retriable, failedOps, reason, message, name } = error as ConditionFailedError;
      return { code, retriable, failedOps, reason, message, name };
    };
    expect(shape(fromDynamo)).toEqual(shape(fromSqlite));
    expect(shape(fromSqlite)).toMatchObject({
      code: 'CONFLICT',
      retriable: true,
      failedOps: [1],
      reason: 'condition',
    });
  });
});
