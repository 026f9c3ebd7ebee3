/**
 * One bench run: starts the harness (server process, client), runs the scenarios in order, and writes
 * latest.json, report.md and chart.svg. `npm run bench` (bench/run.ts) calls it with the parsed flags;
 * test/bench runs it with a tiny plan.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderChart } from './chart.ts';
import { awsEndpoints, connectHarness, type Harness, type HarnessOptions, startHarness } from './harness.ts';
import type { BenchPlan } from './plan.ts';
import { type ProfileSummary, writeProfiles } from './profile.ts';
import { renderRemoteReport, renderReport } from './report.ts';
import { buildRemoteResults, buildResults, checkTargets } from './results.ts';
import { runEndToEnd } from './scenarios/end-to-end.ts';
import { runKafka } from './scenarios/kafka.ts';
import type { LambdaMemoryResult } from './scenarios/lambda-memory.ts';
import { runLayers } from './scenarios/layers.ts';
import { runLogLength } from './scenarios/log-length.ts';
import { runPeers } from './scenarios/peers.ts';
import { runFanOut, runProduce } from './scenarios/produce.ts';
import { runReadBack } from './scenarios/read-back.ts';
import { MiB } from './stats.ts';

/**
 * The Lambda handlers under maximal requests, on DynamoDB and S3 emulators: the aws backend's, or a
 * pair started for this scenario. Without them (no java for DynamoDB Local) the scenario is reported
 * as skipped with the reason instead of failing the whole run.
 *
 * Loaded when it runs, last: its modules (the AWS SDK, esbuild, the Lambda bundles' tooling) would
 * otherwise triple the bench process's heap through every earlier scenario, and a client's garbage
 * collections cost in proportion to the heap they mark.
 */
async function runLambdaMemoryScenario(
  harness: Harness,
  plan: BenchPlan,
  running: HarnessOptions['aws'],
): Promise<LambdaMemoryResult | { skipped: string }> {
  if (plan.lambdaMemory.requests === 0) return { skipped: 'not part of this plan' };
  let started: Awaited<ReturnType<typeof awsEndpoints>> | undefined;
  try {
    const given = harness.aws ?? running;
    if (given === undefined) started = await awsEndpoints(harness.progress);
    const endpoints = given ?? (started as NonNullable<typeof started>).config;
    const { runLambdaMemory } = await import('./scenarios/lambda-memory.ts');
    const result = await runLambdaMemory({
      dynamoEndpoint: endpoints.dynamoEndpoint,
      s3Endpoint: endpoints.s3Endpoint,
      requests: plan.lambdaMemory.requests,
      progress: harness.progress,
    });
    harness.progress(
      `lambda memory: ${result.functions.map((f) => `${f.name} peak ${f.peakRssMb} MB`).join(', ')} of ${result.memoryLimitMb} MB`,
    );
    return result;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    harness.progress(`lambda memory: skipped (${reason})`);
    return { skipped: reason ?? 'unknown' };
  } finally {
    await started?.stop();
  }
}

/** The server process's peak and what it holds at the end; the bench process's own peak beside it. */
async function finalMemory(harness: Harness) {
  const server = await harness.serverMemory();
  return {
    peakRssMb: server.peakMb,
    memoryAtEnd: server.usage,
    clientPeakRssMb: (process.resourceUsage().maxRSS * 1024) / MiB,
  };
}

/** Runs every scenario of `plan` and writes latest.json, report.md and chart.svg into `outDir`. */
export async function runBench(plan: BenchPlan, outDir: string, options: HarnessOptions = {}) {
  const started = performance.now();
  const harness = await startHarness(plan.backend, { ...options, profile: plan.profile === true });
  let outputs: Parameters<typeof buildResults>[1];
  let profiles: ProfileSummary[] | undefined;
  try {
    harness.progress(`${plan.mode} mode on the ${plan.backend} backend, server at ${harness.url}`);
    const rssByScenario: Record<string, number> = {};
    const measure = async <T>(name: string, scenario: () => Promise<T>): Promise<T> => {
      await harness.serverMemory();
      const result = await scenario();
      rssByScenario[name] = Math.round((await harness.serverMemory()).windowPeakMb);
      return result;
    };
    const produce = await measure('produce', () => runProduce(harness, plan));
    const fanOut = await measure('fanOut', () => runFanOut(harness));
    const layers = await measure('layers', () => runLayers(harness, plan));
    const readBack = await measure('readBack', () => runReadBack(harness, plan));
    const endToEnd = await measure('endToEnd', () => runEndToEnd(harness, plan));
    const logLength = await measure('logLength', () => runLogLength(harness, plan));
    const kafka = await measure('kafka', () => runKafka(harness, plan));
    const peers = await measure('peers', () => runPeers(harness, plan));
    const lambdaMemory = await runLambdaMemoryScenario(harness, plan, options.aws);
    outputs = {
      produce,
      fanOut,
      layers,
      readBack,
      endToEnd,
      logLength,
      kafka,
      peers,
      lambdaMemory,
      startRssMb: harness.serverStartRssMb,
      rssByScenario,
      ...(await finalMemory(harness)),
      durationSec: (performance.now() - started) / 1000,
    };
    if (harness.profiler !== undefined)
      profiles = writeProfiles(join(outDir, 'profiles'), harness.profiler.profiles);
  } finally {
    await harness.close();
  }

  const results = buildResults(plan, outputs);
  const checks = checkTargets(results, plan);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify({ ...results, targets: checks }, null, 2)}\n`);
  writeFileSync(join(outDir, 'report.md'), renderReport(results, checks, plan, profiles));
  writeFileSync(join(outDir, 'chart.svg'), renderChart(results));
  return { results, checks };
}

/**
 * `--url`: what a client of an already running server can measure — produce through the SDK, read
 * back, end to end — into remote.json and remote.md (latest.json stays the local run's).
 */
/** Produce, read back and end to end through the SDK against a server the bench did not start. */
export async function measureRemote(plan: BenchPlan, harness: Harness) {
  const started = performance.now();
  const produce = await runProduce(harness, plan);
  const readBack = await runReadBack(harness, plan);
  const endToEnd = await runEndToEnd(harness, plan);
  return buildRemoteResults(plan, {
    produce,
    readBack,
    endToEnd,
    durationSec: (performance.now() - started) / 1000,
  });
}

export async function runRemoteBench(plan: BenchPlan, outDir: string) {
  if (plan.target === undefined) throw new Error('a remote run needs --url');
  const harness = connectHarness(plan.target);
  try {
    harness.progress(`${plan.mode} mode against ${plan.target.url}`);
    const results = await measureRemote(plan, harness);
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'remote.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(outDir, 'remote.md'), renderRemoteReport(results, plan));
    return results;
  } finally {
    // Someone else's server: leave no topic behind (their data is deleted by the server's janitor).
    await harness.client
      .deleteCreatedTopics()
      .catch((error: unknown) => harness.progress(`could not delete every bench topic: ${String(error)}`));
    await harness.close();
  }
}
