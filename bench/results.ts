/**
 * The shape of bench/results/latest.json, built from the scenarios' outputs, and the DESIGN §10 target
 * checks. Keys are always written in the same order and numbers are rounded to 3 significant digits
 * (stats.round), so two runs differ only where the measurements do.
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import {
  kinesisOnDemandCostPerGiB,
  lambdaDurationSensitivity,
  type MeteredUsage,
  mskServerlessCostPerGiB,
  type StreambedCost,
  scaleUsage,
  streambedCost,
} from './cost.ts';
import type { BenchPlan } from './plan.ts';
import { ASSUMPTIONS, PRICES } from './prices.ts';
import type { EndToEndResult } from './scenarios/end-to-end.ts';
import type { LayersResult } from './scenarios/layers.ts';
import type { LogLengthResult } from './scenarios/log-length.ts';
import type { FanOutResult, ProduceConfigResult } from './scenarios/produce.ts';
import type { ReadBackResult } from './scenarios/read-back.ts';
import { GiB, KiB, MiB, round } from './stats.ts';

export interface ScenarioOutputs {
  produce: ProduceConfigResult[];
  fanOut: FanOutResult;
  layers: LayersResult;
  readBack: ReadBackResult[];
  endToEnd: EndToEndResult;
  logLength: LogLengthResult;
  peakRssMb: number;
  startRssMb: number;
  memoryAtEnd: NodeJS.MemoryUsage;
  rssByScenario: Record<string, number>;
  durationSec: number;
}

export interface TargetCheck {
  what: string;
  target: string;
  measured: string;
  status: 'met' | 'missed' | 'not measured';
  /** Where missed (or not measured): what limits it. */
  note: string;
}

export interface StreambedCostEntry extends StreambedCost {
  requestBytes: number;
  /** Lambda cost per GiB added if every invocation took 100 ms (AWS round trips) instead of local time. */
  lambdaAt100msExtra: number;
  usagePerGiB: MeteredUsage;
}

const LABELS: Record<number, string> = {
  [16 * KiB]: 'streambed16KiB',
  [64 * KiB]: 'streambed64KiB',
  [256 * KiB]: 'streambed256KiB',
  [MiB]: 'streambed1MiB',
  [4 * MiB]: 'streambed4MiB',
};

