/**
 * The environment `npx streambed` runs in for a test: a fresh npm cache of its own. npx installs the
 * checkout's package into its cache keyed by the checkout's path and does not look again, so a cache
 * left from an older checkout at the same path keeps that checkout's bin link; a fresh cache is what a
 * new machine has, and the test then proves the README's commands work there.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NpxEnv {
  env: Record<string, string>;
  dispose(): Promise<void>;
}

export async function freshNpxEnv(): Promise<NpxEnv> {
  const cache = await mkdtemp(join(tmpdir(), 'streambed-npm-cache-'));
  return {
    env: { npm_config_cache: cache, npm_config_update_notifier: 'false' },
    dispose: () => rm(cache, { recursive: true, force: true }),
  };
}
