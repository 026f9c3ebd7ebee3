/**
 * Topic administration over the Kafka listener, by KafkaJS's admin client (which speaks the lower
 * versions) and by raw frames at the highest versions: every change is checked over the HTTP API.
 */
import { type Admin, ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlterConfigs,
  CreatePartitions,
  CreateTopics,
  DeleteRecords,
  DeleteTopics,
  DescribeConfigs,
  Metadata,
} from '../../lambdas/kafka/protocol/messages.ts';
import { type JsonCall, jsonCaller } from '../support/json-call.ts';
import { type KafkaTestServer, request, startKafkaTestServer } from '../support/kafka-server.ts';

let kafkaServer: KafkaTestServer;
let admin: Admin;
const http: JsonCall = jsonCaller(() => kafkaServer.url);

beforeAll(async () => {
  kafkaServer = await startKafkaTestServer();
  // No retries: an error answer is what the tests look at, not something to wait out.
  admin = new Kafka({
    brokers: [kafkaServer.broker],
    clientId: 'admin-test',
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  await admin.connect();
});
afterAll(async () => {
  await admin.disconnect();
  await kafkaServer.close();
});

async function createOverHttp(name: string, partitions = 1, config: Record<string, unknown> = {}) {
  const { status } = await http('POST', '/v1/topics', { name, partitions, config });
  expect(status).toBe(201);
}

/**
 * The error types of a KafkaJS admin call that must fail, one per failed topic or resource. (KafkaJS
 * words each code its own way; the server's messages are checked on raw frames.)
 */
async function kafkaErrors(call: Promise<unknown>): Promise<string[]> {
  interface Failure {
    type?: string;
    errors?: Failure[];
    cause?: Failure;
  }
  const error = await call.then(
    () => {
      throw new Error('the call succeeded');
    },
    // Retries exhausted wrap the last error as their cause.
    (caught: Failure) => caught.cause ?? caught,
  );
  return (error.errors ?? [error]).map((e) => e.type ?? 'no type');
}

describe('CreateTopics', () => {
  it('creates a topic with partitions and configs from KafkaJS, replication factor ignored', async () => {
    // Act
    const created = await admin.createTopics({
      topics: [
        {
          topic: 'created',
          numPartitions: 3,
          replicationFactor: 3,
          configEntries: [
            { name: 'retention.ms', value: '3600000' },
            { name: 'message.timestamp.before.max.ms', value: '9223372036854775807' },
          ],
        },
      ],
    });
    // Assess
    expect(created).toBe(true);
    const { status, body } = await http('GET', '/v1/topics/created');
    expect(status).toBe(200);
    expect(body.partitions).toHaveLength(3);
    expect(body.config['retention.ms']).toBe(3600000);
    expect(body.config['message.timestamp.before.max.ms']).toBe(Number.MAX_SAFE_INTEGER);
    expect(body.config['max.message.bytes']).toBe(1048576);
  });

  it('takes num_partitions -1 and replication factor -1 as the defaults', async () => {
    await admin.createTopics({ topics: [{ topic: 'defaulted', numPartitions: -1, replicationFactor: -1 }] });
    const { body } = await http('GET', '/v1/topics/defaulted');
    expect(body.partitions).toHaveLength(1);
  });

  it('validates without creating when validate_only is set', async () => {
    await admin.createTopics({
      validateOnly: true,
      // KafkaJS would otherwise wait for the topic to appear in Metadata, as against any broker.
      waitForLeaders: false,
      topics: [
        { topic: 'only-validated', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '1' }] },
      ],
    });
    expect((await http('GET', '/v1/topics/only-validated')).status).toBe(404);
  });

  it('answers an existing topic with TOPIC_ALREADY_EXISTS, also when only validating', async () => {
    await createOverHttp('existing', 2);
    // KafkaJS answers false when every topic already exists.
    expect(await admin.createTopics({ topics: [{ topic: 'existing' }] })).toBe(false);
    const response = await request(kafkaServer.broker, CreateTopics, 7, {
      topics: [{ name: 'existing', numPartitions: 1, replicationFactor: -1 }],
      validateOnly: true,
    });
    expect(response.topics[0]).toMatchObject({
      errorCode: 36,
      errorMessage: 'topic existing already exists',
    });
    expect((await http('GET', '/v1/topics/existing')).body.partitions).toHaveLength(2);
  });

  it.each([
    ['an invalid topic name', { topic: 'no/slash' }, 'INVALID_TOPIC_EXCEPTION'],
    [
      'an unknown config key',
      { topic: 'bad-config', configEntries: [{ name: 'segment.bytes', value: '1' }] },
      'INVALID_CONFIG',
    ],
    [
      'a config value out of range',
      { topic: 'bad-value', configEntries: [{ name: 'max.message.bytes', value: '0' }] },
      'INVALID_CONFIG',
    ],
    ['too many partitions', { topic: 'too-wide', numPartitions: 257 }, 'INVALID_PARTITIONS'],
    [
      'replica assignments',
      { topic: 'assigned', replicaAssignment: [{ partition: 0, replicas: [0] }] },
      'INVALID_REPLICA_ASSIGNMENT',
    ],
  ])('refuses %s from KafkaJS with its error code and creates nothing', async (_what, topic, type) => {
    expect(await kafkaErrors(admin.createTopics({ topics: [topic] }))).toEqual([type]);
    expect((await http('GET', '/v1/topics')).body.topics).not.toContain(topic.topic);
  });

  it('says what was wrong in each refusal (v5, flexible)', async () => {
    const topic = { numPartitions: 1, replicationFactor: 1 };
    const response = await request(kafkaServer.broker, CreateTopics, 5, {
      topics: [
        { ...topic, name: 'no/slash' },
        { ...topic, name: 'bad-config', configs: [{ name: 'segment.bytes', value: '1' }] },
        { ...topic, name: 'null-config', configs: [{ name: 'retention.ms', value: null }] },
        { ...topic, name: 'bad-value', configs: [{ name: 'max.message.bytes', value: '0' }] },
        { ...topic, name: 'too-wide', numPartitions: 257 },
        { ...topic, name: 'assigned', assignments: [{ partitionIndex: 0, brokerIds: [0] }] },
      ],
    });
    expect(response.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['no/slash', 17],
      ['bad-config', 40],
      ['null-config', 40],
      ['bad-value', 40],
      ['too-wide', 37],
      ['assigned', 39],
    ]);
    const messages = response.topics.map((t) => t.errorMessage);
    expect(messages[0]).toMatch(/topic name "no\/slash" is invalid/);
    expect(messages[1]).toMatch(/unknown config key "segment.bytes"/);
    expect(messages[2]).toBe('config retention.ms has no value (null)');
    expect(messages[3]).toMatch(/config max.message.bytes must be an integer from 1 to/);
    expect(messages[4]).toMatch(/num_partitions must be from 1 to 256, or -1 for the default, got 257/);
    expect(messages[5]).toMatch(/replica assignments are not supported/);
    expect((await http('GET', '/v1/topics')).body.topics).not.toContain('bad-config');
  });

  it('answers each topic on its own: one refused, one created, at v7 with the created topic', async () => {
    const response = await request(kafkaServer.broker, CreateTopics, 7, {
      topics: [
        { name: 'v7-bad', numPartitions: 0, replicationFactor: 1 },
        {
          name: 'v7-good',
          numPartitions: 4,
          replicationFactor: -1,
          configs: [{ name: 'retention.bytes', value: '1000' }],
        },
      ],
    });
    const [bad, good] = response.topics;
    expect(bad).toMatchObject({ name: 'v7-bad', errorCode: 37, numPartitions: -1 });
    expect(good).toMatchObject({
      name: 'v7-good',
      errorCode: 0,
      errorMessage: null,
      numPartitions: 4,
      replicationFactor: 1,
    });
    expect(good?.configs).toContainEqual({
      name: 'retention.bytes',
      value: '1000',
      readOnly: false,
      configSource: 1,
      isSensitive: false,
    });
    expect(good?.configs).toContainEqual({
      name: 'message.timestamp.before.max.ms',
      value: '9223372036854775807',
      readOnly: false,
      configSource: 5,
      isSensitive: false,
    });
    // The topic id is the one Metadata gives.
    const metadata = await request(kafkaServer.broker, Metadata, 12, { topics: [{ name: 'v7-good' }] });
    expect(good?.topicId).toBe(metadata.topics[0]?.topicId);
    expect(good?.topicId).not.toBe('0'.repeat(32));
    expect((await http('GET', '/v1/topics/v7-bad')).status).toBe(404);
    expect((await http('GET', '/v1/topics/v7-good')).body.config['retention.bytes']).toBe(1000);
  });

  it('refuses a topic named twice in one request and creates neither', async () => {
    const response = await request(kafkaServer.broker, CreateTopics, 4, {
      topics: [
        { name: 'twice', numPartitions: 1, replicationFactor: 1 },
        { name: 'twice', numPartitions: 2, replicationFactor: 1 },
      ],
    });
    expect(response.topics.map((topic) => topic.errorCode)).toEqual([42, 42]);
    expect((await http('GET', '/v1/topics/twice')).status).toBe(404);
  });
});

