/**
 * Topics: create, list, describe, alter, delete (DESIGN §3, §8).
 *
 * A topic is one item at `topic#{name}` plus a listing item under `topics`, written together. Each
 * creation draws a fresh topicId, and partitions live under that id, so deleting a topic frees its
 * name at once: a re-created topic never sees the old one's data, which the janitor removes later
 * (it finds it under `deleted-topics`). Partition items are created by the first commit to them.
 */

import { DEFAULT_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES, MAX_PARTITIONS } from '../../client/wire/limits.ts';
import type { Clock } from '../ports/clock.ts';
import { attributesOf, type Item, type MetaStore, queryAll } from '../ports/meta-store.ts';
import { retryOnConflict } from './cas.ts';
import { ConditionFailedError, StreamError } from './errors.ts';
import { deletedTopicKey, newTopicId, partitionKey, TOPICS_PK, topicKey, topicListKey } from './layout.ts';
import type {
  PartitionCountChange,
  PartitionState,
  TopicConfig,
  TopicDescription,
  TopicDetails,
  TopicService,
} from './log-types.ts';
import { readPartitionMeta } from './partition-state.ts';

export const DEFAULT_TOPIC_CONFIG: TopicConfig = {
  'retention.ms': 7 * 24 * 60 * 60 * 1000,
  'retention.bytes': -1,
  'max.message.bytes': DEFAULT_MAX_MESSAGE_BYTES,
  'cleanup.policy': 'delete',
  // Kafka 4.0's defaults (KIP-1030): any age in the past, at most an hour ahead. A far-future timestamp
  // would hold its batch, and every batch after it, back from time retention.
  'message.timestamp.before.max.ms': Number.MAX_SAFE_INTEGER,
  'message.timestamp.after.max.ms': 60 * 60 * 1000,
};

/** How long earlier partition counts are remembered for produce retries (see TopicDescription). */
export const PARTITION_HISTORY_MS = 24 * 60 * 60 * 1000;
/** Kafka's "no bound" for a time span is Long.MAX_VALUE; JavaScript numbers stop at this. */
const KAFKA_LONG_MAX = '9223372036854775807';

const NAME = /^[A-Za-z0-9._-]{1,249}$/;

const invalid = (message: string) => new StreamError('INVALID_REQUEST', message);

export function validateTopicName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name) || name === '.' || name === '..') {
    throw invalid(
      `topic name ${JSON.stringify(name)} is invalid: use 1-249 of A-Z a-z 0-9 . _ - (and not "." or "..")`,
    );
  }
  return name;
}

function validatePartitionCount(partitions: unknown): number {
  if (
    typeof partitions !== 'number' ||
    !Number.isInteger(partitions) ||
    partitions < 1 ||
    partitions > MAX_PARTITIONS
  ) {
    throw invalid(
      `partitions must be an integer from 1 to ${MAX_PARTITIONS}, got ${JSON.stringify(partitions)}`,
    );
  }
  return partitions;
}

/**
 * Kafka tools send config values as strings; numbers are accepted too. Integers only. A time span
 * given as Kafka's Long.MAX_VALUE ("no bound") is stored as the largest safe integer.
 */
