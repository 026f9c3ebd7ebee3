/** Topic and group administration over the HTTP API. */
import type { GroupDescription } from './api-types.ts';
import { StreambedError } from './errors.ts';
import {
  ADMIN_EVENTS,
  type AdminEventPayloads,
  type ClientContext,
  defaultContext,
  Instrumented,
} from './instrumentation.ts';
import type { RetryOptions } from './retry.ts';
import { segment, type Transport } from './transport.ts';
import { MAX_PARTITIONS } from './wire/limits.ts';

export interface TopicDescription {
  name: string;
  config: Record<string, unknown>;
  partitions: {
    partition: number;
    logStartOffset: number;
    highWatermark: number;
    batches: number;
    bytes: number;
  }[];
}

/** A group's members and, per partition, owner, committed offset and lag. */
export type { GroupDescription } from './api-types.ts';

/** One partition's valid offset range, and for a timestamp the earliest offset at or after it. */
export interface PartitionOffsets {
  logStartOffset: number;
  highWatermark: number;
  /** Only with a timestamp, and only when a record is at or after it. */
  offset?: number;
}

/** What the Streambed form of `resetOffsets` answers: the offset now committed per partition. */
export interface ResetOffsetsResult {
  partitions: { topic: string; partition: number; committedOffset: number }[];
}

/** One topic for KafkaJS's `createTopics`. */
export interface ITopicConfig {
  topic: string;
  /** Default 1; KafkaJS's -1 ("the broker's default") is 1 too. */
  numPartitions?: number;
  /** Accepted and unused: object storage keeps the copies, there are no brokers to place. */
  replicationFactor?: number;
  /** Accepted and unused, as replicationFactor. */
  replicaAssignment?: unknown[];
  /** Topic config as strings, e.g. `{ name: 'retention.ms', value: '86400000' }`. */
  configEntries?: { name: string; value: string }[];
}

/**
 * KafkaJS's partition metadata. There are no brokers: the API serves every partition, so each has one
 * leader, replica and in-sync replica, the node 0, and is never offline.
 */