describe('DeleteTopics', () => {
  it('deletes topics from KafkaJS', async () => {
    await createOverHttp('doomed-1');
    await createOverHttp('doomed-2');
    await admin.deleteTopics({ topics: ['doomed-1', 'doomed-2'] });
    expect((await http('GET', '/v1/topics/doomed-1')).status).toBe(404);
    expect((await http('GET', '/v1/topics/doomed-2')).status).toBe(404);
  });

  it('answers per topic at v6: deleted by name, unknown, an id alone, an invalid name', async () => {
    await createOverHttp('doomed-3');
    const response = await request(kafkaServer.broker, DeleteTopics, 6, {
      topics: [
        { name: 'doomed-3', topicId: '0'.repeat(32) },
        { name: 'never-was', topicId: '0'.repeat(32) },
        { name: null, topicId: '1'.repeat(32) },
        { name: 'no/slash', topicId: '0'.repeat(32) },
      ],
    });
    expect(response.responses.map((r) => [r.name, r.errorCode])).toEqual([
      ['doomed-3', 0],
      ['never-was', 3],
      [null, 100],
      ['no/slash', 17],
    ]);
    expect(response.responses[0]?.topicId).not.toBe('0'.repeat(32));
    expect(response.responses[2]?.errorMessage).toMatch(/by name/);
    expect((await http('GET', '/v1/topics/doomed-3')).status).toBe(404);
  });

  it('answers an unknown topic with UNKNOWN_TOPIC_OR_PARTITION to KafkaJS', async () => {
    const errors = await kafkaErrors(admin.deleteTopics({ topics: ['never-was'] }));
    expect(errors).toEqual(['UNKNOWN_TOPIC_OR_PARTITION']);
  });
});

