/**
 * Write a dataset, then read it all back with binary fetch: once cold (the first read, which is also
 * what the cost per GiB counts: written once, read once) and again warm at each max_bytes. One dataset
 * per produce request size, one partition, one producer and one consumer, fresh topics per run. The
 * consumer is the client process (bench/client-process.ts), which also sends the bare GETs compared with it.
 *
 * "Cold" means the first read through Streambed; the operating system's page cache still holds the
 * files just written (the bench cannot drop caches without root), and Streambed itself caches nothing
 * yet, so cold and warm differ only by what the process and the filesystem keep warm.
 */

import { measureBareGet } from '../baselines.ts';
import { addUsage, type MeteredUsage, meterUsage } from '../cost.ts';
import { type CpuPerMiB, cpuPerMiB, describeCpu, medianCpu } from '../cpu.ts';
import type { Harness } from '../harness.ts';
import { type BenchPlan, recordsPerRequest } from '../plan.ts';
import { formatBytes, type LatencySummary, MiB, median, round, summarize } from '../stats.ts';
import { freshTopic, payloadOf, produceBody, requestCount } from './produce.ts';
import { rawWriteRead } from './raw-fs.ts';

export interface ReadPass {
  maxBytes: number;
  /** Median over runs, of record payload bytes delivered per second. */
  mibPerSec: number;
  fetchesPerRun: number;
  latency: LatencySummary;
  /** Storage calls per fetch request (cold pass only, where they are counted). */
  objectGetsPerFetch?: number;
  indexQueriesPerFetch?: number;
}

export interface ReadBackResult {
  requestBytes: number;
  recordBytes: number;
  recordsPerRequest: number;
  requestsPerRun: number;
  payloadBytesPerRun: number;
  produce: { mibPerSec: number; latency: LatencySummary };
  cold: ReadPass;
  warm: ReadPass[];
  rawFs: { writeMibPerSec: number; readMibPerSec: number };
  /** Fetch MiB/s (cold, first max_bytes) / raw fs read MiB/s of the same files. */
  ratioVsRawFs: number;
  /**
   * The bare transport answering the same response sizes one at a time (as the one consumer reads),
   * through the SDK's client (node:http), payload MiB/s.
   */
  bareHttpMibPerSec: number;
  /** Fetch MiB/s (cold) / bare transport MiB/s with the SDK's client. */
  ratioVsBareHttp: number;
  /** The same through the global fetch (undici). */
  bareFetchMibPerSec: number;
  ratioVsBareFetch: number;
  /** Medians over runs of the cold read's CPU per MiB (bench/cpu.ts), and the bare GETs'. */
  cpu?: CpuPerMiB;
  bareHttpCpu?: CpuPerMiB;
  /** Written once + read once (cold), summed over runs. */
  usage: MeteredUsage;
  payloadBytes: number;
}

