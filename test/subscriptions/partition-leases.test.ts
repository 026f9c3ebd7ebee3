import { describe, expect, it } from 'vitest';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { createGroupService, subscriptionGroup } from '../../lambdas/core/groups.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import { failure } from '../support/failure.ts';
import { logFixture, record } from '../support/log-fixture.ts';

async function world(partitions = 2) {
  const clock = new ManualClock();
  const fixture = logFixture({ clock, meta: new MemoryMetaStore(clock) });
  await fixture.topics.createTopic('events', partitions);
  const groups = createGroupService({ meta: fixture.meta, clock, topics: fixture.topics, log: fixture.log });
  return { ...fixture, clock, groups };
}

const group = subscriptionGroup('orders');

describe('partition leases (subscription deliverers)', () => {
  it('gives a partition to one deliverer at a time, each claim at a new epoch', async () => {
    const { groups, clock } = await world();
    const a = await groups.claimPartition(group, 'events', 0, 'a', 10_000);
    expect(a).toMatchObject({ owner: 'a', epoch: 1, committedOffset: null, status: null });
    expect(await groups.claimPartition(group, 'events', 0, 'b', 10_000)).toBeUndefined();
    // Another partition is free.
    expect(await groups.claimPartition(group, 'events', 1, 'b', 10_000)).toMatchObject({ epoch: 1 });
    clock.advance(10_001);
    const b = await groups.claimPartition(group, 'events', 0, 'b', 10_000);
    expect(b).toMatchObject({ owner: 'b', epoch: 2 });
  });

  it('keeps offset and status across renewals and releases, and hands them to the next claim', async () => {
    const { groups } = await world();
    let held = await groups.claimPartition(group, 'events', 0, 'a', 10_000);
    if (held === undefined) throw new Error('not claimed');
    held = await groups.renewPartition(group, held, 10_000, { committedOffset: 5, status: { attempts: 2 } });
    held = await groups.renewPartition(group, held, 10_000);
    expect(held).toMatchObject({ committedOffset: 5, status: { attempts: 2 }, epoch: 1 });
    await groups.releasePartition(group, held, { committedOffset: 7 });
    const next = await groups.claimPartition(group, 'events', 0, 'b', 10_000);
    expect(next).toMatchObject({ committedOffset: 7, status: { attempts: 2 }, epoch: 3 });
    const described = await groups.describe(group);
    expect(described.partitions[0]).toMatchObject({ owner: 'b', committedOffset: 7, epoch: 3 });
  });

  it('fences a deliverer whose lease expired and was taken: renew and release are LEASE_LOST', async () => {
    const { groups, clock } = await world();
    const zombie = await groups.claimPartition(group, 'events', 0, 'a', 5_000);
    if (zombie === undefined) throw new Error('not claimed');
    clock.advance(5_001);
    const b = await groups.claimPartition(group, 'events', 0, 'b', 5_000);
    expect(b?.epoch).toBe(2);
    expect(await failure(groups.renewPartition(group, zombie, 5_000, { committedOffset: 9 }))).toMatchObject({
      code: 'LEASE_LOST',
    });
    expect(await failure(groups.releasePartition(group, zombie))).toMatchObject({ code: 'LEASE_LOST' });
    expect((await groups.describe(group)).partitions[0]).toMatchObject({ owner: 'b', committedOffset: null });
  });

  it('fences a deliverer after a reset of the group offsets, and the next claim reads the reset offset', async () => {
    const { groups, log } = await world(1);
    await log.produce({ topic: 'events', records: [record('1'), record('2')] });
    const held = await groups.claimPartition(group, 'events', 0, 'a', 10_000);
    if (held === undefined) throw new Error('not claimed');
    await groups.resetOffsets(group, 'events', { to: 'latest' });
    expect(await failure(groups.renewPartition(group, held, 10_000, { committedOffset: 1 }))).toMatchObject({
      code: 'LEASE_LOST',
    });
    expect(await groups.claimPartition(group, 'events', 0, 'a', 10_000)).toMatchObject({
      committedOffset: 2,
    });
  });

  it('drops the offset of a deleted topic: a re-created one starts with none, and the old holder is fenced', async () => {
    const { groups, topics } = await world(1);
    let held = await groups.claimPartition(group, 'events', 0, 'a', 10_000);
    if (held === undefined) throw new Error('not claimed');
    held = await groups.renewPartition(group, held, 10_000, { committedOffset: 3, status: { attempts: 1 } });
    await topics.deleteTopic('events');
    await topics.createTopic('events', 1);
    expect(await failure(groups.renewPartition(group, held, 10_000))).toMatchObject({ code: 'LEASE_LOST' });
    expect(await groups.claimPartition(group, 'events', 0, 'b', 10_000)).toMatchObject({
      epoch: 2,
      committedOffset: null,
      status: null,
    });
  });

  it('refuses joins and commits in a subscription group, and bad claims, with the reason', async () => {
    const { groups } = await world();
    expect(await failure(groups.join(group, { topics: ['events'] }))).toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining('belongs to subscription orders'),
    });
    expect(
      await failure(groups.commit(group, 'a', [{ topic: 'events', partition: 0, offset: 1, epoch: 1 }])),
    ).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(await failure(groups.claimPartition(group, 'events', 2, 'a', 10_000))).toMatchObject({
      code: 'PARTITION_NOT_FOUND',
    });
    expect(await failure(groups.claimPartition(group, 'nope', 0, 'a', 10_000))).toMatchObject({
      code: 'TOPIC_NOT_FOUND',
    });
    expect(await failure(groups.claimPartition(group, 'events', 0, 'a', 10))).toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining('leaseMs'),
    });
    expect(await failure(groups.claimPartition('subscription:', 'events', 0, 'a', 10_000))).toMatchObject({
      code: 'INVALID_REQUEST',
    });
    expect(await groups.list()).toEqual([]);
  });
});
