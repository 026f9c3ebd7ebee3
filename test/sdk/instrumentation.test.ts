/**
 * KafkaJS's logging and instrumentation events, against a real local server: `logLevel` and
 * `logCreator` on the client, a `logger()` on each part, and `on(event, listener)` with the event
 * objects `{ id, type, timestamp, payload }` of `consumer.events`, `producer.events` and `admin.events`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type InstrumentationEvent,
  jsonSerde,
  type LogEntry,
  logLevel,
  Streambed,
  StreambedError,
} from '../../client/index.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { waitFor } from '../support/wait-for.ts';

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer({ port: 0, memory: true });
});
afterAll(async () => server.close());

const retry = { retries: 2, initialRetryTimeMs: 1, maxRetryTimeMs: 5 };

/** A client whose log entries are kept, and the levels its logCreator was made with. */
function capturing(level: number) {
  const entries: LogEntry[] = [];
  const createdWith: number[] = [];
  const client = new Streambed({
    url: server.url,
    logLevel: level as LogEntry['level'],
    logCreator: (created) => {
      createdWith.push(created);
      return (entry) => void entries.push(entry);
    },
  });
  return { client, entries, createdWith };
}

async function topicWith(client: Streambed, topic: string, values: string[]) {
  await client.admin().createTopic({ topic, numPartitions: 1 });
  const producer = client.producer({ lingerMs: 0 });
  await producer.send({ topic, messages: values.map((value) => ({ value })) });
  await producer.disconnect();
}

/** Runs a consumer whose handler always fails until it crashes. */
async function crashOnce(client: Streambed, topic: string) {
  await topicWith(client, topic, ['poison']);
  const consumer = client.consumer({ groupId: topic, retry });
  let crashed = false;
  consumer.on(consumer.events.CRASH, () => {
    crashed = true;
  });
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async () => {
      throw new Error('cannot process');
    },
  });
  await waitFor(() => crashed, 10_000, 'the crash');
  await consumer.disconnect();
}

describe('logLevel and logCreator', () => {
  it('exports KafkaJS levels', () => {
    expect(logLevel).toEqual({ NOTHING: 0, ERROR: 1, WARN: 2, INFO: 4, DEBUG: 5 });
  });

  it('logCreator receives entries at the chosen level and above, nothing below it', async () => {
    // Prepare
    const { client, entries, createdWith } = capturing(logLevel.WARN);
    // Act
    await crashOnce(client, 'log-warn');
    // Assess
    expect(createdWith).toEqual([logLevel.WARN]);
    expect(new Set(entries.map((e) => e.label))).toEqual(new Set(['WARN', 'ERROR']));
    expect(entries.every((e) => e.level <= logLevel.WARN)).toBe(true);
    const retried = entries.filter((e) => e.log.message === 'processing failed; retrying');
    expect(retried).toHaveLength(retry.retries);
    const failed = entries.find((e) => e.label === 'ERROR' && e.log.message.includes('crashes'));
    expect(failed).toMatchObject({
      namespace: 'Consumer',
      level: logLevel.ERROR,
      log: { logger: 'streambed', topic: 'log-warn', partition: 0, offset: 0, error: 'cannot process' },
    });
    expect(Number.isNaN(Date.parse(failed!.log.timestamp))).toBe(false);
    expect(JSON.stringify(entries)).not.toContain('poison');
  });

  it('DEBUG adds the debug entries; NOTHING logs nothing at all', async () => {
    const debug = capturing(logLevel.DEBUG);
    const nothing = capturing(logLevel.NOTHING);
    await crashOnce(debug.client, 'log-debug');
    await crashOnce(nothing.client, 'log-nothing');
    expect(debug.entries.some((e) => e.label === 'DEBUG')).toBe(true);
    expect(nothing.entries).toEqual([]);
  });

  it('each part has a logger() that logs through the logCreator under its namespace', () => {
    const { client, entries } = capturing(logLevel.INFO);
    client.producer().logger().info('from the producer', { n: 1 });
    client.admin().logger().debug('below the level');
    client.consumer({ groupId: 'g' }).logger().error('from the consumer');
    client.logger().warn('from the client');
    expect(entries.map((e) => [e.namespace, e.label, e.log.message])).toEqual([
      ['Producer', 'INFO', 'from the producer'],
      ['Consumer', 'ERROR', 'from the consumer'],
      ['', 'WARN', 'from the client'],
    ]);
    expect(entries[0]!.log).toMatchObject({ n: 1 });
  });

  it('refuses a logLevel that is not one of the levels', () => {
    expect(() => new Streambed({ url: server.url, logLevel: 3 as 2 })).toThrow(StreambedError);
    expect(() => new Streambed({ url: server.url, logLevel: 3 as 2 })).toThrow(/logLevel 3/);
  });
});

