import { describe, expect, it } from 'vitest';
import { subscriptionGroup } from '../../lambdas/core/groups.ts';
import { sweepSubscriptions } from '../../lambdas/subscriptions/sweep.ts';
import { record } from '../support/log-fixture.ts';
import { subscriptionWorld } from './support.ts';

const url = { url: 'http://127.0.0.1:1/' };

describe('sweep', () => {
  it('wakes every partition behind and unleased of every enabled subscription, and no other', async () => {
    // Prepare: partition 0 behind, 1 behind but leased, 2 caught up; a disabled subscription behind.
    const world = await subscriptionWorld({ partitions: 3 });
    await world.subscriptions.create({
      name: 's',
      topic: 'events',
      target: url,
      startingPosition: 'earliest',
    });
    await world.subscriptions.create({
      name: 'off',
      topic: 'events',
      target: url,
      startingPosition: 'earliest',
      enabled: false,
    });
    await world.log.produce({ topic: 'events', records: [record('a', { partition: 0 })] });
    await world.log.produce({ topic: 'events', records: [record('b', { partition: 1 })] });
    const leaseMs = 60_000;
    await world.groups.claimPartition(subscriptionGroup('s'), 'events', 1, 'busy-deliverer', leaseMs);
    const woken: string[] = [];
    const wake = async (subscription: string, partition: number) => {
      woken.push(`${subscription}/${partition}`);
    };
    // Act
    const report = await sweepSubscriptions(world, wake);
    // Assess
    expect(woken).toEqual(['s/0']);
    expect(report).toEqual({ woken: 1, errors: [] });

    // Once the lease has expired (its deliverer died), the partition is woken as well.
    world.clock.advance(leaseMs + 1);
    woken.length = 0;
    await sweepSubscriptions(world, wake);
    expect(woken).toEqual(['s/0', 's/1']);

    // Delivered: nothing is behind, nothing is woken.
    await world.deliver('s', 0);
    await world.deliver('s', 1);
    woken.length = 0;
    expect(await sweepSubscriptions(world, wake)).toEqual({ woken: 0, errors: [] });
  });

  it('reports a subscription it cannot describe or a wake that failed, and goes on with the others', async () => {
    const world = await subscriptionWorld();
    await world.topics.createTopic('gone', 1);
    await world.subscriptions.create({ name: 'a-gone', topic: 'gone', target: url });
    await world.subscriptions.create({
      name: 'b',
      topic: 'events',
      target: url,
      startingPosition: 'earliest',
    });
    await world.subscriptions.create({
      name: 'c',
      topic: 'events',
      target: url,
      startingPosition: 'earliest',
    });
    await world.topics.deleteTopic('gone');
    await world.log.produce({ topic: 'events', records: [record('x')] });
    const woken: string[] = [];
    const report = await sweepSubscriptions(world, async (subscription, partition) => {
      if (subscription === 'b') throw new Error('Rate exceeded');
      woken.push(`${subscription}/${partition}`);
    });
    expect(woken).toEqual(['c/0']);
    expect(report.woken).toBe(1);
    expect(report.errors).toEqual([
      { subscription: 'a-gone', message: expect.stringContaining('gone') },
      { subscription: 'b', partition: 0, message: 'Rate exceeded' },
    ]);
  });
});
