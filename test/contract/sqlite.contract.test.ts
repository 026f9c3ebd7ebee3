import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteMetaStore } from '../../lambdas/adapters/sqlite-meta-store.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import { metaStoreContract } from './meta-store.contract.ts';

metaStoreContract('SqliteMetaStore', async () => {
  const clock = new ManualClock();
  const path = join(mkdtempSync(join(tmpdir(), 'streambed-sqlite-')), 'meta.db');
  return { store: new SqliteMetaStore({ path, clock }), clock };
});
