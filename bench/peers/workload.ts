/**
 * What every peer of the peer comparison (scenarios/peers.ts) writes and reads, and how it is timed.
 *
 * The records: `recordsPerBatch` distinct values of `recordBytes` ASCII characters (base64 text of
 * random bytes, so that they are the same bytes as UTF-8, need no JSON escaping and do not compress),
 * the same for every system. Each of `lanes` writers owns a stream of its own (a Redis key, a JetStream
 * stream, a Streambed partition) and writes `batchesPerLane` batches of them, one batch in flight per
 * writer; then as many readers read their lane back, from its start to what was written, in pages of
 * `recordsPerBatch`, `readPasses` times over. Every record and byte read back is counted and checked.
 * MiB/s counts record payload (values only), like the rest of the bench. The workload runs in a
 * process of its own (bench/peers/peer-process.ts), one per system, so that every client starts
 * with the same empty heap; the CPU of that process and of the server's is measured per phase.
 */
import { randomBytes } from 'node:crypto';
import {
  type CpuPerMiB,
  type CpuTime,
  cpuDifference,
  cpuPerMiB,
  medianCpu,
  processCpu,
  withCpu,
} from '../cpu.ts';
import { MiB, median, round } from '../stats.ts';

export interface PeerWorkload {
  recordBytes: number;
  recordsPerBatch: number;
  lanes: number;
  batchesPerLane: number;
  /**
   * How many times each reader reads its lane back, from the start, after the writes: reading is
   * several times faster than writing, and one pass alone would be over too soon to time.
   */
  readPasses: number;
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
  read(run: number, lane: number, records: number, pass: number): Promise<{ records: number; bytes: number }>;
}

/** A system's client for the workload, opened in the process that runs it. */
export interface PeerClient {
  target: PeerTarget;
  /** Ends its connections. */
  close(): Promise<void>;
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
  /**
   * CPU per MiB while writing and while reading (medians over the runs): the server process's, read
   * from /proc, and the client's, the process that ran the workload. Absent where /proc cannot tell.
   */
  writeCpu?: CpuPerMiB;
  readCpu?: CpuPerMiB;
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

/** The shortest phase whose CPU is reported: 20 of /proc's 10 ms ticks. */
export const MIN_CPU_PHASE_SECONDS = 0.2;

/** Where the workload's server runs, for its CPU per MiB (bench/cpu.ts processCpu). */
export interface PeerServerProcess {
  serverPid?: number;
}

/**
 * Times `phase`, and the CPU the server process (`serverPid`) and this process used during it; the
 * CPU is undefined when the server's cannot be read.
 */
async function timed(
  phase: () => Promise<unknown>,
  serverPid: number | undefined,
): Promise<{ seconds: number; server?: CpuTime; client: CpuTime }> {
  const serverAt = serverPid === undefined ? undefined : processCpu(serverPid);
  const { seconds, cpu: client } = await withCpu(phase);
  const serverNow = serverPid === undefined ? undefined : processCpu(serverPid);
  const server = serverAt && serverNow ? cpuDifference(serverAt, serverNow) : undefined;
  return { seconds, client, ...(server ? { server } : {}) };
}

/**
 * Runs the workload on `target`: every run's writes, then its reads (`readPasses` of every lane), each
 * timed across the lanes, with the CPU of the server process and of this one.
 */
export async function measurePeer(
  target: PeerTarget,
  workload: PeerWorkload,
  about: Pick<PeerMeasurement, 'client' | 'config'>,
  { serverPid }: PeerServerProcess = {},
): Promise<PeerMeasurement> {
  for (const field of [
    'recordBytes',
    'recordsPerBatch',
    'lanes',
    'batchesPerLane',
    'readPasses',
    'runs',
  ] as const)
    if (!Number.isInteger(workload[field]) || workload[field] < 1)
      throw new Error(`peer workload: ${field} must be a whole number of at least 1, not ${workload[field]}`);
  const { lanes, batchesPerLane, recordsPerBatch, recordBytes, readPasses } = workload;
  const laneLanes = Array.from({ length: lanes }, (_, lane) => lane);
  const perLane = batchesPerLane * recordsPerBatch;
  const records = perLane * lanes;
  const payloadBytes = records * recordBytes;
  const runs: PeerMeasurement['runs'] = [];
  const writeCpu: CpuPerMiB[] = [];
  const readCpu: CpuPerMiB[] = [];
  const cpuOf = (
    phase: { seconds: number; server?: CpuTime; client: CpuTime },
    bytes: number,
    into: CpuPerMiB[],
  ) => {
    // /proc counts in 10 ms ticks: a shorter phase's server CPU would be off by more than 5 %.
    if (phase.server && phase.seconds >= MIN_CPU_PHASE_SECONDS)
      into.push(cpuPerMiB(phase.server, phase.client, bytes, phase.seconds));
  };
  for (let run = 0; run < workload.runs; run++) {
    await target.prepare(run);
    const write = await timed(
      () =>
        Promise.all(
          laneLanes.map(async (lane) => {
            for (let batch = 0; batch < batchesPerLane; batch++) await target.write(run, lane);
          }),
        ),
      serverPid,
    );
    const read = await timed(async () => {
      for (let pass = 0; pass < readPasses; pass++) {
        const got = await Promise.all(laneLanes.map((lane) => target.read(run, lane, perLane, pass)));
        for (const [lane, each] of got.entries())
          if (each.records !== perLane || each.bytes !== perLane * recordBytes)
            throw new Error(
              `${about.client}: lane ${lane} read back ${each.records} records (${each.bytes} bytes) in pass ${pass}, expected ${perLane} (${perLane * recordBytes} bytes)`,
            );
      }
    }, serverPid);
    cpuOf(write, payloadBytes, writeCpu);
    cpuOf(read, payloadBytes * readPasses, readCpu);
    runs.push({ writeSeconds: round(write.seconds), readSeconds: round(read.seconds) });
  }
  const writeSeconds = median(runs.map((r) => r.writeSeconds));
  const readSeconds = median(runs.map((r) => r.readSeconds));
  const readBytes = payloadBytes * readPasses;
  const [writeMedian, readMedian] = [medianCpu(writeCpu), medianCpu(readCpu)];
  return {
    ...about,
    recordsPerRun: records,
    payloadBytesPerRun: payloadBytes,
    writeMibPerSec: round(payloadBytes / MiB / writeSeconds),
    readMibPerSec: round(readBytes / MiB / readSeconds),
    writeRecordsPerSec: round(records / writeSeconds),
    readRecordsPerSec: round((records * readPasses) / readSeconds),
    ...(writeMedian ? { writeCpu: writeMedian } : {}),
    ...(readMedian ? { readCpu: readMedian } : {}),
    runs,
  };
}