function gitInfo(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8' });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

function roundUsage(usage: MeteredUsage): MeteredUsage {
  const out = { ...usage };
  for (const key of Object.keys(out) as (keyof MeteredUsage)[]) out[key] = round(out[key], 4);
  return out;
}

export function buildResults(plan: BenchPlan, outputs: ScenarioOutputs) {
  const { produce, fanOut, readBack, endToEnd, logLength } = outputs;
  const git = gitInfo();
  const headline = produce.find(
    (c) =>
      c.recordBytes === plan.produce.headline.recordBytes &&
      c.requestBytes === plan.produce.headline.requestBytes &&
      c.concurrency === plan.produce.headline.concurrency,
  );
  if (headline === undefined) throw new Error('the headline produce configuration did not run');
  const fetchHeadline = readBack.find((r) => r.requestBytes === plan.readBack.headlineRequestBytes);
  if (fetchHeadline === undefined) throw new Error('the headline read-back dataset did not run');

  const streambed: Record<string, StreambedCostEntry> = {};
  for (const dataset of readBack) {
    const label = LABELS[dataset.requestBytes] ?? `streambed${dataset.requestBytes}B`;
    const perGiB = scaleUsage(dataset.usage, GiB / dataset.payloadBytes);
    streambed[label] = {
      requestBytes: dataset.requestBytes,
      ...streambedCost(perGiB),
      lambdaAt100msExtra: lambdaDurationSensitivity(perGiB, 100),
      usagePerGiB: roundUsage(perGiB),
    };
  }
  const kinesis = kinesisOnDemandCostPerGiB();
  const msk = mskServerlessCostPerGiB();
  const costOf = (label: string) => streambed[label]?.total ?? Number.NaN;

  const allPuts = produce.reduce(
    (sum, c) => sum + c.objectPutsPerRequest * c.runs.length * c.runs[0]!.requests,
    0,
  );
  const allRequests = produce.reduce((sum, c) => sum + c.runs.length * c.runs[0]!.requests, 0);
  const putsPerProduceRequest = round(allPuts / allRequests);

  return {
    schema: 1,
    run: {
      date: new Date().toISOString(),
      mode: plan.mode,
      backend: plan.backend,
      gitCommit: git.commit,
      gitDirty: git.dirty,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      cores: cpus().length,
      totalMemoryMb: Math.round(totalmem() / MiB),
      durationSec: round(outputs.durationSec),
      runsPerConfiguration: plan.runs,
      note: 'Server, storage and client share one process and its cores (port 0 on 127.0.0.1).',
    },
    putsPerProduceRequest,
    commit: {
      transactionsPerPartition: fanOut.transactionsPerPartition,
      opsPerTransaction: fanOut.opsPerTransaction,
      writeUnitsPerPartition: fanOut.writeUnitsPerPartition,
      largestItemWrittenBytes: fanOut.largestItemWrittenBytes,
      fanOut,
    },
    costPerGiB: {
      streambed4MiB: costOf('streambed4MiB'),
      streambed1MiB: costOf('streambed1MiB'),
      streambed64KiB: costOf('streambed64KiB'),
      streambed16KiB: costOf('streambed16KiB'),
      kinesisOnDemand: kinesis.total,
      mskServerless: msk.total,
    },
    costBreakdown: {
      basis:
        'per GiB of record payload written once and read once (cold read, max_bytes 1 MiB); counted on the read-back datasets and scaled linearly',
      streambed,
      kinesisOnDemand: kinesis,
      mskServerless: msk,
    },
    produce: {
      mibPerSec: headline.mibPerSec,
      recordsPerSec: headline.recordsPerSec,
      p50Ms: headline.latency.p50Ms,
      p99Ms: headline.latency.p99Ms,
      ratioVsRawFs: headline.ratioVsRawFs,
      rawFsMibPerSec: headline.rawFsWriteMibPerSec,
      headline: plan.produce.headline,
      configs: produce,
    },
    fetch: {
      mibPerSec: fetchHeadline.cold.mibPerSec,
      p50Ms: fetchHeadline.cold.latency.p50Ms,
      p99Ms: fetchHeadline.cold.latency.p99Ms,
      ratioVsRawFs: fetchHeadline.ratioVsRawFs,
      rawFsMibPerSec: fetchHeadline.rawFs.readMibPerSec,
      latencyRatioLongVsShortLog: logLength.tailRatio,
      latencyRatioLongVsShortLogHead: logLength.headRatio,
      headline: {
        requestBytes: fetchHeadline.requestBytes,
        maxBytes: fetchHeadline.cold.maxBytes,
        read: 'cold',
      },
      datasets: readBack.map(({ usage: _usage, ...rest }) => rest),
      logLength,
    },
    endToEnd,
    layers: outputs.layers,
    memory: {
      serverRssMb: round(outputs.peakRssMb),
      startRssMb: round(outputs.startRssMb),
      peakRssMbByScenario: outputs.rssByScenario,
      atEndMb: {
        rss: round(outputs.memoryAtEnd.rss / MiB),
        heapUsed: round(outputs.memoryAtEnd.heapUsed / MiB),
        external: round(outputs.memoryAtEnd.external / MiB),
        arrayBuffers: round(outputs.memoryAtEnd.arrayBuffers / MiB),
      },
      note: 'peak RSS of the bench process, which holds the server, storage adapters and the client',
    },
    prices: PRICES,
    assumptions: ASSUMPTIONS,
  };
}

export type BenchResults = ReturnType<typeof buildResults>;

const money = (usd: number) => `$${usd.toFixed(4)}`;

export function checkTargets(results: BenchResults, plan: BenchPlan): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const met = (ok: boolean): TargetCheck['status'] => (ok ? 'met' : 'missed');
  const { commit, costPerGiB, produce, fetch, memory } = results;

  checks.push({
    what: 'S3 PUTs per produce request',
    target: 'exactly 1',
    measured: `${results.putsPerProduceRequest} (all produce requests); ${commit.fanOut.objectPutsPerRequest} with ${commit.fanOut.partitions} partitions per request`,
    status: met(results.putsPerProduceRequest === 1 && commit.fanOut.objectPutsPerRequest === 1),
    note: '',
  });
  checks.push({
    what: 'metadata writes per partition per produce request',
    target: 'one two-item commit',
    measured: `${commit.transactionsPerPartition} transaction of ${commit.opsPerTransaction} items per partition (${commit.writeUnitsPerPartition} WRU, largest item ${commit.largestItemWrittenBytes} B)`,
    status: met(commit.transactionsPerPartition === 1 && commit.opsPerTransaction === 2),
    note: '',
  });
  const at1 = costPerGiB.streambed1MiB;
  checks.push({
    what: 'cost per GiB written + read once, 1 MiB requests',
    target: '≤ $0.02',
    measured: money(at1),
    status: met(at1 <= 0.02),
    note: at1 <= 0.02 ? '' : costNote(results, 'streambed1MiB'),
  });
  const at4 = costPerGiB.streambed4MiB;
  checks.push({
    what: 'cost per GiB written + read once, 4 MiB requests',
    target: '≤ $0.01',
    measured: money(at4),
    status: met(at4 <= 0.01),
    note: at4 <= 0.01 ? '' : costNote(results, 'streambed4MiB'),
  });
  checks.push({
    what: 'local produce throughput vs raw file writes',
    target: '≥ 0.5×',
    measured: `${produce.ratioVsRawFs}× (${produce.mibPerSec} vs ${produce.rawFsMibPerSec} MiB/s)`,
    status: met(produce.ratioVsRawFs >= 0.5),
    note: produce.ratioVsRawFs >= 0.5 ? '' : produceLimit(results),
  });
  checks.push({
    what: 'local fetch throughput vs raw file reads',
    target: '≥ 0.5×',
    measured: `${fetch.ratioVsRawFs}× (${fetch.mibPerSec} vs ${fetch.rawFsMibPerSec} MiB/s)`,
    status: met(fetch.ratioVsRawFs >= 0.5),
    note: fetch.ratioVsRawFs >= 0.5 ? '' : fetchLimit(results),
  });
  const worst = Math.max(fetch.latencyRatioLongVsShortLog, fetch.latencyRatioLongVsShortLogHead);
  const { logLength } = fetch;
  checks.push({
    what: `fetch latency, long log (${logLength.longBatches} batches) vs short (${logLength.shortBatches})`,
    target: '≤ 1.5×',
    measured: `tail ${fetch.latencyRatioLongVsShortLog}×, head ${fetch.latencyRatioLongVsShortLogHead}×`,
    status: met(worst <= 1.5),
    note: [
      plan.logLength.longBatches < 100_000
        ? `quick mode: the long log has ${plan.logLength.longBatches} batches, not 1e5.`
        : '',
      worst <= 1.5 ? '' : 'see the per-fetch storage calls in the log-length table',
    ]
      .filter((part) => part !== '')
      .join(' '),
  });
  checks.push({
    what: 'memory: local server RSS through the quick bench',
    target: '≤ 256 MB',
    measured: `${memory.serverRssMb} MB peak (whole bench process)`,
    status:
      plan.mode === 'quick' && plan.backend === 'embedded' ? met(memory.serverRssMb <= 256) : 'not measured',
    note:
      plan.mode === 'quick' && plan.backend === 'embedded'
        ? 'upper bound: the client and its request bodies share the process'
        : `the target is defined for the quick bench on the embedded backend; this run is ${plan.mode}/${plan.backend}`,
  });
  checks.push({
    what: 'memory: every Lambda fits 512 MB with a maximal request',
    target: '≤ 512 MB',
    measured: '—',
    status: 'not measured',
    note: 'needs the Lambda handlers under a maximal request; not part of this bench',
  });
  checks.push({
    what: 'Lambda bundles',
    target: '≤ 1 MB each',
    measured: '—',
    status: 'not measured',
    note: 'a build check (esbuild metafile), not a runtime measurement',
  });
  return checks;
}

