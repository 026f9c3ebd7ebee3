/**
 * The shape of bench/results/latest.json, built from the scenarios' outputs, and the DESIGN §10 target
 * checks. Keys are always written in the same order and numbers are rounded to 3 significant digits
 * (stats.round), so two runs differ only where the measurements do.
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  kinesisOnDemandCostPerGiB,
  lambdaDurationSensitivity,
  type MeteredUsage,
  mskServerlessCostPerGiB,
  type StreambedCost,
  scaleUsage,
  streambedCost,
} from './cost.ts';
import { type CpuPerMiB, describeCpu } from './cpu.ts';
import { peerChecks, peerTable } from './peers/table.ts';
import { type BenchPlan, isHeadline } from './plan.ts';
import { ASSUMPTIONS, PRICES } from './prices.ts';
import type { EndToEndResult } from './scenarios/end-to-end.ts';
import type { KafkaResult } from './scenarios/kafka.ts';
import type { LambdaMemoryResult } from './scenarios/lambda-memory.ts';
import type { LayersResult } from './scenarios/layers.ts';
import type { LogLengthResult } from './scenarios/log-length.ts';
import type { PeersResult } from './scenarios/peers.ts';
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
  kafka: KafkaResult | { skipped: string };
  /** Redis Streams, NATS JetStream and Streambed's HTTP forms on the same records (scenarios/peers.ts). */
  peers: PeersResult;
  lambdaMemory: LambdaMemoryResult | { skipped: string };
  /** Peak RSS of the server process. */
  peakRssMb: number;
  /** Peak RSS of the bench process (the SDK client and the scenarios), for comparison. */
  clientPeakRssMb: number;
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
    const cwd = fileURLToPath(new URL('..', import.meta.url));
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    // Results written by earlier runs are not the measured code.
    const status = execFileSync('git', ['status', '--porcelain', '--', '.', ':!bench/results'], {
      cwd,
      encoding: 'utf8',
    });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

/** The produce configuration whose numbers are the headline. */
const headlineOf = (plan: BenchPlan, produce: readonly ProduceConfigResult[]) =>
  produce.find((c) => isHeadline(c, plan));

/** When, where and from what code a run was made. */
export function runInfo(plan: BenchPlan, durationSec: number) {
  const git = gitInfo();
  return {
    date: new Date().toISOString(),
    mode: plan.mode,
    gitCommit: git.commit,
    gitDirty: git.dirty,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    durationSec: round(durationSec),
    runsPerConfiguration: plan.runs,
  };
}

function roundUsage(usage: MeteredUsage): MeteredUsage {
  const out = { ...usage };
  for (const key of Object.keys(out) as (keyof MeteredUsage)[]) out[key] = round(out[key], 4);
  return out;
}

/**
 * The Kafka client numbers beside the SDK headlines of the same run: ratio = Kafka client MiB/s / SDK
 * MiB/s (binary produce headline; cold fetch headline for kcat and the KafkaJS consumer).
 */
function kafkaSection(kafka: ScenarioOutputs['kafka'], sdkProduce: number, sdkFetch: number) {
  if ('skipped' in kafka) return kafka;
  const { produce, fetch } = kafka;
  // The broker's port changes from run to run: left out, like the server's.
  return {
    produce: {
      client: produce.client,
      mibPerSec: produce.mibPerSec,
      recordsPerSec: produce.recordsPerSec,
      p50Ms: produce.latency.p50Ms,
      p99Ms: produce.latency.p99Ms,
      ratioVsSdk: round(produce.mibPerSec / sdkProduce),
      sdkMibPerSec: sdkProduce,
      objectPutsPerProduceRequest: produce.objectPutsPerProduceRequest,
      details: produce,
    },
    fetch:
      'skipped' in fetch
        ? fetch
        : {
            client: fetch.client,
            mibPerSec: fetch.mibPerSec,
            recordsPerSec: fetch.recordsPerSec,
            ratioVsSdk: round(fetch.mibPerSec / sdkFetch),
            sdkMibPerSec: sdkFetch,
            details: fetch,
          },
    kafkajsConsumer: {
      client: kafka.kafkajsConsumer.client,
      mibPerSec: kafka.kafkajsConsumer.mibPerSec,
      recordsPerSec: kafka.kafkajsConsumer.recordsPerSec,
      joinMs: kafka.kafkajsConsumer.joinMs,
      ratioVsSdk: round(kafka.kafkajsConsumer.mibPerSec / sdkFetch),
      sdkMibPerSec: sdkFetch,
      details: kafka.kafkajsConsumer,
    },
  };
}

