/**
 * The dispatcher's logic (DESIGN §12, AWS): from a batch of the table's stream records to the
 * (subscription, partition) pairs whose deliverer must wake. The Lambda handler (handlers/dispatch.ts)
 * feeds it the records and wakes each pair with an asynchronous invoke; nothing here waits on delivery.
 *
 * Which records wake someone:
 * - a partition item (`part#{topicId}#{p}` / `meta`) whose highWatermark grew: every enabled
 *   subscription of the topic that topicId is now wakes for partition p. A topicId of no current topic
 *   (a deleted or re-created topic's leftovers) wakes no one;
 * - a subscription item (`subscriptions` / name) inserted or modified with `enabled` true: every
 *   partition of its topic wakes (a new subscription starting from the earliest offset, or one enabled
 *   again, has records waiting that no commit will announce).
 * Anything else (batch index items, leases, a partition item the janitor changed without a commit)
 * wakes no one.
 *
 * Invariants:
 * - One wake per distinct pair per batch, however many records name it.
 * - A record is reported failed (`batchItemFailures`, by its sequence number) when working out its
 *   pairs failed or waking one of its pairs failed; Lambda retries the batch from the first failed
 *   record, so a wake is never lost — a repeated one is harmless (the deliverer finds the lease held,
 *   or nothing to deliver).
 */
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { StreamError } from '../core/errors.ts';
import { PARTITION_META_SK, parsePartitionPk, SUBSCRIPTIONS_PK } from '../core/layout.ts';
import type { TopicServiceImpl } from '../core/topics.ts';
import type { Clock } from '../ports/clock.ts';
import type { StoredSubscription } from './subscriptions.ts';

export type StreamChange =
  /** New records were committed to this partition. */
  | { kind: 'partition'; topicId: string; partition: number }
  /** A subscription was created or changed and is enabled. */
  | { kind: 'subscription'; name: string };

/** One deliverer to wake: the payload of the deliverer function's event. */
export interface Wake {
  subscription: string;
  partition: number;
}

/**
 * The deliverer function's event, checked: a Wake, or what is wrong with it. A bad event is dropped
 * (retrying it cannot make it good).
 */
export function parseWake(event: unknown): Wake | string {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    return 'the event must be {"subscription": string, "partition": number}';
  }
  const { subscription, partition } = event as Record<string, unknown>;
  if (typeof subscription !== 'string' || subscription === '' || subscription.length > 249) {
    return `subscription must be a subscription name, got ${JSON.stringify(subscription)?.slice(0, 300)}`;
  }
  if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0) {
    return `partition must be an integer from 0, got ${JSON.stringify(partition)?.slice(0, 100)}`;
  }
  return { subscription, partition };
}

/** A topic as the dispatcher needs it. */
export interface TopicRef {
  name: string;
  topicId: string;
  partitions: number;
}

const numberOf = (value: AttributeValue | undefined): number | undefined =>
  value?.N === undefined ? undefined : Number(value.N);

/** What a stream record announces, or undefined when it wakes no one. */
export function changeOf(record: DynamoDBRecord): StreamChange | undefined {
  const data = record.dynamodb;
  const pk = data?.Keys?.pk?.S;
  const sk = data?.Keys?.sk?.S;
  if (data === undefined || pk === undefined || sk === undefined) return undefined;
  if (record.eventName !== 'INSERT' && record.eventName !== 'MODIFY') return undefined;
  if (pk === SUBSCRIPTIONS_PK) {
    return data.NewImage?.enabled?.BOOL === true ? { kind: 'subscription', name: sk } : undefined;
  }
  if (sk !== PARTITION_META_SK) return undefined;
  const partition = parsePartitionPk(pk);
  if (partition === undefined) return undefined;
  const after = numberOf(data.NewImage?.highWatermark);
  const before = numberOf(data.OldImage?.highWatermark) ?? 0;
  return after !== undefined && after > before ? { kind: 'partition', ...partition } : undefined;
}

export const wakeKey = (wake: Wake): string => `${wake.partition}#${wake.subscription}`;

/**
 * The pairs to wake for `changes`, each with the records (by index into `changes`) that asked for it.
 * `subscriptions`: every subscription (disabled ones are skipped); `topics`: the current topic of
 * each subscribed topic name (absent: the topic does not exist).
 */
