/**
 * The messages the listener speaks: for each API, the versions it accepts and the fields of its
 * request and response in wire order.
 *
 * The layouts are those of Kafka's protocol message definitions (Apache Kafka 3.9,
 * clients/src/main/resources/common/message), restricted to the versions advertised here. Versions
 * are chosen so that KafkaJS 2.2, librdkafka 1.9–2.x and the Java client 3.x all find one they speak
 * (docs/kafka.md lists them and what each client picks). Field names are the definitions' names in
 * camelCase; every field keeps the version range of its definition.
 */
import { api, array, arrayOf, field, struct } from './schema.ts';

/** Produce: advertised 0-9. */
export const Produce = api(0, 'Produce', '0-9', '9+', {
  request: [
    field('transactionalId', 'string', '3+', { nullable: '3+', default: null }),
    field('acks', 'int16', '0+'),
    field('timeoutMs', 'int32', '0+'),
    array('topicData', '0+', [
      field('name', 'string', '0+'),
      array('partitionData', '0+', [
        field('index', 'int32', '0+'),
        field('records', 'records', '0+', { nullable: '0+' }),
      ]),
    ]),
  ],
  response: [
    array('responses', '0+', [
      field('name', 'string', '0+'),
      array('partitionResponses', '0+', [
        field('index', 'int32', '0+'),
        field('errorCode', 'int16', '0+'),
        field('baseOffset', 'int64', '0+'),
        field('logAppendTimeMs', 'int64', '2+', { default: -1 }),
        field('logStartOffset', 'int64', '5+', { default: -1 }),
        array('recordErrors', '8+', [
          field('batchIndex', 'int32', '8+'),
          field('batchIndexErrorMessage', 'string', '8+', { nullable: '8+', default: null }),
        ]),
        field('errorMessage', 'string', '8+', { nullable: '8+', default: null }),
      ]),
    ]),
    field('throttleTimeMs', 'int32', '1+', { default: 0 }),
  ],
});

/** Fetch: advertised 4-12. */
export const Fetch = api(1, 'Fetch', '4-12', '12+', {
  request: [
    field('clusterId', 'string', '12+', { nullable: '12+', tag: 0, default: null }),
    field('replicaId', 'int32', '4+', { default: -1 }),
    field('maxWaitMs', 'int32', '4+'),
    field('minBytes', 'int32', '4+'),
    field('maxBytes', 'int32', '4+', { default: 2147483647 }),
    field('isolationLevel', 'int8', '4+', { default: 0 }),
    field('sessionId', 'int32', '7+', { default: 0 }),
    field('sessionEpoch', 'int32', '7+', { default: -1 }),
    array('topics', '4+', [
      field('topic', 'string', '4+'),
      array('partitions', '4+', [
        field('partition', 'int32', '4+'),
        field('currentLeaderEpoch', 'int32', '9+', { default: -1 }),
        field('fetchOffset', 'int64', '4+'),
        field('lastFetchedEpoch', 'int32', '12+', { default: -1 }),
        field('logStartOffset', 'int64', '5+', { default: -1 }),
        field('partitionMaxBytes', 'int32', '4+'),
      ]),
    ]),
    array('forgottenTopicsData', '7+', [
      field('topic', 'string', '7+'),
      arrayOf('partitions', 'int32', '7+'),
    ]),
    field('rackId', 'string', '11+'),
  ],
  response: [
    field('throttleTimeMs', 'int32', '4+'),
    field('errorCode', 'int16', '7+'),
    field('sessionId', 'int32', '7+', { default: 0 }),
    array('responses', '4+', [
      field('topic', 'string', '4+'),
      array('partitions', '4+', [
        field('partitionIndex', 'int32', '4+'),
        field('errorCode', 'int16', '4+'),
        field('highWatermark', 'int64', '4+'),
        field('lastStableOffset', 'int64', '4+', { default: -1 }),
        field('logStartOffset', 'int64', '5+', { default: -1 }),
        struct(
          'divergingEpoch',
          '12+',
          [
            field('epoch', 'int32', '12+', { default: -1 }),
            field('endOffset', 'int64', '12+', { default: -1 }),
          ],
          { tag: 0 },
        ),
        struct(
          'currentLeader',
          '12+',
          [
            field('leaderId', 'int32', '12+', { default: -1 }),
            field('leaderEpoch', 'int32', '12+', { default: -1 }),
          ],
          { tag: 1 },
        ),
        struct(
          'snapshotId',
          '12+',
          [
            field('endOffset', 'int64', '12+', { default: -1 }),
            field('epoch', 'int32', '12+', { default: -1 }),
          ],
          { tag: 2 },
        ),
        array(
          'abortedTransactions',
          '4+',
          [field('producerId', 'int64', '4+'), field('firstOffset', 'int64', '4+')],
          { nullable: '4+' },
        ),
        field('preferredReadReplica', 'int32', '11+', { default: -1 }),
        field('records', 'records', '4+', { nullable: '4+' }),
      ]),
    ]),
  ],
});