export async function runReadBack(harness: Harness, plan: BenchPlan): Promise<ReadBackResult[]> {
  const { readBack } = plan;
  const results: ReadBackResult[] = [];
  for (const requestBytes of readBack.requestSizes) {
    const perRequest = recordsPerRequest(readBack.recordBytes, requestBytes);
    const payloadPerRequest = perRequest * readBack.recordBytes;
    const requests = requestCount(payloadPerRequest, readBack);
    const payloadBytes = requests * payloadPerRequest;
    const body = produceBody(readBack.recordBytes, perRequest, 0);
    let usage: MeteredUsage | undefined;
    const produceLatencies: number[] = [];
    const produceRates: number[] = [];
    const cold = { rates: [] as number[], latencies: [] as number[], fetches: 0, gets: 0, queries: 0 };
    const warm = readBack.maxBytes.map(() => ({
      rates: [] as number[],
      latencies: [] as number[],
      fetches: 0,
    }));
    const raw = { write: [] as number[], read: [] as number[] };
    const bareRates: number[] = [];
    const bareFetchRates: number[] = [];
    const cpuSamples: CpuPerMiB[] = [];
    const bareCpuSamples: CpuPerMiB[] = [];
    const profiler = requestBytes === readBack.headlineRequestBytes ? harness.profiler : undefined;

    for (let run = 0; run < plan.runs; run++) {
      const topic = freshTopic('readback');
      await harness.client.createTopic(topic, 1);

      await harness.beginPhase();
      const writeStart = performance.now();
      for (let i = 0; i < requests; i++) produceLatencies.push(await harness.client.produce(topic, body));
      produceRates.push(payloadBytes / MiB / ((performance.now() - writeStart) / 1000));
      const written = await harness.endPhase();

      // The profiler starts before the phase and stops after it, so that the server CPU the phase
      // counts leaves out the profiler's start and its profile's serialization.
      await profiler?.start('fetch');
      await harness.beginPhase({ collect: true });
      const first = await harness.clientProcess.read({
        topic,
        partition: 0,
        highWatermark: requests * perRequest,
        maxBytes: readBack.maxBytes[0] as number,
        collect: true,
      });
      const read = await harness.endPhase();
      await profiler?.stop('fetch');
      if (read.cpu !== undefined)
        cpuSamples.push(
          cpuPerMiB(read.cpu, first.cpu, payloadBytes, first.seconds, undefined, read.loopBusy),
        );
      cold.rates.push(payloadBytes / MiB / first.seconds);
      cold.latencies.push(...first.latencies);
      cold.fetches = first.fetches;
      cold.gets += read.objects.gets;
      cold.queries += read.meta.queries;

      const once = addUsage(
        meterUsage(written.objects, written.units, written.calls),
        meterUsage(read.objects, read.units, first.calls),
      );
      usage = usage === undefined ? once : addUsage(usage, once);

      for (const [i, maxBytes] of readBack.maxBytes.entries()) {
        const pass = await harness.clientProcess.read({
          topic,
          partition: 0,
          highWatermark: requests * perRequest,
          maxBytes,
          collect: false,
        });
        const slot = warm[i] as (typeof warm)[number];
        slot.rates.push(payloadBytes / MiB / pass.seconds);
        slot.latencies.push(...pass.latencies);
        slot.fetches = pass.fetches;
      }

      // Baselines beside a local server only (a remote one runs on another machine).
      const { bare } = harness;
      if (harness.local && bare !== undefined) {
        const baseline = await rawWriteRead(harness.scratchDir, {
          files: requests,
          payload: payloadOf(payloadPerRequest),
          writeConcurrency: 1,
          readConcurrency: 1,
          fsync: harness.durability === 'fsync',
        });
        raw.write.push(baseline.writeMibPerSec);
        raw.read.push(baseline.readMibPerSec);

        // The same response sizes from the bare HTTP server, one after another like the cold read.
        const rates = await measureBareGet(
          bare,
          harness.clientProcess,
          first.calls.map((call) => call.responseBytes),
          { concurrency: 1, payloadBytes },
        );
        bareRates.push(rates.sdkMibPerSec);
        bareFetchRates.push(rates.fetchMibPerSec);
        bareCpuSamples.push(rates.sdkCpu);
      }
    }

    const coldMibPerSec = round(median(cold.rates));
    const rawRead = round(median(raw.read));
    const totalFetches = cold.latencies.length;
    const cpu = medianCpu(cpuSamples);
    const bareHttpCpu = medianCpu(bareCpuSamples);
    const result: ReadBackResult = {
      requestBytes,
      recordBytes: readBack.recordBytes,
      recordsPerRequest: perRequest,
      requestsPerRun: requests,
      payloadBytesPerRun: payloadBytes,
      produce: { mibPerSec: round(median(produceRates)), latency: summarize(produceLatencies) },
      cold: {
        maxBytes: readBack.maxBytes[0] as number,
        mibPerSec: coldMibPerSec,
        fetchesPerRun: cold.fetches,
        latency: summarize(cold.latencies),
        objectGetsPerFetch: round(cold.gets / totalFetches),
        indexQueriesPerFetch: round(cold.queries / totalFetches),
      },
      warm: warm.map((slot, i) => ({
        maxBytes: readBack.maxBytes[i] as number,
        mibPerSec: round(median(slot.rates)),
        fetchesPerRun: slot.fetches,
        latency: summarize(slot.latencies),
      })),
      rawFs: { writeMibPerSec: round(median(raw.write)), readMibPerSec: rawRead },
      ratioVsRawFs: round(coldMibPerSec / rawRead),
      bareHttpMibPerSec: round(median(bareRates)),
      ratioVsBareHttp: round(coldMibPerSec / median(bareRates)),
      bareFetchMibPerSec: round(median(bareFetchRates)),
      ratioVsBareFetch: round(coldMibPerSec / median(bareFetchRates)),
      ...(cpu === undefined ? {} : { cpu }),
      ...(bareHttpCpu === undefined ? {} : { bareHttpCpu }),
      usage: usage as MeteredUsage,
      payloadBytes: payloadBytes * plan.runs,
    };
    results.push(result);
    harness.progress(
      `read back ${formatBytes(requestBytes)}-request dataset: cold ${coldMibPerSec} MiB/s (raw fs ${rawRead}, bare HTTP ${result.bareHttpMibPerSec}, with fetch ${result.bareFetchMibPerSec}), p50 ${result.cold.latency.p50Ms} ms; warm ${result.warm.map((w) => `${w.mibPerSec} MiB/s @${formatBytes(w.maxBytes)}`).join(', ')}${cpu === undefined ? '' : `; cold ${describeCpu(cpu)}`}`,
    );
  }
  return results;
}