export interface PartitionMetadata {
  partitionErrorCode: number;
  partitionId: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

export interface ITopicMetadata {
  name: string;
  partitions: PartitionMetadata[];
}

/** A partition and an offset, as KafkaJS gives offsets: a string. */
export interface SeekEntry {
  partition: number;
  offset: string;
}

/** A group's committed offset (`'-1'` when it has none); `metadata` is always null here. */
export interface FetchOffsetsPartition extends SeekEntry {
  metadata: string | null;
}

export interface GroupOverview {
  groupId: string;
  /** Always `'consumer'`. */
  protocolType: string;
}

/**
 * Kafka's group states that apply: `Stable` with live members, `Empty` without (a group that was
 * joined or has committed offsets), `Dead` for a group that does not exist. Partitions move by
 * leases, one at a time, so a group is never rebalancing as a whole.
 */
export type ConsumerGroupState = 'Stable' | 'Empty' | 'Dead';

/** A live member: what it subscribed to, when its session ends, and the partitions it holds. */
export interface MemberDescription {
  memberId: string;
  topics: string[];
  /** Epoch ms. */
  expiresAt: number;
  assignment: { topic: string; partitions: number[] }[];
}

/** One group in `describeGroups` (KafkaJS's GroupDescription; `describeGroup` gives offsets and lag). */
export interface GroupSummary {
  groupId: string;
  members: MemberDescription[];
  state: ConsumerGroupState;
  /** `'streambed'` (partitions leased by the server) while the group has members, else `''`. */
  protocol: string;
  protocolType: string;
  /** Always 0: a group that cannot be described fails the call. */
  errorCode: number;
}

export type OffsetReset =
  | { to: 'earliest' }
  | { to: 'latest' }
  | { to: 'timestamp'; timestamp: number }
  | { to: 'offset'; offset: number };

/** Where a subscription delivers: a URL (a JSON POST) or, on a deployed stack, a Lambda function. */
export type SubscriptionTarget = { url: string } | { function: string };

/** Where a partition with no committed offset starts: its log start, its end, or a time (epoch ms). */
export type StartingPosition = 'earliest' | 'latest' | { timestamp: number };

/** What `createSubscription` takes; the fields left out get the defaults noted. */
export interface SubscriptionSettings {
  /** 1-249 of A-Z a-z 0-9 . _ - */
  name: string;
  topic: string;
  target: SubscriptionTarget;
  /** Records per invocation at most (1-10000). @default 100 */
  batchSize?: number;
  /** How long to gather records before invoking with fewer than batchSize (0-300000). @default 0 */
  maxBatchingWindowMs?: number;
  /** Retries of a failing batch before its records go to `deadLetterTopic` (which it needs). @default null, forever */
  maxRetryAttempts?: number | null;
  /** Halve a failing batch to isolate the record that fails it. @default false */
  bisectBatchOnError?: boolean;
  /** An existing topic, not the subscription's own. @default null */
  deadLetterTopic?: string | null;
  /** @default 'latest' */
  startingPosition?: StartingPosition;
  /** A disabled subscription delivers nothing until enabled. @default true */
  enabled?: boolean;
}

/** A subscription's configuration, as the server keeps it (every default filled in). */
export interface SubscriptionConfig extends Required<SubscriptionSettings> {
  maxRetryAttempts: number | null;
  deadLetterTopic: string | null;
  /** Epoch ms. */
  createdAt: number;
  updatedAt: number;
}

/** What `updateSubscription` may change; a field left out stays as it is. */
export type SubscriptionChange = Partial<
  Pick<
    SubscriptionConfig,
    | 'enabled'
    | 'batchSize'
    | 'maxBatchingWindowMs'
    | 'maxRetryAttempts'
    | 'bisectBatchOnError'
    | 'deadLetterTopic'
  >
>;

/** One partition of a subscription: its position and the delivery status its deliverer keeps. */
export interface SubscriptionPartitionStatus {
  partition: number;
  /** Where delivery resumes; null before the first delivery (the starting position applies). */
  committedOffset: number | null;
  highWatermark: number;
  /** Records not yet delivered. */
  lag: number;
  /** The deliverer holding the partition now, if any. */
  owner: string | null;
  /** Failed attempts at the current batch so far. */
  attempts: number;
  lastError: string | null;
  /** Epoch ms. */
  lastErrorTime: number | null;
  /** Epoch ms. */
  lastDeliveryTime: number | null;
  /** Records sent to the dead-letter topic from this partition. */
  deadLettered: number;
}

/** A subscription's configuration, its consumer group and the state of each partition. */
export interface SubscriptionDescription extends SubscriptionConfig {
  /** `subscription:<name>`: `describeGroup` describes it like any group. */
  group: string;
  partitions: SubscriptionPartitionStatus[];
}

/** One group's outcome in `deleteGroups` (KafkaJS's shape). */
export interface DeleteGroupResult {
  groupId: string;
  /** `'NONE'` when deleted, else the error's code. */
  errorCode: string;
  error?: StreambedError;
}

const invalid = (message: string) => new StreambedError('INVALID_REQUEST', message);

function needName(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value === '')
    throw invalid(`${what} ${JSON.stringify(value)} is not a name`);
}

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

