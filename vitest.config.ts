import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// The pinned AWS SDK warns once per process that later releases will need Node 22; Streambed targets
// nodejs22.x on Lambda and keeps Node 20 working locally, so the notice is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Every test name is printed, so the output shows each contract passing for every adapter.
    reporters: ['verbose'],
    // Most test files wait on servers and child processes rather than compute: on a 2-core machine two
    // workers (vitest's default there is one, cores - 1) keep both cores busy.
    maxWorkers: Math.max(2, availableParallelism()),
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
