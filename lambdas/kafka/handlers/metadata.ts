/**
 * Metadata: the listeners serving this backend as brokers, the lowest node id the controller, and the topics
 * asked for (all of them for a null list, or an empty one at v0). Every partition is led by the
 * listener asked: any listener serves any partition. Leader epochs are -1 (unknown), so clients skip
 * epoch validation. Topics are never created by a Metadata request: they are created explicitly,
 * as over HTTP.
 */
import { StreamError } from '../../core/errors.ts';
import { controllerOf } from '../../core/listeners.ts';
import { KafkaError, toKafkaError } from '../errors.ts';
import { handler } from '../handler.ts';
import { Metadata } from '../protocol/messages.ts';
import { kafkaTopicId } from '../topic-id.ts';

const CLUSTER_ID = 'streambed';
const NO_ID = '0'.repeat(32);

export const metadata = handler(Metadata, async (request, context, { version }) => {
  const { topics } = context.services;
  const names =
    request.topics === null || (version === 0 && request.topics.length === 0)
      ? await topics.listTopics()
      : request.topics.map((topic) => topic.name);
  const described = await Promise.all(
    names.map(async (name) => {
      if (name === null) {
        // Asked by id alone (topics are found by name here). The answer's name may be null from v12.
        return {
          errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
          name: version >= 12 ? null : '',
          topicId: NO_ID,
          partitions: [],
        };
      }
      try {
        const topic = await topics.requireTopic(name);
        return {
          errorCode: KafkaError.NONE,
          name,
          topicId: kafkaTopicId(topic.topicId),
          partitions: Array.from({ length: topic.partitions }, (_, partitionIndex) => ({
            errorCode: KafkaError.NONE,
            partitionIndex,
            leaderId: context.self.nodeId,
            leaderEpoch: -1,
            replicaNodes: [context.self.nodeId],
            isrNodes: [context.self.nodeId],
            offlineReplicas: [],
          })),
        };
      } catch (error) {
        if (!(error instanceof StreamError)) throw error;
        // An invalid name is a topic that cannot exist: the same answer as an unknown one.
        const errorCode =
          error.code === 'INVALID_REQUEST'
            ? KafkaError.INVALID_TOPIC_EXCEPTION
            : toKafkaError(error).errorCode;
        return { errorCode, name, topicId: NO_ID, partitions: [] };
      }
    }),
  );
  const brokers = await context.brokers();
  return {
    throttleTimeMs: 0,
    brokers: brokers.map(({ nodeId, host, port }) => ({ nodeId, host, port, rack: null })),
    clusterId: CLUSTER_ID,
    // Every listener names the same one: the lowest node id of the live listeners they all read.
    controllerId: controllerOf(brokers) ?? context.self.nodeId,
    topics: described,
  };
});
