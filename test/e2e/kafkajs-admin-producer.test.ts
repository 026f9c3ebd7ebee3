/**
 * The SDK's Admin and Producer answer KafkaJS's calls (v2: names, arguments, result shapes) against a
 * local in-memory server, and bad input gets a StreambedError naming what was wrong, changing nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Admin, type Producer, type SeekEntry, Streambed } from '../../client/index.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { sdkFailure } from '../support/failure.ts';
import { freePort } from '../support/free-port.ts';
import { serveHttp } from '../support/local-http.ts';

let local: LocalServer;
let client: Streambed;
let admin: Admin;
beforeAll(async () => {
  local = await startLocalServer({ port: 0, memory: true });
  client = new Streambed({ url: local.url });
  admin = client.admin();
});
afterAll(async () => local.close());

/** A producer that sends each call at once. */
const producerOf = (): Producer<string> => client.producer<string>({ lingerMs: 0 });

/** A consumer of `topic` in `groupId` that has joined; disconnect it to leave. */
async function liveMember(groupId: string, topic: string) {
  const member = client.consumer({ groupId });
  await member.subscribe({ topics: [topic] });
  await member.run({ eachMessage: async () => {} });
  return member;
}

describe('connect and disconnect', () => {
  it('connect checks the server answers, and may be called again', async () => {
    const producer = producerOf();
    await producer.connect();
    await producer.connect();
    await admin.connect();
    await admin.connect();
    await admin.disconnect();
    await producer.disconnect();
  });

  it('connect to nothing listening fails naming the URL and the cause', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const nowhere = new Streambed({ url });
    for (const connecting of [nowhere.producer().connect(), nowhere.admin().connect()]) {
      const error = await sdkFailure(connecting);
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.message).toContain(url);
      expect(error.message).toContain('connection refused');
    }
  });

  it('connect to a server that is not Streambed fails naming the URL and its answer', async () => {
    const other = await serveHttp((_req, res) => res.writeHead(404).end('not here'));
    try {
      const error = await sdkFailure(new Streambed({ url: `${other.url}/base` }).admin().connect());
      expect(error.message).toBe(`${other.url}/base/v1/health answered HTTP 404`);
    } finally {
      await other.close();
    }
  });
});

