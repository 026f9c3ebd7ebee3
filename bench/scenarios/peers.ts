/**
 * Streambed beside its peers, in the same run on the same records (bench/peers/workload.ts): 1 KiB
 * values, 1,000 records per request or batch, 4 writers and then 4 readers in flight, each on a
 * stream or partition of its own.
 *
 * - Redis Streams (bench/peers/redis.ts): XADD pipelines, XRANGE pages, AOF fsynced every second.
 * - NATS JetStream (bench/peers/nats.ts): file store, acked publishes, a pull consumer.
 * - Streambed HTTP JSON: what curl users do (docs/api.md): `POST .../records` with
 *   `{"records":[{"value":"…","partition":p}, …]}`, and `GET .../partitions/p/records?offset=…` pages
 *   of max_bytes 1 MiB (one stored batch of 1,000 records), parsed with JSON.parse.
 * - Streambed SDK binary: one SDK `Producer` per writer (`send` of a request's records, binary form),
 *   and the binary fetch form read the way the SDK consumer reads it (every batch split, CRC-checked
 *   and decoded to records), max_bytes 1 MiB. Measured here with this shape, 4 readers included,
 *   rather than taken from the produce and read-back scenarios (whose fetch has one reader).
 *
 * A peer whose server binary is not on PATH is reported as skipped. The Kafka listener's row of the
 * peer table comes from the kafka scenario (KafkaJS, the same shape; results.ts).
 */
import type { Message, Producer } from '../../client/producer.ts';
import { segment, Transport } from '../../client/transport.ts';
import { BATCHES_CONTENT_TYPE, encodeProduceBody, NEXT_OFFSET_HEADER } from '../../client/wire/binary.ts';
import { decodeRecordBatch, splitBatches } from '../../client/wire/record-batch.ts';
import type { Harness } from '../harness.ts';
import { measureNats } from '../peers/nats.ts';
import { measureRedis } from '../peers/redis.ts';
import type { PeerOptions } from '../peers/server-process.ts';
import {
  measurePeer,
  type PeerMeasurement,
  type PeerOutcome,
  type PeerTarget,
  type PeerWorkload,
  peerValues,
} from '../peers/workload.ts';
import type { BenchPlan } from '../plan.ts';
import { KiB, MiB, round } from '../stats.ts';
import { freshTopic, requestCount } from './produce.ts';

export const PEER_RECORD_BYTES = KiB;
export const PEER_RECORDS_PER_BATCH = 1_000;
export const PEER_LANES = 4;
/** max_bytes of Streambed's fetches: one stored batch of 1,000 1 KiB records (about 1.03 MB). */
const FETCH_MAX_BYTES = MiB;

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
    runs: plan.runs,
  };
}

/** A fresh topic of one partition per lane for every run. */
function topicsPerRun(harness: Harness, prefix: string, lanes: number) {
  const topics: string[] = [];
  return {
    topic: (run: number) => topics[run] as string,
    async prepare(run: number) {
      topics[run] = freshTopic(prefix);
      await harness.client.createTopic(topics[run], lanes);
    },
  };
}

function jsonTarget(harness: Harness, workload: PeerWorkload): PeerTarget {
  const values = peerValues(workload);
  const topics = topicsPerRun(harness, 'peers-json', workload.lanes);
  const records = (run: number, partition: number) =>
    `${harness.url}/v1/topics/${segment(topics.topic(run))}/${partition === -1 ? 'records' : `partitions/${partition}/records`}`;
  return {
    prepare: topics.prepare,
    async write(run, lane) {
      const response = await fetch(records(run, -1), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ records: values.map((value) => ({ value, partition: lane })) }),
      });
      const body = (await response.json()) as { offsets?: unknown[] };
      if (!response.ok || body.offsets?.length !== values.length)
        throw new Error(`JSON produce answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
    },
    async read(run, lane, wanted) {
      let got = 0;
      let bytes = 0;
      let offset = 0;
      while (got < wanted) {
        const response = await fetch(`${records(run, lane)}?offset=${offset}&max_bytes=${FETCH_MAX_BYTES}`);
        const page = (await response.json()) as { records: { value: string }[]; nextOffset: number };
        if (!response.ok) throw new Error(`JSON fetch answered ${response.status}`);
        if (page.records.length === 0) break;
        for (const record of page.records) {
          got++;
          bytes += Buffer.byteLength(record.value);
        }
        offset = page.nextOffset;
      }
      return { records: got, bytes };
    },
  };
}

function sdkTarget(harness: Harness, workload: PeerWorkload): PeerTarget {
  const values = peerValues(workload).map((value) => Buffer.from(value));
  const topics = topicsPerRun(harness, 'peers-sdk', workload.lanes);
  const messages: Message<Uint8Array>[][] = Array.from({ length: workload.lanes }, (_, partition) =>
    values.map((value) => ({ value, partition })),
  );
  const bodyBytes = encodeProduceBody(values.map((value) => ({ key: null, value, headers: [] }))).byteLength;
  const producers = messages.map(() =>
    harness.client.producer({ batchBytes: bodyBytes, retry: { retries: 0 } }),
  );
  const transport = new Transport({ url: harness.url });
  return {
    prepare: topics.prepare,
    async write(run, lane) {
      await (producers[lane] as Producer<Uint8Array>).send({
        topic: topics.topic(run),
        messages: messages[lane] as Message<Uint8Array>[],
      });
    },
    async read(run, lane, wanted) {
      let got = 0;
      let bytes = 0;
      let offset = 0;
      while (got < wanted) {
        const response = await transport.raw(
          'GET',
          `/v1/topics/${segment(topics.topic(run))}/partitions/${lane}/records`,
          { query: { offset, max_bytes: FETCH_MAX_BYTES }, accept: BATCHES_CONTENT_TYPE },
        );
        const before = got;
        for (const batch of splitBatches(response.bytes))
          for (const record of decodeRecordBatch(batch).records) {
            got++;
            bytes += record.value?.byteLength ?? 0;
          }
        if (got === before) break;
        offset = Number(response.headers.get(NEXT_OFFSET_HEADER));
      }
      return { records: got, bytes };
    },
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
  const streambed = async (name: string, target: PeerTarget, client: string, form: string) => {
    await harness.serverMemory();
    const measured = line(
      name,
      await measurePeer(target, workload, {
        client,
        config: `${form} produce and fetch (max_bytes ${FETCH_MAX_BYTES})`,
      }),
    );
    return { measured, peakMb: round((await harness.serverMemory()).windowPeakMb) };
  };
  const json = await streambed(
    'Streambed HTTP JSON',
    jsonTarget(harness, workload),
    'fetch, JSON.stringify and JSON.parse',
    'JSON',
  );
  const sdk = await streambed(
    'Streambed SDK binary',
    sdkTarget(harness, workload),
    'Streambed SDK (Producer; binary fetch, decoded)',
    'binary',
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
