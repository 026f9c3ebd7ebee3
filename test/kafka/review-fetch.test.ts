/**
 * Fetch's byte limits over raw frames: `max_bytes` bounds the whole response at batch boundaries,
 * yet the first batch is served whole however large (KIP-74).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecordBatch, splitBatches } from '../../client/wire/record-batch.ts';
import { CreateTopics, Fetch, Produce } from '../../lambdas/kafka/protocol/messages.ts';
import { type KafkaTestServer, request, startKafkaTestServer } from '../support/kafka-server.ts';

let kafka: KafkaTestServer;

beforeAll(async () => {
  kafka = await startKafkaTestServer();
  const created = await request(kafka.broker, CreateTopics, 4, {
    topics: [{ name: 'limits', numPartitions: 2, replicationFactor: -1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(created.topics[0]?.errorCode).toBe(0);
  // Three batches of two records on each partition, one Produce request each.
  for (let i = 0; i < 3; i++) {
    const records = (partition: number) =>
      Buffer.from(
        encodeRecordBatch(
          [0, 1].map((r) => ({
            key: null,
            value: Buffer.from(`p${partition}-b${i}-r${r}`),
            timestamp: Date.now(),
            headers: [],
          })),
        ),
      );
    const produced = await request(kafka.broker, Produce, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        {
          name: 'limits',
          partitionData: [
            { index: 0, records: records(0) },
            { index: 1, records: records(1) },
          ],
        },
      ],
    });
    expect(produced.responses[0]?.partitionResponses.map((p) => p.errorCode)).toEqual([0, 0]);
  }
});
afterAll(() => kafka.close());

async function fetchBatches(maxBytes: number, partitionMaxBytes: number) {
  const response = await request(kafka.broker, Fetch, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: 'limits',
        partitions: [0, 1].map((partition) => ({
          partition,
          currentLeaderEpoch: -1,
          fetchOffset: 0,
          logStartOffset: -1,
          partitionMaxBytes,
        })),
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
  return (response.responses[0]?.partitions ?? []).map((p) => [
    ...splitBatches(p.records ?? Buffer.alloc(0)),
  ]);
}

describe('Fetch byte limits', () => {
  it('serves the whole log of both partitions when the limits allow it', async () => {
    const batches = await fetchBatches(1024 * 1024, 1024 * 1024);
    expect(batches.map((b) => b.length)).toEqual([3, 3]);
  });

  it('cuts the response at max_bytes, at a batch boundary, but serves the first batch whole', async () => {
    const [[first]] = (await fetchBatches(1024 * 1024, 1024 * 1024)) as [Uint8Array[]];
    const size = (first as Uint8Array).length;
    // Room for one and a half batches: the first batch, and nothing of the rest.
    expect((await fetchBatches(size + size / 2, 1024 * 1024)).map((b) => b.length)).toEqual([1, 0]);
    // Less than one batch: still the first batch whole, as KIP-74 asks.
    expect((await fetchBatches(1, 1024 * 1024)).map((b) => b.length)).toEqual([1, 0]);
    // Room for four batches: three of partition 0, one of partition 1.
    expect((await fetchBatches(4 * size, 1024 * 1024)).map((b) => b.length)).toEqual([3, 1]);
  });
});
