/**
 * Streambed beside its peers, in the same run on the same records (bench/peers/workload.ts): 1 KiB
 * values, 1,000 records per request or batch, 4 writers and then 4 readers in flight, each on a
 * stream or partition of its own. Every system's client runs in a process of its own
 * (bench/peers/own-process.ts), and the CPU of that process and of the server is measured.
 *
 * - Redis Streams (bench/peers/redis.ts): XADD pipelines, XRANGE pages, AOF fsynced every second.
 * - NATS JetStream (bench/peers/nats.ts): file store, acked publishes, a pull consumer.
 * - Streambed HTTP JSON and SDK binary (bench/peers/streambed.ts), measured here with this shape, 4
 *   readers included, rather than taken from the produce and read-back scenarios (whose fetch has
 *   one reader).
 *
 * A peer whose server binary is not on PATH is reported as skipped. The Kafka listener's row of the
 * peer table comes from the kafka scenario (KafkaJS, the same shape; results.ts).
 */
import type { Harness } from '../harness.ts';
import { measureNats } from '../peers/nats.ts';
import { measureInOwnProcess } from '../peers/own-process.ts';
import { measureRedis } from '../peers/redis.ts';
import type { PeerOptions } from '../peers/server-process.ts';
import { FETCH_MAX_BYTES, type StreambedForm } from '../peers/streambed.ts';
import type { PeerMeasurement, PeerOutcome, PeerWorkload } from '../peers/workload.ts';
import type { BenchPlan } from '../plan.ts';
import { KiB, round } from '../stats.ts';
import { requestCount } from './produce.ts';

export const PEER_RECORD_BYTES = KiB;
export const PEER_RECORDS_PER_BATCH = 1_000;
export const PEER_LANES = 4;
/** Each lane is read back this many times: one pass of the quick volume takes about 0.1-0.2 s. */
export const PEER_READ_PASSES = 4;

export interface PeersResult {
  workload: PeerWorkload;
  redis: PeerOutcome;
  nats: PeerOutcome;
  streambedJson: PeerMeasurement;
  streambedSdk: PeerMeasurement;
  /** Peak RSS of the server process while each Streambed row ran. */
  serverPeakRssMb: { json: number; sdk: number };
}

/** The peer workload of `plan`: as many 1,000-record batches as its produce volume, over 4 lanes. */
export function peerWorkload(plan: BenchPlan): PeerWorkload {
  const batches = requestCount(PEER_RECORDS_PER_BATCH * PEER_RECORD_BYTES, plan.produce);
  return {
    recordBytes: PEER_RECORD_BYTES,
    recordsPerBatch: PEER_RECORDS_PER_BATCH,
    lanes: PEER_LANES,
    batchesPerLane: Math.max(1, Math.ceil(batches / PEER_LANES)),
    readPasses: PEER_READ_PASSES,
    runs: plan.runs,
  };
}

/**
 * Every peer, then Streambed's two HTTP forms. A peer that is not installed, or fails, is reported as
 * skipped with the reason and the run goes on; a failure of Streambed fails the run, as in every
 * other scenario.
 */
export async function runPeers(
  harness: Harness,
  plan: BenchPlan,
  options: PeerOptions = {},
): Promise<PeersResult> {
  const workload = peerWorkload(plan);
  const shape = `${workload.lanes} x ${workload.batchesPerLane} batches of ${workload.recordsPerBatch} x ${workload.recordBytes} B`;
  const line = <T extends PeerOutcome>(name: string, outcome: T): T => {
    harness.progress(
      'skipped' in outcome
        ? `peers: ${name}: skipped: ${outcome.skipped}`
        : `peers: ${name} (${shape}): write ${outcome.writeMibPerSec} MiB/s, read ${outcome.readMibPerSec} MiB/s (${outcome.client})`,
    );
    return outcome;
  };
  const peer = async (name: string, measure: () => Promise<PeerOutcome>): Promise<PeerOutcome> => {
    try {
      return line(name, await measure());
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      return line(name, { skipped: `failed: ${reason}` });
    }
  };
  const redis = await peer('Redis Streams', () => measureRedis(workload, options));
  const nats = await peer('NATS JetStream', () => measureNats(workload, options));
  /** One of Streambed's rows, and the server process's peak RSS while it ran (a window of its own). */
  const streambed = async (name: string, form: StreambedForm, client: string) => {
    await harness.serverMemory();
    const measured = line(
      name,
      await measureInOwnProcess({
        spec: { system: form === 'json' ? 'streambed-json' : 'streambed-sdk', url: harness.url },
        workload,
        about: {
          client,
          config: `${form === 'json' ? 'JSON' : 'binary'} produce and fetch (max_bytes ${FETCH_MAX_BYTES})`,
        },
        server: harness.serverPid === undefined ? {} : { serverPid: harness.serverPid },
      }),
    );
    return { measured, peakMb: round((await harness.serverMemory()).windowPeakMb) };
  };
  const json = await streambed('Streambed HTTP JSON', 'json', 'fetch, JSON.stringify and JSON.parse');
  const sdk = await streambed(
    'Streambed SDK binary',
    'binary',
    'Streambed SDK (Producer; binary fetch, decoded)',
  );
  const serverPeakRssMb = { json: json.peakMb, sdk: sdk.peakMb };
  harness.progress(
    `peers: server peak RSS ${serverPeakRssMb.json} MB during HTTP JSON, ${serverPeakRssMb.sdk} MB during SDK binary`,
  );
  return {
    workload,
    redis,
    nats,
    streambedJson: json.measured,
    streambedSdk: sdk.measured,
    serverPeakRssMb,
  };
}
