/**
 * `npm run bench` — measures Streambed locally and prices it at AWS list prices.
 *
 * Starts the real HTTP server in a process of its own (port 0) on counted storage (bench/harness.ts),
 * runs the scenarios in bench/scenarios from this process through the SDK (bench/bench.ts), then
 * writes bench/results/latest.json, report.md and chart.svg. Method: docs/performance.md.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBench, runRemoteBench } from './bench.ts';
import { describeCpu } from './cpu.ts';
import { peerLines } from './peers/table.ts';
import { parseArgs, USAGE } from './plan.ts';
import type { Baseline } from './results.ts';

async function main(): Promise<void> {
  const plan = parseArgs(process.argv.slice(2), process.env);
  if (plan === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  const line = (text: string) => process.stderr.write(`${text}\n`);
  if (plan.stack !== undefined) {
    const { runStackBench } = await import('./stack.ts');
    const { results, check } = await runStackBench(plan, dir, plan.stack.api);
    line('');
    line(
      `produce ${results.produce.mibPerSec} MiB/s, fetch ${results.fetch.mibPerSec} MiB/s (offline stack, ${plan.stack.api} API)`,
    );
    line(
      `largest Lambda response ${check.largestResponseBytes} B of ${check.responseLimitBytes}; ${check.oversizedResponses} over the bound after compaction: ${check.passed ? 'passed' : 'FAILED'}`,
    );
    const name = plan.stack.api === 'rest' ? 'stack-rest' : 'stack';
    line(`wrote ${dir}/${name}.json, ${name}.md`);
    if (!check.passed) process.exitCode = 1;
    return;
  }
  if (plan.target !== undefined) {
    const remote = await runRemoteBench(plan, dir);
    line('');
    line(
      `produce ${remote.produce.mibPerSec} MiB/s, p50 ${remote.produce.p50Ms} ms, p99 ${remote.produce.p99Ms} ms`,
    );
    line(
      `fetch   ${remote.fetch.mibPerSec} MiB/s, p50 ${remote.fetch.p50Ms} ms, p99 ${remote.fetch.p99Ms} ms`,
    );
    line(`wrote ${dir}/remote.json, remote.md`);
    return;
  }
  const { results, checks } = await runBench(plan, dir);
  line('');
  line(
    `produce ${results.produce.mibPerSec} MiB/s (${results.produce.ratioVsRawFs}× raw fs), p50 ${results.produce.p50Ms} ms, p99 ${results.produce.p99Ms} ms`,
  );
  line(
    `fetch   ${results.fetch.mibPerSec} MiB/s (${results.fetch.ratioVsRawFs}× raw fs), p50 ${results.fetch.p50Ms} ms, p99 ${results.fetch.p99Ms} ms; long/short log ${results.fetch.latencyRatioLongVsShortLog}×`,
  );
  for (const [path, { mibPerSec, baselines, cpu }] of [
    ['produce', results.produce],
    ['fetch', results.fetch],
  ] as const) {
    line(`${path.padEnd(7)} ${mibPerSec} MiB/s = ${baselineRatios(baselines)}`);
    if (cpu !== undefined)
      line(
        `${''.padEnd(7)} CPU ${describeCpu(cpu.streambed)} (ceiling ${cpu.streambed.ceilingMibPerSec} MiB/s); bare: ${describeCpu(cpu.bareHttpSdkClient)}`,
      );
  }
  line(
    `cost/GiB 1 MiB $${results.costPerGiB.streambed1MiB}, 64 KiB $${results.costPerGiB.streambed64KiB}, 16 KiB $${results.costPerGiB.streambed16KiB}; Kinesis $${results.costPerGiB.kinesisOnDemand}, MSK Serverless $${results.costPerGiB.mskServerless}`,
  );
  const { kafka } = results;
  if ('skipped' in kafka) line(`kafka   skipped: ${kafka.skipped}`);
  else
    line(
      `kafka   produce ${kafka.produce.mibPerSec} MiB/s (${kafka.produce.ratioVsSdk}× SDK, ${kafka.produce.client}); fetch ${'skipped' in kafka.fetch ? `skipped: ${kafka.fetch.skipped}` : `${kafka.fetch.mibPerSec} MiB/s (${kafka.fetch.ratioVsSdk}× SDK, ${kafka.fetch.client})`}; consume ${kafka.kafkajsConsumer.mibPerSec} MiB/s (${kafka.kafkajsConsumer.ratioVsSdk}× SDK, ${kafka.kafkajsConsumer.client})`,
    );
  line('peers (same records, MiB/s of payload):');
  for (const peer of peerLines(results.peers)) line(peer);
  line(`peak RSS ${results.memory.serverRssMb} MB`);
  for (const check of checks)
    line(`  [${check.status}] ${check.what}: ${check.measured} (target ${check.target})`);
  line(`wrote ${dir}/latest.json, report.md, chart.svg`);
}

/** "0.4× bare HTTP POST, the SDK's client (node:http) (250 MiB/s), …": a headline over each baseline. */
function baselineRatios(baselines: Record<string, Baseline>): string {
  return Object.values(baselines)
    .map((b) => `${b.ratio}× ${b.what} (${b.mibPerSec} MiB/s)`)
    .join(', ');
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