describe('instrumentation events', () => {
  it('consumer events fire with KafkaJS-shaped payloads', async () => {
    // Prepare
    const client = new Streambed({ url: server.url, logLevel: logLevel.NOTHING });
    await topicWith(client, 'events-topic', ['a', 'b', 'c']);
    const consumer = client.consumer({
      groupId: 'events-group',
      heartbeatIntervalMs: 100,
      autoCommitIntervalMs: 0,
    });
    const events: InstrumentationEvent<unknown>[] = [];
    for (const name of Object.values(consumer.events)) consumer.on(name, (event) => void events.push(event));
    const of = (type: string) => events.filter((e) => e.type === type);
    // Act
    await consumer.connect();
    await consumer.subscribe({ topic: 'events-topic', fromBeginning: true });
    await consumer.run({ eachBatch: async () => {} });
    await waitFor(
      () => of('consumer.commit_offsets').length > 0 && of('consumer.heartbeat').length > 0,
      10_000,
      'a commit and a heartbeat',
    );
    await consumer.stop();
    await consumer.disconnect();
    // Assess
    for (const event of events) {
      expect(typeof event.id).toBe('number');
      expect(typeof event.timestamp).toBe('number');
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(of('consumer.connect')[0]!.payload).toBeNull();
    const memberId = (of('consumer.group_join')[0]!.payload as { memberId: string }).memberId;
    expect(of('consumer.group_join')[0]!.payload).toMatchObject({
      groupId: 'events-group',
      memberId: expect.any(String),
      isLeader: false,
      memberAssignment: { 'events-topic': [0] },
      duration: expect.any(Number),
    });
    expect(of('consumer.fetch_start')[0]!.payload).toMatchObject({ topic: 'events-topic', partition: 0 });
    expect(of('consumer.fetch')[0]!.payload).toMatchObject({
      numberOfBatches: expect.any(Number),
      duration: expect.any(Number),
    });
    const batch = { topic: 'events-topic', partition: 0, highWatermark: 3, batchSize: 3, firstOffset: 0 };
    expect(of('consumer.start_batch_process')[0]!.payload).toEqual({
      ...batch,
      lastOffset: 2,
      offsetLag: 0,
      offsetLagLow: 2,
    });
    expect(of('consumer.end_batch_process')[0]!.payload).toMatchObject({
      ...batch,
      duration: expect.any(Number),
    });
    expect(of('consumer.commit_offsets').at(-1)!.payload).toEqual({
      groupId: 'events-group',
      memberId,
      groupGenerationId: expect.any(Number),
      topics: [{ topic: 'events-topic', partitions: [{ partition: 0, offset: 3 }] }],
    });
    expect(of('consumer.heartbeat')[0]!.payload).toEqual({
      groupId: 'events-group',
      memberId,
      groupGenerationId: expect.any(Number),
    });
    expect(of('consumer.network.request').map((e) => (e.payload as { apiName: string }).apiName)).toEqual(
      expect.arrayContaining(['JoinGroup', 'Fetch', 'OffsetCommit', 'Heartbeat', 'LeaveGroup']),
    );
    const requests = of('consumer.network.request').map((e) => e.payload as { apiName: string });
    expect(requests[0]).toMatchObject({ apiName: 'GET /v1/health', status: 200 }); // connect()
    expect(requests.find((r) => r.apiName === 'JoinGroup')).toMatchObject({
      broker: new URL(server.url).host,
      method: 'POST',
      path: '/v1/groups/events-group/members',
      size: expect.any(Number),
      duration: expect.any(Number),
      correlationId: expect.any(Number),
    });
    expect(of('consumer.stop')).toHaveLength(1);
    expect(of('consumer.disconnect')).toHaveLength(1);
    expect(events.at(-1)!.type).toBe('consumer.disconnect');
  });

  it('signals a rebalance when a second member joins', async () => {
    const client = new Streambed({ url: server.url, logLevel: logLevel.NOTHING });
    await client.admin().createTopic({ topic: 'rebalance-topic', numPartitions: 2 });
    const options = { groupId: 'rebalance-group', heartbeatIntervalMs: 100 };
    const first = client.consumer(options);
    const rebalances: InstrumentationEvent<unknown>[] = [];
    const joins: InstrumentationEvent<unknown>[] = [];
    first.on(first.events.REBALANCING, (event) => void rebalances.push(event));
    first.on(first.events.GROUP_JOIN, (event) => void joins.push(event));
    await first.subscribe({ topic: 'rebalance-topic' });
    await first.run({ eachMessage: async () => {} });
    const second = client.consumer(options);
    await second.subscribe({ topic: 'rebalance-topic' });
    await second.run({ eachMessage: async () => {} });
    await waitFor(() => joins.length === 2, 10_000, 'the first member joining again');
    await second.disconnect();
    await first.disconnect();
    expect(rebalances[0]!.payload).toEqual({ groupId: 'rebalance-group', memberId: expect.any(String) });
    expect((joins[0]!.payload as { memberAssignment: object }).memberAssignment).toEqual({
      'rebalance-topic': [0, 1],
    });
    expect(
      (joins[1]!.payload as { memberAssignment: Record<string, number[]> }).memberAssignment[
        'rebalance-topic'
      ],
    ).toHaveLength(1);
  });

  it('producer and admin emit connect, disconnect and request events; on() returns a function that removes the listener', async () => {
    const client = new Streambed({ url: server.url, logLevel: logLevel.NOTHING });
    const admin = client.admin();
    const producer = client.producer({ lingerMs: 0 });
    const adminRequests: InstrumentationEvent<unknown>[] = [];
    const producerRequests: InstrumentationEvent<unknown>[] = [];
    const connections: InstrumentationEvent<unknown>[] = [];
    for (const part of [producer, admin] as const) {
      part.on(part.events.CONNECT, (event) => void connections.push(event));
      part.on(part.events.DISCONNECT, (event) => void connections.push(event));
    }
    await producer.connect();
    await admin.connect();
    const removeAdmin = admin.on(admin.events.REQUEST, (event) => void adminRequests.push(event));
    producer.on(producer.events.REQUEST, (event) => void producerRequests.push(event));
    await admin.createTopic({ topic: 'requests-topic', numPartitions: 1 });
    removeAdmin();
    await admin.listTopics();
    await producer.send({ topic: 'requests-topic', messages: [{ value: 'x' }] });
    await producer.disconnect();
    await admin.disconnect();
    expect(adminRequests).toHaveLength(1);
    expect(adminRequests[0]).toMatchObject({
      type: 'admin.network.request',
      payload: { method: 'POST', path: '/v1/topics', status: 201, apiName: 'CreateTopics' },
    });
    expect(producerRequests.map((e) => e.type)).toContain('producer.network.request');
    expect(producerRequests.map((e) => (e.payload as { apiName: string }).apiName)).toContain('Produce');
    expect(connections.map((e) => [e.type, e.payload])).toEqual([
      ['producer.connect', null],
      ['admin.connect', null],
      ['producer.disconnect', null],
      ['admin.disconnect', null],
    ]);
    expect(() => admin.on('admin.nope' as 'admin.connect', () => {})).toThrow(/admin.nope/);
  });

  it('a listener that throws is logged and does not stop the consumer', async () => {
    const entries: LogEntry[] = [];
    const client = new Streambed({
      url: server.url,
      logLevel: logLevel.ERROR,
      logCreator: () => (entry) => void entries.push(entry),
    });
    await topicWith(client, 'listener-throws', ['a', 'b']);
    const consumer = client.consumer({ groupId: 'listener-throws' });
    consumer.on(consumer.events.START_BATCH_PROCESS, () => {
      throw new Error('listener broke');
    });
    const seen: string[] = [];
    await consumer.subscribe({ topic: 'listener-throws', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });
    await waitFor(() => seen.length === 2, 10_000, 'both records');
    await consumer.disconnect();
    expect(entries.some((e) => e.log.message.includes('listener broke'))).toBe(true);
  });
});

describe('a logCreator that throws', () => {
  it('loses its entries but never stops the consumer', async () => {
    // Prepare
    const client = new Streambed({
      url: server.url,
      logLevel: logLevel.DEBUG,
      logCreator: () => () => {
        throw new Error('log sink down');
      },
    });
    await topicWith(client, 'log-sink-throws', ['a', 'b']);
    const consumer = client.consumer({ groupId: 'log-sink-throws', retry });
    const seen: string[] = [];
    await consumer.subscribe({ topic: 'log-sink-throws', fromBeginning: true });
    // Act
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });
    await waitFor(() => seen.length === 2, 10_000, 'both records');
    await consumer.disconnect();
    // Assess
    expect(seen).toEqual(['a', 'b']);
  });
});

describe('log entries never carry a value', () => {
  it('a value the JSON serde cannot parse is logged by its place, not by its text', async () => {
    // Prepare: Node's JSON.parse quotes the text it failed on
    const { client, entries } = capturing(logLevel.WARN);
    await topicWith(client, 'json-leak', ['card 4111-1111 not json']);
    const consumer = client.consumer({ groupId: 'json-leak', retry, valueSerde: jsonSerde });
    let crashed = false;
    consumer.on(consumer.events.CRASH, () => {
      crashed = true;
    });
    await consumer.subscribe({ topic: 'json-leak', fromBeginning: true });
    // Act
    await consumer.run({ eachMessage: async () => {} });
    await waitFor(() => crashed, 10_000, 'the crash');
    await consumer.disconnect();
    // Assess
    const logged = entries.map((e) => JSON.stringify(e.log));
    expect(logged.filter((line) => line.includes('4111'))).toEqual([]);
    expect(logged.some((line) => line.includes('json-leak/0 offset 0') && /not JSON/.test(line))).toBe(true);
  });
});