const stepMs = (steps: readonly { step: string; p50Ms: number }[], prefix: string): number =>
  steps.find((s) => s.step.trim().startsWith(prefix))?.p50Ms ?? Number.NaN;

/** What the layer timings say about one headline produce request. */
function produceLimit(results: BenchResults): string {
  const steps = results.layers.produce;
  const http = stepMs(steps, 'HTTP produce');
  const core = stepMs(steps, 'core produce');
  return `one ${results.layers.requestBytes / MiB} MiB request alone: HTTP produce ${http} ms = HTTP transport and client ${round(http - core)} ms + core ${core} ms (object put ${stepMs(steps, 'object store put')} ms, batch encoding ${stepMs(steps, 'encode record batch')} ms of which CRC-32C ${stepMs(steps, 'of which CRC-32C')} ms, the rest metadata and copies) vs raw write ${stepMs(steps, 'raw fs')} ms; with several producers the 2 cores are shared by client and server`;
}

function fetchLimit(results: BenchResults): string {
  const steps = results.layers.fetch;
  const http = stepMs(steps, 'HTTP fetch');
  const core = stepMs(steps, 'core fetchBatches');
  return `one ${results.layers.requestBytes / MiB} MiB fetch alone: HTTP fetch ${http} ms = HTTP transport and client ${round(http - core)} ms + core ${core} ms (object get ${stepMs(steps, 'object store get')} ms, the rest metadata reads and joining the batches into one buffer) vs raw read ${stepMs(steps, 'raw fs')} ms`;
}

function costNote(results: BenchResults, label: string): string {
  const entry = results.costBreakdown.streambed[label];
  if (entry === undefined) return 'not measured';
  const parts: [string, number][] = [
    ['S3', entry.s3],
    ['DynamoDB', entry.dynamodb],
    ['API Gateway', entry.apiGateway],
    ['Lambda', entry.lambda],
  ];
  parts.sort((a, b) => b[1] - a[1]);
  return `largest share: ${parts[0]?.[0]} ${money(parts[0]?.[1] ?? 0)}/GiB`;
}
