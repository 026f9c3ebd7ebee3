import { describe, expect, it } from 'vitest';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';
import { runChaos } from './chaos.ts';

const memory = async (clock: Clock) => ({
  meta: new MemoryMetaStore(clock),
  objects: new MemoryObjectStore(),
  close: async () => {},
});

describe('chaos (short seeded runs)', () => {
  it.each([1, 2, 3])('seed %i: no invariant violations under injected faults', async (seed) => {
    const report = await runChaos({ seed, operations: 400, faultRate: 0.2, backend: memory });
    expect(report.violations).toEqual([]);
    expect(report.faults).toBeGreaterThan(50);
    // Producers are 4 of the run's 13 actors: a 400-operation run acknowledges 100 to 200 records.
    expect(report.acknowledged).toBeGreaterThan(50);
    // Two of them are deliverers: their target sees some 40 invocations, failed, partial or taken.
    expect(report.deliveries).toBeGreaterThan(15);
  });
});