describe('Producer', () => {
  beforeAll(async () => {
    await admin.createTopic({ topic: 'p-orders', numPartitions: 2 });
    await admin.createTopic({ topic: 'p-audit', numPartitions: 1 });
  });

  it('send takes acks, timeout and compression and answers KafkaJS RecordMetadata per message', async () => {
    const producer = producerOf();
    const sent = await producer.send({
      topic: 'p-orders',
      messages: [
        { value: 'a', partition: 1 },
        { value: 'b', partition: 1 },
      ],
      acks: -1,
      timeout: 30_000,
      compression: 1,
    });
    expect(sent).toEqual([
      { topicName: 'p-orders', topic: 'p-orders', partition: 1, errorCode: 0, offset: 0, baseOffset: '0' },
      { topicName: 'p-orders', topic: 'p-orders', partition: 1, errorCode: 0, offset: 1, baseOffset: '1' },
    ]);
    expect(
      await producer.send({ topic: 'p-orders', messages: [{ value: 'c', partition: 1 }], acks: 1 }),
    ).toMatchObject([{ partition: 1, offset: 2 }]);
    // acks 0: written all the same, and no metadata, as KafkaJS answers.
    expect(
      await producer.send({ topic: 'p-orders', messages: [{ value: 'd', partition: 1 }], acks: 0 }),
    ).toEqual([]);
    expect((await admin.fetchTopicOffsets('p-orders'))[1]?.high).toBe('4');
  });

  it('sendBatch sends to several topics and answers one flat list', async () => {
    const producer = producerOf();
    const before = await admin.fetchTopicOffsets('p-audit');
    const sent = await producer.sendBatch({
      topicMessages: [
        { topic: 'p-audit', messages: [{ value: 'x' }] },
        { topic: 'p-orders', messages: [{ value: 'y', partition: 0 }] },
        { topic: 'p-audit', messages: [{ value: 'z' }] },
      ],
      acks: -1,
      timeout: 1000,
      compression: 0,
    });
    const start = Number(before[0]?.high);
    expect(sent).toEqual([
      expect.objectContaining({ topicName: 'p-audit', partition: 0, errorCode: 0, offset: start }),
      expect.objectContaining({ topicName: 'p-audit', partition: 0, errorCode: 0, offset: start + 1 }),
      expect.objectContaining({ topicName: 'p-orders', partition: 0, errorCode: 0, offset: 0 }),
    ]);
    expect(sent[1]?.baseOffset).toBe(String(start + 1));
  });

  it('refuses bad acks, timeout, compression and messages, naming them, writing nothing', async () => {
    const producer = producerOf();
    const before = await admin.fetchTopicOffsets('p-audit');
    const cases: [Promise<unknown>, string][] = [
      [producer.send({ topic: 'p-audit', messages: [{ value: 'v' }], acks: 2 }), 'acks 2'],
      [producer.send({ topic: 'p-audit', messages: [{ value: 'v' }], timeout: -1 }), 'timeout -1'],
      [producer.send({ topic: 'p-audit', messages: [{ value: 'v' }], compression: 7 }), 'compression 7'],
      [
        producer.send({ topic: 'p-audit', messages: 'v' as unknown as [] }),
        'messages for topic p-audit must be an array',
      ],
      [producer.sendBatch({ topicMessages: [{ topic: '', messages: [] }] }), 'topic ""'],
      [producer.sendBatch({ topicMessages: 'p-audit' as unknown as [] }), 'topicMessages must be an array'],
    ];
    for (const [call, named] of cases) {
      const error = await sdkFailure(call);
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.message).toContain(named);
    }
    expect(await admin.fetchTopicOffsets('p-audit')).toEqual(before);
  });

  it('sendBatch to a topic that does not exist fails with TOPIC_NOT_FOUND naming it', async () => {
    const error = await sdkFailure(
      producerOf().sendBatch({ topicMessages: [{ topic: 'p-missing', messages: [{ value: 'v' }] }] }),
    );
    expect(error.code).toBe('TOPIC_NOT_FOUND');
    expect(error.message).toContain('p-missing');
  });

  it('send after disconnect fails clearly; connect opens the producer again', async () => {
    const producer = producerOf();
    await producer.disconnect();
    for (const call of [
      producer.send({ topic: 'p-audit', messages: [{ value: 'v' }] }),
      producer.sendBatch({ topicMessages: [{ topic: 'p-audit', messages: [{ value: 'v' }] }] }),
    ]) {
      const error = await sdkFailure(call);
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.message).toBe('the producer is disconnected: call connect() to send again');
    }
    await producer.connect();
    expect(await producer.send({ topic: 'p-audit', messages: [{ value: 'v' }] })).toHaveLength(1);
  });
});

