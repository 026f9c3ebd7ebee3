/**
 * `npx tsx bench/durability.ts [--quick]` — what power-loss durability costs the embedded backend.
 *
 * Starts two bench servers (bench/server.ts) on the embedded backend, one with durability `fsync`
 * (the default: objects, their directories and every SQLite commit fsynced before a produce is
 * acknowledged) and one with `none` (`streambed start --no-fsync`), and runs the produce scenario of
 * the main bench (scenarios/produce.ts: SDK producers over HTTP, one partition each) against both,
 * configuration by configuration, the two back to back and their order alternating, so that drift
 * on a shared machine hits both alike. Each run's raw filesystem baseline writes the way its server
 * does (with or without the fsyncs), which shows what the disk itself charges for them.
 *
 * Prints a table and writes bench/results/durability.json and durability.md: MiB/s, p50 and p99
 * latency per mode, and the ratios fsync / none. Method and numbers: docs/reliability.md, "Power loss".
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Durability } from '../lambdas/adapters/durability.ts';
import { type Harness, startHarness } from './harness.ts';
import { type BenchPlan, type ProduceConfig, parseArgs } from './plan.ts';
import { runInfo } from './results.ts';
import { type ProduceConfigResult, runProduce } from './scenarios/produce.ts';
import { formatBytes, KiB, MiB, round } from './stats.ts';

const USAGE = `Usage: npx tsx bench/durability.ts [--quick]

  --quick   one producer and four, 16 KiB and 1 MiB requests, 3 runs each (about a minute on 2 cores)
            (default: also 256 KiB requests and 16 producers, 3 runs each; a few minutes)

Produce throughput and latency of the embedded backend with fsync (the default) and without
(--no-fsync), in one run; writes bench/results/durability.json and durability.md.`;

interface Sizing {
  mode: 'quick' | 'full';
  configs: ProduceConfig[];
  runs: number;
  /** Payload per run, bounded by a number of requests, as in the main bench's plan. */
  volumeBytes: number;
  minRequests: number;
  maxRequests: number;
}

function sizing(argv: readonly string[]): Sizing | 'help' {
  let quick = false;
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg === '--help' || arg === '-h') return 'help';
    else throw new Error(`unknown argument ${JSON.stringify(arg)}\n\n${USAGE}`);
  }
  const requestSizes = quick ? [16 * KiB, MiB] : [16 * KiB, 256 * KiB, MiB];
  const concurrencies = quick ? [1, 4] : [1, 4, 16];
  const configs = requestSizes.flatMap((requestBytes) =>
    concurrencies.map((concurrency) => ({ recordBytes: KiB, requestBytes, concurrency })),
  );
  return quick
    ? { mode: 'quick', configs, runs: 3, volumeBytes: 16 * MiB, minRequests: 32, maxRequests: 160 }
    : { mode: 'full', configs, runs: 3, volumeBytes: 32 * MiB, minRequests: 48, maxRequests: 512 };
}

/** The main bench's plan, narrowed to one produce configuration. */
function planFor(base: BenchPlan, sized: Sizing, config: ProduceConfig): BenchPlan {
  return {
    ...base,
    runs: sized.runs,
    produce: {
      ...base.produce,
      configs: [config],
      headline: config,
      volumeBytes: sized.volumeBytes,
      minRequests: sized.minRequests,
      maxRequests: sized.maxRequests,
    },
  };
}

interface ModeResult {
  mibPerSec: number;
  recordsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  rawFsWriteMibPerSec: number;
}

interface Row extends ProduceConfig {
  requests: number;
  fsync: ModeResult;
  none: ModeResult;
  /** fsync / none: below 1 for throughput, above 1 for latency. */
  throughputRatio: number;
  p50Ratio: number;
  p99Ratio: number;
  rawFsWriteRatio: number;
}

const modeResult = (result: ProduceConfigResult): ModeResult => ({
  mibPerSec: result.mibPerSec,
  recordsPerSec: result.recordsPerSec,
  p50Ms: result.latency.p50Ms,
  p99Ms: result.latency.p99Ms,
  rawFsWriteMibPerSec: result.rawFsWriteMibPerSec,
});