/** One baseline of a headline: the same bytes without Streambed, and Streambed's MiB/s over it. */
export interface Baseline {
  what: string;
  mibPerSec: number;
  /** Streambed MiB/s / this baseline's MiB/s. */
  ratio: number;
}

const baseline = (what: string, mibPerSec: number, streambed: number): Baseline => ({
  what,
  mibPerSec,
  ratio: round(streambed / mibPerSec),
});

/** The produce headline against each baseline of the same bodies at the same concurrency. */
function produceBaselines(headline: ProduceConfigResult) {
  const { mibPerSec } = headline;
  return {
    bareHttpSdkClient: baseline(
      "bare HTTP POST, the SDK's client (node:http)",
      headline.bareHttpMibPerSec,
      mibPerSec,
    ),
    bareFetch: baseline('bare HTTP POST, fetch (undici)', headline.bareFetchMibPerSec, mibPerSec),
    rawWriteLikeStore: baseline(
      'raw write as the fs object store writes',
      headline.rawFsWriteMibPerSec,
      mibPerSec,
    ),
    rawWriteFsync: baseline('raw write + fsync', headline.rawFsPlainWriteMibPerSec, mibPerSec),
    storeOnly: baseline(
      'the same SDK producers, to a server that only stores each body as the fs object store writes and answers',
      headline.storeOnlyMibPerSec,
      mibPerSec,
    ),
  };
}

/** The fetch headline (cold) against each baseline of the same response sizes, one at a time. */
function fetchBaselines(dataset: ReadBackResult) {
  const mibPerSec = dataset.cold.mibPerSec;
  return {
    bareHttpSdkClient: baseline(
      "bare HTTP GET, the SDK's client (node:http)",
      dataset.bareHttpMibPerSec,
      mibPerSec,
    ),
    bareFetch: baseline('bare HTTP GET, fetch (undici)', dataset.bareFetchMibPerSec, mibPerSec),
    rawRead: baseline('raw read', dataset.rawFs.readMibPerSec, mibPerSec),
  };
}

/**
 * CPU per MiB of a headline and of its bare transport with the SDK's client (bench/cpu.ts): what the
 * two processes spend, and how busy they kept the cores. Absent for a server reached by --url.
 */
function cpuSection(measured: {
  cpu?: CpuPerMiB;
  bareHttpCpu?: CpuPerMiB;
  storeOnlyCpu?: CpuPerMiB;
}): { streambed: CpuPerMiB; bareHttpSdkClient: CpuPerMiB; storeOnly?: CpuPerMiB } | undefined {
  return measured.cpu === undefined || measured.bareHttpCpu === undefined
    ? undefined
    : {
        streambed: measured.cpu,
        bareHttpSdkClient: measured.bareHttpCpu,
        ...(measured.storeOnlyCpu === undefined ? {} : { storeOnly: measured.storeOnlyCpu }),
      };
}

/**
 * The raw writes of the produce headline's bytes with their CPU per MiB (the bench process alone):
 * fresh files as the fs object store writes them, and one file per writer rewritten (warm pages).
 * Absent for a server reached by --url.
 */
function rawWritesSection(headline: ProduceConfigResult) {
  const { rawFsWriteCpu, rawFsRewriteCpu } = headline;
  return rawFsWriteCpu === undefined || rawFsRewriteCpu === undefined
    ? undefined
    : {
        freshLikeStore: { mibPerSec: headline.rawFsWriteMibPerSec, cpu: rawFsWriteCpu },
        rewrite: { mibPerSec: headline.rawFsRewriteMibPerSec, cpu: rawFsRewriteCpu },
      };
}