export function wakeupsOf(
  changes: readonly StreamChange[],
  subscriptions: readonly StoredSubscription[],
  topics: ReadonlyMap<string, TopicRef>,
): Map<string, { wake: Wake; records: number[] }> {
  const enabled = subscriptions.filter((s) => s.enabled);
  const byTopicId = new Map<string, StoredSubscription[]>();
  for (const subscription of enabled) {
    const topic = topics.get(subscription.topic);
    if (topic === undefined) continue;
    byTopicId.set(topic.topicId, [...(byTopicId.get(topic.topicId) ?? []), subscription]);
  }
  const wakes = new Map<string, { wake: Wake; records: number[] }>();
  const add = (wake: Wake, index: number) => {
    const key = wakeKey(wake);
    const entry = wakes.get(key);
    if (entry === undefined) wakes.set(key, { wake, records: [index] });
    else entry.records.push(index);
  };
  changes.forEach((change, index) => {
    if (change.kind === 'partition') {
      for (const subscription of byTopicId.get(change.topicId) ?? []) {
        add({ subscription: subscription.name, partition: change.partition }, index);
      }
      return;
    }
    const subscription = enabled.find((s) => s.name === change.name);
    const topic = subscription === undefined ? undefined : topics.get(subscription.topic);
    for (let partition = 0; partition < (topic?.partitions ?? 0); partition++) {
      add({ subscription: change.name, partition }, index);
    }
  });
  return wakes;
}

/**
 * Subscribed topics by name, kept for `ttlMs` per container: most batches map a topicId without a
 * read. A topicId no cached topic has (a topic created or re-created since) refreshes them.
 */
export function createTopicCache(
  topics: Pick<TopicServiceImpl, 'requireTopic'>,
  clock: Clock,
  ttlMs = 60_000,
): (name: string, options: { fresh: boolean }) => Promise<TopicRef | undefined> {
  const cache = new Map<string, { topic: TopicRef | undefined; readAt: number }>();
  return async (name, { fresh }) => {
    const cached = cache.get(name);
    if (!fresh && cached !== undefined && clock.now() - cached.readAt < ttlMs) return cached.topic;
    let topic: TopicRef | undefined;
    try {
      const { topicId, partitions } = await topics.requireTopic(name);
      topic = { name, topicId, partitions };
    } catch (error) {
      if (!(error instanceof StreamError) || error.code !== 'TOPIC_NOT_FOUND') throw error;
    }
    cache.set(name, { topic, readAt: clock.now() });
    return topic;
  };
}

export interface DispatchDeps {
  /** Every subscription, stored form (subscriptions.readAll). */
  readSubscriptions(): Promise<StoredSubscription[]>;
  /** The topic of this name now (`fresh`) or as lately cached; undefined when there is none. */
  topic(name: string, options: { fresh: boolean }): Promise<TopicRef | undefined>;
  /** Wakes a deliverer without waiting for it (an asynchronous invoke). */
  wake(wake: Wake): Promise<void>;
  /** Told about every wake that failed (it is retried through batchItemFailures). */
  onError?(error: unknown, wake?: Wake): void;
}

/** Wakes at once at most this many deliverers. */
const WAKE_CONCURRENCY = 16;

/** Works out and wakes the pairs of one stream batch; answers Lambda's partial batch response. */
export async function dispatch(
  records: readonly DynamoDBRecord[],
  deps: DispatchDeps,
): Promise<DynamoDBBatchResponse> {
  const changes: StreamChange[] = [];
  const ids: string[] = [];
  for (const record of records) {
    const change = changeOf(record);
    if (change === undefined) continue;
    changes.push(change);
    ids.push(record.dynamodb?.SequenceNumber ?? '');
  }
  const failures = new Set<string>();
  const respond = (): DynamoDBBatchResponse => ({
    batchItemFailures: ids.filter((id) => failures.has(id)).map((itemIdentifier) => ({ itemIdentifier })),
  });
  if (changes.length === 0) return respond();

  let wakes: Map<string, { wake: Wake; records: number[] }>;
  try {
    const subscriptions = await deps.readSubscriptions();
    const names = [...new Set(subscriptions.filter((s) => s.enabled).map((s) => s.topic))];
    const resolve = async (fresh: boolean) => {
      const topics = new Map<string, TopicRef>();
      for (const name of names) {
        const topic = await deps.topic(name, { fresh });
        if (topic !== undefined) topics.set(name, topic);
      }
      return topics;
    };
    let topics = await resolve(false);
    const known = new Set([...topics.values()].map((t) => t.topicId));
    // A subscription change wakes every partition of its topic: read the count as it is now.
    const stale = changes.some((c) => c.kind === 'subscription' || !known.has(c.topicId));
    if (stale) topics = await resolve(true);
    wakes = wakeupsOf(changes, subscriptions, topics);
  } catch (error) {
    deps.onError?.(error);
    for (const id of ids) failures.add(id);
    return respond();
  }

  const queue = [...wakes.values()];
  const worker = async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      try {
        await deps.wake(next.wake);
      } catch (error) {
        deps.onError?.(error, next.wake);
        for (const index of next.records) failures.add(ids[index] as string);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(WAKE_CONCURRENCY, queue.length) }, worker));
  return respond();
}