describe('Admin topics', () => {
  it('createTopics creates every topic with its partitions and config and answers true', async () => {
    const created = await admin.createTopics({
      topics: [
        {
          topic: 't-one',
          numPartitions: 3,
          replicationFactor: 3,
          configEntries: [{ name: 'retention.ms', value: '60000' }],
        },
        { topic: 't-two' },
      ],
      waitForLeaders: true,
      timeout: 5000,
    });
    expect(created).toBe(true);
    const one = await admin.describeTopic('t-one');
    expect(one.partitions).toHaveLength(3);
    expect(one.config['retention.ms']).toBe(60000);
    expect((await admin.describeTopic('t-two')).partitions).toHaveLength(1);
  });

  it('createTopics answers false when a topic already existed, and still creates the others', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 't-one' }, { topic: 't-three' }] })).toBe(false);
    expect(await admin.listTopics()).toContain('t-three');
    expect((await admin.describeTopic('t-one')).partitions).toHaveLength(3);
  });

  it('createTopics with validateOnly creates nothing, and answers false for an existing topic', async () => {
    expect(
      await admin.createTopics({ topics: [{ topic: 't-dry', numPartitions: 2 }], validateOnly: true }),
    ).toBe(true);
    expect(await admin.createTopics({ topics: [{ topic: 't-one' }], validateOnly: true })).toBe(false);
    expect(await admin.listTopics()).not.toContain('t-dry');
  });

  it('createTopics refuses bad input before creating any topic', async () => {
    const cases: [Parameters<Admin['createTopics']>[0], string][] = [
      [{ topics: [{ topic: 't-bad1' }, { topic: 't-bad1' }] }, 'topic t-bad1 is listed more than once'],
      [{ topics: [{ topic: 't-bad2' }, { topic: 'no spaces' }] }, 'topic name "no spaces" is invalid'],
      [{ topics: [{ topic: 't-bad3' }, { topic: 't-bad4', numPartitions: 0 }] }, 'numPartitions of t-bad4'],
      [
        {
          topics: [
            { topic: 't-bad5', configEntries: [{ name: 'retention.ms', value: 5 as unknown as string }] },
          ],
        },
        'configEntries of t-bad5',
      ],
      [{ topics: 't-bad6' as unknown as [] }, 'topics must be an array'],
    ];
    for (const [options, named] of cases) {
      const error = await sdkFailure(admin.createTopics(options));
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.message).toContain(named);
    }
    expect((await admin.listTopics()).filter((name) => name.startsWith('t-bad'))).toEqual([]);
  });

  it('fetchTopicMetadata answers KafkaJS partition metadata, for the topics named or every topic', async () => {
    const metadata = await admin.fetchTopicMetadata({ topics: ['t-one'] });
    expect(metadata).toEqual({
      topics: [
        {
          name: 't-one',
          partitions: [0, 1, 2].map((partitionId) => ({
            partitionErrorCode: 0,
            partitionId,
            leader: 0,
            replicas: [0],
            isr: [0],
            offlineReplicas: [],
          })),
        },
      ],
    });
    const all = await admin.fetchTopicMetadata();
    expect(all.topics.map((topic) => topic.name).sort()).toEqual((await admin.listTopics()).sort());
    const error = await sdkFailure(admin.fetchTopicMetadata({ topics: ['t-one', 't-missing'] }));
    expect(error.code).toBe('TOPIC_NOT_FOUND');
    expect(error.message).toContain('t-missing');
  });

  it('createPartitions raises partition counts', async () => {
    expect(await admin.createPartitions({ topicPartitions: [{ topic: 't-two', count: 4 }] })).toBe(true);
    const { topics } = await admin.fetchTopicMetadata({ topics: ['t-two'] });
    expect(topics[0]?.partitions.map((p) => p.partitionId)).toEqual([0, 1, 2, 3]);
  });

  it('createPartitions refuses a count not above the current one, or an unknown topic, changing nothing', async () => {
    const lower = await sdkFailure(
      admin.createPartitions({
        topicPartitions: [
          { topic: 't-three', count: 2 },
          { topic: 't-two', count: 3 },
        ],
      }),
    );
    expect(lower.code).toBe('INVALID_REQUEST');
    expect(lower.message).toBe('topic t-two has 4 partitions: count must be more than that, got 3');
    const unknown = await sdkFailure(
      admin.createPartitions({ topicPartitions: [{ topic: 't-missing', count: 2 }] }),
    );
    expect(unknown.code).toBe('TOPIC_NOT_FOUND');
    expect(unknown.message).toContain('t-missing');
    const validated = await admin.createPartitions({
      topicPartitions: [{ topic: 't-three', count: 5 }],
      validateOnly: true,
    });
    expect(validated).toBe(true);
    expect((await admin.describeTopic('t-three')).partitions).toHaveLength(1);
  });

  it('deleteTopics deletes every topic named; one unknown topic fails the call before any delete', async () => {
    await admin.createTopics({ topics: [{ topic: 't-del1' }, { topic: 't-del2' }] });
    const error = await sdkFailure(admin.deleteTopics({ topics: ['t-del1', 't-nope'] }));
    expect(error.code).toBe('TOPIC_NOT_FOUND');
    expect(error.message).toContain('t-nope');
    expect(await admin.listTopics()).toContain('t-del1');
    await admin.deleteTopics({ topics: ['t-del1', 't-del2'], timeout: 5000 });
    const left = await admin.listTopics();
    expect(left).not.toContain('t-del1');
    expect(left).not.toContain('t-del2');
  });
});

