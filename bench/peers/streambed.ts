/**
 * Streambed's two forms as peers (scenarios/peers.ts), each driven from a client process of its own
 * (bench/peers/own-process.ts) against the bench's server:
 *
 * - HTTP JSON: what curl users do (docs/api.md): `POST .../records` with
 *   `{"records":[{"value":"…","partition":p}, …]}`, and `GET .../partitions/p/records?offset=…` pages
 *   of max_bytes 1 MiB (one stored batch of 1,000 records), parsed with JSON.parse.
 * - SDK binary: one SDK `Producer` per writer (`send` of a request's records, binary form), and the
 *   binary fetch form read the way the SDK consumer reads it (every batch split, CRC-checked and
 *   decoded to records), max_bytes 1 MiB.
 */
import type { Message, Producer } from '../../client/producer.ts';
import { segment, Transport } from '../../client/transport.ts';
import { BATCHES_CONTENT_TYPE, encodeProduceBody, NEXT_OFFSET_HEADER } from '../../client/wire/binary.ts';
import { decodeRecordBatch, splitBatches } from '../../client/wire/record-batch.ts';
import { type BenchClient, createBenchClient } from '../client.ts';
import { freshTopic } from '../scenarios/produce.ts';
import { MiB } from '../stats.ts';
import { type PeerClient, type PeerTarget, type PeerWorkload, peerValues } from './workload.ts';

/** max_bytes of Streambed's fetches: one stored batch of 1,000 1 KiB records (about 1.03 MB). */
export const FETCH_MAX_BYTES = MiB;

export type StreambedForm = 'json' | 'binary';

/** A fresh topic of one partition per lane for every run. */
function topicsPerRun(client: BenchClient, prefix: string, lanes: number) {
  const topics: string[] = [];
  return {
    topic: (run: number) => topics[run] as string,
    async prepare(run: number) {
      topics[run] = freshTopic(prefix);
      await client.createTopic(topics[run], lanes);
    },
  };
}

function jsonTarget(client: BenchClient, url: string, workload: PeerWorkload): PeerTarget {
  const values = peerValues(workload);
  const topics = topicsPerRun(client, 'peers-json', workload.lanes);
  const records = (run: number, partition: number) =>
    `${url}/v1/topics/${segment(topics.topic(run))}/${partition === -1 ? 'records' : `partitions/${partition}/records`}`;
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

function sdkTarget(client: BenchClient, url: string, workload: PeerWorkload): PeerTarget {
  const values = peerValues(workload).map((value) => Buffer.from(value));
  const topics = topicsPerRun(client, 'peers-sdk', workload.lanes);
  const messages: Message<Uint8Array>[][] = Array.from({ length: workload.lanes }, (_, partition) =>
    values.map((value) => ({ value, partition })),
  );
  const bodyBytes = encodeProduceBody(values.map((value) => ({ key: null, value, headers: [] }))).byteLength;
  const producers = messages.map(() => client.producer({ batchBytes: bodyBytes, retry: { retries: 0 } }));
  const transport = new Transport({ url });
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

/** The client of `form` to the Streambed server at `url` (the bench's own: no token). */
export async function streambedClient(
  form: StreambedForm,
  url: string,
  workload: PeerWorkload,
): Promise<PeerClient> {
  const client = createBenchClient({ url });
  const target = form === 'json' ? jsonTarget(client, url, workload) : sdkTarget(client, url, workload);
  return { target, close: async () => {} };
}
