/**
 * The `Custom::StreambedSubscription` resource logic on memory stores: what CloudFormation's Create,
 * Update and Delete do to the subscription, with properties as CloudFormation sends them (strings).
 */
import { describe, expect, it } from 'vitest';
import {
  createSubscriptionResource,
  type SubscriptionResourceEvent,
} from '../../lambdas/subscriptions/subscription-resource.ts';
import { record } from '../support/log-fixture.ts';
import { subscriptionWorld } from './support.ts';

const TARGET = 'arn:aws:lambda:eu-west-1:123456789012:function:orders-handler';
const OTHER_TARGET = 'arn:aws:lambda:eu-west-1:123456789012:function:audit-handler';

/** The shared subscription world (topics `events`, 2 partitions, and `events.dlt`), two granted functions. */
async function world() {
  const fixture = await subscriptionWorld({
    partitions: 2,
    targets: {
      validateUrl: () => {},
      validateFunction: (fn) => {
        if (fn !== TARGET && fn !== OTHER_TARGET) throw new Error(`not granted: ${fn}`);
      },
    },
  });
  const onEvent = createSubscriptionResource({
    subscriptions: fixture.subscriptions,
    topics: fixture.topics,
  });
  return { ...fixture, onEvent };
}

/** Properties as CloudFormation hands them to a custom resource: every scalar a string. */
const props = (extra: Record<string, string> = {}) => ({
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
  Name: 'orders-to-handler',
  Topic: 'events',
  Function: TARGET,
  ...extra,
});

const create = (properties: Record<string, unknown>): SubscriptionResourceEvent => ({
  RequestType: 'Create',
  ResourceProperties: properties,
});