describe('CreatePartitions', () => {
  it('grows a topic from KafkaJS, and only validates when asked to', async () => {
    await createOverHttp('growing', 2);
    await admin.createPartitions({ validateOnly: true, topicPartitions: [{ topic: 'growing', count: 6 }] });
    expect((await http('GET', '/v1/topics/growing')).body.partitions).toHaveLength(2);
    await admin.createPartitions({ topicPartitions: [{ topic: 'growing', count: 5 }] });
    expect((await http('GET', '/v1/topics/growing')).body.partitions).toHaveLength(5);
  });

  it.each([
    ['a lower count', { topic: 'fixed', count: 1 }, 'INVALID_PARTITIONS'],
    ['the same count', { topic: 'fixed', count: 3 }, 'INVALID_PARTITIONS'],
    ['an unknown topic', { topic: 'never-was', count: 3 }, 'UNKNOWN_TOPIC_OR_PARTITION'],
    ['replica assignments', { topic: 'fixed', count: 4, assignments: [[0]] }, 'INVALID_REPLICA_ASSIGNMENT'],
  ])('refuses %s and changes nothing', async (_what, topicPartition, type) => {
    if ((await http('GET', '/v1/topics/fixed')).status === 404) await createOverHttp('fixed', 3);
    expect(await kafkaErrors(admin.createPartitions({ topicPartitions: [topicPartition] }))).toEqual([type]);
    expect((await http('GET', '/v1/topics/fixed')).body.partitions).toHaveLength(3);
  });

  it('answers at v3 (flexible) with an error message per topic', async () => {
    await createOverHttp('grown-v3', 1);
    await createOverHttp('grown-twice', 1);
    const response = await request(kafkaServer.broker, CreatePartitions, 3, {
      topics: [
        { name: 'grown-v3', count: 2, assignments: null },
        { name: 'never-was', count: 2, assignments: null },
        { name: 'grown-twice', count: 2, assignments: null },
        { name: 'grown-twice', count: 3, assignments: null },
      ],
      timeoutMs: 1000,
      validateOnly: false,
    });
    expect(response.results).toEqual([
      { name: 'grown-v3', errorCode: 0, errorMessage: null },
      { name: 'never-was', errorCode: 3, errorMessage: 'topic never-was does not exist' },
      {
        name: 'grown-twice',
        errorCode: 42,
        errorMessage: 'topic grown-twice is given more than once in the request',
      },
      {
        name: 'grown-twice',
        errorCode: 42,
        errorMessage: 'topic grown-twice is given more than once in the request',
      },
    ]);
    expect((await http('GET', '/v1/topics/grown-v3')).body.partitions).toHaveLength(2);
    expect((await http('GET', '/v1/topics/grown-twice')).body.partitions).toHaveLength(1);
  });
});

