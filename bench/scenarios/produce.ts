/**
 * Produce throughput and latency through the SDK producer (which sends the binary produce form), per
 * record size x request size x concurrency. Each of the concurrent producers is its own SDK `Producer`
 * sending one request's worth of messages per `send` to a partition of its own: every run is on a fresh
 * topic with one partition per producer, so producers never contend (contention would measure the
 * retry jitter, not the write path). Each producer's `batchBytes` is its request size, so a `send` goes
 * out at once as exactly one request; its latency is the `send` call's, from the messages to their
 * offsets. Each Streambed run is followed by the baselines of the same bytes, so drift on a shared
 * machine hits all of them: the raw filesystem (raw-fs.ts) and the bare transport with the SDK's client
 * and with fetch (bench/baselines.ts), the same bodies at the same concurrency, and the same SDK
 * producers against a server that only stores each body durably and answers (the store-only produce).
 */
import { randomBytes } from 'node:crypto';
import type { ProduceRecord } from '../../client/wire/binary.ts';
import { encodeProduceBody } from '../../client/wire/binary.ts';
import { measureBarePost, measureStoreOnly } from '../baselines.ts';
import { type CpuPerMiB, cpuPerMiB, describeCpu, medianCpu } from '../cpu.ts';
import type { Harness } from '../harness.ts';
import { type BenchPlan, isHeadline, type ProduceConfig, recordsPerRequest } from '../plan.ts';
import { formatBytes, type LatencySummary, MiB, median, round, summarize } from '../stats.ts';
import { medianRawCpu, type RawCpu, rawWriteRead } from './raw-fs.ts';

export interface ProduceRun {
  requests: number;
  records: number;
  payloadBytes: number;
  seconds: number;
  mibPerSec: number;
  recordsPerSec: number;
  rawFsWriteMibPerSec: number;
  rawFsPlainWriteMibPerSec: number;
  rawFsReadMibPerSec: number;
  /** The plain write + fsync rewriting one file per writer (warm page cache). */
  rawFsRewriteMibPerSec: number;
  /** CPU per MiB of the store-like raw write, and of the rewrite (a local server only). */
  rawFsWriteCpu?: RawCpu;
  rawFsRewriteCpu?: RawCpu;
  /** The bare transport receiving the same bodies at the same concurrency through the SDK's client (node:http), payload MiB/s. */
  bareHttpMibPerSec: number;
  /** The same through the global fetch (undici). */
  bareFetchMibPerSec: number;
  /** The same SDK producers against the bare server's store-only produce (bench/bare-server.ts), payload MiB/s. */
  storeOnlyMibPerSec: number;
  /** CPU per MiB of the server and the client process (a local server only). */
  cpu?: CpuPerMiB;
  /** The same for the bare transport with the SDK's client. */
  bareHttpCpu?: CpuPerMiB;
  /** The same for the SDK producers against the store-only produce. */
  storeOnlyCpu?: CpuPerMiB;
}

export interface ProduceConfigResult extends ProduceConfig {
  recordsPerRequest: number;
  payloadBytesPerRequest: number;
  runs: ProduceRun[];
  /** Medians over the runs. */
  mibPerSec: number;
  recordsPerSec: number;
  /** Raw writes as the fs object store makes them (its fsyncs when the server makes them). */
  rawFsWriteMibPerSec: number;
  ratioVsRawFs: number;
  /** Raw write + fsync of one file per request, nothing else. */
  rawFsPlainWriteMibPerSec: number;
  ratioVsRawFsPlainWrite: number;
  /** The same plain write + fsync rewriting one file per writer: the page cache reuses its pages. */
  rawFsRewriteMibPerSec: number;
  /** Medians of the raw writes' CPU per MiB (bench process): fresh files as the store writes, and the rewrite. */
  rawFsWriteCpu?: RawCpu;
  rawFsRewriteCpu?: RawCpu;
  /** The bare transport with the SDK's client (node:http). */
  bareHttpMibPerSec: number;
  /** MiB/s / bare transport MiB/s with the SDK's client: what Streambed keeps of what that transport allows. */
  ratioVsBareHttp: number;
  /** The bare transport with fetch (undici) as the client. */
  bareFetchMibPerSec: number;
  ratioVsBareFetch: number;
  /**
   * The same SDK producers against a server that only receives each body, writes it durably into a
   * fresh file as the fs object store writes and answers the offsets: what producing these records
   * durably costs with no log behind the route.
   */
  storeOnlyMibPerSec: number;
  ratioVsStoreOnly: number;
  /** Medians over the runs of each run's CPU per MiB (bench/cpu.ts): Streambed's, the bare transport's, the store-only produce's. */
  cpu?: CpuPerMiB;
  bareHttpCpu?: CpuPerMiB;
  storeOnlyCpu?: CpuPerMiB;
  /** Over every request of every run. */
  latency: LatencySummary;
  /** Storage calls per produce request, over all runs. */
  objectPutsPerRequest: number;
  transactionsPerRequest: number;
  opsPerTransaction: number;
  conflicts: number;
}

