/**
 * `npm run bench` — measures Streambed locally and prices it at AWS list prices.
 *
 * Starts the real HTTP server in this process (port 0) on counted storage, runs the scenarios in
 * bench/scenarios, then writes bench/results/latest.json, report.md and chart.svg. Method:
 * docs/performance.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChart } from './chart.ts';
import { startHarness } from './harness.ts';
import { parseArgs, USAGE } from './plan.ts';
import { renderReport } from './report.ts';
import { buildResults, checkTargets } from './results.ts';
import { runEndToEnd } from './scenarios/end-to-end.ts';
import { runLayers } from './scenarios/layers.ts';
import { runLogLength } from './scenarios/log-length.ts';
import { runFanOut, runProduce } from './scenarios/produce.ts';
import { runReadBack } from './scenarios/read-back.ts';

async function main(): Promise<void> {
  const plan = parseArgs(process.argv.slice(2));
  if (plan === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const started = performance.now();
  const harness = await startHarness(plan.backend);
  let outputs: Parameters<typeof buildResults>[1];
  try {
    harness.progress(`${plan.mode} mode on the ${plan.backend} backend, server at ${harness.url}`);
    const rssByScenario: Record<string, number> = {};
    const measure = async <T>(name: string, scenario: () => Promise<T>): Promise<T> => {
      harness.windowPeakRssMb();
      const result = await scenario();
      rssByScenario[name] = Math.round(harness.windowPeakRssMb());
      return result;
    };
    const produce = await measure('produce', () => runProduce(harness, plan));
    const fanOut = await measure('fanOut', () => runFanOut(harness));
    const layers = await measure('layers', () => runLayers(harness, plan));
    const readBack = await measure('readBack', () => runReadBack(harness, plan));
    const endToEnd = await measure('endToEnd', () => runEndToEnd(harness, plan));
    const logLength = await measure('logLength', () => runLogLength(harness, plan));
    outputs = {
      produce,
      fanOut,
      layers,
      readBack,
      endToEnd,
      logLength,
      startRssMb: harness.startRssMb,
      rssByScenario,
      peakRssMb: harness.peakRssMb(),
      memoryAtEnd: process.memoryUsage(),
      durationSec: (performance.now() - started) / 1000,
    };
  } finally {
    await harness.close();
  }

  const results = buildResults(plan, outputs);
  const checks = checkTargets(results, plan);
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify({ ...results, targets: checks }, null, 2)}\n`);
  writeFileSync(join(dir, 'report.md'), renderReport(results, checks, plan));
  writeFileSync(join(dir, 'chart.svg'), renderChart(results));

  const line = (text: string) => process.stderr.write(`${text}\n`);
  line('');
  line(
    `produce ${results.produce.mibPerSec} MiB/s (${results.produce.ratioVsRawFs}× raw fs), p50 ${results.produce.p50Ms} ms, p99 ${results.produce.p99Ms} ms`,
  );
  line(
    `fetch   ${results.fetch.mibPerSec} MiB/s (${results.fetch.ratioVsRawFs}× raw fs), p50 ${results.fetch.p50Ms} ms, p99 ${results.fetch.p99Ms} ms; long/short log ${results.fetch.latencyRatioLongVsShortLog}×`,
  );
  line(
    `cost/GiB 1 MiB $${results.costPerGiB.streambed1MiB}, 64 KiB $${results.costPerGiB.streambed64KiB}, 16 KiB $${results.costPerGiB.streambed16KiB}; Kinesis $${results.costPerGiB.kinesisOnDemand}, MSK Serverless $${results.costPerGiB.mskServerless}`,
  );
  line(`peak RSS ${results.memory.serverRssMb} MB`);
  for (const check of checks)
    line(`  [${check.status}] ${check.what}: ${check.measured} (target ${check.target})`);
  line(`wrote ${dir}/latest.json, report.md, chart.svg`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
