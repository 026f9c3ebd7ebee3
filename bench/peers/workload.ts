/**
 * What every peer of the peer comparison (scenarios/peers.ts) writes and reads, and how it is timed.
 *
 * The records: `recordsPerBatch` distinct values of `recordBytes` ASCII characters (base64 text of
 * random bytes, so that they are the same bytes as UTF-8, need no JSON escaping and do not compress),
 * the same for every system. Each of `lanes` writers owns a stream of its own (a Redis key, a JetStream
 * stream, a Streambed partition) and writes `batchesPerLane` batches of them, one batch in flight per
 * writer; then as many readers read their lane back, from its start to what was written, in pages of
 * `recordsPerBatch`. Every record and byte read back is counted and checked. MiB/s counts record
 * payload (values only), like the rest of the bench.
 */
import { randomBytes } from 'node:crypto';
import { MiB, median, round } from '../stats.ts';

export interface PeerWorkload {
  recordBytes: number;
  recordsPerBatch: number;
  lanes: number;
  batchesPerLane: number;
  /** Repetitions, each on fresh streams; the numbers are medians. */
  runs: number;
}

/** One system under the workload: a fresh set of streams per run, one batch written, a lane read. */
export interface PeerTarget {
  /** Makes the streams of `run` (untimed). */
  prepare(run: number): Promise<void>;
  /** Writes one batch to `lane` of `run` and waits for its acknowledgement. */
  write(run: number, lane: number): Promise<void>;
  /** Reads `lane` of `run` from its start, `records` records in pages; what arrived. */
  read(run: number, lane: number, records: number): Promise<{ records: number; bytes: number }>;
}

export interface PeerMeasurement {
  /** The client library (and server) versions. */
  client: string;
  /** How the server was configured. */
  config: string;
  recordsPerRun: number;
  payloadBytesPerRun: number;
  /** Medians over the runs; MiB/s of record payload. */
  writeMibPerSec: number;
  readMibPerSec: number;
  writeRecordsPerSec: number;
  readRecordsPerSec: number;
  runs: { writeSeconds: number; readSeconds: number }[];
}

export type PeerOutcome = PeerMeasurement | { skipped: string };

/** The same `recordsPerBatch` values for every system. */
export function peerValues(workload: Pick<PeerWorkload, 'recordBytes' | 'recordsPerBatch'>): string[] {
  const { recordBytes, recordsPerBatch } = workload;
  const text = randomBytes(Math.ceil((recordBytes * recordsPerBatch * 3) / 4) + 3).toString('base64');
  return Array.from({ length: recordsPerBatch }, (_, i) =>
    text.slice(i * recordBytes, (i + 1) * recordBytes),
  );
}

/** Runs the workload on `target`: every run's writes, then its reads, each timed across the lanes. */
export async function measurePeer(
  target: PeerTarget,
  workload: PeerWorkload,
  about: Pick<PeerMeasurement, 'client' | 'config'>,
): Promise<PeerMeasurement> {
  const { lanes, batchesPerLane, recordsPerBatch, recordBytes } = workload;
  const laneLanes = Array.from({ length: lanes }, (_, lane) => lane);
  const perLane = batchesPerLane * recordsPerBatch;
  const records = perLane * lanes;
  const payloadBytes = records * recordBytes;
  const runs: PeerMeasurement['runs'] = [];
  for (let run = 0; run < workload.runs; run++) {
    await target.prepare(run);
    const writeStart = performance.now();
    await Promise.all(
      laneLanes.map(async (lane) => {
        for (let batch = 0; batch < batchesPerLane; batch++) await target.write(run, lane);
      }),
    );
    const writeSeconds = (performance.now() - writeStart) / 1000;
    const readStart = performance.now();
    const got = await Promise.all(laneLanes.map((lane) => target.read(run, lane, perLane)));
    const readSeconds = (performance.now() - readStart) / 1000;
    for (const [lane, each] of got.entries())
      if (each.records !== perLane || each.bytes !== perLane * recordBytes)
        throw new Error(
          `${about.client}: lane ${lane} read back ${each.records} records (${each.bytes} bytes), expected ${perLane} (${perLane * recordBytes} bytes)`,
        );
    runs.push({ writeSeconds: round(writeSeconds), readSeconds: round(readSeconds) });
  }
  const write = median(runs.map((r) => r.writeSeconds));
  const read = median(runs.map((r) => r.readSeconds));
  return {
    ...about,
    recordsPerRun: records,
    payloadBytesPerRun: payloadBytes,
    writeMibPerSec: round(payloadBytes / MiB / write),
    readMibPerSec: round(payloadBytes / MiB / read),
    writeRecordsPerSec: round(records / write),
    readRecordsPerSec: round(records / read),
    runs,
  };
}
