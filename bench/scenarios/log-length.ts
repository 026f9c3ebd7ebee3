/**
 * Does fetch latency depend on how long the log is? Two single-partition logs of tiny one-record
 * batches, a short one and a long one, are built fast by the server process calling the core log
 * service directly on its storage (no HTTP); then fetches at the head (offsets 0..9) and at the tail (the last 10
 * offsets) of both go through HTTP, interleaved sample by sample so drift hits all four alike. A small
 * max_bytes makes every read do the same work (about a dozen batches) whatever the log length.
 */
import type { Harness } from '../harness.ts';
import type { BenchPlan } from '../plan.ts';
import { type LatencySummary, median, round, summarize } from '../stats.ts';
import { freshTopic } from './produce.ts';

export interface LogLengthResult {
  shortBatches: number;
  longBatches: number;
  maxBytes: number;
  /** One-record batches per second when building through the core (no HTTP). */
  buildBatchesPerSec: number;
  short: { head: LatencySummary; tail: LatencySummary };
  long: { head: LatencySummary; tail: LatencySummary };
  /** median(long) / median(short). */
  tailRatio: number;
  headRatio: number;
  /** Storage calls per fetch, long log vs short (same means no scan that grows with length). */
  perFetch: {
    short: { indexQueries: number; objectGets: number };
    long: { indexQueries: number; objectGets: number };
  };
}

async function buildLog(
  harness: Harness,
  batches: number,
  label: string,
): Promise<{ topic: string; rate: number }> {
  const topic = freshTopic(`log-${label}`);
  const { batchesPerSec } = await harness.buildLog(topic, batches, 16);
  return { topic, rate: batchesPerSec };
}

export async function runLogLength(harness: Harness, plan: BenchPlan): Promise<LogLengthResult> {
  const { shortBatches, longBatches, samples, maxBytes } = plan.logLength;
  const short = await buildLog(harness, shortBatches, 'short');
  const long = await buildLog(harness, longBatches, 'long');
  harness.progress(
    `built logs of ${shortBatches} and ${longBatches} one-record batches (${round(long.rate)} batches/s)`,
  );

  const logs = [
    { name: 'short' as const, topic: short.topic, length: shortBatches },
    { name: 'long' as const, topic: long.topic, length: longBatches },
  ];
  const latencies = {
    short: { head: [] as number[], tail: [] as number[] },
    long: { head: [] as number[], tail: [] as number[] },
  };
  const calls = { short: { queries: 0, gets: 0, fetches: 0 }, long: { queries: 0, gets: 0, fetches: 0 } };
  // Warm both paths once so the first sample of either does not pay for module and statement setup.
  for (const log of logs) await harness.client.fetchBatches(log.topic, 0, 0, { maxBytes });
  for (let sample = 0; sample < samples; sample++) {
    for (const log of logs) {
      for (const position of ['head', 'tail'] as const) {
        const offset = position === 'head' ? sample % 10 : log.length - 1 - (sample % 10);
        await harness.beginPhase();
        const result = await harness.client.fetchBatches(log.topic, 0, offset, { maxBytes });
        const counts = await harness.endPhase();
        latencies[log.name][position].push(result.latencyMs);
        calls[log.name].queries += counts.meta.queries;
        calls[log.name].gets += counts.objects.gets;
        calls[log.name].fetches++;
      }
    }
  }
  const ratio = (position: 'head' | 'tail') =>
    round(median(latencies.long[position]) / median(latencies.short[position]));
  const perFetch = (name: 'short' | 'long') => ({
    indexQueries: round(calls[name].queries / calls[name].fetches),
    objectGets: round(calls[name].gets / calls[name].fetches),
  });
  const result: LogLengthResult = {
    shortBatches,
    longBatches,
    maxBytes,
    buildBatchesPerSec: round(long.rate),
    short: { head: summarize(latencies.short.head), tail: summarize(latencies.short.tail) },
    long: { head: summarize(latencies.long.head), tail: summarize(latencies.long.tail) },
    tailRatio: ratio('tail'),
    headRatio: ratio('head'),
    perFetch: { short: perFetch('short'), long: perFetch('long') },
  };
  harness.progress(
    `log length: tail p50 ${result.short.tail.p50Ms} ms (short) vs ${result.long.tail.p50Ms} ms (long), ratio ${result.tailRatio}; head ratio ${result.headRatio}`,
  );
  return result;
}
