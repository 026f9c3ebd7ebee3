/**
 * The Kafka listener's connection handling, seen by real clients (KafkaJS, kcat) and by raw frames:
 * version negotiation, metadata, and the cases that close a connection.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reader } from '../../lambdas/kafka/protocol/codec.ts';
import { readResponse, writeRequest } from '../../lambdas/kafka/protocol/frames.ts';
import { ApiVersions, Metadata } from '../../lambdas/kafka/protocol/messages.ts';
import { startLocalServer } from '../../lambdas/runtime/local-server.ts';
import {
  exchange as exchangeFrames,
  type KafkaTestServer,
  startKafkaTestServer,
} from '../support/kafka-server.ts';

const run = promisify(execFile);
let kafkaServer: KafkaTestServer;

beforeAll(async () => {
  kafkaServer = await startKafkaTestServer();
  const created = await fetch(`${kafkaServer.url}/v1/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'orders', partitions: 3 }),
  });
  expect(created.status).toBe(201);
});
afterAll(() => kafkaServer.close());

/** Sends raw frames to this file's server. */
const exchange = (frames: Buffer[], expected: number) => exchangeFrames(kafkaServer.broker, frames, expected);

describe('the Kafka listener', () => {
  it('gives KafkaJS the topics and their partitions, led by itself', async () => {
    // Prepare
    const admin = new Kafka({
      brokers: [kafkaServer.broker],
      clientId: 'meta-test',
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      // Act
      const { topics } = await admin.fetchTopicMetadata({ topics: ['orders'] });
      const names = await admin.listTopics();
      // Assess
      expect(names).toContain('orders');
      expect(topics).toHaveLength(1);
      expect(topics[0]?.partitions.map((p) => [p.partitionId, p.leader]).sort()).toEqual([
        [0, 0],
        [1, 0],
        [2, 0],
      ]);
    } finally {
      await admin.disconnect();
    }
  });

  it('lists brokers and topics to kcat -L', async () => {
    const { stdout } = await run('kcat', ['-b', kafkaServer.broker, '-L', '-m', '10']);
    expect(stdout).toContain(`broker 0 at ${kafkaServer.broker} (controller)`);
    expect(stdout).toMatch(/topic "orders" with 3 partitions/);
  });

  it('answers an ApiVersions newer than it speaks at v0 with UNSUPPORTED_VERSION and its own range', async () => {
    // Prepare: version 99 of ApiVersions, whose body this listener cannot know
    const frame = writeRequest(ApiVersions, 3, { correlationId: 7, clientId: 'future' }, {});
    frame.writeInt16BE(99, 6);
    // Act
    const { responses } = await exchange([frame], 1);
    // Assess
    const { correlationId, body } = readResponse(ApiVersions, 0, responses[0] as Buffer);
    expect(correlationId).toBe(7);
    expect(body.errorCode).toBe(35);
    expect(body.apiKeys).toEqual([{ apiKey: 18, minVersion: 0, maxVersion: ApiVersions.versions.max }]);
  });

  it('answers pipelined requests in order, each with its correlation id', async () => {
    const frames = [1, 2, 3].map((correlationId) =>
      writeRequest(Metadata, 6, { correlationId, clientId: 'pipeline' }, { topics: [{ name: 'orders' }] }),
    );
    const { responses } = await exchange(frames, 3);
    expect(responses.map((response) => new Reader(response).int32())).toEqual([1, 2, 3]);
  });

  it('reads frames however the bytes arrive: one byte at a time, or several frames in one write', async () => {
    const [first, second, third] = [1, 2, 3].map((correlationId) =>
      writeRequest(Metadata, 6, { correlationId, clientId: 'pieces' }, { topics: [{ name: 'orders' }] }),
    ) as [Buffer, Buffer, Buffer];
    const pieces = [...first].map((byte) => Buffer.from([byte]));
    const { responses } = await exchange([...pieces, Buffer.concat([second, third])], 3);
    expect(responses.map((response) => new Reader(response).int32())).toEqual([1, 2, 3]);
  });

  it.each([
    [
      'an API it does not serve',
      () => writeRequest(ApiVersions, 0, { correlationId: 1, clientId: null }, {}),
      1000,
    ],
    [
      'a version of an API beyond what it advertised',
      () => writeRequest(Metadata, 12, { correlationId: 1, clientId: null }, {}),
      13,
    ],
  ])('closes the connection on %s', async (_what, build, version) => {
    const frame = build();
    if (version === 1000) frame.writeInt16BE(1000, 4);
    else frame.writeInt16BE(version, 6);
    const { responses, closed } = await exchange([frame], 1);
    expect(closed).toBe(true);
    expect(responses).toEqual([]);
  });

  it('closes the connection on a frame that claims more than it may', async () => {
    const frame = Buffer.alloc(8);
    frame.writeInt32BE(200 * 1024 * 1024, 0);
    const { closed } = await exchange([frame], 1);
    expect(closed).toBe(true);
  });

  it('refuses to start on a busy port, naming the flag', async () => {
    const port = Number(kafkaServer.broker.split(':')[1]);
    await expect(
      startLocalServer({ memory: true, port: 0, logLevel: 'silent', kafka: { port } }),
    ).rejects.toThrow(new RegExp(`--kafka-port ${port}: the port is in use.*--no-kafka`));
  });
});
