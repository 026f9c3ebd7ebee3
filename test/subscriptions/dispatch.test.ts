import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { partitionPk } from '../../lambdas/core/layout.ts';
import {
  changeOf,
  createTopicCache,
  dispatch,
  type Wake,
  wakeupsOf,
} from '../../lambdas/subscriptions/dispatch.ts';
import type { StoredSubscription } from '../../lambdas/subscriptions/subscriptions.ts';
import { subscriptionWorld } from './support.ts';

type Image = Record<string, AttributeValue>;
let sequence = 0;

function streamRecord(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  pk: string,
  sk: string,
  images: { old?: Image; new?: Image } = {},
): DynamoDBRecord {
  sequence += 1;
  return {
    eventName,
    dynamodb: {
      Keys: { pk: { S: pk }, sk: { S: sk } },
      NewImage: images.new === undefined ? undefined : { pk: { S: pk }, sk: { S: sk }, ...images.new },
      OldImage: images.old === undefined ? undefined : { pk: { S: pk }, sk: { S: sk }, ...images.old },
      SequenceNumber: String(sequence).padStart(21, '0'),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

const hwm = (n: number): Image => ({ highWatermark: { N: String(n) } });
const commit = (topicId: string, partition: number, from: number, to: number) =>
  streamRecord(from === 0 ? 'INSERT' : 'MODIFY', partitionPk(topicId, partition), 'meta', {
    old: from === 0 ? undefined : hwm(from),
    new: hwm(to),
  });
const subscriptionItem = (name: string, enabled: boolean, eventName: 'INSERT' | 'MODIFY' = 'INSERT') =>
  streamRecord(eventName, 'subscriptions', name, { new: { enabled: { BOOL: enabled } } });

const stored = (name: string, topic: string, enabled = true) =>
  ({ name, topic, enabled }) as unknown as StoredSubscription;
const sorted = (wakes: Iterable<Wake>) => [...wakes].map((w) => `${w.subscription}/${w.partition}`).sort();

describe('dispatch: which stream records wake a deliverer', () => {
  it('a partition meta item whose highWatermark grew, on insert or modify', () => {
    expect(changeOf(commit('T1', 3, 0, 5))).toEqual({ kind: 'partition', topicId: 'T1', partition: 3 });
    expect(changeOf(commit('T1', 0, 5, 7))).toEqual({ kind: 'partition', topicId: 'T1', partition: 0 });
  });

  it('not a partition item whose highWatermark stayed (the janitor advanced logStartOffset), nor one removed', () => {
    const retention = streamRecord('MODIFY', partitionPk('T1', 0), 'meta', {
      old: { ...hwm(5), logStartOffset: { N: '0' } },
      new: { ...hwm(5), logStartOffset: { N: '5' } },
    });
    expect(changeOf(retention)).toBeUndefined();
    expect(changeOf(streamRecord('INSERT', partitionPk('T1', 0), 'meta', { new: hwm(0) }))).toBeUndefined();
    expect(changeOf(streamRecord('REMOVE', partitionPk('T1', 0), 'meta', { old: hwm(5) }))).toBeUndefined();
  });

  it('not the other items of a partition (batch index, janitor lease), nor unrelated items', () => {
    const batch = streamRecord('INSERT', partitionPk('T1', 0), 'b#00000000000000000000', { new: hwm(9) });
    const lease = streamRecord('MODIFY', partitionPk('T1', 0), 'lease', { old: hwm(1), new: hwm(9) });
    const topic = streamRecord('INSERT', 'topic#orders', 'meta', { new: hwm(9) });
    const group = streamRecord('MODIFY', 'group#g', 'l#orders#0', { new: hwm(9) });
    for (const record of [batch, lease, topic, group]) expect(changeOf(record)).toBeUndefined();
  });

  it('a subscription inserted or modified while enabled; not one disabled or deleted', () => {
    expect(changeOf(subscriptionItem('s', true))).toEqual({ kind: 'subscription', name: 's' });
    expect(changeOf(subscriptionItem('s', true, 'MODIFY'))).toEqual({ kind: 'subscription', name: 's' });
    expect(changeOf(subscriptionItem('s', false, 'MODIFY'))).toBeUndefined();
    const removed = streamRecord('REMOVE', 'subscriptions', 's', { old: { enabled: { BOOL: true } } });
    expect(changeOf(removed)).toBeUndefined();
  });

  it('maps commits to the enabled subscriptions of the topic that topicId is now, once per pair', () => {
    const topics = new Map([
      ['orders', { name: 'orders', topicId: 'T1', partitions: 4 }],
      ['audit', { name: 'audit', topicId: 'T2', partitions: 1 }],
    ]);
    const subscriptions = [
      stored('a', 'orders'),
      stored('b', 'orders'),
      stored('off', 'orders', false),
      stored('c', 'audit'),
      stored('gone', 'deleted-topic'),
    ];
    const changes = [
      { kind: 'partition', topicId: 'T1', partition: 1 },
      { kind: 'partition', topicId: 'T1', partition: 1 },
      { kind: 'partition', topicId: 'T1', partition: 3 },
      // A deleted incarnation of a topic: no current topic has this id.
      { kind: 'partition', topicId: 'T0', partition: 0 },
    ] as const;
    const wakes = wakeupsOf(changes, subscriptions, topics);
    expect(sorted([...wakes.values()].map((w) => w.wake))).toEqual(['a/1', 'a/3', 'b/1', 'b/3']);
    expect(wakes.get('1#a')?.records).toEqual([0, 1]);
  });

  it('wakes every partition of its topic for a subscription change', () => {
    const topics = new Map([['orders', { name: 'orders', topicId: 'T1', partitions: 3 }]]);
    const wakes = wakeupsOf([{ kind: 'subscription', name: 'a' }], [stored('a', 'orders')], topics);
    expect(sorted([...wakes.values()].map((w) => w.wake))).toEqual(['a/0', 'a/1', 'a/2']);
    // Disabled again, or deleted, by the time the batch is read: nobody wakes.
    expect(
      wakeupsOf([{ kind: 'subscription', name: 'a' }], [stored('a', 'orders', false)], topics).size,
    ).toBe(0);
    expect(wakeupsOf([{ kind: 'subscription', name: 'a' }], [], topics).size).toBe(0);
  });
});

describe('dispatch: a batch', () => {
  async function world() {
    const w = await subscriptionWorld({ partitions: 3 });
    await w.topics.createTopic('other', 2);
    await w.subscriptions.create({ name: 's', topic: 'events', target: { url: 'http://127.0.0.1:1/' } });
    const events = await w.topics.requireTopic('events');
    const other = await w.topics.requireTopic('other');
    const woken: Wake[] = [];
    const deps = {
      readSubscriptions: () => w.subscriptions.readAll(),
      topic: createTopicCache(w.topics, w.clock),
      wake: async (wake: Wake) => {
        woken.push(wake);
      },
    };
    return { ...w, events, other, woken, deps };
  }

  it('wakes each produced partition of the subscription once, and nothing for other topics', async () => {
    const w = await world();
    const response = await dispatch(
      [
        commit(w.events.topicId, 0, 0, 2),
        commit(w.events.topicId, 0, 2, 4),
        commit(w.events.topicId, 2, 0, 1),
        commit(w.other.topicId, 1, 0, 1),
      ],
      w.deps,
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sorted(w.woken)).toEqual(['s/0', 's/2']);
  });

  it('finds a topic re-created since it was cached (a topicId it has not seen refreshes the cache)', async () => {
    const w = await world();
    await dispatch([commit(w.events.topicId, 0, 0, 1)], w.deps);
    await w.topics.deleteTopic('events');
    const again = await w.topics.createTopic('events', 1);
    await dispatch([commit(again.topicId, 0, 0, 1)], w.deps);
    expect(sorted(w.woken)).toEqual(['s/0', 's/0']);
  });

  it('reports only the records whose wake failed, by sequence number', async () => {
    const w = await world();
    const records = [commit(w.events.topicId, 0, 0, 1), commit(w.events.topicId, 1, 0, 1)];
    const errors: unknown[] = [];
    const response = await dispatch(records, {
      ...w.deps,
      wake: async (wake) => {
        if (wake.partition === 1) throw new Error('Rate exceeded');
      },
      onError: (error) => errors.push(error),
    });
    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: records[1]?.dynamodb?.SequenceNumber }],
    });
    expect(errors).toHaveLength(1);
  });

  it('reports every waking record when the subscriptions cannot be read, and none that wakes no one', async () => {
    const w = await world();
    const records = [
      commit(w.events.topicId, 0, 0, 1),
      streamRecord('INSERT', partitionPk(w.events.topicId, 0), 'b#00000000000000000000'),
    ];
    const response = await dispatch(records, {
      ...w.deps,
      readSubscriptions: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    });
    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: records[0]?.dynamodb?.SequenceNumber }],
    });
    expect(w.woken).toEqual([]);
  });
});
