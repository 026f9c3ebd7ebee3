/** A backend on in-memory stores, for handler tests (lambda-root.ts setBackendForTests). */
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import type { MetaStore } from '../../lambdas/ports/meta-store.ts';
import type { ObjectStore } from '../../lambdas/ports/object-store.ts';
import type { Backend } from '../../lambdas/runtime/services.ts';

export function memoryBackend(
  meta: MetaStore = new MemoryMetaStore(),
  objects: ObjectStore = new MemoryObjectStore(),
): Backend {
  return { meta, objects, close: async () => {} };
}