/** Checks one of `createTopics`'s topics, before any is created, into a create request. */
function createRequest(entry: ITopicConfig, index: number) {
  if (typeof entry !== 'object' || entry === null) {
    throw invalid(`topics[${index}] must be an object {topic, numPartitions?, configEntries?}`);
  }
  const { topic, numPartitions = -1, configEntries } = entry;
  if (typeof topic !== 'string' || !TOPIC_NAME.test(topic) || topic === '.' || topic === '..') {
    throw invalid(
      `topic name ${JSON.stringify(topic)} is invalid: use 1-249 of A-Z a-z 0-9 . _ - (and not "." or "..")`,
    );
  }
  if (
    numPartitions !== -1 &&
    !(Number.isInteger(numPartitions) && numPartitions >= 1 && numPartitions <= MAX_PARTITIONS)
  ) {
    throw invalid(
      `numPartitions of ${topic} must be an integer from 1 to ${MAX_PARTITIONS} (or -1, the default: 1), got ${JSON.stringify(numPartitions)}`,
    );
  }
  const config: Record<string, string> = {};
  if (configEntries !== undefined && configEntries !== null) {
    const entries: unknown = configEntries;
    if (!Array.isArray(entries)) throw invalid(`configEntries of ${topic} must be an array of {name, value}`);
    for (const [i, item] of entries.entries()) {
      const { name, value } = (item ?? {}) as { name?: unknown; value?: unknown };
      if (typeof name !== 'string' || typeof value !== 'string') {
        throw invalid(
          `configEntries of ${topic}: entry ${i} must be {name, value} with string values, got ${JSON.stringify(item)}`,
        );
      }
      config[name] = value;
    }
  }
  return { name: topic, partitions: numPartitions === -1 ? 1 : numPartitions, config };
}

/** Where `setOffsets` moves a partition: an offset, or KafkaJS's -1 (latest) and -2 (earliest). */
function seekTarget(offset: unknown, topic: string, partition: number): OffsetReset {
  if (offset === '-1' || offset === -1) return { to: 'latest' };
  if (offset === '-2' || offset === -2) return { to: 'earliest' };
  const n = typeof offset === 'string' && /^\d+$/.test(offset) ? Number(offset) : offset;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw invalid(
      `offset ${JSON.stringify(offset)} of ${topic}/${partition} is not an offset: use a whole number >= 0 ("-1" latest, "-2" earliest)`,
    );
  }
  return { to: 'offset', offset: n };
}

/**
 * Topic and group administration: Streambed's calls, and KafkaJS's Admin calls with KafkaJS's
 * arguments and result shapes (docs/kafkajs-migration.md says where the two differ).
 */
export interface AdminOptions {
  /**
   * Retries of a request that fails with a retriable error (the server unreachable, throttled, timed
   * out), KafkaJS's `retry`: 5 with backoff from 100 ms by default. A create retried after its first
   * attempt did reach the server answers TOPIC_ALREADY_EXISTS (createTopics: false).
   */
  retry?: RetryOptions;
}

export class Admin extends Instrumented<AdminEventPayloads, typeof ADMIN_EVENTS> {
  constructor(
    private readonly transport: Transport,
    context: ClientContext = defaultContext(),
    options: AdminOptions = {},
  ) {
    super(ADMIN_EVENTS, 'Admin', context);
    this.transport = this.observe(transport).retrying(options.retry ?? {});
  }

  /**
   * KafkaJS's `connect()`: checks that the server answers (the error names the URL and the cause),
   * then emits `admin.connect`.
   */
  override async connect(): Promise<void> {
    await this.transport.health();
    await super.connect();
  }

  /** KafkaJS's `disconnect()`: requests hold no connection open; it only emits `admin.disconnect`. */
  override async disconnect(): Promise<void> {
    await super.disconnect();
  }

  /**
   * KafkaJS's `createTopics`: true when every topic was created, false when any already existed (the
   * others are created all the same). Every topic is checked before any is created; a config value the
   * server refuses stops the call at that topic, the ones before it created. `validateOnly` creates
   * nothing and answers as a create would, from the same checks and the existing topics (config values
   * are checked by the server, on create). `waitForLeaders` and `timeout` change nothing: a topic is
   * usable as soon as the call returns.
   */
  async createTopics(options: {
    topics: ITopicConfig[];
    validateOnly?: boolean;
    waitForLeaders?: boolean;
    timeout?: number;
  }): Promise<boolean> {
    const topics: unknown = options?.topics;
    if (!Array.isArray(topics))
      throw invalid('topics must be an array of {topic, numPartitions?, configEntries?}');
    const requests = (topics as ITopicConfig[]).map(createRequest);
    const names = new Set<string>();
    for (const { name } of requests) {
      if (names.has(name)) throw invalid(`topic ${name} is listed more than once`);
      names.add(name);
    }
    if (options.validateOnly) {
      const existing = new Set(await this.listTopics());
      return requests.every(({ name }) => !existing.has(name));
    }
    let created = true;
    for (const request of requests) {
      try {
        await this.transport.json('POST', '/v1/topics', { json: request });
      } catch (error) {
        if (!(error instanceof StreambedError && error.code === 'TOPIC_ALREADY_EXISTS')) throw error;
        created = false;
      }
    }
    return created;
  }

