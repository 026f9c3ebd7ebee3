/**
 * The composition root of the local server and the tests: builds storage adapters and the services on
 * top of them, once per process. The only place that chooses adapters for them.
 *
 * The AWS backend and the services live in their own modules (aws-backend.ts, services.ts) and are
 * re-exported here, so callers keep one import path while the Lambda composition root
 * (lambda-root.ts) imports those modules directly and its bundles never contain SQLite, the
 * filesystem store or the memory stores.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FsObjectStore } from '../adapters/fs-object-store.ts';
import { MemoryMetaStore } from '../adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../adapters/memory-object-store.ts';
import { SqliteMetaStore } from '../adapters/sqlite-meta-store.ts';
import { type Clock, systemClock } from '../ports/clock.ts';
import type { Backend } from './services.ts';

export { type AwsBackendOptions, createAwsBackend } from './aws-backend.ts';
export { type Backend, createServices, type Services } from './services.ts';

/** The embedded backend of `npm start`: SQLite + files under `dataDir`, or everything in memory. */
export function createEmbeddedBackend(options: {
  dataDir?: string;
  memory?: boolean;
  clock?: Clock;
}): Backend {
  const clock = options.clock ?? systemClock;
  if (options.memory) {
    return { meta: new MemoryMetaStore(clock), objects: new MemoryObjectStore(), close: async () => {} };
  }
  const dataDir = options.dataDir ?? '.streambed';
  mkdirSync(dataDir, { recursive: true });
  const meta = new SqliteMetaStore({ path: join(dataDir, 'meta.db'), clock });
  const objects = new FsObjectStore({ root: join(dataDir, 'objects') });
  return { meta, objects, close: () => meta.close() };
}