describe('Admin offsets', () => {
  beforeAll(async () => {
    await admin.createTopics({ topics: [{ topic: 'o-events', numPartitions: 2 }] });
    await producerOf().send({
      topic: 'o-events',
      messages: [1000, 2000, 3000].map((timestamp) => ({
        value: `at ${timestamp}`,
        partition: 0,
        timestamp,
      })),
    });
  });

  it('fetchTopicOffsets answers each partition offset, high and low as strings', async () => {
    expect(await admin.fetchTopicOffsets('o-events')).toEqual([
      { partition: 0, offset: '3', high: '3', low: '0' },
      { partition: 1, offset: '0', high: '0', low: '0' },
    ]);
    expect((await sdkFailure(admin.fetchTopicOffsets('o-missing'))).code).toBe('TOPIC_NOT_FOUND');
  });

  it('fetchTopicOffsetsByTimestamp answers the first offset at or after the time, else the high watermark', async () => {
    expect(await admin.fetchTopicOffsetsByTimestamp('o-events', 1500)).toEqual([
      { partition: 0, offset: '1' },
      { partition: 1, offset: '0' },
    ]);
    expect(await admin.fetchTopicOffsetsByTimestamp('o-events', 9000)).toEqual([
      { partition: 0, offset: '3' },
      { partition: 1, offset: '0' },
    ]);
    expect(await admin.fetchTopicOffsetsByTimestamp('o-events')).toEqual([
      { partition: 0, offset: '3' },
      { partition: 1, offset: '0' },
    ]);
  });

  it('fetchPartitionOffsets (and the positional fetchOffsets) answer one partition range', async () => {
    expect(await admin.fetchPartitionOffsets('o-events', 0, 2500)).toEqual({
      logStartOffset: 0,
      highWatermark: 3,
      offset: 2,
    });
    expect(await admin.fetchOffsets('o-events', 0)).toEqual({ logStartOffset: 0, highWatermark: 3 });
  });

  it('fetchOffsets answers a group committed offsets per topic, -1 where it has none', async () => {
    expect(await admin.fetchOffsets({ groupId: 'o-fresh', topics: ['o-events'] })).toEqual([
      {
        topic: 'o-events',
        partitions: [
          { partition: 0, offset: '-1', metadata: null },
          { partition: 1, offset: '-1', metadata: null },
        ],
      },
    ]);
    expect(await admin.fetchOffsets({ groupId: 'o-fresh' })).toEqual([]);
    const error = await sdkFailure(admin.fetchOffsets({ groupId: 'o-fresh', topics: ['o-missing'] }));
    expect(error.code).toBe('TOPIC_NOT_FOUND');
  });

  it('setOffsets moves a group offsets per partition; fetchOffsets reads them back', async () => {
    await admin.setOffsets({
      groupId: 'o-set',
      topic: 'o-events',
      partitions: [
        { partition: 0, offset: '2' },
        { partition: 1, offset: '0' },
      ],
    });
    const committed = [
      {
        topic: 'o-events',
        partitions: [
          { partition: 0, offset: '2', metadata: null },
          { partition: 1, offset: '0', metadata: null },
        ],
      },
    ];
    expect(
      await admin.fetchOffsets({ groupId: 'o-set', topics: ['o-events'], resolveOffsets: false }),
    ).toEqual(committed);
    expect(await admin.fetchOffsets({ groupId: 'o-set' })).toEqual(committed);
  });

  it('setOffsets refuses an offset out of range, an unknown partition or a live group, changing nothing', async () => {
    const setGuarded = (partitions: SeekEntry[]) =>
      admin.setOffsets({ groupId: 'o-guarded', topic: 'o-events', partitions });
    await setGuarded([{ partition: 0, offset: '1' }]);
    const unchanged = await admin.fetchOffsets({ groupId: 'o-guarded', topics: ['o-events'] });
    const cases: [SeekEntry[], string, string][] = [
      [
        [
          { partition: 0, offset: '0' },
          { partition: 1, offset: '7' },
        ],
        'OFFSET_OUT_OF_RANGE',
        'offset 7 is outside o-events/1: valid offsets are 0 to 0',
      ],
      [[{ partition: 5, offset: '0' }], 'PARTITION_NOT_FOUND', 'topic o-events has no partition 5'],
      [
        [{ partition: 0, offset: 'x' }],
        'INVALID_REQUEST',
        'offset "x" of o-events/0 is not an offset: use a whole number >= 0 ("-1" latest, "-2" earliest)',
      ],
    ];
    for (const [partitions, code, message] of cases) {
      const error = await sdkFailure(setGuarded(partitions));
      expect([error.code, error.message]).toEqual([code, message]);
    }
    expect(await admin.fetchOffsets({ groupId: 'o-guarded', topics: ['o-events'] })).toEqual(unchanged);
    const member = await liveMember('o-guarded', 'o-events');
    try {
      const live = await sdkFailure(setGuarded([{ partition: 0, offset: '0' }]));
      expect(live.code).toBe('INVALID_REQUEST');
      expect(live.message).toContain('live member');
    } finally {
      await member.disconnect();
    }
  });

  it('resetOffsets in KafkaJS form moves every partition to the earliest or the latest offset', async () => {
    await admin.resetOffsets({ groupId: 'o-reset', topic: 'o-events', earliest: true });
    const offsets = async () =>
      (await admin.fetchOffsets({ groupId: 'o-reset', topics: ['o-events'] }))[0]?.partitions.map(
        (p) => p.offset,
      );
    expect(await offsets()).toEqual(['0', '0']);
    expect(await admin.resetOffsets({ groupId: 'o-reset', topic: 'o-events' })).toBeUndefined();
    expect(await offsets()).toEqual(['3', '0']);
    // The Streambed form still answers the offsets it set.
    expect(await admin.resetOffsets('o-reset', 'o-events', { to: 'offset', offset: 1 }, [0])).toEqual({
      partitions: [{ topic: 'o-events', partition: 0, committedOffset: 1 }],
    });
    expect(await offsets()).toEqual(['1', '0']);
  });
});

