/**
 * The Kafka listener against hostile or unusual frames: what an unauthenticated client can make the
 * server hold, and frames that lie about their sizes.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecordBatch } from '../../client/wire/record-batch.ts';
import { readResponse, writeRequest } from '../../lambdas/kafka/protocol/frames.ts';
import { CreateTopics, Fetch, Metadata, Produce } from '../../lambdas/kafka/protocol/messages.ts';
import { exchange, type KafkaTestServer, request, startKafkaTestServer } from '../support/kafka-server.ts';

let secured: KafkaTestServer;
let open: KafkaTestServer;

beforeAll(async () => {
  [secured, open] = await Promise.all([
    startKafkaTestServer({ token: 'review-token' }),
    startKafkaTestServer(),
  ]);
});
afterAll(() => Promise.all([secured.close(), open.close()]));

/** Writes `bytes` on a fresh connection and resolves once the server closes it. */
function closedAfter(broker: string, bytes: Buffer): Promise<void> {
  const [host, port] = broker.split(':');
  const socket = connect(Number(port), host);
  return new Promise((resolve, reject) => {
    socket.on('close', () => resolve());
    socket.on('error', reject);
    socket.write(bytes);
  });
}

describe('frames before authentication', () => {
  it('closes a connection announcing a frame larger than an unauthenticated one may be', async () => {
    // Only a size prefix, of 1 MiB (Kafka allows 512 KiB before authentication: sasl.server.max.receive.size).
    // A server that waits for the frame's bytes keeps this connection open.
    const size = Buffer.alloc(4);
    size.writeInt32BE(1024 * 1024, 0);
    await closedAfter(secured.broker, size);
  });
});

const oneBatch = (value: Buffer) =>
  Buffer.from(encodeRecordBatch([{ key: null, value, timestamp: Date.now(), headers: [] }]));

const produceFrame = (correlationId: number, topic: string, records: Buffer) =>
  writeRequest(
    Produce,
    7,
    { correlationId, clientId: 'review' },
    {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    },
  );

const fetchFrame = (correlationId: number, topic: string, fetchOffset: number, maxWaitMs: number) =>
  writeRequest(
    Fetch,
    11,
    { correlationId, clientId: 'review' },
    {
      replicaId: -1,
      maxWaitMs,
      minBytes: 1,
      maxBytes: 64 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset,
              logStartOffset: -1,
              partitionMaxBytes: 2 ** 20,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    },
  );

describe('a client that does not read its responses', () => {
  it('is not served further until it reads, as Kafka mutes a connection until its response is sent', async () => {
    for (const name of ['big', 'late']) {
      const created = await request(open.broker, CreateTopics, 4, {
        topics: [{ name, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }],
        timeoutMs: 5000,
        validateOnly: false,
      });
      expect(created.topics[0]?.errorCode).toBe(0);
    }
    const stored = await request(open.broker, Produce, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        { name: 'big', partitionData: [{ index: 0, records: oneBatch(Buffer.alloc(900 * 1024, 7)) }] },
      ],
    });
    expect(stored.responses[0]?.partitionResponses[0]?.errorCode).toBe(0);
    // 40 fetches of 900 KiB each, then a produce, on a connection that reads nothing.
    const frames = Array.from({ length: 40 }, (_, i) => fetchFrame(i + 1, 'big', 0, 0));
    frames.push(produceFrame(41, 'late', oneBatch(Buffer.from('after the fetches'))));
    const [host, port] = open.broker.split(':');
    const stalled = connect(Number(port), host);
    stalled.pause();
    for (const frame of frames) stalled.write(frame);
    // Another connection waits (on the server) up to 2 s for the produce: it must not come.
    const watched = await exchange(open.broker, [fetchFrame(1, 'late', 0, 2000)], 1);
    const late = readResponse(Fetch, 11, watched.responses[0] as Buffer).body as {
      responses: { partitions: { highWatermark: number }[] }[];
    };
    expect(late.responses[0]?.partitions[0]?.highWatermark).toBe(0);
    // Once the client reads, every response comes, the produce's last.
    let buffered = Buffer.alloc(0);
    let answered = 0;
    await new Promise<void>((resolve, reject) => {
      stalled.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
          buffered = buffered.subarray(4 + buffered.readInt32BE(0));
          answered++;
        }
        if (answered === frames.length) resolve();
      });
      stalled.on('error', reject);
      stalled.resume();
    });
    stalled.destroy();
    expect(answered).toBe(41);
  });
});

describe('Metadata by topic id', () => {
  it.each([10, 11, 12])(
    'answers a topic asked by id alone at v%i, with a name where the version has no null',
    async (version) => {
      const response = await request(open.broker, Metadata, version, {
        topics: [{ topicId: 'f'.repeat(32), name: null }],
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
      expect(response.topics).toMatchObject([
        { errorCode: 3, name: version >= 12 ? null : '', partitions: [] },
      ]);
    },
  );
});
