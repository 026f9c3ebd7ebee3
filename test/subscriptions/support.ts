/** A subscription world on memory stores: log, groups, subscriptions and a scriptable target. */
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { createGroupService } from '../../lambdas/core/groups.ts';
import type { FetchedRecord } from '../../lambdas/core/log-types.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import { noFunctions } from '../../lambdas/runtime/services.ts';
import {
  type DelivererDeps,
  type DelivererOptions,
  deliverPartition,
  type RunOptions,
} from '../../lambdas/subscriptions/deliverer.ts';
import type { KafkaEvent } from '../../lambdas/subscriptions/kafka-event.ts';
import { createSubscriptionService, type TargetPolicy } from '../../lambdas/subscriptions/subscriptions.ts';
import type { Delivery, DeliveryResult, Target } from '../../lambdas/subscriptions/target.ts';
import { logFixture } from '../support/log-fixture.ts';

/** One invocation the target saw, decoded. */
export interface Seen {
  idempotencyKey: string;
  partition: number;
  offsets: number[];
  values: (string | null)[];
  event: KafkaEvent;
  /** What the target answered. */
  result?: DeliveryResult;
}

export type Answer = (seen: Seen) => DeliveryResult | Promise<DeliveryResult>;

/** A target that records every delivery and answers with `answer` (success by default). */
export class ScriptedTarget implements Target {
  readonly description = 'scripted';
  readonly seen: Seen[] = [];
  answer: Answer = () => ({ ok: true, response: null });
  async deliver(delivery: Delivery): Promise<DeliveryResult> {
    const event = JSON.parse(delivery.body) as KafkaEvent;
    const records = Object.values(event.records)[0] ?? [];
    const seen: Seen = {
      idempotencyKey: delivery.idempotencyKey,
      partition: records[0]?.partition ?? -1,
      offsets: records.map((r) => r.offset),
      values: records.map((r) => (r.value === undefined ? null : Buffer.from(r.value, 'base64').toString())),
      event,
    };
    this.seen.push(seen);
    seen.result = await this.answer(seen);
    return seen.result;
  }
  /** Offsets of the deliveries that fully succeeded on `partition`, in delivery order. */
  delivered(partition: number): number[] {
    return this.seen.flatMap((s) =>
      s.partition === partition && s.result?.ok === true && s.result.response === null ? s.offsets : [],
    );
  }
}

export async function subscriptionWorld(
  options: { partitions?: number; clock?: ManualClock; targets?: TargetPolicy } = {},
) {
  const clock = options.clock ?? new ManualClock();
  const fixture = logFixture({ clock, meta: new MemoryMetaStore(clock) });
  await fixture.topics.createTopic('events', options.partitions ?? 1);
  await fixture.topics.createTopic('events.dlt', 1);
  const groups = createGroupService({ meta: fixture.meta, clock, topics: fixture.topics, log: fixture.log });
  const subscriptions = createSubscriptionService({
    meta: fixture.meta,
    clock,
    topics: fixture.topics,
    log: fixture.log,
    groups,
    targets: options.targets ?? { validateUrl: () => {}, validateFunction: noFunctions },
  });
  const target = new ScriptedTarget();
  const deps: DelivererDeps = {
    subscriptions,
    groups,
    log: fixture.log,
    topics: fixture.topics,
    clock,
    targetFor: () => target,
  };
  const options_: DelivererOptions = { owner: 'deliverer-1', backoff: { initialMs: 100, maxMs: 1_000 } };
  const deliver = (name: string, partition: number, run?: RunOptions, owner?: string) =>
    deliverPartition(deps, owner === undefined ? options_ : { ...options_, owner }, name, partition, run);
  return { ...fixture, clock, groups, subscriptions, target, deps, deliver };
}

export const valuesOf = (records: readonly FetchedRecord[]) =>
  records.map((r) => (r.value === null ? null : Buffer.from(r.value).toString()));

/** The subscription `s` of the deliverer tests: `events` from the earliest offset to the scripted target. */
export const subscribe = (
  world: Awaited<ReturnType<typeof subscriptionWorld>>,
  extra: Record<string, unknown> = {},
) =>
  world.subscriptions.create({
    name: 's',
    topic: 'events',
    target: { url: 'http://127.0.0.1:1/' },
    startingPosition: 'earliest',
    ...extra,
  });
