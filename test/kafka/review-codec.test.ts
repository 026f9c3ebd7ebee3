/**
 * Frames of APIs and versions the listener speaks, against KafkaJS's own encoders and decoders: a
 * request KafkaJS writes is read, then written again byte for byte; a response the listener writes is
 * read by KafkaJS with every field where it belongs.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  readRequestBody,
  readRequestHeader,
  writeRequest,
  writeResponse,
} from '../../lambdas/kafka/protocol/frames.ts';
import {
  CreateTopics,
  DescribeConfigs,
  JoinGroup,
  ListOffsets,
  OffsetCommit,
  Produce,
  SyncGroup,
} from '../../lambdas/kafka/protocol/messages.ts';
import type { Api } from '../../lambdas/kafka/protocol/schema.ts';

const require = createRequire(import.meta.url);
const encodeFrame = require('kafkajs/src/protocol/request');
const { Types } = require('kafkajs/src/protocol/message/compression');

/** KafkaJS's request frame for `path` (under kafkajs/src/protocol/requests) built from `args`. */
async function kafkajsFrame(path: string, args: unknown): Promise<Buffer> {
  const build = require(`kafkajs/src/protocol/requests/${path}/request`);
  const { buffer } = await encodeFrame({ correlationId: 7, clientId: 'kjs', request: build(args) });
  return buffer;
}

/** Our response frame for `api` at `version`, decoded and parsed by KafkaJS's response module. */
async function kafkajsReads(path: string, api: Api, version: number, body: Record<string, unknown>) {
  const { decode, parse } = require(`kafkajs/src/protocol/requests/${path}/response`);
  const frame = Buffer.concat(writeResponse(api, version, 7, body));
  return parse(await decode(frame.subarray(8)));
}

const requests: [string, string, Api, unknown][] = [
  [
    'OffsetCommit',
    'offsetCommit/v5',
    OffsetCommit,
    {
      groupId: 'orders-group',
      groupGenerationId: 3,
      memberId: 'member-1',
      topics: [{ topic: 'orders', partitions: [{ partition: 1, offset: '42', metadata: 'note' }] }],
    },
  ],
  [
    'JoinGroup',
    'joinGroup/v5',
    JoinGroup,
    {
      groupId: 'orders-group',
      sessionTimeout: 30000,
      rebalanceTimeout: 60000,
      memberId: '',
      protocolType: 'consumer',
      groupProtocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 1, 0, 0]) }],
    },
  ],
  [
    'SyncGroup',
    'syncGroup/v3',
    SyncGroup,
    {
      groupId: 'orders-group',
      generationId: 3,
      memberId: 'member-1',
      groupAssignment: [{ memberId: 'member-1', memberAssignment: Buffer.from([0, 1, 2]) }],
    },
  ],
  [
    'ListOffsets',
    'listOffsets/v3',
    ListOffsets,
    {
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ topic: 'orders', partitions: [{ partition: 2, timestamp: -2 }] }],
    },
  ],
  [
    'CreateTopics',
    'createTopics/v3',
    CreateTopics,
    {
      topics: [
        {
          topic: 'orders',
          numPartitions: 3,
          replicationFactor: 1,
          configEntries: [{ name: 'retention.ms', value: '1000' }],
        },
      ],
      validateOnly: false,
      timeout: 5000,
    },
  ],
  [
    'DescribeConfigs',
    'describeConfigs/v2',
    DescribeConfigs,
    { resources: [{ type: 2, name: 'orders', configNames: ['retention.ms'] }], includeSynonyms: true },
  ],
  [
    'Produce',
    'produce/v7',
    Produce,
    {
      acks: -1,
      timeout: 30000,
      transactionalId: null,
      producerId: 5,
      producerEpoch: 0,
      compression: Types.None,
      topicData: [
        {
          topic: 'orders',
          partitions: [
            {
              partition: 0,
              firstSequence: 0,
              messages: [{ key: 'k', value: 'v', timestamp: 1_700_000_000_000, headers: { h: 'x' } }],
            },
          ],
        },
      ],
    },
  ],
];

describe('requests as KafkaJS writes them', () => {
  it.each(requests)(
    'reads %s as KafkaJS writes it (%s) and writes it back byte for byte',
    async (_name, path, api, args) => {
      const frame = await kafkajsFrame(path, args);
      const { header, reader } = readRequestHeader(frame.subarray(4));
      const body = readRequestBody(api, header.apiVersion, reader);
      const again = writeRequest(api, header.apiVersion, header, body);
      expect(again.equals(frame)).toBe(true);
    },
  );
});