describe('DescribeConfigs', () => {
  it("gives KafkaJS a topic's configs under Kafka's names, set ones as dynamic topic configs", async () => {
    await createOverHttp('described', 1, { 'retention.ms': 1000 });
    const { resources } = await admin.describeConfigs({
      includeSynonyms: true,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'described' }],
    });
    expect(resources[0]?.errorCode).toBe(0);
    const entries = resources[0]?.configEntries ?? [];
    expect(entries.map((entry) => entry.configName).sort()).toEqual([
      'cleanup.policy',
      'max.message.bytes',
      'message.timestamp.after.max.ms',
      'message.timestamp.before.max.ms',
      'retention.bytes',
      'retention.ms',
    ]);
    expect(entries.find((entry) => entry.configName === 'retention.ms')).toMatchObject({
      configValue: '1000',
      isDefault: false,
      configSource: 1,
      readOnly: false,
      isSensitive: false,
      configSynonyms: [],
    });
    expect(entries.find((entry) => entry.configName === 'cleanup.policy')).toMatchObject({
      configValue: 'delete',
      isDefault: true,
      configSource: 5,
    });
  });

  it("answers KafkaJS's question for a broker's configs with none", async () => {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.BROKER, name: '0' }],
    });
    expect(resources).toEqual([
      { errorCode: 0, errorMessage: null, resourceType: 4, resourceName: '0', configEntries: [] },
    ]);
  });

  it('answers only the keys asked for, at v4 with types and no documentation', async () => {
    await createOverHttp('described-v4', 1);
    const response = await request(kafkaServer.broker, DescribeConfigs, 4, {
      resources: [
        {
          resourceType: 2,
          resourceName: 'described-v4',
          configurationKeys: ['max.message.bytes', 'cleanup.policy', 'segment.bytes'],
        },
      ],
      includeSynonyms: true,
      includeDocumentation: true,
    });
    expect(response.results[0]).toMatchObject({
      errorCode: 0,
      errorMessage: null,
      resourceName: 'described-v4',
    });
    expect(response.results[0]?.configs).toEqual([
      {
        name: 'max.message.bytes',
        value: '1048576',
        readOnly: false,
        isDefault: false,
        configSource: 5,
        isSensitive: false,
        synonyms: [],
        configType: 3,
        documentation: null,
      },
      {
        name: 'cleanup.policy',
        value: 'delete',
        readOnly: false,
        isDefault: false,
        configSource: 5,
        isSensitive: false,
        synonyms: [],
        configType: 7,
        documentation: null,
      },
    ]);
  });

  it('answers a broker with no configs and an unknown topic with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const response = await request(kafkaServer.broker, DescribeConfigs, 1, {
      resources: [
        { resourceType: 4, resourceName: '0', configurationKeys: null },
        { resourceType: 2, resourceName: 'never-was', configurationKeys: null },
      ],
    });
    expect(response.results).toEqual([
      { errorCode: 0, errorMessage: null, resourceType: 4, resourceName: '0', configs: [] },
      {
        errorCode: 3,
        errorMessage: 'topic never-was does not exist',
        resourceType: 2,
        resourceName: 'never-was',
        configs: [],
      },
    ]);
  });
});

