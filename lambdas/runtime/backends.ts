/**
 * The composition root of the local server and the tests: builds storage adapters and the services on
 * top of them, once per process. The only place that chooses adapters for them.
 *
 * The AWS backend and the services live in their own modules (aws-backend.ts, services.ts) and are
 * re-exported here, so callers keep one import path while the Lambda composition root
 * (lambda-root.ts) imports those modules directly and its bundles never contain SQLite, the
 * filesystem store or the memory stores.
 */
import { closeSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { checkDurability, DEFAULT_DURABILITY, type Durability } from '../adapters/durability.ts';
import { FsObjectStore } from '../adapters/fs-object-store.ts';
import { MemoryMetaStore } from '../adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../adapters/memory-object-store.ts';
import { SqliteMetaStore } from '../adapters/sqlite-meta-store.ts';
import { type Clock, systemClock } from '../ports/clock.ts';
import type { AwsBackendOptions } from './aws-backend.ts';
import type { Backend } from './services.ts';

export type { AwsBackendOptions } from './aws-backend.ts';
export { type Backend, createServices, noFunctions, type Services } from './services.ts';

export interface EmbeddedBackendOptions {
  dataDir?: string;
  memory?: boolean;
  clock?: Clock;
  /**
   * On disk only. `fsync` (default): every acknowledged write survives a power loss; `none`: faster,
   * but a power loss may lose the last seconds of acknowledged writes (lambdas/adapters/durability.ts).
   */
  durability?: Durability;
}

/**
 * The AWS backend (DynamoDB and S3), its module loaded on first use: a server on the embedded backend
 * never loads the AWS SDK's clients (about 20 MB of its resident memory).
 */
export async function createAwsBackend(options: AwsBackendOptions): Promise<Backend> {
  const aws = await import('./aws-backend.ts');
  return aws.createAwsBackend(options);
}

/** The embedded backend of `npm start`: SQLite + files under `dataDir`, or everything in memory. */
export function createEmbeddedBackend(options: EmbeddedBackendOptions): Backend {
  const clock = options.clock ?? systemClock;
  const durability = checkDurability(options.durability ?? DEFAULT_DURABILITY);
  if (options.memory) {
    return { meta: new MemoryMetaStore(clock), objects: new MemoryObjectStore(), close: async () => {} };
  }
  const dataDir = resolve(options.dataDir ?? '.streambed');
  const created = mkdirSync(dataDir, { recursive: true });
  // The stores make everything inside dataDir durable; a dataDir created here needs its own entry,
  // and those of any parent created with it, on the disk too.
  if (durability === 'fsync' && created !== undefined) syncParents(dataDir, created);
  const meta = new SqliteMetaStore({ path: join(dataDir, 'meta.db'), clock, durability });
  const objects = new FsObjectStore({ root: join(dataDir, 'objects'), durability });
  const close = async () => {
    await objects.close();
    await meta.close();
  };
  return { meta, objects, close };
}

/** Fsyncs the parent of each directory from `dir` up to `created`, the first one mkdir created. */
function syncParents(dir: string, created: string): void {
  if (process.platform === 'win32') return; // see FsObjectStore: Windows cannot fsync a directory
  for (let child = dir; ; child = dirname(child)) {
    const fd = openSync(dirname(child), 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (child === created || child === dirname(child)) break;
  }
}