/** ListOffsets: advertised 1-6 (v7's max-timestamp query is not served). */
export const ListOffsets = api(2, 'ListOffsets', '1-6', '6+', {
  request: [
    field('replicaId', 'int32', '1+'),
    field('isolationLevel', 'int8', '2+'),
    array('topics', '1+', [
      field('name', 'string', '1+'),
      array('partitions', '1+', [
        field('partitionIndex', 'int32', '1+'),
        field('currentLeaderEpoch', 'int32', '4+', { default: -1 }),
        field('timestamp', 'int64', '1+'),
      ]),
    ]),
  ],
  response: [
    field('throttleTimeMs', 'int32', '2+'),
    array('topics', '1+', [
      field('name', 'string', '1+'),
      array('partitions', '1+', [
        field('partitionIndex', 'int32', '1+'),
        field('errorCode', 'int16', '1+'),
        field('timestamp', 'int64', '1+', { default: -1 }),
        field('offset', 'int64', '1+', { default: -1 }),
        field('leaderEpoch', 'int32', '4+', { default: -1 }),
      ]),
    ]),
  ],
});

/** Metadata: advertised 0-12. */
export const Metadata = api(3, 'Metadata', '0-12', '9+', {
  request: [
    array(
      'topics',
      '0+',
      [field('topicId', 'uuid', '10+'), field('name', 'string', '0+', { nullable: '10+' })],
      { nullable: '1+' },
    ),
    field('allowAutoTopicCreation', 'bool', '4+', { default: true }),
    field('includeClusterAuthorizedOperations', 'bool', '8-10'),
    field('includeTopicAuthorizedOperations', 'bool', '8+'),
  ],
  response: [
    field('throttleTimeMs', 'int32', '3+'),
    array('brokers', '0+', [
      field('nodeId', 'int32', '0+'),
      field('host', 'string', '0+'),
      field('port', 'int32', '0+'),
      field('rack', 'string', '1+', { nullable: '1+', default: null }),
    ]),
    field('clusterId', 'string', '2+', { nullable: '2+', default: null }),
    field('controllerId', 'int32', '1+', { default: -1 }),
    array('topics', '0+', [
      field('errorCode', 'int16', '0+'),
      field('name', 'string', '0+', { nullable: '12+' }),
      field('topicId', 'uuid', '10+'),
      field('isInternal', 'bool', '1+', { default: false }),
      array('partitions', '0+', [
        field('errorCode', 'int16', '0+'),
        field('partitionIndex', 'int32', '0+'),
        field('leaderId', 'int32', '0+'),
        field('leaderEpoch', 'int32', '7+', { default: -1 }),
        arrayOf('replicaNodes', 'int32', '0+'),
        arrayOf('isrNodes', 'int32', '0+'),
        arrayOf('offlineReplicas', 'int32', '5+'),
      ]),
      field('topicAuthorizedOperations', 'int32', '8+', { default: -2147483648 }),
    ]),
    field('clusterAuthorizedOperations', 'int32', '8-10', { default: -2147483648 }),
  ],
});

/** OffsetCommit: advertised 0-8. */
export const OffsetCommit = api(8, 'OffsetCommit', '0-8', '8+', {
  request: [
    field('groupId', 'string', '0+'),
    field('generationIdOrMemberEpoch', 'int32', '1+', { default: -1 }),
    field('memberId', 'string', '1+'),
    field('groupInstanceId', 'string', '7+', { nullable: '7+', default: null }),
    field('retentionTimeMs', 'int64', '2-4', { default: -1 }),
    array('topics', '0+', [
      field('name', 'string', '0+'),
      array('partitions', '0+', [
        field('partitionIndex', 'int32', '0+'),
        field('committedOffset', 'int64', '0+'),
        field('committedLeaderEpoch', 'int32', '6+', { default: -1 }),
        field('commitTimestamp', 'int64', '1', { default: -1 }),
        field('committedMetadata', 'string', '0+', { nullable: '0+' }),
      ]),
    ]),
  ],
  response: [
    field('throttleTimeMs', 'int32', '3+'),
    array('topics', '0+', [
      field('name', 'string', '0+'),
      array('partitions', '0+', [field('partitionIndex', 'int32', '0+'), field('errorCode', 'int16', '0+')]),
    ]),
  ],
});

