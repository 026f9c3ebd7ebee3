import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsObjectStore } from '../../lambdas/adapters/fs-object-store.ts';
import { objectStoreContract } from './object-store.contract.ts';

objectStoreContract(
  'FsObjectStore',
  async () => new FsObjectStore({ root: mkdtempSync(join(tmpdir(), 'streambed-fs-')) }),
);