  /**
   * KafkaJS's `deleteTopics`. TOPIC_NOT_FOUND naming every missing topic, before any is deleted.
   * `timeout` changes nothing.
   */
  async deleteTopics(options: { topics: string[]; timeout?: number }): Promise<void> {
    const topics: unknown = options?.topics;
    if (!Array.isArray(topics) || topics.some((topic) => typeof topic !== 'string')) {
      throw invalid('topics must be an array of topic names');
    }
    const existing = new Set(await this.listTopics());
    const missing = (topics as string[]).filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      throw new StreambedError(
        'TOPIC_NOT_FOUND',
        `topic ${missing.join(', ')} not found: no topic was deleted`,
      );
    }
    for (const topic of topics as string[]) await this.deleteTopic(topic);
  }

  /**
   * KafkaJS's `createPartitions`: raises each topic's partition count to `count`. Every topic is
   * checked first (it exists; `count` is above its partition count), so a bad one changes nothing.
   * `validateOnly` stops after the checks; `assignments` and `timeout` change nothing. Answers true.
   */
  async createPartitions(options: {
    topicPartitions: { topic: string; count: number; assignments?: number[][] }[];
    validateOnly?: boolean;
    timeout?: number;
  }): Promise<boolean> {
    const list: unknown = options?.topicPartitions;
    if (!Array.isArray(list) || list.length === 0) {
      throw invalid('topicPartitions must be a non-empty array of {topic, count}');
    }
    const changes = list as { topic: string; count: number }[];
    const names = new Set<string>();
    for (const { topic, count } of changes) {
      needName(topic, 'topic');
      if (names.has(topic)) throw invalid(`topic ${topic} is listed more than once`);
      names.add(topic);
      if (!Number.isInteger(count) || count > MAX_PARTITIONS) {
        throw invalid(
          `count of ${topic} must be an integer up to ${MAX_PARTITIONS}, got ${JSON.stringify(count)}`,
        );
      }
    }
    for (const { topic, count } of changes) {
      const current = (await this.describeTopic(topic)).partitions.length;
      if (count <= current) {
        throw invalid(`topic ${topic} has ${current} partitions: count must be more than that, got ${count}`);
      }
    }
    if (!options.validateOnly) {
      for (const { topic, count } of changes) await this.alterTopic(topic, { partitions: count });
    }
    return true;
  }

  /**
   * KafkaJS's `fetchTopicMetadata`: each topic's partitions (see PartitionMetadata), for the topics
   * named (TOPIC_NOT_FOUND for one that does not exist) or, without `topics`, for every topic.
   */
  async fetchTopicMetadata(options?: { topics?: string[] }): Promise<{ topics: ITopicMetadata[] }> {
    const named: unknown = options?.topics;
    if (named !== undefined && !Array.isArray(named)) throw invalid('topics must be an array of topic names');
    const describe = async (name: string): Promise<ITopicMetadata | undefined> => {
      try {
        const { partitions } = await this.describeTopic(name);
        return {
          name,
          partitions: partitions.map(({ partition }) => ({
            partitionErrorCode: 0,
            partitionId: partition,
            leader: 0,
            replicas: [0],
            isr: [0],
            offlineReplicas: [],
          })),
        };
      } catch (error) {
        // A topic listed a moment ago and deleted since is simply no longer there.
        if (named === undefined && error instanceof StreambedError && error.code === 'TOPIC_NOT_FOUND')
          return;
        throw error;
      }
    };
    const names = (named as string[] | undefined) ?? (await this.listTopics());
    const topics = await Promise.all(names.map(describe));
    return { topics: topics.filter((topic) => topic !== undefined) };
  }

  /** KafkaJS's `fetchTopicOffsets`: per partition its high watermark (`offset`, `high`) and log start (`low`). */
  async fetchTopicOffsets(topic: string): Promise<(SeekEntry & { high: string; low: string })[]> {
    needName(topic, 'topic');
    const { partitions } = await this.describeTopic(topic);
    return partitions.map(({ partition, highWatermark, logStartOffset }) => ({
      partition,
      offset: String(highWatermark),
      high: String(highWatermark),
      low: String(logStartOffset),
    }));
  }

  /**
   * KafkaJS's `fetchTopicOffsetsByTimestamp`: per partition the first offset whose record is at or
   * after `timestamp` (epoch ms), else (or without a timestamp) the high watermark.
   */
  async fetchTopicOffsetsByTimestamp(topic: string, timestamp?: number): Promise<SeekEntry[]> {
    needName(topic, 'topic');
    const { partitions } = await this.describeTopic(topic);
    return Promise.all(
      partitions.map(async ({ partition, highWatermark }) => {
        if (timestamp === undefined) return { partition, offset: String(highWatermark) };
        const found = await this.fetchPartitionOffsets(topic, partition, timestamp);
        return { partition, offset: String(found.offset ?? found.highWatermark) };
      }),
    );
  }

  async createTopic(options: {
    topic: string;
    numPartitions?: number;
    config?: Record<string, string | number>;
  }): Promise<void> {
    await this.transport.json('POST', '/v1/topics', {
      json: {
        name: options.topic,
        partitions: options.numPartitions ?? 1,
        ...(options.config ? { config: options.config } : {}),
      },
    });
  }

  async listTopics(): Promise<string[]> {
    return (await this.transport.json<{ topics: string[] }>('GET', '/v1/topics')).topics;
  }

  async describeTopic(topic: string): Promise<TopicDescription> {
    return this.transport.json('GET', `/v1/topics/${segment(topic)}`);
  }

  /** Changes config keys and/or raises the partition count. */
  async alterTopic(
    topic: string,
    change: { config?: Record<string, string | number>; partitions?: number },
  ): Promise<void> {
    await this.transport.json('PATCH', `/v1/topics/${segment(topic)}`, { json: change });
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.transport.raw('DELETE', `/v1/topics/${segment(topic)}`);
  }

  /**
   * KafkaJS's `deleteTopicRecords`: each partition's log starts at `offset` from now on; the records
   * below it can no longer be read (fetching them is `OFFSET_OUT_OF_RANGE`, consumers reset as after
   * retention) and the server removes them later. `offset` is a string or a number; `'-1'` means the
   * high watermark (every record so far). An offset at or below where the log starts changes nothing.
   * Fails with `OFFSET_OUT_OF_RANGE` for an offset above the high watermark, `TOPIC_NOT_FOUND`,
   * `PARTITION_NOT_FOUND` or `INVALID_REQUEST`; no partition is changed then.
   * @returns where each partition's log starts now.
   */
  async deleteTopicRecords(options: {
    topic: string;
    partitions: { partition: number; offset: string | number }[];
  }): Promise<{ partition: number; logStartOffset: number }[]> {
    const partitions = options.partitions.map(({ partition, offset }) => {
      const value = typeof offset === 'string' && /^-?\d+$/.test(offset) ? Number(offset) : offset;
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < -1) {
        throw invalid(
          `offset for ${options.topic}/${partition} must be a non-negative integer or -1 (the high watermark), got ${JSON.stringify(offset)}`,
        );
      }
      return { partition, offset: value };
    });
    const result = await this.transport.json<{ partitions: { partition: number; logStartOffset: number }[] }>(
      'POST',
      `/v1/topics/${segment(options.topic)}/records/delete`,
      { json: { partitions } },
    );
    return result.partitions;
  }

  /** One partition's valid offset range, and for a timestamp the earliest offset at or after it. */
  async fetchPartitionOffsets(
    topic: string,
    partition: number,
    timestamp?: number,
  ): Promise<PartitionOffsets> {
    return this.transport.json<PartitionOffsets>(
      'GET',
      `/v1/topics/${segment(topic)}/partitions/${partition}/offsets`,
      { query: { timestamp } },
    );
  }

  /**
   * KafkaJS's `fetchOffsets`: the group's committed offset per partition (`'-1'` where it has none),
   * for the topics named (TOPIC_NOT_FOUND for one that does not exist) or, without `topics`, for every
   * topic where it has one. `resolveOffsets` changes nothing: resets are resolved when made.
   */
  fetchOffsets(options: {
    groupId: string;
    topics?: string[];
    resolveOffsets?: boolean;
  }): Promise<{ topic: string; partitions: FetchOffsetsPartition[] }[]>;
  /** @deprecated The name is KafkaJS's group call now: use `fetchPartitionOffsets`. */
  fetchOffsets(topic: string, partition: number, timestamp?: number): Promise<PartitionOffsets>;
  async fetchOffsets(
    options: { groupId: string; topics?: string[]; resolveOffsets?: boolean } | string,
    partition?: number,
    timestamp?: number,
  ): Promise<{ topic: string; partitions: FetchOffsetsPartition[] }[] | PartitionOffsets> {
    if (typeof options === 'string')
      return this.fetchPartitionOffsets(options, partition as number, timestamp);
    const { groupId, topics } = options ?? {};
    needName(groupId, 'groupId');
    if (topics !== undefined && !Array.isArray(topics))
      throw invalid('topics must be an array of topic names');
    const committed = new Map<string, FetchOffsetsPartition[]>();
    for (const p of (await this.describeGroup(groupId)).partitions) {
      const offset = p.committedOffset === null ? '-1' : String(p.committedOffset);
      committed.set(p.topic, [
        ...(committed.get(p.topic) ?? []),
        { partition: p.partition, offset, metadata: null },
      ]);
    }
    if (topics === undefined) {
      return [...committed]
        .filter(([, partitions]) => partitions.some(({ offset }) => offset !== '-1'))
        .map(([topic, partitions]) => ({ topic, partitions }));
    }
    return Promise.all(
      topics.map(async (topic) => {
        const known = committed.get(topic);
        if (known !== undefined) return { topic, partitions: known };
        // A topic the group has never touched: it has no offset on any partition.
        const { partitions } = await this.describeTopic(topic);
        return {
          topic,
          partitions: partitions.map(({ partition: p }) => ({ partition: p, offset: '-1', metadata: null })),
        };
      }),
    );
  }

  /**
   * KafkaJS's `setOffsets`: moves the group's committed offsets of the partitions given (an offset,
   * or `'-1'` latest / `'-2'` earliest). Every partition and offset is checked against the topic first
   * (PARTITION_NOT_FOUND, OFFSET_OUT_OF_RANGE), so a bad one changes nothing; INVALID_REQUEST while
   * the group has live members, as KafkaJS refuses a running group.
   */
  async setOffsets(options: { groupId: string; topic: string; partitions: SeekEntry[] }): Promise<void> {
    const { groupId, topic, partitions } = options ?? {};
    needName(groupId, 'groupId');
    needName(topic, 'topic');
    const entries: unknown = partitions;
    if (!Array.isArray(entries) || entries.length === 0) {
      throw invalid('partitions must be a non-empty array of {partition, offset}');
    }
    const seeks = new Map<number, OffsetReset>();
    for (const entry of entries as SeekEntry[]) {
      const { partition, offset } = entry ?? {};
      if (!Number.isInteger(partition) || partition < 0) {
        throw invalid(`partition ${JSON.stringify(partition)} of ${topic} is not a partition number`);
      }
      if (seeks.has(partition)) throw invalid(`partition ${partition} of ${topic} is listed more than once`);
      seeks.set(partition, seekTarget(offset, topic, partition));
    }
    const ranges = (await this.describeTopic(topic)).partitions;
    for (const [partition, target] of seeks) {
      const range = ranges[partition];
      if (range === undefined) {
        throw new StreambedError('PARTITION_NOT_FOUND', `topic ${topic} has no partition ${partition}`);
      }
      if (
        target.to === 'offset' &&
        (target.offset < range.logStartOffset || target.offset > range.highWatermark)
      ) {
        const { logStartOffset, highWatermark } = range;
        throw new StreambedError(
          'OFFSET_OUT_OF_RANGE',
          `offset ${target.offset} is outside ${topic}/${partition}: valid offsets are ${logStartOffset} to ${highWatermark}`,
          { details: { logStartOffset, highWatermark } },
        );
      }
    }
    // Partitions moved to the same place share one request.
    const byTarget = new Map<string, { target: OffsetReset; partitions: number[] }>();
    for (const [partition, target] of seeks) {
      const key = JSON.stringify(target);
      const group = byTarget.get(key) ?? { target, partitions: [] };
      group.partitions.push(partition);
      byTarget.set(key, group);
    }
    for (const { target, partitions: chosen } of byTarget.values()) {
      await this.resetOffsets(groupId, topic, target, chosen);
    }
  }

  /** KafkaJS's `listGroups`: every group, as `{groupId, protocolType: 'consumer'}`. */
  async listGroups(): Promise<{ groups: GroupOverview[] }> {
    return { groups: (await this.listGroupIds()).map((groupId) => ({ groupId, protocolType: 'consumer' })) };
  }

  /** Every group's id (a group is listed from its first join until it is deleted). */
  async listGroupIds(): Promise<string[]> {
    return (await this.transport.json<{ groups: string[] }>('GET', '/v1/groups')).groups;
  }

  /** KafkaJS's `describeGroups`: each group's state, protocol and live members (see GroupSummary). */
  async describeGroups(groupIds: string[]): Promise<{ groups: GroupSummary[] }> {
    const ids: unknown = groupIds;
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
      throw invalid('groupIds must be an array of group ids');
    }
    const listed = new Set(await this.listGroupIds());
    const groups = await Promise.all(
      (ids as string[]).map(async (groupId): Promise<GroupSummary> => {
        const { members, partitions } = await this.describeGroup(groupId);
        const state: ConsumerGroupState =
          members.length > 0
            ? 'Stable'
            : listed.has(groupId) || partitions.some((p) => p.committedOffset !== null)
              ? 'Empty'
              : 'Dead';
        return {
          groupId,
          members: members.map(({ memberId, topics, expiresAt }) => {
            const held = new Map<string, number[]>();
            for (const p of partitions) {
              if (p.owner === memberId) held.set(p.topic, [...(held.get(p.topic) ?? []), p.partition]);
            }
            const assignment = [...held].map(([topic, owned]) => ({ topic, partitions: owned }));
            return { memberId, topics, expiresAt, assignment };
          }),
          state,
          protocol: state === 'Stable' ? 'streambed' : '',
          protocolType: 'consumer',
          errorCode: 0,
        };
      }),
    );
    return { groups };
  }

  async describeGroup(group: string): Promise<GroupDescription> {
    return this.transport.json('GET', `/v1/groups/${segment(group)}`);
  }

  /**
   * Deletes a group's committed offsets and its listing. `INVALID_REQUEST` while it has live members,
   * and for a subscription's group (delete the subscription); a group that does not exist is fine.
   */
  async deleteGroup(group: string): Promise<void> {
    await this.transport.raw('DELETE', `/v1/groups/${segment(group)}`);
  }

  /**
   * KafkaJS's `deleteGroups`: deletes each group in turn and answers `{groupId, errorCode}` per group
   * (`'NONE'` when deleted). When any failed, throws a StreambedError whose `details.groups` holds
   * every group's result, each failed one with its `error`, as KafkaJS's KafkaJSDeleteGroupsError does.
   */
  async deleteGroups(groupIds: string[]): Promise<DeleteGroupResult[]> {
    const results: DeleteGroupResult[] = [];
    for (const groupId of groupIds) {
      try {
        await this.deleteGroup(groupId);
        results.push({ groupId, errorCode: 'NONE' });
      } catch (error) {
        if (!(error instanceof StreambedError)) throw error;
        results.push({ groupId, errorCode: error.code, error });
      }
    }
    const failed = results.filter((result) => result.error !== undefined);
    const first = failed[0]?.error;
    if (first !== undefined) {
      throw new StreambedError(
        first.code,
        `${failed.length} of ${results.length} group(s) not deleted: ${failed.map((r) => `${r.groupId}: ${r.error?.message}`).join('; ')}`,
        { retriable: failed.every((r) => r.error?.retriable), details: { groups: results } },
      );
    }
    return results;
  }

  /**
   * Creates a subscription: delivery of `topic`'s records to `target`, in offset order per partition.
   * Fails with `INVALID_REQUEST` naming a bad field, `TOPIC_NOT_FOUND`, or
   * `SUBSCRIPTION_ALREADY_EXISTS`; nothing is created then.
   * @returns the configuration with every default filled in.
   */
  async createSubscription(settings: SubscriptionSettings): Promise<SubscriptionConfig> {
    return this.transport.json('POST', '/v1/subscriptions', { json: settings });
  }

  /** Every subscription's configuration. */
  async listSubscriptions(): Promise<SubscriptionConfig[]> {
    return (await this.transport.json<{ subscriptions: SubscriptionConfig[] }>('GET', '/v1/subscriptions'))
      .subscriptions;
  }

  /**
   * The configuration, and per partition the committed offset, lag and delivery status (attempts,
   * last error, last delivery, dead letters). `SUBSCRIPTION_NOT_FOUND` when there is none.
   */
  async describeSubscription(name: string): Promise<SubscriptionDescription> {
    return this.transport.json('GET', `/v1/subscriptions/${segment(name)}`);
  }

  /**
   * Changes the fields given, all or none (`INVALID_REQUEST` naming a bad one).
   * `SUBSCRIPTION_NOT_FOUND` when there is none.
   * @returns the configuration after the change.
   */
  async updateSubscription(name: string, change: SubscriptionChange): Promise<SubscriptionConfig> {
    return this.transport.json('PATCH', `/v1/subscriptions/${segment(name)}`, { json: change });
  }

  /** Stops delivery; the committed offsets stay, for `resumeSubscription`. Same as `enabled: false`. */
  async pauseSubscription(name: string): Promise<SubscriptionConfig> {
    return this.updateSubscription(name, { enabled: false });
  }

  /** Resumes delivery from the committed offsets. Same as `enabled: true`. */
  async resumeSubscription(name: string): Promise<SubscriptionConfig> {
    return this.updateSubscription(name, { enabled: true });
  }

  /** Deletes the subscription and its group's offsets. `SUBSCRIPTION_NOT_FOUND` when there is none. */
  async deleteSubscription(name: string): Promise<void> {
    await this.transport.raw('DELETE', `/v1/subscriptions/${segment(name)}`);
  }

  /**
   * KafkaJS's `resetOffsets`: moves the group's committed offsets of every partition of `topic` to the
   * log start (`earliest: true`) or the end (the default). The group must have no live members.
   */
  resetOffsets(options: { groupId: string; topic: string; earliest?: boolean }): Promise<undefined>;
  /** Moves a group's committed offsets for a topic; the group must have no live members. */
  resetOffsets(
    group: string,
    topic: string,
    target: OffsetReset,
    partitions?: number[],
  ): Promise<ResetOffsetsResult>;
  async resetOffsets(
    group: string | { groupId: string; topic: string; earliest?: boolean },
    topic?: string,
    target?: OffsetReset,
    partitions?: number[],
  ): Promise<ResetOffsetsResult | undefined> {
    if (typeof group !== 'string') {
      const { groupId, topic: name, earliest = false } = group ?? {};
      needName(groupId, 'groupId');
      needName(name, 'topic');
      await this.resetOffsets(groupId, name, { to: earliest ? 'earliest' : 'latest' });
      return;
    }
    return this.transport.json<ResetOffsetsResult>('POST', `/v1/groups/${segment(group)}/offsets/reset`, {
      json: { topic, ...target, ...(partitions ? { partitions } : {}) },
    });
  }
}
