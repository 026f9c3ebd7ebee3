import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import { metaStoreContract } from './meta-store.contract.ts';
import { objectStoreContract } from './object-store.contract.ts';

metaStoreContract('MemoryMetaStore', async () => {
  const clock = new ManualClock();
  return { store: new MemoryMetaStore(clock), clock };
});

objectStoreContract('MemoryObjectStore', async () => new MemoryObjectStore());