export function buildResults(plan: BenchPlan, outputs: ScenarioOutputs) {
  const { produce, fanOut, readBack, endToEnd, logLength } = outputs;
  const headline = headlineOf(plan, produce);
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
      ...runInfo(plan, outputs.durationSec),
      backend: plan.backend,
      totalMemoryMb: Math.round(totalmem() / MiB),
      note: "The server and its storage run in a process of their own (port 0 on 127.0.0.1); the clients share the machine's cores with it: the headlines' producers and consumer in a client process of its own, the smaller scenarios' clients in the bench process.",
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
      ratioVsBareHttp: headline.ratioVsBareHttp,
      bareHttpMibPerSec: headline.bareHttpMibPerSec,
      baselines: produceBaselines(headline),
      cpu: cpuSection(headline),
      rawWrites: rawWritesSection(headline),
      headline: plan.produce.headline,
      configs: produce,
    },
    fetch: {
      mibPerSec: fetchHeadline.cold.mibPerSec,
      p50Ms: fetchHeadline.cold.latency.p50Ms,
      p99Ms: fetchHeadline.cold.latency.p99Ms,
      ratioVsRawFs: fetchHeadline.ratioVsRawFs,
      rawFsMibPerSec: fetchHeadline.rawFs.readMibPerSec,
      ratioVsBareHttp: fetchHeadline.ratioVsBareHttp,
      bareHttpMibPerSec: fetchHeadline.bareHttpMibPerSec,
      baselines: fetchBaselines(fetchHeadline),
      cpu: cpuSection(fetchHeadline),
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
    kafka: kafkaSection(outputs.kafka, headline.mibPerSec, fetchHeadline.cold.mibPerSec),
    peers: peerTable(outputs.peers, outputs.kafka),
    endToEnd,
    layers: outputs.layers,
    lambda: outputs.lambdaMemory,
    memory: {
      serverRssMb: round(outputs.peakRssMb),
      startRssMb: round(outputs.startRssMb),
      clientRssMb: round(outputs.clientPeakRssMb),
      peakRssMbByScenario: outputs.rssByScenario,
      atEndMb: {
        rss: round(outputs.memoryAtEnd.rss / MiB),
        heapUsed: round(outputs.memoryAtEnd.heapUsed / MiB),
        external: round(outputs.memoryAtEnd.external / MiB),
        arrayBuffers: round(outputs.memoryAtEnd.arrayBuffers / MiB),
      },
      note: 'peak RSS of the server process (HTTP server, core, storage adapters), measured alone; the clients run in processes of their own',
    },
    prices: PRICES,
    assumptions: ASSUMPTIONS,
  };
}

export type BenchResults = ReturnType<typeof buildResults>;