describe('AlterConfigs', () => {
  it("replaces a topic's whole config from KafkaJS: keys left out return to their defaults", async () => {
    await createOverHttp('altered', 1, { 'retention.ms': 1000, 'retention.bytes': 5000 });
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: 'altered',
          configEntries: [{ name: 'max.message.bytes', value: '2000' }],
        },
      ],
    });
    const { config } = (await http('GET', '/v1/topics/altered')).body;
    expect(config['max.message.bytes']).toBe(2000);
    expect(config['retention.ms']).toBe(604800000);
    expect(config['retention.bytes']).toBe(-1);
  });

  it('changes nothing when only validating', async () => {
    await createOverHttp('validated', 1, { 'retention.ms': 1000 });
    await admin.alterConfigs({
      validateOnly: true,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: 'validated',
          configEntries: [{ name: 'retention.ms', value: '5' }],
        },
      ],
    });
    expect((await http('GET', '/v1/topics/validated')).body.config['retention.ms']).toBe(1000);
  });

  it.each([
    [
      'an unknown config key',
      { type: ConfigResourceTypes.TOPIC, name: 'kept', configEntries: [{ name: 'segment.ms', value: '1' }] },
      'INVALID_CONFIG',
    ],
    [
      'an unknown topic',
      { type: ConfigResourceTypes.TOPIC, name: 'never-was', configEntries: [] },
      'UNKNOWN_TOPIC_OR_PARTITION',
    ],
    [
      'a broker',
      {
        type: ConfigResourceTypes.BROKER,
        name: '0',
        configEntries: [{ name: 'log.retention.ms', value: '1' }],
      },
      'INVALID_REQUEST',
    ],
  ])('refuses %s and changes nothing', async (_what, resource, type) => {
    if ((await http('GET', '/v1/topics/kept')).status === 404) {
      await createOverHttp('kept', 1, { 'retention.ms': 1000 });
    }
    expect(await kafkaErrors(admin.alterConfigs({ validateOnly: false, resources: [resource] }))).toEqual([
      type,
    ]);
    expect((await http('GET', '/v1/topics/kept')).body.config['retention.ms']).toBe(1000);
  });

  it('answers at v2 (flexible), saying what was wrong', async () => {
    await createOverHttp('altered-v2', 1);
    const response = await request(kafkaServer.broker, AlterConfigs, 2, {
      resources: [
        { resourceType: 2, resourceName: 'altered-v2', configs: [{ name: 'retention.ms', value: '-1' }] },
        { resourceType: 2, resourceName: 'altered-v2', configs: [{ name: 'segment.ms', value: '1' }] },
        { resourceType: 4, resourceName: '0', configs: [] },
        { resourceType: 8, resourceName: 'kafka.server', configs: [] },
      ],
      validateOnly: false,
    });
    expect(response.responses.map((r) => [r.resourceType, r.resourceName, r.errorCode])).toEqual([
      [2, 'altered-v2', 0],
      [2, 'altered-v2', 40],
      [4, '0', 42],
      [8, 'kafka.server', 42],
    ]);
    const messages = response.responses.map((r) => r.errorMessage);
    expect(messages[0]).toBeNull();
    expect(messages[1]).toMatch(/unknown config key "segment.ms"; known: retention.ms,/);
    expect(messages[2]).toBe('broker 0 has no configs to alter: alter topic configs');
    expect(messages[3]).toBe('resource type 8 has no configs here: use 2 (topic) or 4 (broker)');
    expect((await http('GET', '/v1/topics/altered-v2')).body.config['retention.ms']).toBe(-1);
  });
});