function integerConfig(key: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n =
    value === KAFKA_LONG_MAX
      ? Number.MAX_SAFE_INTEGER
      : typeof value === 'string' && /^-?\d+$/.test(value)
        ? Number(value)
        : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
    throw invalid(`config ${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Merges a config change into `base`, refusing unknown keys and bad values (all-or-nothing). */
export function mergeTopicConfig(base: TopicConfig, change: unknown): TopicConfig {
  if (change === undefined) return base;
  if (typeof change !== 'object' || change === null || Array.isArray(change)) {
    throw invalid('config must be an object of config keys to values');
  }
  const config = { ...base };
  for (const [key, value] of Object.entries(change)) {
    switch (key) {
      case 'retention.ms':
        config[key] = integerConfig(key, value, -1);
        break;
      case 'retention.bytes':
        config[key] = integerConfig(key, value, -1);
        break;
      case 'max.message.bytes':
        config[key] = integerConfig(key, value, 1, MAX_MESSAGE_BYTES);
        break;
      case 'message.timestamp.before.max.ms':
      case 'message.timestamp.after.max.ms':
        config[key] = integerConfig(key, value, 0);
        break;
      case 'cleanup.policy':
        if (value !== 'delete') {
          throw invalid(`config cleanup.policy supports only "delete", got ${JSON.stringify(value)}`);
        }
        config[key] = value;
        break;
      default:
        throw invalid(
          `unknown config key ${JSON.stringify(key)}; known: ${Object.keys(DEFAULT_TOPIC_CONFIG).join(', ')}`,
        );
    }
  }
  return config;
}

function toDescription(name: string, item: Item): TopicDescription {
  return {
    name,
    topicId: item.topicId as string,
    partitions: item.partitions as number,
    config: { ...DEFAULT_TOPIC_CONFIG, ...(item.config as Partial<TopicConfig>) },
    createdAt: item.createdAt as number,
    partitionHistory: (item.partitionHistory as PartitionCountChange[] | undefined) ?? [],
  };
}

export interface TopicServiceDeps {
  meta: MetaStore;
  clock: Clock;
}

export interface TopicServiceImpl extends TopicService {
  /** The topic, or TOPIC_NOT_FOUND. Always a consistent read: a topic is usable as soon as it exists. */
  requireTopic(name: string): Promise<TopicDescription>;
}

export function createTopicService({ meta, clock }: TopicServiceDeps): TopicServiceImpl {
  const notFound = (name: string) => new StreamError('TOPIC_NOT_FOUND', `topic ${name} does not exist`);

  async function read(name: string): Promise<Item | undefined> {
    return meta.get(topicKey(validateTopicName(name)), { consistent: true });
  }

  async function requireTopic(name: string): Promise<TopicDescription> {
    const item = await read(name);
    if (item === undefined) throw notFound(name);
    return toDescription(name, item);
  }

  return {
    requireTopic,

    async createTopic(name, partitions, config) {
      validateTopicName(name);
      validatePartitionCount(partitions);
      const merged = mergeTopicConfig(DEFAULT_TOPIC_CONFIG, config);
      const now = clock.now();
      const topicId = newTopicId(now);
      try {
        await meta.transact([
          {
            type: 'put',
            item: { ...topicKey(name), topicId, partitions, config: { ...merged }, createdAt: now },
            expect: 'absent',
          },
          { type: 'put', item: { ...topicListKey(name), topicId }, expect: 'absent' },
        ]);
      } catch (error) {
        if (error instanceof ConditionFailedError && error.reason === 'condition') {
          throw new StreamError('TOPIC_ALREADY_EXISTS', `topic ${name} already exists`);
        }
        throw error;
      }
      return { name, topicId, partitions, config: merged, createdAt: now };
    },

    async listTopics() {
      return (await queryAll(meta, TOPICS_PK, { consistent: true })).map((item) => item.sk);
    },

    async describeTopic(name) {
      const topic = await requireTopic(name);
      const partitionStates: PartitionState[] = [];
      for (let first = 0; first < topic.partitions; first += 100) {
        const count = Math.min(100, topic.partitions - first);
        const keys = Array.from({ length: count }, (_, i) => partitionKey(topic.topicId, first + i));
        const items = await meta.batchGet(keys, { consistent: true });
        items.forEach((item, i) => {
          const state = readPartitionMeta(item);
          partitionStates.push({
            partition: first + i,
            logStartOffset: state.logStartOffset,
            highWatermark: state.highWatermark,
            batches: state.batches,
            bytes: state.bytes,
          });
        });
      }
      return { ...topic, partitionStates } satisfies TopicDetails;
    },

    async alterTopic(name, change) {
      validateTopicName(name);
      if (change.partitions !== undefined) validatePartitionCount(change.partitions);
      return retryOnConflict({ clock, what: `topic ${name}` }, async () => {
        const item = await read(name);
        if (item === undefined) throw notFound(name);
        const current = toDescription(name, item);
        const config = mergeTopicConfig(current.config, change.config);
        const partitions = change.partitions ?? current.partitions;
        if (partitions < current.partitions) {
          throw invalid(`topic ${name} has ${current.partitions} partitions; partitions can only grow`);
        }
        // A growth moves keyed records to other partitions: remember the old count for produce retries.
        const now = clock.now();
        const partitionHistory =
          partitions === current.partitions
            ? (current.partitionHistory ?? [])
            : [{ partitions: current.partitions, until: now }, ...(current.partitionHistory ?? [])]
                // Every growth of the window: a retry spanning several growths must find its count. A
                // topic grows at most MAX_PARTITIONS - 1 times, so this stays small.
                .filter((change) => change.until >= now - PARTITION_HISTORY_MS);
        await meta.transact([
          {
            type: 'put',
            item: {
              ...attributesOf(item),
              config: { ...config },
              partitions,
              partitionHistory: partitionHistory.map((change) => ({ ...change })),
            },
            expect: item.v,
          },
        ]);
        return { ...current, config, partitions, partitionHistory };
      });
    },

    async deleteTopic(name) {
      validateTopicName(name);
      await retryOnConflict({ clock, what: `topic ${name}` }, async () => {
        const item = await read(name);
        if (item === undefined) throw notFound(name);
        const topic = toDescription(name, item);
        await meta.transact([
          { type: 'delete', key: topicKey(name), expect: item.v },
          { type: 'delete', key: topicListKey(name) },
          {
            type: 'put',
            item: {
              ...deletedTopicKey(topic.topicId),
              name,
              partitions: topic.partitions,
              deletedAt: clock.now(),
            },
            expect: 'absent',
          },
        ]);
      });
    },
  };
}