/** Deterministic-looking but incompressible values, sliced from one random pool. */
const pool = randomBytes(8 * MiB);
export function payloadOf(bytes: number, seed = 0): Uint8Array {
  const start = (seed * 7919) % (pool.byteLength - bytes);
  return pool.subarray(start, start + bytes);
}

export function produceBody(recordBytes: number, count: number, partition?: number): Uint8Array {
  const records: ProduceRecord[] = Array.from({ length: count }, (_, i) => ({
    key: null,
    value: payloadOf(recordBytes, i),
    headers: [],
    ...(partition === undefined ? {} : { partition }),
  }));
  return encodeProduceBody(records);
}

export function requestCount(
  payloadPerRequest: number,
  plan: { volumeBytes: number; minRequests: number; maxRequests?: number },
): number {
  const wanted = Math.ceil(plan.volumeBytes / payloadPerRequest);
  return Math.min(plan.maxRequests ?? Number.POSITIVE_INFINITY, Math.max(plan.minRequests, wanted));
}

let topicSeq = 0;
export const freshTopic = (prefix: string): string => `${prefix}-${process.pid}-${++topicSeq}`;

export async function runProduce(harness: Harness, plan: BenchPlan): Promise<ProduceConfigResult[]> {
  const results: ProduceConfigResult[] = [];
  for (const config of plan.produce.configs) {
    const perRequest = recordsPerRequest(config.recordBytes, config.requestBytes);
    const payloadPerRequest = perRequest * config.recordBytes;
    const requests = requestCount(payloadPerRequest, plan.produce);
    const profiler = isHeadline(config, plan) ? harness.profiler : undefined;
    const label = `${formatBytes(config.recordBytes)} records x ${formatBytes(config.requestBytes)} requests x ${config.concurrency}`;
    const runs: ProduceRun[] = [];
    const latencies: number[] = [];
    let puts = 0;
    let transactions = 0;
    let ops = 0;
    let conflicts = 0;
    for (let run = 0; run < plan.runs; run++) {
      const topic = freshTopic('produce');
      await harness.client.createTopic(topic, config.concurrency);
      // The profiler starts before the phase and stops after it, so that the server CPU the phase
      // counts leaves out the profiler's start and its profile's serialization.
      await profiler?.start('produce');
      await harness.beginPhase({ collect: true });
      const pass = await harness.clientProcess.produce({
        topic,
        concurrency: config.concurrency,
        requests,
        recordBytes: config.recordBytes,
        recordsPerRequest: perRequest,
        collect: true,
      });
      const { seconds, cpu: clientCpu } = pass;
      latencies.push(...pass.latencies);
      const counts = await harness.endPhase();
      await profiler?.stop('produce');
      puts += counts.objects.puts;
      transactions += counts.meta.transacts;
      ops += counts.meta.opsPerTransaction.reduce((sum, n) => sum + n, 0);
      conflicts += counts.meta.conflicts;
      const payloadBytes = requests * payloadPerRequest;
      // Baselines beside a local server only (a remote one runs on another machine).
      const raw = harness.local
        ? await rawWriteRead(harness.scratchDir, {
            files: requests,
            payload: payloadOf(payloadPerRequest),
            writeConcurrency: config.concurrency,
            readConcurrency: config.concurrency,
            fsync: harness.durability === 'fsync',
          })
        : undefined;
      const bareRates =
        harness.bare === undefined
          ? undefined
          : await measureBarePost(harness.bare, harness.clientProcess, {
              recordBytes: config.recordBytes,
              recordsPerRequest: perRequest,
              requests,
              concurrency: config.concurrency,
              payloadBytes,
            });
      const storeOnly =
        harness.bare === undefined
          ? undefined
          : await measureStoreOnly(harness.bare, harness.clientProcess, {
              topic: freshTopic('store-only'),
              recordBytes: config.recordBytes,
              recordsPerRequest: perRequest,
              requests,
              concurrency: config.concurrency,
              payloadBytes,
            });
      runs.push({
        requests,
        records: requests * perRequest,
        payloadBytes,
        seconds: round(seconds),
        mibPerSec: round(payloadBytes / MiB / seconds),
        recordsPerSec: round((requests * perRequest) / seconds),
        rawFsWriteMibPerSec: round(raw?.writeMibPerSec ?? Number.NaN),
        rawFsPlainWriteMibPerSec: round(raw?.plainWriteFsyncMibPerSec ?? Number.NaN),
        rawFsReadMibPerSec: round(raw?.readMibPerSec ?? Number.NaN),
        rawFsRewriteMibPerSec: round(raw?.rewriteFsyncMibPerSec ?? Number.NaN),
        ...(raw === undefined ? {} : { rawFsWriteCpu: raw.writeCpu, rawFsRewriteCpu: raw.rewriteCpu }),
        bareHttpMibPerSec: round(bareRates?.sdkMibPerSec ?? Number.NaN),
        bareFetchMibPerSec: round(bareRates?.fetchMibPerSec ?? Number.NaN),
        storeOnlyMibPerSec: round(storeOnly?.mibPerSec ?? Number.NaN),
        ...(counts.cpu === undefined
          ? {}
          : { cpu: cpuPerMiB(counts.cpu, clientCpu, payloadBytes, seconds, undefined, counts.loopBusy) }),
        ...(bareRates === undefined ? {} : { bareHttpCpu: bareRates.sdkCpu }),
        ...(storeOnly === undefined ? {} : { storeOnlyCpu: storeOnly.cpu }),
      });
    }
    const mibPerSec = median(runs.map((r) => r.mibPerSec));
    const rawFsWriteMibPerSec = median(runs.map((r) => r.rawFsWriteMibPerSec));
    const rawFsPlainWriteMibPerSec = median(runs.map((r) => r.rawFsPlainWriteMibPerSec));
    const bareHttpMibPerSec = median(runs.map((r) => r.bareHttpMibPerSec));
    const rawCpu = (field: 'rawFsWriteCpu' | 'rawFsRewriteCpu') => {
      const samples = runs.flatMap((r) => (r[field] === undefined ? [] : [r[field]]));
      return samples.length === 0 ? {} : { [field]: medianRawCpu(samples) };
    };
    const bareFetchMibPerSec = median(runs.map((r) => r.bareFetchMibPerSec));
    const total = requests * plan.runs;
    const medianOf = (field: 'cpu' | 'bareHttpCpu' | 'storeOnlyCpu') =>
      medianCpu(runs.flatMap((r) => (r[field] === undefined ? [] : [r[field]])));
    const cpu = medianOf('cpu');
    const bareHttpCpu = medianOf('bareHttpCpu');
    const storeOnlyCpu = medianOf('storeOnlyCpu');
    const storeOnlyMibPerSec = median(runs.map((r) => r.storeOnlyMibPerSec));
    const result: ProduceConfigResult = {
      ...config,
      recordsPerRequest: perRequest,
      payloadBytesPerRequest: payloadPerRequest,
      runs,
      mibPerSec,
      recordsPerSec: median(runs.map((r) => r.recordsPerSec)),
      rawFsWriteMibPerSec,
      ratioVsRawFs: round(mibPerSec / rawFsWriteMibPerSec),
      rawFsPlainWriteMibPerSec,
      ratioVsRawFsPlainWrite: round(mibPerSec / rawFsPlainWriteMibPerSec),
      rawFsRewriteMibPerSec: median(runs.map((r) => r.rawFsRewriteMibPerSec)),
      ...rawCpu('rawFsWriteCpu'),
      ...rawCpu('rawFsRewriteCpu'),
      bareHttpMibPerSec,
      ratioVsBareHttp: round(mibPerSec / bareHttpMibPerSec),
      bareFetchMibPerSec,
      ratioVsBareFetch: round(mibPerSec / bareFetchMibPerSec),
      storeOnlyMibPerSec,
      ratioVsStoreOnly: round(mibPerSec / storeOnlyMibPerSec),
      ...(cpu === undefined ? {} : { cpu }),
      ...(bareHttpCpu === undefined ? {} : { bareHttpCpu }),
      ...(storeOnlyCpu === undefined ? {} : { storeOnlyCpu }),
      latency: summarize(latencies),
      objectPutsPerRequest: round(puts / total),
      transactionsPerRequest: round(transactions / total),
      opsPerTransaction: round(transactions === 0 ? 0 : ops / transactions),
      conflicts,
    };
    results.push(result);
    harness.progress(
      `produce ${label}: ${mibPerSec} MiB/s (raw fs ${rawFsWriteMibPerSec}, write+fsync ${rawFsPlainWriteMibPerSec}, bare HTTP ${bareHttpMibPerSec}, with fetch ${bareFetchMibPerSec}, store-only ${storeOnlyMibPerSec}), p50 ${result.latency.p50Ms} ms, p99 ${result.latency.p99Ms} ms${cpu === undefined ? '' : `; ${describeCpu(cpu)}`}`,
    );
  }
  return results;
}

