/**
 * High watermarks and lag, read from the services when metrics are collected (the local server's
 * `GET /metrics`, the janitor Lambda's EMF): nothing is kept between reads, so a value is never stale
 * by more than one collection.
 *
 * Bounded cost: at most `maxTopics` topics, `maxGroups` groups and `maxSubscriptions` subscriptions
 * are read per collection (a topic is one read plus one batch read per 100 partitions; a group or a
 * subscription is a describe). What lies past a bound is left out and `truncated` says so. A topic,
 * group or subscription deleted while it is read is skipped.
 */
import { SUBSCRIPTION_GROUP_PREFIX } from '../core/groups.ts';
import type { Services } from './services.ts';

export interface LagLimits {
  maxTopics: number;
  maxGroups: number;
  maxSubscriptions: number;
}

export const DEFAULT_LAG_LIMITS: LagLimits = { maxTopics: 200, maxGroups: 200, maxSubscriptions: 200 };

export interface LagSnapshot {
  partitions: { topic: string; partition: number; highWatermark: number }[];
  groups: { group: string; topic: string; partition: number; lag: number }[];
  subscriptions: { subscription: string; topic: string; partition: number; lag: number }[];
  /** True when a bound left topics, groups or subscriptions out. */
  truncated: boolean;
}

type LagServices = Pick<Services, 'topics' | 'groups' | 'subscriptions'>;

/** Each item read in turn; one that fails (deleted meanwhile) is skipped. */
async function readEach<T, R>(items: readonly T[], read: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (const item of items) {
    try {
      results.push(await read(item));
    } catch {}
  }
  return results;
}

export async function readLagSnapshot(
  services: LagServices,
  limits: LagLimits = DEFAULT_LAG_LIMITS,
): Promise<LagSnapshot> {
  // A bound of 0 reads nothing at all (the janitor Lambda reports lag, not high watermarks).
  const topicNames = limits.maxTopics > 0 ? await services.topics.listTopics() : [];
  const groupNames = (await services.groups.list()).filter((g) => !g.startsWith(SUBSCRIPTION_GROUP_PREFIX));
  const subscriptionNames = (await services.subscriptions.list()).map((s) => s.name);
  const topics = await readEach(topicNames.slice(0, limits.maxTopics), (t) =>
    services.topics.describeTopic(t),
  );
  const groups = await readEach(groupNames.slice(0, limits.maxGroups), (g) => services.groups.describe(g));
  const subscriptions = await readEach(subscriptionNames.slice(0, limits.maxSubscriptions), (s) =>
    services.subscriptions.describe(s),
  );
  return {
    partitions: topics.flatMap((t) =>
      t.partitionStates.map((p) => ({
        topic: t.name,
        partition: p.partition,
        highWatermark: p.highWatermark,
      })),
    ),
    groups: groups.flatMap((g) =>
      g.partitions.map((p) => ({ group: g.group, topic: p.topic, partition: p.partition, lag: p.lag })),
    ),
    subscriptions: subscriptions.flatMap((s) =>
      s.partitions.map((p) => ({ subscription: s.name, topic: s.topic, partition: p.partition, lag: p.lag })),
    ),
    truncated:
      topicNames.length > limits.maxTopics ||
      groupNames.length > limits.maxGroups ||
      subscriptionNames.length > limits.maxSubscriptions,
  };
}