/** What a remote run (--url) measures: the client's view only. */
export function buildRemoteResults(
  plan: BenchPlan,
  outputs: Pick<ScenarioOutputs, 'produce' | 'readBack' | 'endToEnd' | 'durationSec'>,
) {
  const headline = headlineOf(plan, outputs.produce);
  const fetchHeadline = outputs.readBack.find((r) => r.requestBytes === plan.readBack.headlineRequestBytes);
  return {
    schema: 1,
    run: {
      ...runInfo(plan, outputs.durationSec),
      url: plan.target?.url ?? '',
      signedWith: plan.target?.aws ? 'SigV4' : plan.target?.token ? 'bearer token' : 'nothing',
      note: 'Measured from this machine through the SDK; network, API Gateway and Lambda are part of every number.',
    },
    produce: {
      mibPerSec: headline?.mibPerSec ?? Number.NaN,
      recordsPerSec: headline?.recordsPerSec ?? Number.NaN,
      p50Ms: headline?.latency.p50Ms ?? Number.NaN,
      p99Ms: headline?.latency.p99Ms ?? Number.NaN,
      headline: plan.produce.headline,
      // Only what a client sees: no storage counts, no local baselines.
      configs: outputs.produce.map((c) => ({
        recordBytes: c.recordBytes,
        requestBytes: c.requestBytes,
        concurrency: c.concurrency,
        recordsPerRequest: c.recordsPerRequest,
        payloadBytesPerRequest: c.payloadBytesPerRequest,
        runs: c.runs.map(({ requests, records, payloadBytes, seconds, mibPerSec, recordsPerSec }) => ({
          requests,
          records,
          payloadBytes,
          seconds,
          mibPerSec,
          recordsPerSec,
        })),
        mibPerSec: c.mibPerSec,
        recordsPerSec: c.recordsPerSec,
        latency: c.latency,
      })),
    },
    fetch: {
      mibPerSec: fetchHeadline?.cold.mibPerSec ?? Number.NaN,
      p50Ms: fetchHeadline?.cold.latency.p50Ms ?? Number.NaN,
      p99Ms: fetchHeadline?.cold.latency.p99Ms ?? Number.NaN,
      datasets: outputs.readBack.map((d) => ({
        requestBytes: d.requestBytes,
        recordsPerRequest: d.recordsPerRequest,
        requestsPerRun: d.requestsPerRun,
        produce: d.produce,
        cold: (({ objectGetsPerFetch: _g, indexQueriesPerFetch: _q, ...cold }) => cold)(d.cold),
        warm: d.warm,
      })),
    },
    endToEnd: outputs.endToEnd,
  };
}

export type RemoteResults = ReturnType<typeof buildRemoteResults>;

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
  const { kafka } = results;
  checks.push({
    what: 'S3 PUTs per Kafka Produce request',
    target: 'exactly 1',
    measured:
      'skipped' in kafka
        ? '—'
        : `${kafka.produce.objectPutsPerProduceRequest} (${kafka.produce.client}, ${kafka.produce.details.sendsPerRun * kafka.produce.details.runs.length} Produce requests)`,
    status: 'skipped' in kafka ? 'not measured' : met(kafka.produce.objectPutsPerProduceRequest === 1),
    note: 'skipped' in kafka ? `the Kafka scenario was skipped: ${kafka.skipped}` : '',
  });
  const costCheck = (label: 'streambed1MiB' | 'streambed4MiB', requests: string, limit: number) => {
    const usd = costPerGiB[label];
    checks.push({
      what: `cost per GiB written + read once, ${requests} requests`,
      target: `≤ $${limit}`,
      measured: money(usd),
      status: met(usd <= limit),
      note: usd <= limit ? '' : costNote(results, label),
    });
  };
  costCheck('streambed1MiB', '1 MiB', 0.02);
  costCheck('streambed4MiB', '4 MiB', 0.01);
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
  checks.push(...transportChecks(results));
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
    measured: `${memory.serverRssMb} MB peak (server process)`,
    status:
      plan.mode === 'quick' && plan.backend === 'embedded' ? met(memory.serverRssMb <= 256) : 'not measured',
    note:
      plan.mode === 'quick' && plan.backend === 'embedded'
        ? ''
        : `the target is defined for the quick bench on the embedded backend; this run is ${plan.mode}/${plan.backend}`,
  });
  const { lambda } = results;
  if ('skipped' in lambda) {
    for (const what of ['memory: every Lambda fits 512 MB with a maximal request', 'Lambda bundles']) {
      checks.push({
        what,
        target: what.startsWith('memory') ? '≤ 512 MB' : '≤ 1 MB each',
        measured: '—',
        status: 'not measured',
        note: `the Lambda scenario was skipped: ${lambda.skipped}`,
      });
    }
  } else {
    const worst = Math.max(...lambda.functions.map((f) => f.peakRssMb));
    checks.push({
      what: 'memory: every Lambda fits 512 MB with a maximal request',
      target: '≤ 512 MB',
      measured: `${lambda.functions.map((f) => `${f.name} ${f.peakRssMb} MB`).join(', ')} peak RSS (${lambda.functions[0]?.invocations} maximal requests each, deployed bundles)`,
      status: met(worst <= lambda.memoryLimitMb),
      note: '',
    });
    const largest = Math.max(...Object.values(lambda.bundleBytes));
    checks.push({
      what: 'Lambda bundles',
      target: '≤ 1 MB each',
      measured: Object.entries(lambda.bundleBytes)
        .map(([name, bytes]) => `${name} ${round(bytes / 1e6)} MB`)
        .join(', '),
      status: met(largest <= 1e6),
      note: '',
    });
  }
  checks.push(...peerChecks(results.peers));
  return checks;
}