describe('Custom::StreambedSubscription', () => {
  it('Create makes the subscription from string properties and names the creation in the physical id', async () => {
    // Prepare
    const { onEvent, subscriptions } = await world();
    // Act
    const { PhysicalResourceId } = await onEvent(
      create(
        props({
          BatchSize: '25',
          MaxBatchingWindowMs: '500',
          MaxRetryAttempts: '3',
          DeadLetterTopic: 'events.dlt',
          BisectBatchOnError: 'true',
          Enabled: 'false',
          StartingPosition: 'earliest',
        }),
      ),
    );
    // Assess
    const stored = await subscriptions.read('orders-to-handler');
    expect(PhysicalResourceId).toBe(`orders-to-handler@${stored?.id}`);
    expect(await subscriptions.get('orders-to-handler')).toMatchObject({
      topic: 'events',
      target: { function: TARGET },
      batchSize: 25,
      maxBatchingWindowMs: 500,
      maxRetryAttempts: 3,
      deadLetterTopic: 'events.dlt',
      bisectBatchOnError: true,
      enabled: false,
      startingPosition: 'earliest',
    });
  });

  it('Create reads a numeric StartingPosition as a timestamp', async () => {
    const { onEvent, subscriptions } = await world();
    await onEvent(create(props({ StartingPosition: '1700000000000' })));
    expect((await subscriptions.get('orders-to-handler')).startingPosition).toEqual({
      timestamp: 1_700_000_000_000,
    });
  });

  it('Create fails naming the bad field, and creates nothing', async () => {
    const { onEvent, subscriptions } = await world();
    await expect(onEvent(create(props({ BatchSize: '0' })))).rejects.toThrow(/batchSize/);
    await expect(onEvent(create(props({ Function: 'arn:aws:lambda:x:1:function:nope' })))).rejects.toThrow(
      /not granted/,
    );
    expect(await subscriptions.list()).toEqual([]);
  });

  it('Create fails on a missing topic unless CreateTopicPartitions makes it; an existing topic is kept', async () => {
    const { onEvent, topics } = await world();
    await expect(onEvent(create(props({ Topic: 'payments' })))).rejects.toMatchObject({
      code: 'TOPIC_NOT_FOUND',
    });
    await onEvent(create(props({ Topic: 'payments', CreateTopicPartitions: '3' })));
    expect((await topics.requireTopic('payments')).partitions).toBe(3);
    // events has 2 partitions; CreateTopicPartitions does not alter an existing topic.
    await onEvent(create(props({ Name: 'second', CreateTopicPartitions: '5' })));
    expect((await topics.requireTopic('events')).partitions).toBe(2);
  });

  it('Update changes the changeable fields in place, keeping the physical id and the creation (so its position)', async () => {
    // Prepare
    const { onEvent, subscriptions } = await world();
    const created = await onEvent(create(props({ BatchSize: '25' })));
    const stored = await subscriptions.read('orders-to-handler');
    // Act: BatchSize removed (back to its default), the window changed.
    const updated = await onEvent({
      RequestType: 'Update',
      PhysicalResourceId: created.PhysicalResourceId,
      OldResourceProperties: props({ BatchSize: '25' }),
      ResourceProperties: props({ MaxBatchingWindowMs: '1000' }),
    });
    // Assess
    expect(updated.PhysicalResourceId).toBe(created.PhysicalResourceId);
    expect((await subscriptions.read('orders-to-handler'))?.id).toBe(stored?.id);
    expect(await subscriptions.get('orders-to-handler')).toMatchObject({
      batchSize: 100,
      maxBatchingWindowMs: 1000,
    });
  });

  it('Update of the target under the same name replaces the subscription; the old Delete leaves the new one', async () => {
    // Prepare
    const { onEvent, subscriptions } = await world();
    const old = await onEvent(create(props()));
    // Act: a new function is a new subscription (new physical id), then CloudFormation deletes the old id.
    const replaced = await onEvent({
      RequestType: 'Update',
      PhysicalResourceId: old.PhysicalResourceId,
      OldResourceProperties: props(),
      ResourceProperties: props({ Function: OTHER_TARGET }),
    });
    await onEvent({
      RequestType: 'Delete',
      PhysicalResourceId: old.PhysicalResourceId,
      ResourceProperties: props(),
    });
    // Assess
    expect(replaced.PhysicalResourceId).not.toBe(old.PhysicalResourceId);
    const stored = await subscriptions.read('orders-to-handler');
    expect(replaced.PhysicalResourceId).toBe(`orders-to-handler@${stored?.id}`);
    expect(stored?.target).toEqual({ function: OTHER_TARGET });
  });

  it('Update of the name creates the new subscription; the old Delete removes the old one', async () => {
    const { onEvent, subscriptions } = await world();
    const old = await onEvent(create(props()));
    const renamed = await onEvent({
      RequestType: 'Update',
      PhysicalResourceId: old.PhysicalResourceId,
      OldResourceProperties: props(),
      ResourceProperties: props({ Name: 'renamed' }),
    });
    expect(renamed.PhysicalResourceId).toMatch(/^renamed@/);
    expect((await subscriptions.list()).map((s) => s.name).sort()).toEqual(['orders-to-handler', 'renamed']);
    await onEvent({
      RequestType: 'Delete',
      PhysicalResourceId: old.PhysicalResourceId,
      ResourceProperties: props(),
    });
    expect((await subscriptions.list()).map((s) => s.name)).toEqual(['renamed']);
  });

  it('Update of a subscription deleted over the API makes it again', async () => {
    const { onEvent, subscriptions } = await world();
    const old = await onEvent(create(props()));
    await subscriptions.delete('orders-to-handler');
    const updated = await onEvent({
      RequestType: 'Update',
      PhysicalResourceId: old.PhysicalResourceId,
      OldResourceProperties: props(),
      ResourceProperties: props({ BatchSize: '10' }),
    });
    expect(updated.PhysicalResourceId).not.toBe(old.PhysicalResourceId);
    expect((await subscriptions.get('orders-to-handler')).batchSize).toBe(10);
  });

  it('Delete removes the subscription and succeeds when it is already gone or was never created', async () => {
    // Prepare
    const { onEvent, subscriptions, log } = await world();
    const created = await onEvent(create(props()));
    await log.produce({ topic: 'events', records: [record('a')] });
    const remove = (id: string) =>
      onEvent({ RequestType: 'Delete', PhysicalResourceId: id, ResourceProperties: props() });
    // Act / Assess
    await remove(created.PhysicalResourceId);
    expect(await subscriptions.list()).toEqual([]);
    await expect(remove(created.PhysicalResourceId)).resolves.toEqual({
      PhysicalResourceId: created.PhysicalResourceId,
    });
    // A failed Create leaves CloudFormation with a physical id that names no creation.
    await expect(remove('2026/12/06/[$LATEST]abc')).resolves.toBeDefined();
  });
});
