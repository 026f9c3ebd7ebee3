/**
 * `npm run bench:subscriptions -- --quick` runs end to end and reports numbers; what must hold on any
 * machine is asserted (every backlog record delivered, one object read per batch), never a timing.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

it('the subscriptions bench delivers its backlogs and writes its report', async () => {
  const out = mkdtempSync(join(tmpdir(), 'streambed-subscriptions-bench-test-'));
  try {
    await promisify(execFile)('npx', ['tsx', 'bench/subscriptions.ts', '--quick', '--out', out], {
      timeout: 120_000,
    });
    const results = JSON.parse(readFileSync(join(out, 'subscriptions.json'), 'utf8'));
    expect(results.latency.count).toBe(100);
    expect(results.latency.p99Ms).toBeGreaterThan(0);
    expect(
      results.throughput.map((t: { batchSize: number; records: number }) => [t.batchSize, t.records]),
    ).toEqual([
      [100, 5_000],
      [1_000, 5_000],
    ]);
    // Records of 1 KiB in 1 MiB objects: a batch of 100 or 1,000 needs one object read.
    for (const t of results.throughput) expect(t.perBatch.s3Gets).toBeLessThanOrEqual(1.5);
    // A one-record commit is delivered from one object read, and costs read and write units.
    expect(results.trickle.perCommit.s3Gets).toBe(1);
    expect(results.trickle.perCommit.dynamoWriteUnits).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'subscriptions.md'), 'utf8')).toContain('Kinesis ESM');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