/** The headlines' share of the bare transport with the SDK's client: the bench's target, and DESIGN §10's. */
const TRANSPORT_TARGET = 0.5;
const DESIGN_TRANSPORT_TARGET = 0.8;

const stepMs = (steps: readonly { step: string; p50Ms: number }[], prefix: string): number =>
  steps.find((s) => s.step.trim().startsWith(prefix))?.p50Ms ?? Number.NaN;

/**
 * Streambed's headlines against the bare transport with the SDK's own client: ≥ 0.5× each. DESIGN §10
 * asks more of the transport floor (≥ 0.8×); a ratio between the two is met here and says it is
 * below DESIGN's.
 */
function transportChecks(results: BenchResults): TargetCheck[] {
  const { produce, fetch } = results;
  const check = (what: string, streambed: number, bare: Baseline, limit: () => string): TargetCheck => ({
    what,
    target: `≥ ${TRANSPORT_TARGET}× (DESIGN §10: ≥ ${DESIGN_TRANSPORT_TARGET}×)`,
    measured: `${bare.ratio}× (${streambed} vs ${bare.mibPerSec} MiB/s)`,
    status: bare.ratio >= TRANSPORT_TARGET ? 'met' : 'missed',
    note:
      bare.ratio < TRANSPORT_TARGET
        ? limit()
        : bare.ratio < DESIGN_TRANSPORT_TARGET
          ? `below DESIGN §10's ${DESIGN_TRANSPORT_TARGET}×: ${limit()}`
          : '',
  });
  return [
    check(
      "local produce throughput vs the bare transport POST with the SDK's client",
      produce.mibPerSec,
      produce.baselines.bareHttpSdkClient,
      () => `${storeOnlyNote(produce.baselines)}${produceSteps(results)}`,
    ),
    check(
      "local fetch throughput vs the bare transport GET with the SDK's client",
      fetch.mibPerSec,
      fetch.baselines.bareHttpSdkClient,
      () => fetchSteps(results),
    ),
  ];
}

/**
 * What the baselines say about a raw-fs ratio: the transport with the SDK's client is named as a cap
 * only where it measured below half the raw rate (then no server behind that client could reach 0.5×).
 */
function transportVsRaw(bare: Baseline, raw: Baseline): string {
  const share = round(bare.mibPerSec / raw.mibPerSec);
  return share < 0.5
    ? `the bare transport with the SDK's client alone reaches ${share}× raw here (${bare.mibPerSec} vs ${raw.mibPerSec} MiB/s), so it caps this ratio below 0.5`
    : `the bare transport with the SDK's client reaches ${share}× raw here (${bare.mibPerSec} vs ${raw.mibPerSec} MiB/s): HTTP is not what caps this ratio`;
}

/** What the layer timings say about one headline produce request. */
function produceSteps(results: BenchResults): string {
  const steps = results.layers.produce;
  const http = stepMs(steps, 'HTTP produce');
  const core = stepMs(steps, 'core produce');
  return `One ${results.layers.requestBytes / MiB} MiB request alone: HTTP produce ${http} ms = HTTP transport and SDK ${round(http - core)} ms (bare POST ${stepMs(steps, 'bare HTTP POST of the same body, the SDK')} ms with the SDK's client, ${stepMs(steps, 'bare HTTP POST of the same body, fetch')} ms with fetch) + core ${core} ms (object put ${stepMs(steps, 'object store put')} ms, batch encoding ${stepMs(steps, 'encode record batch')} ms of which CRC-32C ${stepMs(steps, 'of which CRC-32C')} ms, the rest metadata and copies) vs raw write ${stepMs(steps, 'raw fs')} ms; client and server share ${results.run.cores} cores. ${cpuNote(results.produce.cpu, 'POST')}${rawWriteNote(results)}`;
}

