/**
 * The transport targets of the bench's Targets table (bench/results.ts checkTargets): the headlines
 * against the bare transport with the SDK's client, ≥ 0.5× each, with DESIGN §10's ≥ 0.8× named, and
 * the produce note's store-only numbers. Checked on the committed quick run, with its ratios set.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../bench/plan.ts';
import { type BenchResults, checkTargets } from '../../bench/results.ts';

const committed = (): BenchResults =>
  JSON.parse(readFileSync(new URL('../../bench/results/latest.json', import.meta.url), 'utf8'));
const plan = parseArgs(['--quick']);
const PRODUCE = "local produce throughput vs the bare transport POST with the SDK's client";
const FETCH = "local fetch throughput vs the bare transport GET with the SDK's client";

/** The committed results with each headline's bare-transport ratio set (MiB/s kept consistent). */
function withRatios(produce: number, fetch: number): BenchResults {
  const results = committed();
  for (const [headline, ratio] of [
    [results.produce, produce],
    [results.fetch, fetch],
  ] as const) {
    const bare = headline.baselines.bareHttpSdkClient;
    bare.ratio = ratio;
    headline.mibPerSec = ratio * bare.mibPerSec;
  }
  return results;
}

describe('the transport targets', () => {
  if (plan === 'help') throw new Error('--quick parsed as help');

  it('meets at 0.5x, and says when a ratio is below DESIGN §10’s 0.8x', () => {
    const checks = checkTargets(withRatios(0.9, 0.6), plan);
    const produce = checks.find((c) => c.what === PRODUCE);
    const fetch = checks.find((c) => c.what === FETCH);
    expect(produce?.target).toBe('≥ 0.5× (DESIGN §10: ≥ 0.8×)');
    expect(produce).toMatchObject({ status: 'met', note: '' });
    expect(fetch?.status).toBe('met');
    expect(fetch?.note).toMatch(/^below DESIGN §10's 0\.8×: One 1 MiB fetch alone/);
  });

  it('misses below 0.5x, and the produce note gives the store-only server and Streambed’s share of it', () => {
    const results = withRatios(0.2, 0.4);
    const checks = checkTargets(results, plan);
    const produce = checks.find((c) => c.what === PRODUCE);
    expect(produce?.status).toBe('missed');
    const { storeOnly, bareHttpSdkClient } = results.produce.baselines;
    expect(produce?.note).toContain(
      `reach ${storeOnly.mibPerSec} MiB/s, ${Math.round((storeOnly.mibPerSec / bareHttpSdkClient.mibPerSec) * 1000) / 1000}× that bare POST: Streambed keeps ${storeOnly.ratio}× of it.`,
    );
    expect(checks.find((c) => c.what === FETCH)?.status).toBe('missed');
  });

  it('leaves the store-only sentence out where it was not measured (a server reached by --url)', () => {
    const results = withRatios(0.2, 0.6);
    results.produce.baselines.storeOnly = { ...results.produce.baselines.storeOnly, mibPerSec: Number.NaN };
    const produce = checkTargets(results, plan).find((c) => c.what === PRODUCE);
    expect(produce?.status).toBe('missed');
    expect(produce?.note).not.toContain('only stores each body');
    expect(produce?.note).toMatch(/^One 1 MiB request alone/);
  });
});