/** OffsetFetch: advertised 0-8. */
export const OffsetFetch = api(9, 'OffsetFetch', '0-8', '6+', {
  request: [
    field('groupId', 'string', '0-7'),
    array('topics', '0-7', [field('name', 'string', '0+'), arrayOf('partitionIndexes', 'int32', '0+')], {
      nullable: '2-7',
    }),
    array('groups', '8+', [
      field('groupId', 'string', '8+'),
      array('topics', '8+', [field('name', 'string', '8+'), arrayOf('partitionIndexes', 'int32', '8+')], {
        nullable: '8+',
      }),
    ]),
    field('requireStable', 'bool', '7+', { default: false }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '3+'),
    array('topics', '0-7', [
      field('name', 'string', '0+'),
      array('partitions', '0+', [
        field('partitionIndex', 'int32', '0+'),
        field('committedOffset', 'int64', '0+'),
        field('committedLeaderEpoch', 'int32', '5+', { default: -1 }),
        field('metadata', 'string', '0+', { nullable: '0+' }),
        field('errorCode', 'int16', '0+'),
      ]),
    ]),
    field('errorCode', 'int16', '2-7', { default: 0 }),
    array('groups', '8+', [
      field('groupId', 'string', '8+'),
      array('topics', '8+', [
        field('name', 'string', '8+'),
        array('partitions', '8+', [
          field('partitionIndex', 'int32', '8+'),
          field('committedOffset', 'int64', '8+'),
          field('committedLeaderEpoch', 'int32', '8+', { default: -1 }),
          field('metadata', 'string', '8+', { nullable: '8+' }),
          field('errorCode', 'int16', '8+'),
        ]),
      ]),
      field('errorCode', 'int16', '8+', { default: 0 }),
    ]),
  ],
});

/** FindCoordinator: advertised 0-4. */
export const FindCoordinator = api(10, 'FindCoordinator', '0-4', '3+', {
  request: [
    field('key', 'string', '0-3'),
    field('keyType', 'int8', '1+', { default: 0 }),
    arrayOf('coordinatorKeys', 'string', '4+'),
  ],
  response: [
    field('throttleTimeMs', 'int32', '1+'),
    field('errorCode', 'int16', '0-3'),
    field('errorMessage', 'string', '1-3', { nullable: '1-3' }),
    field('nodeId', 'int32', '0-3'),
    field('host', 'string', '0-3'),
    field('port', 'int32', '0-3'),
    array('coordinators', '4+', [
      field('key', 'string', '4+'),
      field('nodeId', 'int32', '4+'),
      field('host', 'string', '4+'),
      field('port', 'int32', '4+'),
      field('errorCode', 'int16', '4+'),
      field('errorMessage', 'string', '4+', { nullable: '4+' }),
    ]),
  ],
});

/** JoinGroup: advertised 0-9. */
export const JoinGroup = api(11, 'JoinGroup', '0-9', '6+', {
  request: [
    field('groupId', 'string', '0+'),
    field('sessionTimeoutMs', 'int32', '0+'),
    field('rebalanceTimeoutMs', 'int32', '1+', { default: -1 }),
    field('memberId', 'string', '0+'),
    field('groupInstanceId', 'string', '5+', { nullable: '5+', default: null }),
    field('protocolType', 'string', '0+'),
    array('protocols', '0+', [field('name', 'string', '0+'), field('metadata', 'bytes', '0+')]),
    field('reason', 'string', '8+', { nullable: '8+', default: null }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '2+'),
    field('errorCode', 'int16', '0+'),
    field('generationId', 'int32', '0+', { default: -1 }),
    field('protocolType', 'string', '7+', { nullable: '7+', default: null }),
    field('protocolName', 'string', '0+', { nullable: '7+' }),
    field('leader', 'string', '0+'),
    field('skipAssignment', 'bool', '9+', { default: false }),
    field('memberId', 'string', '0+'),
    array('members', '0+', [
      field('memberId', 'string', '0+'),
      field('groupInstanceId', 'string', '5+', { nullable: '5+', default: null }),
      field('metadata', 'bytes', '0+'),
    ]),
  ],
});