describe('DeleteRecords', () => {
  async function produce(topic: string, partition: number, count: number) {
    const records = Array.from({ length: count }, (_, i) => ({ value: `v${i}`, partition }));
    expect((await http('POST', `/v1/topics/${topic}/records`, { records })).status).toBe(200);
  }

  it('moves log starts per partition: an offset, -1 for the high watermark, errors on their own', async () => {
    await createOverHttp('trimmed', 3);
    await produce('trimmed', 0, 5);
    await produce('trimmed', 1, 4);
    const response = await request(kafkaServer.broker, DeleteRecords, 2, {
      topics: [
        {
          name: 'trimmed',
          partitions: [
            { partitionIndex: 0, offset: 2 },
            { partitionIndex: 1, offset: -1 },
            { partitionIndex: 2, offset: 9 },
            { partitionIndex: 7, offset: 0 },
          ],
        },
        { name: 'never-was', partitions: [{ partitionIndex: 0, offset: 0 }] },
        { name: 'trimmed', partitions: [{ partitionIndex: 2, offset: -2 }] },
      ],
      timeoutMs: 1000,
    });
    expect(response.topics).toEqual([
      {
        name: 'trimmed',
        partitions: [
          { partitionIndex: 0, lowWatermark: 2, errorCode: 0 },
          { partitionIndex: 1, lowWatermark: 4, errorCode: 0 },
          { partitionIndex: 2, lowWatermark: -1, errorCode: 1 },
          { partitionIndex: 7, lowWatermark: -1, errorCode: 3 },
        ],
      },
      { name: 'never-was', partitions: [{ partitionIndex: 0, lowWatermark: -1, errorCode: 3 }] },
      { name: 'trimmed', partitions: [{ partitionIndex: 2, lowWatermark: -1, errorCode: 1 }] },
    ]);
    const { body } = await http('GET', '/v1/topics/trimmed');
    expect(body.partitions.map((p: { logStartOffset: number }) => p.logStartOffset)).toEqual([2, 4, 0]);
  });

  it('deletes records from KafkaJS', async () => {
    await createOverHttp('trimmed-by-kafkajs', 2);
    await produce('trimmed-by-kafkajs', 0, 3);
    // KafkaJS finds partition leaders only for topics it has metadata of: reading offsets loads it.
    const offsets = await admin.fetchTopicOffsets('trimmed-by-kafkajs');
    expect(offsets.map(({ partition, low, high }) => [partition, low, high])).toEqual([
      [0, '0', '3'],
      [1, '0', '0'],
    ]);
    await admin.deleteTopicRecords({
      topic: 'trimmed-by-kafkajs',
      partitions: [
        { partition: 0, offset: '1' },
        { partition: 1, offset: '-1' },
      ],
    });
    const { body } = await http('GET', '/v1/topics/trimmed-by-kafkajs');
    expect(body.partitions.map((p: { logStartOffset: number }) => p.logStartOffset)).toEqual([1, 0]);
  });
});
