/** Topic and group administration over the HTTP API. */
import type { GroupDescription } from '../lambdas/core/groups.ts';
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

export class Admin {
  constructor(private readonly transport: Transport) {}

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

  /** Moves a group's committed offsets for a topic; the group must have no live members. */
  async resetOffsets(group: string, topic: string, target: OffsetReset, partitions?: number[]) {
    return this.transport.json<{
      partitions: { topic: string; partition: number; committedOffset: number }[];
    }>('POST', `/v1/groups/${segment(group)}/offsets/reset`, {
      json: { topic, ...target, ...(partitions ? { partitions } : {}) },
    });
  }
}