/** Heartbeat: advertised 0-4. */
export const Heartbeat = api(12, 'Heartbeat', '0-4', '4+', {
  request: [
    field('groupId', 'string', '0+'),
    field('generationId', 'int32', '0+'),
    field('memberId', 'string', '0+'),
    field('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
  ],
  response: [field('throttleTimeMs', 'int32', '1+'), field('errorCode', 'int16', '0+')],
});

/** LeaveGroup: advertised 0-5. */
export const LeaveGroup = api(13, 'LeaveGroup', '0-5', '4+', {
  request: [
    field('groupId', 'string', '0+'),
    field('memberId', 'string', '0-2'),
    array('members', '3+', [
      field('memberId', 'string', '3+'),
      field('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
      field('reason', 'string', '5+', { nullable: '5+', default: null }),
    ]),
  ],
  response: [
    field('throttleTimeMs', 'int32', '1+'),
    field('errorCode', 'int16', '0+'),
    array('members', '3+', [
      field('memberId', 'string', '3+'),
      field('groupInstanceId', 'string', '3+', { nullable: '3+' }),
      field('errorCode', 'int16', '3+'),
    ]),
  ],
});

/** SyncGroup: advertised 0-5. */
export const SyncGroup = api(14, 'SyncGroup', '0-5', '4+', {
  request: [
    field('groupId', 'string', '0+'),
    field('generationId', 'int32', '0+'),
    field('memberId', 'string', '0+'),
    field('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
    field('protocolType', 'string', '5+', { nullable: '5+', default: null }),
    field('protocolName', 'string', '5+', { nullable: '5+', default: null }),
    array('assignments', '0+', [field('memberId', 'string', '0+'), field('assignment', 'bytes', '0+')]),
  ],
  response: [
    field('throttleTimeMs', 'int32', '1+'),
    field('errorCode', 'int16', '0+'),
    field('protocolType', 'string', '5+', { nullable: '5+', default: null }),
    field('protocolName', 'string', '5+', { nullable: '5+', default: null }),
    field('assignment', 'bytes', '0+'),
  ],
});

/** DescribeGroups: advertised 0-5. */
export const DescribeGroups = api(15, 'DescribeGroups', '0-5', '5+', {
  request: [arrayOf('groups', 'string', '0+'), field('includeAuthorizedOperations', 'bool', '3+')],
  response: [
    field('throttleTimeMs', 'int32', '1+'),
    array('groups', '0+', [
      field('errorCode', 'int16', '0+'),
      field('groupId', 'string', '0+'),
      field('groupState', 'string', '0+'),
      field('protocolType', 'string', '0+'),
      field('protocolData', 'string', '0+'),
      array('members', '0+', [
        field('memberId', 'string', '0+'),
        field('groupInstanceId', 'string', '4+', { nullable: '4+', default: null }),
        field('clientId', 'string', '0+'),
        field('clientHost', 'string', '0+'),
        field('memberMetadata', 'bytes', '0+'),
        field('memberAssignment', 'bytes', '0+'),
      ]),
      field('authorizedOperations', 'int32', '3+', { default: -2147483648 }),
    ]),
  ],
});

/** ListGroups: advertised 0-4. */
export const ListGroups = api(16, 'ListGroups', '0-4', '3+', {
  request: [arrayOf('statesFilter', 'string', '4+')],
  response: [
    field('throttleTimeMs', 'int32', '1+'),
    field('errorCode', 'int16', '0+'),
    array('groups', '0+', [
      field('groupId', 'string', '0+'),
      field('protocolType', 'string', '0+'),
      field('groupState', 'string', '4+'),
    ]),
  ],
});

/** SaslHandshake: advertised 0-1. */
export const SaslHandshake = api(17, 'SaslHandshake', '0-1', 'none', {
  request: [field('mechanism', 'string', '0+')],
  response: [field('errorCode', 'int16', '0+'), arrayOf('mechanisms', 'string', '0+')],
});

/** ApiVersions: advertised 0-3. */
export const ApiVersions = api(18, 'ApiVersions', '0-3', '3+', {
  request: [field('clientSoftwareName', 'string', '3+'), field('clientSoftwareVersion', 'string', '3+')],
  response: [
    field('errorCode', 'int16', '0+'),
    array('apiKeys', '0+', [
      field('apiKey', 'int16', '0+'),
      field('minVersion', 'int16', '0+'),
      field('maxVersion', 'int16', '0+'),
    ]),
    field('throttleTimeMs', 'int32', '1+'),
    array(
      'supportedFeatures',
      '3+',
      [field('name', 'string', '3+'), field('minVersion', 'int16', '3+'), field('maxVersion', 'int16', '3+')],
      { tag: 0 },
    ),
    field('finalizedFeaturesEpoch', 'int64', '3+', { tag: 1, default: -1 }),
    array(
      'finalizedFeatures',
      '3+',
      [
        field('name', 'string', '3+'),
        field('maxVersionLevel', 'int16', '3+'),
        field('minVersionLevel', 'int16', '3+'),
      ],
      { tag: 2 },
    ),
    field('zkMigrationReady', 'bool', '3+', { tag: 3, default: false }),
  ],
});

/** CreateTopics: advertised 0-7. */
export const CreateTopics = api(19, 'CreateTopics', '0-7', '5+', {
  request: [
    array('topics', '0+', [
      field('name', 'string', '0+'),
      field('numPartitions', 'int32', '0+'),
      field('replicationFactor', 'int16', '0+'),
      array('assignments', '0+', [
        field('partitionIndex', 'int32', '0+'),
        arrayOf('brokerIds', 'int32', '0+'),
      ]),
      array('configs', '0+', [
        field('name', 'string', '0+'),
        field('value', 'string', '0+', { nullable: '0+' }),
      ]),
    ]),
    field('timeoutMs', 'int32', '0+', { default: 60000 }),
    field('validateOnly', 'bool', '1+', { default: false }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '2+'),
    array('topics', '0+', [
      field('name', 'string', '0+'),
      field('topicId', 'uuid', '7+'),
      field('errorCode', 'int16', '0+'),
      field('errorMessage', 'string', '1+', { nullable: '0+' }),
      field('topicConfigErrorCode', 'int16', '5+', { tag: 0 }),
      field('numPartitions', 'int32', '5+', { default: -1 }),
      field('replicationFactor', 'int16', '5+', { default: -1 }),
      array(
        'configs',
        '5+',
        [
          field('name', 'string', '5+'),
          field('value', 'string', '5+', { nullable: '5+' }),
          field('readOnly', 'bool', '5+'),
          field('configSource', 'int8', '5+', { default: -1 }),
          field('isSensitive', 'bool', '5+'),
        ],
        { nullable: '5+' },
      ),
    ]),
  ],
});

/** DeleteTopics: advertised 0-6. */
export const DeleteTopics = api(20, 'DeleteTopics', '0-6', '4+', {
  request: [
    array('topics', '6+', [
      field('name', 'string', '6+', { nullable: '6+', default: null }),
      field('topicId', 'uuid', '6+'),
    ]),
    arrayOf('topicNames', 'string', '0-5'),
    field('timeoutMs', 'int32', '0+'),
  ],
  response: [
    field('throttleTimeMs', 'int32', '1+'),
    array('responses', '0+', [
      field('name', 'string', '0+', { nullable: '6+' }),
      field('topicId', 'uuid', '6+'),
      field('errorCode', 'int16', '0+'),
      field('errorMessage', 'string', '5+', { nullable: '5+', default: null }),
    ]),
  ],
});

/** DeleteRecords: advertised 0-2. */
export const DeleteRecords = api(21, 'DeleteRecords', '0-2', '2+', {
  request: [
    array('topics', '0+', [
      field('name', 'string', '0+'),
      array('partitions', '0+', [field('partitionIndex', 'int32', '0+'), field('offset', 'int64', '0+')]),
    ]),
    field('timeoutMs', 'int32', '0+'),
  ],
  response: [
    field('throttleTimeMs', 'int32', '0+'),
    array('topics', '0+', [
      field('name', 'string', '0+'),
      array('partitions', '0+', [
        field('partitionIndex', 'int32', '0+'),
        field('lowWatermark', 'int64', '0+'),
        field('errorCode', 'int16', '0+'),
      ]),
    ]),
  ],
});

/** InitProducerId: advertised 0-4. */
export const InitProducerId = api(22, 'InitProducerId', '0-4', '2+', {
  request: [
    field('transactionalId', 'string', '0+', { nullable: '0+' }),
    field('transactionTimeoutMs', 'int32', '0+'),
    field('producerId', 'int64', '3+', { default: -1 }),
    field('producerEpoch', 'int16', '3+', { default: -1 }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '0+'),
    field('errorCode', 'int16', '0+'),
    field('producerId', 'int64', '0+', { default: -1 }),
    field('producerEpoch', 'int16', '0+'),
  ],
});

/** DescribeConfigs: advertised 0-4. */
export const DescribeConfigs = api(32, 'DescribeConfigs', '0-4', '4+', {
  request: [
    array('resources', '0+', [
      field('resourceType', 'int8', '0+'),
      field('resourceName', 'string', '0+'),
      arrayOf('configurationKeys', 'string', '0+', { nullable: '0+' }),
    ]),
    field('includeSynonyms', 'bool', '1+', { default: false }),
    field('includeDocumentation', 'bool', '3+', { default: false }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '0+'),
    array('results', '0+', [
      field('errorCode', 'int16', '0+'),
      field('errorMessage', 'string', '0+', { nullable: '0+' }),
      field('resourceType', 'int8', '0+'),
      field('resourceName', 'string', '0+'),
      array('configs', '0+', [
        field('name', 'string', '0+'),
        field('value', 'string', '0+', { nullable: '0+' }),
        field('readOnly', 'bool', '0+'),
        field('isDefault', 'bool', '0'),
        field('configSource', 'int8', '1+', { default: -1 }),
        field('isSensitive', 'bool', '0+'),
        array('synonyms', '1+', [
          field('name', 'string', '1+'),
          field('value', 'string', '1+', { nullable: '1+' }),
          field('source', 'int8', '1+'),
        ]),
        field('configType', 'int8', '3+', { default: 0 }),
        field('documentation', 'string', '3+', { nullable: '0+' }),
      ]),
    ]),
  ],
});

/** AlterConfigs: advertised 0-2. */
export const AlterConfigs = api(33, 'AlterConfigs', '0-2', '2+', {
  request: [
    array('resources', '0+', [
      field('resourceType', 'int8', '0+'),
      field('resourceName', 'string', '0+'),
      array('configs', '0+', [
        field('name', 'string', '0+'),
        field('value', 'string', '0+', { nullable: '0+' }),
      ]),
    ]),
    field('validateOnly', 'bool', '0+'),
  ],
  response: [
    field('throttleTimeMs', 'int32', '0+'),
    array('responses', '0+', [
      field('errorCode', 'int16', '0+'),
      field('errorMessage', 'string', '0+', { nullable: '0+' }),
      field('resourceType', 'int8', '0+'),
      field('resourceName', 'string', '0+'),
    ]),
  ],
});

/** SaslAuthenticate: advertised 0-2. */
export const SaslAuthenticate = api(36, 'SaslAuthenticate', '0-2', '2+', {
  request: [field('authBytes', 'bytes', '0+')],
  response: [
    field('errorCode', 'int16', '0+'),
    field('errorMessage', 'string', '0+', { nullable: '0+' }),
    field('authBytes', 'bytes', '0+'),
    field('sessionLifetimeMs', 'int64', '1+', { default: 0 }),
  ],
});

/** CreatePartitions: advertised 0-3. */
export const CreatePartitions = api(37, 'CreatePartitions', '0-3', '2+', {
  request: [
    array('topics', '0+', [
      field('name', 'string', '0+'),
      field('count', 'int32', '0+'),
      array('assignments', '0+', [arrayOf('brokerIds', 'int32', '0+')], { nullable: '0+' }),
    ]),
    field('timeoutMs', 'int32', '0+'),
    field('validateOnly', 'bool', '0+'),
  ],
  response: [
    field('throttleTimeMs', 'int32', '0+'),
    array('results', '0+', [
      field('name', 'string', '0+'),
      field('errorCode', 'int16', '0+'),
      field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
    ]),
  ],
});

/** DeleteGroups: advertised 0-2. */
export const DeleteGroups = api(42, 'DeleteGroups', '0-2', '2+', {
  request: [arrayOf('groupsNames', 'string', '0+')],
  response: [
    field('throttleTimeMs', 'int32', '0+'),
    array('results', '0+', [field('groupId', 'string', '0+'), field('errorCode', 'int16', '0+')]),
  ],
});
