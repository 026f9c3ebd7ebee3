/**
 * CreateTopics, DeleteTopics and CreatePartitions: the HTTP API's topic administration, answered per
 * topic as Kafka does (one topic's error never fails another's).
 *
 * Differences from Kafka that clients see: a replication factor is accepted whatever it is (S3 holds
 * the copies; the created topic reports 1, as Metadata lists one replica) and replica assignments
 * are INVALID_REPLICA_ASSIGNMENT (any listener serves any partition). DeleteTopics takes names:
 * a topic id alone is UNKNOWN_TOPIC_ID.
 */
import { MAX_PARTITIONS } from '../../../client/wire/limits.ts';
import { StreamError } from '../../core/errors.ts';
import type { TopicConfig } from '../../core/log-types.ts';
import { KafkaError, toKafkaError } from '../errors.ts';
import { handler, type KafkaContext } from '../handler.ts';
import { CreatePartitions, CreateTopics, DeleteTopics } from '../protocol/messages.ts';
import type { RequestOf } from '../protocol/schema.ts';
import { kafkaTopicId } from '../topic-id.ts';
import { checkTopicName, configEntries, refused, repeated, topicConfigFrom } from './topic-admin.ts';

/** Kafka's num.partitions default: what num_partitions -1 asks for. */
const DEFAULT_PARTITIONS = 1;
const NO_ID = '0'.repeat(32);
const NO_ASSIGNMENTS =
  'replica assignments are not supported: any listener serves any partition and S3 holds the copies';

const given = (name: string | null) =>
  refused('INVALID_REQUEST', `topic ${name} is given more than once in the request`);

function partitionCount(numPartitions: number): number {
  const partitions = numPartitions === -1 ? DEFAULT_PARTITIONS : numPartitions;
  if (partitions < 1 || partitions > MAX_PARTITIONS) {
    throw refused(
      'INVALID_PARTITIONS',
      `num_partitions must be from 1 to ${MAX_PARTITIONS}, or -1 for the default, got ${numPartitions}`,
    );
  }
  return partitions;
}

type CreatableTopic = RequestOf<typeof CreateTopics>['topics'][number];
interface Created {
  topicId: string;
  partitions: number;
  config: TopicConfig;
}

async function create(topic: CreatableTopic, context: KafkaContext, validateOnly: boolean): Promise<Created> {
  const name = checkTopicName(topic.name);
  const partitions = partitionCount(topic.numPartitions);
  if (topic.assignments.length > 0) throw refused('INVALID_REPLICA_ASSIGNMENT', NO_ASSIGNMENTS);
  const config = topicConfigFrom(topic.configs);
  const { topics } = context.services;
  if (!validateOnly) {
    const created = await topics.createTopic(name, partitions, { ...config });
    return { topicId: kafkaTopicId(created.topicId), partitions, config: created.config };
  }
  const exists = await topics.requireTopic(name).then(
    () => true,
    (error) => {
      if (error instanceof StreamError && error.code === 'TOPIC_NOT_FOUND') return false;
      throw error;
    },
  );
  if (exists) throw new StreamError('TOPIC_ALREADY_EXISTS', `topic ${name} already exists`);
  return { topicId: NO_ID, partitions, config };
}

export const createTopics = handler(CreateTopics, async (request, context) => {
  const twice = repeated(request.topics.map((topic) => topic.name));
  return {
    throttleTimeMs: 0,
    topics: await Promise.all(
      request.topics.map(async (topic) => {
        try {
          if (twice.has(topic.name)) throw given(topic.name);
          const created = await create(topic, context, request.validateOnly);
          return {
            name: topic.name,
            topicId: created.topicId,
            errorCode: KafkaError.NONE,
            errorMessage: null,
            numPartitions: created.partitions,
            replicationFactor: 1,
            configs: configEntries(created.config),
          };
        } catch (error) {
          return { name: topic.name, topicId: NO_ID, ...toKafkaError(error), configs: [] };
        }
      }),
    ),
  };
});

export const deleteTopics = handler(DeleteTopics, async (request, context, { version }) => {
  const entries =
    version >= 6 ? request.topics : request.topicNames.map((name) => ({ name, topicId: NO_ID }));
  const twice = repeated(entries.flatMap((entry) => (entry.name === null ? [] : [entry.name])));
  const { topics } = context.services;
  return {
    throttleTimeMs: 0,
    responses: await Promise.all(
      entries.map(async ({ name, topicId }) => {
        try {
          if (name === null) {
            throw refused('UNKNOWN_TOPIC_ID', `topic id ${topicId}: topics are deleted by name here`);
          }
          if (topicId !== NO_ID)
            throw refused('INVALID_REQUEST', `give topic ${name} by name or id, not both`);
          if (twice.has(name)) throw given(name);
          const topic = await topics.requireTopic(checkTopicName(name));
          await topics.deleteTopic(name);
          return { name, topicId: kafkaTopicId(topic.topicId), errorCode: KafkaError.NONE };
        } catch (error) {
          return { name, topicId, ...toKafkaError(error) };
        }
      }),
    ),
  };
});

export const createPartitions = handler(CreatePartitions, async (request, context) => {
  const twice = repeated(request.topics.map((topic) => topic.name));
  const { topics } = context.services;
  return {
    throttleTimeMs: 0,
    results: await Promise.all(
      request.topics.map(async ({ name, count, assignments }) => {
        try {
          if (twice.has(name)) throw given(name);
          const topic = await topics.requireTopic(checkTopicName(name));
          if (assignments !== null) throw refused('INVALID_REPLICA_ASSIGNMENT', NO_ASSIGNMENTS);
          if (count <= topic.partitions || count > MAX_PARTITIONS) {
            throw refused(
              'INVALID_PARTITIONS',
              `topic ${name} has ${topic.partitions} partitions; the count can only grow, up to ${MAX_PARTITIONS} (asked for ${count})`,
            );
          }
          if (!request.validateOnly) await topics.alterTopic(name, { partitions: count });
          return { name, errorCode: KafkaError.NONE, errorMessage: null };
        } catch (error) {
          return { name, ...toKafkaError(error) };
        }
      }),
    ),
  };
});