/** What writing the same bytes costs the machine by itself, beside the server's CPU per MiB. */
function rawWriteNote(results: BenchResults): string {
  const raw = results.produce.rawWrites;
  if (raw === undefined) return '';
  const { freshLikeStore: fresh, rewrite } = raw;
  return ` The raw write of the same bytes, as the store writes them into fresh files, costs ${fresh.cpu.ms} ms CPU per MiB (${fresh.cpu.systemMs} kernel) by itself; rewriting one file per writer, whose page cache is warm, ${rewrite.cpu.ms} (${rewrite.cpu.systemMs}) at ${rewrite.mibPerSec} MiB/s: the kernel's cost of filling fresh page-cache pages is part of every produced MiB's.`;
}

/** What the CPU per MiB says about a headline (bench/cpu.ts), beside its bare transport. */
function cpuNote(
  cpu: { streambed: CpuPerMiB; bareHttpSdkClient: CpuPerMiB } | undefined,
  bare: 'POST' | 'GET',
): string {
  if (cpu === undefined) return '';
  const { streambed, bareHttpSdkClient } = cpu;
  return `CPU: ${describeCpu(streambed)}, so at most ${streambed.ceilingMibPerSec} MiB/s at this CPU per MiB; the bare ${bare} with the SDK's client: ${describeCpu(bareHttpSdkClient)}.`;
}

function fetchSteps(results: BenchResults): string {
  const steps = results.layers.fetch;
  const http = stepMs(steps, 'HTTP fetch');
  const core = stepMs(steps, 'core fetchBatches');
  return `One ${results.layers.requestBytes / MiB} MiB fetch alone: HTTP fetch ${http} ms = HTTP transport and SDK ${round(http - core)} ms (bare GET ${stepMs(steps, 'bare HTTP GET of the same bytes, the SDK')} ms with the SDK's client, ${stepMs(steps, 'bare HTTP GET of the same bytes, fetch')} ms with fetch) + core ${core} ms (object get ${stepMs(steps, 'object store get')} ms, the rest metadata reads) vs raw read ${stepMs(steps, 'raw fs')} ms. ${cpuNote(results.fetch.cpu, 'GET')}`;
}

function produceLimit(results: BenchResults): string {
  const { baselines } = results.produce;
  return `${transportVsRaw(baselines.bareHttpSdkClient, baselines.rawWriteLikeStore)}; Streambed keeps ${baselines.bareHttpSdkClient.ratio}× of that transport. ${storeOnlyNote(baselines)}${produceSteps(results)}`;
}

/**
 * What the store-only produce says: how much of the bare POST the same SDK producers keep when the
 * server only stores each body, and Streambed's share of that.
 */
function storeOnlyNote(baselines: ReturnType<typeof produceBaselines>): string {
  const { storeOnly, bareHttpSdkClient: bare } = baselines;
  if (!(storeOnly.mibPerSec > 0)) return '';
  return `The same SDK producers against a server that only stores each body durably and answers reach ${storeOnly.mibPerSec} MiB/s, ${round(storeOnly.mibPerSec / bare.mibPerSec)}× that bare POST: Streambed keeps ${storeOnly.ratio}× of it. `;
}

function fetchLimit(results: BenchResults): string {
  const { baselines } = results.fetch;
  return `${transportVsRaw(baselines.bareHttpSdkClient, baselines.rawRead)}; Streambed keeps ${baselines.bareHttpSdkClient.ratio}× of that transport. ${fetchSteps(results)}`;
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
