/**
 * Kafka's classic consumer groups through real clients: KafkaJS members splitting partitions,
 * committing and resuming; kcat's balanced consumer; the group admin APIs; and the committed offsets
 * and lag the HTTP API shows for the same group.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type Consumer, Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JsonCall, jsonCaller } from '../support/json-call.ts';
import { type KafkaTestServer, startKafkaTestServer } from '../support/kafka-server.ts';
import { waitFor } from '../support/wait-for.ts';

const run = promisify(execFile);
let server: KafkaTestServer;
let call: JsonCall;
let kafka: Kafka;

beforeAll(async () => {
  server = await startKafkaTestServer();
  call = jsonCaller(() => server.url);
  kafka = new Kafka({ brokers: [server.broker], clientId: 'groups-test', logLevel: logLevel.NOTHING });
});
afterAll(() => server.close());

async function createTopic(name: string, partitions: number) {
  expect((await call('POST', '/v1/topics', { name, partitions })).status).toBe(201);
}

async function produce(topic: string, values: string[]) {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic, messages: values.map((value) => ({ key: value, value })) });
  await producer.disconnect();
}

interface Member {
  consumer: Consumer;
  received: { partition: number; offset: string; value: string }[];
  assigned: () => number[];
}

async function member(groupId: string, topic: string): Promise<Member> {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 6000,
    heartbeatInterval: 300,
    rebalanceTimeout: 10000,
    // KafkaJS heartbeats between fetches: short long polls let members rejoin a rebalance at once.
    maxWaitTimeInMs: 100,
  });
  let assigned: number[] = [];
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    assigned = (event.payload.memberAssignment[topic] ?? []) as number[];
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const received: Member['received'] = [];
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      received.push({ partition, offset: message.offset, value: `${message.value}` });
    },
  });
  return { consumer, received, assigned: () => assigned };
}

describe('Kafka consumer groups', () => {
  it('splits partitions between two KafkaJS members, commits, and a new member resumes after the commits', async () => {
    // Prepare: two members share the topic before anything is in it
    await createTopic('shared', 4);
    const a = await member('billing', 'shared');
    const b = await member('billing', 'shared');
    await waitFor(
      () =>
        a.assigned().length > 0 && b.assigned().length > 0 && a.assigned().length + b.assigned().length === 4,
      30_000,
      'both members assigned',
    );
    // Act
    const first = Array.from({ length: 40 }, (_, i) => `first-${i}`);
    await produce('shared', first);
    await waitFor(
      () => new Set([...a.received, ...b.received].map((m) => m.value)).size === 40,
      30_000,
      'all 40 read',
    );
    // Assess: disjoint halves, each member reading its own partitions
    expect([...a.assigned(), ...b.assigned()].sort()).toEqual([0, 1, 2, 3]);
    for (const m of a.received) expect(a.assigned()).toContain(m.partition);
    for (const m of b.received) expect(b.assigned()).toContain(m.partition);
    await waitFor(
      async () => {
        const { body } = await call('GET', '/v1/groups/billing');
        return body.partitions?.length === 4 && body.partitions.every((p: { lag: number }) => p.lag === 0);
      },
      30_000,
      'the commits to show as lag 0 over HTTP',
    );
    await a.consumer.disconnect();
    await b.consumer.disconnect();
    // The group's offsets stay listed over HTTP after every Kafka member left.
    const { body: after } = await call('GET', '/v1/groups/billing');
    expect(after.members).toEqual([]);
    expect(
      after.partitions
        .map((p: { committedOffset: number }) => p.committedOffset)
        .reduce((x: number, y: number) => x + y, 0),
    ).toBe(40);

    // Act: more records, then a new member of the same group
    const second = Array.from({ length: 10 }, (_, i) => `second-${i}`);
    await produce('shared', second);
    const c = await member('billing', 'shared');
    await waitFor(() => c.received.length >= 10, 30_000, 'the 10 new records');
    await c.consumer.disconnect();
    // Assess: it resumed at the commits, so it read the new records only
    expect(c.received.map((m) => m.value).sort()).toEqual([...second].sort());
  }, 120_000);

  it('describes, lists and deletes groups for KafkaJS admin', async () => {
    // Prepare
    await createTopic('admin-groups', 1);
    await produce('admin-groups', ['x']);
    const m = await member('auditors', 'admin-groups');
    await waitFor(() => m.received.length === 1, 30_000, 'the record');
    const admin = kafka.admin();
    await admin.connect();
    try {
      // Act
      const { groups } = await admin.describeGroups(['auditors']);
      const listed = await admin.listGroups();
      const refused = admin.deleteGroups(['auditors']);
      // Assess
      expect(groups[0]).toMatchObject({ groupId: 'auditors', state: 'Stable', protocolType: 'consumer' });
      expect(groups[0]?.members).toHaveLength(1);
      expect(listed.groups.filter((g) => g.groupId === 'auditors')).toEqual([
        { groupId: 'auditors', protocolType: 'consumer' },
      ]);
      await expect(refused).rejects.toThrow();
      await m.consumer.disconnect();
      await admin.deleteGroups(['auditors']);
      // Deleted with its offsets: the HTTP API describes it as a group nobody has joined.
      expect((await call('GET', '/v1/groups/auditors')).body).toMatchObject({ members: [], partitions: [] });
    } finally {
      await admin.disconnect();
    }
  }, 60_000);

  it('keeps the metadata a KafkaJS consumer commits with an offset, for KafkaJS admin to read', async () => {
    // Prepare
    await createTopic('with-metadata', 1);
    await produce('with-metadata', ['a', 'b', 'c']);
    const consumer = kafka.consumer({ groupId: 'annotators', sessionTimeout: 6000, heartbeatInterval: 300 });
    await consumer.connect();
    await consumer.subscribe({ topics: ['with-metadata'], fromBeginning: true });
    let committed = false;
    const admin = kafka.admin();
    await admin.connect();
    try {
      // Act: commit by hand, with metadata (Kafka Streams keeps a partition's stream time there)
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) => {
          if (message.offset !== '2') return;
          await consumer.commitOffsets([
            { topic, partition, offset: '3', metadata: 'stream-time=1790000000000' },
          ]);
          committed = true;
        },
      });
      await waitFor(() => committed, 30_000, 'the commit');
      await consumer.disconnect();
      const [fetched] = await admin.fetchOffsets({ groupId: 'annotators', topics: ['with-metadata'] });
      // Assess
      expect(fetched?.partitions).toEqual([
        { partition: 0, offset: '3', metadata: 'stream-time=1790000000000' },
      ]);
    } finally {
      await admin.disconnect();
    }
  }, 60_000);

  it("reads with kcat's balanced consumer (-G) and commits the group's offsets", async () => {
    // Prepare
    await createTopic('kcat-group', 2);
    await produce(
      'kcat-group',
      Array.from({ length: 20 }, (_, i) => `r${i}`),
    );
    // Act
    const { stdout } = await run(
      'kcat',
      [
        '-b',
        server.broker,
        '-G',
        'kcat-readers',
        'kcat-group',
        '-o',
        'beginning',
        '-e',
        '-q',
        '-f',
        '%s\n',
        '-X',
        'auto.commit.interval.ms=100',
      ],
      { timeout: 60_000 },
    );
    // Assess
    expect(stdout.split('\n').filter(Boolean).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `r${i}`).sort(),
    );
    const { body } = await call('GET', '/v1/groups/kcat-readers');
    expect(
      body.partitions.reduce(
        (sum: number, p: { committedOffset: number | null }) => sum + (p.committedOffset ?? 0),
        0,
      ),
    ).toBe(20);
  }, 90_000);
});