describe('Admin groups', () => {
  beforeAll(async () => {
    await admin.createTopics({ topics: [{ topic: 'g-events', numPartitions: 2 }] });
  });

  it('listGroups answers {groups: [{groupId, protocolType}]}; listGroupIds the ids', async () => {
    // A group is listed from its first join.
    await (await liveMember('g-idle', 'g-events')).disconnect();
    const { groups } = await admin.listGroups();
    expect(groups).toContainEqual({ groupId: 'g-idle', protocolType: 'consumer' });
    expect(await admin.listGroupIds()).toEqual(groups.map((group) => group.groupId));
  });

  it('describeGroups answers each group state, members and protocol in KafkaJS shape', async () => {
    const member = await liveMember('g-live', 'g-events');
    try {
      const { groups } = await admin.describeGroups(['g-live', 'g-idle', 'g-never']);
      expect(groups).toEqual([
        {
          groupId: 'g-live',
          state: 'Stable',
          protocolType: 'consumer',
          protocol: 'streambed',
          errorCode: 0,
          members: [
            {
              memberId: expect.any(String),
              topics: ['g-events'],
              expiresAt: expect.any(Number),
              assignment: [{ topic: 'g-events', partitions: [0, 1] }],
            },
          ],
        },
        {
          groupId: 'g-idle',
          state: 'Empty',
          protocolType: 'consumer',
          protocol: '',
          errorCode: 0,
          members: [],
        },
        {
          groupId: 'g-never',
          state: 'Dead',
          protocolType: 'consumer',
          protocol: '',
          errorCode: 0,
          members: [],
        },
      ]);
    } finally {
      await member.disconnect();
    }
    const error = await sdkFailure(admin.describeGroups('g-live' as unknown as string[]));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain('groupIds must be an array');
  });

  it('deleteGroups answers {groupId, errorCode} per group', async () => {
    expect(await admin.deleteGroups(['g-idle'])).toEqual([{ groupId: 'g-idle', errorCode: 'NONE' }]);
    expect(await admin.listGroupIds()).not.toContain('g-idle');
  });
});