export interface FanOutResult {
  partitions: number;
  requests: number;
  /** Object PUTs per produce request: DESIGN §1.3 says exactly one, however many partitions. */
  objectPutsPerRequest: number;
  /**
   * Committed metadata transactions per partition touched, and items per transaction (DESIGN §10: one
   * of two). A transaction that failed and was retried (an emulator timing out under load) is counted
   * in `failedTransactions`, not here.
   */
  transactionsPerPartition: number;
  failedTransactions: number;
  opsPerTransaction: number;
  writeUnitsPerPartition: number;
  largestItemWrittenBytes: number;
}

/** Requests that touch every partition of a topic: still one object, one two-item commit per partition. */
export async function runFanOut(harness: Harness, partitions = 8, requests = 20): Promise<FanOutResult> {
  const topic = freshTopic('fanout');
  await harness.client.createTopic(topic, partitions);
  const records: ProduceRecord[] = Array.from({ length: partitions * 8 }, (_, i) => ({
    key: null,
    value: payloadOf(1024, i),
    headers: [],
    partition: i % partitions,
  }));
  const body = encodeProduceBody(records);
  await harness.beginPhase();
  for (let i = 0; i < requests; i++) await harness.client.produce(topic, body);
  const counts = await harness.endPhase();
  const touched = requests * partitions;
  const ops = counts.meta.opsPerTransaction.reduce((sum, n) => sum + n, 0);
  const result: FanOutResult = {
    partitions,
    requests,
    objectPutsPerRequest: round(counts.objects.puts / requests),
    transactionsPerPartition: round((counts.meta.transacts - counts.meta.failedTransacts) / touched),
    failedTransactions: counts.meta.failedTransacts,
    opsPerTransaction: round(ops / counts.meta.transacts),
    writeUnitsPerPartition: round(counts.units.writeUnits / touched),
    largestItemWrittenBytes: counts.units.largestItemWritten,
  };
  harness.progress(
    `fan-out over ${partitions} partitions: ${result.objectPutsPerRequest} PUT/request, ${result.transactionsPerPartition} transaction/partition of ${result.opsPerTransaction} items (${result.failedTransactions} failed and retried)`,
  );
  return result;
}
