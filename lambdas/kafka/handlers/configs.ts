/**
 * DescribeConfigs and AlterConfigs for topics (resource type 2): the topic configs Streambed has,
 * under their Kafka names (topic-admin.ts). A broker (resource type 4) describes as no configs at
 * all, so admin tools that list a broker's configs work; it cannot be altered. AlterConfigs replaces
 * a topic's whole config, as Kafka's does: keys left out return to their defaults.
 */
import { KafkaError, toKafkaError } from '../errors.ts';
import { handler, type KafkaContext } from '../handler.ts';
import { AlterConfigs, DescribeConfigs } from '../protocol/messages.ts';
import { type ConfigEntry, checkTopicName, configEntries, refused, topicConfigFrom } from './topic-admin.ts';

const ResourceType = { TOPIC: 2, BROKER: 4 } as const;

const unsupported = (type: number) =>
  refused('INVALID_REQUEST', `resource type ${type} has no configs here: use 2 (topic) or 4 (broker)`);

async function describe(
  resource: { resourceType: number; resourceName: string; configurationKeys: string[] | null },
  context: KafkaContext,
): Promise<ConfigEntry[]> {
  if (resource.resourceType === ResourceType.BROKER) return [];
  if (resource.resourceType !== ResourceType.TOPIC) throw unsupported(resource.resourceType);
  const topic = await context.services.topics.requireTopic(checkTopicName(resource.resourceName));
  return configEntries(topic.config, resource.configurationKeys);
}

export const describeConfigs = handler(DescribeConfigs, async (request, context) => ({
  throttleTimeMs: 0,
  results: await Promise.all(
    request.resources.map(async (resource) => {
      const { resourceType, resourceName } = resource;
      try {
        const configs = await describe(resource, context);
        return { errorCode: KafkaError.NONE, errorMessage: null, resourceType, resourceName, configs };
      } catch (error) {
        return { ...toKafkaError(error), resourceType, resourceName, configs: [] };
      }
    }),
  ),
}));

export const alterConfigs = handler(AlterConfigs, async (request, context) => ({
  throttleTimeMs: 0,
  responses: await Promise.all(
    request.resources.map(async ({ resourceType, resourceName, configs }) => {
      try {
        if (resourceType === ResourceType.BROKER) {
          throw refused(
            'INVALID_REQUEST',
            `broker ${resourceName} has no configs to alter: alter topic configs`,
          );
        }
        if (resourceType !== ResourceType.TOPIC) throw unsupported(resourceType);
        const name = checkTopicName(resourceName);
        const config = topicConfigFrom(configs);
        const { topics } = context.services;
        if (request.validateOnly) await topics.requireTopic(name);
        else await topics.alterTopic(name, { config: { ...config } });
        return { errorCode: KafkaError.NONE, errorMessage: null, resourceType, resourceName };
      } catch (error) {
        return { ...toKafkaError(error), resourceType, resourceName };
      }
    }),
  ),
}));