async function main(): Promise<void> {
  const sized = sizing(process.argv.slice(2));
  if (sized === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const base = parseArgs(['--quick']) as BenchPlan;
  const started = performance.now();
  const harnesses: Record<Durability, Harness> = {
    fsync: await startHarness('embedded', { durability: 'fsync' }),
    none: await startHarness('embedded', { durability: 'none' }),
  };
  // One clock for the progress lines of both.
  harnesses.none.progress = harnesses.fsync.progress;
  const rows: Row[] = [];
  try {
    harnesses.fsync.progress(
      `durability bench, ${sized.mode}: fsync at ${harnesses.fsync.url}, none at ${harnesses.none.url}`,
    );
    for (const [index, config] of sized.configs.entries()) {
      const plan = planFor(base, sized, config);
      const order: Durability[] = index % 2 === 0 ? ['fsync', 'none'] : ['none', 'fsync'];
      const results = {} as Record<Durability, ProduceConfigResult>;
      for (const durability of order) {
        harnesses[durability].progress(`durability ${durability}`);
        const [result] = await runProduce(harnesses[durability], plan);
        if (result === undefined) throw new Error('the produce scenario returned nothing');
        results[durability] = result;
      }
      const fsync = modeResult(results.fsync);
      const none = modeResult(results.none);
      rows.push({
        ...config,
        requests: results.fsync.runs[0]?.requests ?? 0,
        fsync,
        none,
        throughputRatio: round(fsync.mibPerSec / none.mibPerSec),
        p50Ratio: round(fsync.p50Ms / none.p50Ms),
        p99Ratio: round(fsync.p99Ms / none.p99Ms),
        rawFsWriteRatio: round(fsync.rawFsWriteMibPerSec / none.rawFsWriteMibPerSec),
      });
    }
  } finally {
    await Promise.all([harnesses.fsync.close(), harnesses.none.close()]);
  }

  const durationSec = (performance.now() - started) / 1000;
  const run = {
    ...runInfo({ ...base, mode: sized.mode, runs: sized.runs }, durationSec),
    backend: 'embedded',
  };
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'durability.json'), `${JSON.stringify({ schema: 1, run, rows }, null, 2)}\n`);
  const markdown = render(run, rows, sized);
  writeFileSync(join(dir, 'durability.md'), markdown);
  process.stderr.write(`\n${markdown}\nwrote ${dir}/durability.json, durability.md\n`);
}

function render(run: ReturnType<typeof runInfo>, rows: readonly Row[], sized: Sizing): string {
  const header = [
    'request',
    'producers',
    'requests/run',
    'fsync MiB/s',
    'none MiB/s',
    'throughput fsync/none',
    'fsync p50 ms',
    'none p50 ms',
    'p50 fsync/none',
    'fsync p99 ms',
    'none p99 ms',
    'p99 fsync/none',
    'raw fs fsync/none',
  ];
  const lines = rows.map((r) =>
    [
      formatBytes(r.requestBytes),
      r.concurrency,
      r.requests,
      r.fsync.mibPerSec,
      r.none.mibPerSec,
      r.throughputRatio,
      r.fsync.p50Ms,
      r.none.p50Ms,
      r.p50Ratio,
      r.fsync.p99Ms,
      r.none.p99Ms,
      r.p99Ratio,
      r.rawFsWriteRatio,
    ].join(' | '),
  );
  return [
    '# Durability cost: the embedded backend with fsync (default) and without (--no-fsync)',
    '',
    `Generated by \`npx tsx bench/durability.ts${sized.mode === 'quick' ? ' --quick' : ''}\` on ${run.date.slice(0, 10)}, commit \`${run.gitCommit.slice(0, 12)}\`${run.gitDirty ? ' (with uncommitted changes)' : ''}, ${run.cpuModel} × ${run.cores} cores, Node ${run.node}, ${run.durationSec} s.`,
    `Produce through the SDK over HTTP, 1 KiB records, one partition per producer, ${sized.runs} runs per row and mode on fresh topics (median throughput, latency percentiles over every request). Raw fs: the same payload written as one file per request the way the store writes it, with and without its fsyncs. Method: docs/reliability.md, "Power loss".`,
    '',
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...lines.map((line) => `| ${line} |`),
    '',
  ].join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(
    `durability bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
