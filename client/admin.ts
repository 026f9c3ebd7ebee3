/** Topic and group administration over the HTTP API. */
import type { GroupDescription } from '../lambdas/core/groups.ts';
import { StreambedError } from './errors.ts';
import {
  ADMIN_EVENTS,
  type AdminEventPayloads,
  type ClientContext,
  defaultContext,
  Instrumented,
} from './instrumentation.ts';
import { segment, type Transport } from './transport.ts';

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

/** A group's members and, per partition, owner, committed offset and lag (the server's own type). */
export type { GroupDescription } from '../lambdas/core/groups.ts';

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

export class Admin extends Instrumented<AdminEventPayloads, typeof ADMIN_EVENTS> {
  constructor(
    private readonly transport: Transport,
    context: ClientContext = defaultContext(),
  ) {
    super(ADMIN_EVENTS, 'Admin', context);
    this.transport = this.observe(transport);
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

  /** The valid offset range, and for a timestamp the earliest offset at or after it. */
  async fetchOffsets(topic: string, partition: number, timestamp?: number) {
    return this.transport.json<{ logStartOffset: number; highWatermark: number; offset?: number }>(
      'GET',
      `/v1/topics/${segment(topic)}/partitions/${partition}/offsets`,
      { query: { timestamp } },
    );
  }

  async listGroups(): Promise<string[]> {
    return (await this.transport.json<{ groups: string[] }>('GET', '/v1/groups')).groups;
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

  /** Moves a group's committed offsets for a topic; the group must have no live members. */
  async resetOffsets(group: string, topic: string, target: OffsetReset, partitions?: number[]) {
    return this.transport.json<{
      partitions: { topic: string; partition: number; committedOffset: number }[];
    }>('POST', `/v1/groups/${segment(group)}/offsets/reset`, {
      json: { topic, ...target, ...(partitions ? { partitions } : {}) },
    });
  }
}