describe('responses as KafkaJS reads them', () => {
  it('OffsetCommit v5', async () => {
    const read = await kafkajsReads('offsetCommit/v5', OffsetCommit, 5, {
      throttleTimeMs: 4,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 1, errorCode: 0 }] }],
    });
    expect(read).toMatchObject({
      throttleTime: 0,
      clientSideThrottleTime: 4,
      responses: [{ topic: 'orders', partitions: [{ partition: 1, errorCode: 0 }] }],
    });
  });

  it('JoinGroup v5', async () => {
    const read = await kafkajsReads('joinGroup/v5', JoinGroup, 5, {
      throttleTimeMs: 0,
      errorCode: 0,
      generationId: 3,
      protocolName: 'RoundRobinAssigner',
      leader: 'member-1',
      memberId: 'member-1',
      members: [{ memberId: 'member-1', groupInstanceId: null, metadata: Buffer.from([9, 8]) }],
    });
    expect(read).toMatchObject({
      errorCode: 0,
      generationId: 3,
      groupProtocol: 'RoundRobinAssigner',
      leaderId: 'member-1',
      memberId: 'member-1',
      members: [{ memberId: 'member-1', groupInstanceId: null, memberMetadata: Buffer.from([9, 8]) }],
    });
  });

  it('SyncGroup v3', async () => {
    const read = await kafkajsReads('syncGroup/v3', SyncGroup, 3, {
      throttleTimeMs: 0,
      errorCode: 0,
      assignment: Buffer.from([0, 1, 2]),
    });
    expect(read).toMatchObject({ errorCode: 0, memberAssignment: Buffer.from([0, 1, 2]) });
  });

  it('ListOffsets v3', async () => {
    const read = await kafkajsReads('listOffsets/v3', ListOffsets, 3, {
      throttleTimeMs: 0,
      topics: [
        { name: 'orders', partitions: [{ partitionIndex: 2, errorCode: 0, timestamp: -1, offset: 17 }] },
      ],
    });
    expect(read.responses).toEqual([
      { topic: 'orders', partitions: [{ partition: 2, errorCode: 0, timestamp: '-1', offset: '17' }] },
    ]);
  });

  it('Produce v7', async () => {
    const read = await kafkajsReads('produce/v7', Produce, 7, {
      throttleTimeMs: 0,
      responses: [
        {
          name: 'orders',
          partitionResponses: [
            { index: 0, errorCode: 0, baseOffset: 12, logAppendTimeMs: -1, logStartOffset: 3 },
          ],
        },
      ],
    });
    expect(read.topics).toEqual([
      {
        topicName: 'orders',
        partitions: [
          { partition: 0, errorCode: 0, baseOffset: '12', logAppendTime: '-1', logStartOffset: '3' },
        ],
      },
    ]);
  });

  it('CreateTopics v3', async () => {
    const read = await kafkajsReads('createTopics/v3', CreateTopics, 3, {
      throttleTimeMs: 0,
      topics: [{ name: 'orders', errorCode: 0, errorMessage: null }],
    });
    expect(read.topicErrors).toEqual([{ topic: 'orders', errorCode: 0, errorMessage: null }]);
  });

  it('DescribeConfigs v2', async () => {
    const read = await kafkajsReads('describeConfigs/v2', DescribeConfigs, 2, {
      throttleTimeMs: 0,
      results: [
        {
          errorCode: 0,
          errorMessage: null,
          resourceType: 2,
          resourceName: 'orders',
          configs: [
            {
              name: 'retention.ms',
              value: '1000',
              readOnly: false,
              configSource: 1,
              isSensitive: false,
              synonyms: [{ name: 'retention.ms', value: '1000', source: 1 }],
            },
          ],
        },
      ],
    });
    expect(read.resources).toEqual([
      {
        errorCode: 0,
        errorMessage: null,
        resourceType: 2,
        resourceName: 'orders',
        configEntries: [
          {
            configName: 'retention.ms',
            configValue: '1000',
            readOnly: false,
            isDefault: false,
            configSource: 1,
            isSensitive: false,
            configSynonyms: [{ configName: 'retention.ms', configValue: '1000', configSource: 1 }],
          },
        ],
      },
    ]);
  });
});
