import { describe, expect, it } from 'vitest';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import { type Assignment, createGroupService, type MembershipView } from '../../lambdas/core/groups.ts';
import { groupListKey, leaseKey, memberKey } from '../../lambdas/core/layout.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import type {
  GetOptions,
  Item,
  ItemKey,
  MetaStore,
  QueryOptions,
  QueryResult,
  TransactOp,
} from '../../lambdas/ports/meta-store.ts';
import { failure } from '../support/failure.ts';
import { logFixture, record } from '../support/log-fixture.ts';

/**
 * A memory store that runs a cue just before the next transaction writing a given item: a fault
 * (the cue throws, the write never happens) or a racing writer (the cue writes first), on cue.
 */
class CuedMetaStore implements MetaStore {
  private readonly cues: { sk: string; run: () => Promise<void> }[] = [];
  constructor(private readonly inner: MetaStore) {}
  /** Runs `run` once, before the next transaction that puts the item with this key. */
  beforeNextWrite(key: ItemKey, run: () => Promise<void>): void {
    this.cues.push({ sk: key.sk, run });
  }
  get(key: ItemKey, options?: GetOptions): Promise<Item | undefined> {
    return this.inner.get(key, options);
  }
  batchGet(keys: readonly ItemKey[], options?: GetOptions): Promise<(Item | undefined)[]> {
    return this.inner.batchGet(keys, options);
  }
  query(pk: string, options?: QueryOptions): Promise<QueryResult> {
    return this.inner.query(pk, options);
  }
  /** Runs `run` once, before the next transaction that deletes the item with this key. */
  beforeNextDelete(key: ItemKey, run: () => Promise<void>): void {
    this.deleteCues.push({ sk: key.sk, run });
  }
  private readonly deleteCues: { sk: string; run: () => Promise<void> }[] = [];
  async transact(ops: readonly TransactOp[]): Promise<void> {
    const at = this.cues.findIndex((cue) => ops.some((op) => op.type === 'put' && op.item.sk === cue.sk));
    if (at >= 0) await this.cues.splice(at, 1)[0]?.run();
    const del = this.deleteCues.findIndex((cue) =>
      ops.some((op) => op.type === 'delete' && op.key.sk === cue.sk),
    );
    if (del >= 0) await this.deleteCues.splice(del, 1)[0]?.run();
    return this.inner.transact(ops);
  }
}

async function world(partitions = 6) {
  const clock = new ManualClock();
  const cued = new CuedMetaStore(new MemoryMetaStore(clock));
  const fixture = logFixture({ clock, meta: cued });
  await fixture.topics.createTopic('events', partitions);
  const groups = createGroupService({ meta: fixture.meta, clock, topics: fixture.topics, log: fixture.log });
  return { ...fixture, clock, groups, cued };
}

const owned = (assignments: Assignment[]) => assignments.map((a) => a.partition);
const lease = (partition: number) => leaseKey('g', 'events', partition);

/** Every partition held before a heartbeat is still assigned after it, or reported revoked. */
function expectNothingDropped(before: Assignment[], after: MembershipView): void {
  const accounted = new Set([...after.assignments, ...after.revoked].map((tp) => tp.partition));
  expect(owned(before).filter((p) => !accounted.has(p))).toEqual([]);
}

describe('consumer groups', () => {
  it('gives a lone member every partition at epoch 1 with no committed offset', async () => {
    const { groups } = await world(3);
    const joined = await groups.join('g', { topics: ['events'] });
    expect(joined.assignments).toEqual(
      [0, 1, 2].map((partition) => ({ topic: 'events', partition, epoch: 1, committedOffset: null })),
    );
    expect(await groups.list()).toEqual(['g']);
  });

  it('balances three members within two heartbeat rounds: all owned, counts differ by at most one', async () => {
    // Prepare
    const { groups } = await world(7);
    const members = [];
    for (let i = 0; i < 3; i++) members.push((await groups.join('g', { topics: ['events'] })).memberId);
    // Act: two rounds of heartbeats
    let views = [] as Assignment[][];
    for (let round = 0; round < 2; round++) {
      views = [];
      for (const m of members) views.push((await groups.heartbeat('g', m)).assignments);
    }
    // Assess
    const all = views.flatMap(owned).sort((a, b) => a - b);
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const counts = views.map((v) => v.length);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  it('reports the partitions a member hands over as revoked', async () => {
    const { groups } = await world(4);
    const first = await groups.join('g', { topics: ['events'] });
    expect(first.assignments).toHaveLength(4);
    await groups.join('g', { topics: ['events'] });
    const view = await groups.heartbeat('g', first.memberId);
    expect(view.assignments).toHaveLength(2);
    expect(view.revoked).toHaveLength(2);
  });

  it('accepts commits from the owner at its epoch and fences a zombie with LEASE_LOST', async () => {
    // Prepare: member a owns everything, commits, then goes silent past its session timeout
    const { groups, clock, log, topics } = await world(1);
    await log.produce({ topic: 'events', records: [record('1'), record('2'), record('3')] });
    const a = await groups.join('g', { topics: ['events'], sessionTimeoutMs: 5_000 });
    await groups.commit('g', a.memberId, [{ topic: 'events', partition: 0, offset: 1, epoch: 1 }]);
    clock.advance(6_000);
    // Act: b joins and takes the expired lease; a, the zombie, tries to commit
    const b = await groups.join('g', { topics: ['events'] });
    const zombie = await failure(
      groups.commit('g', a.memberId, [{ topic: 'events', partition: 0, offset: 3, epoch: 1 }]),
    );
    // Assess
    expect(b.assignments).toEqual([{ topic: 'events', partition: 0, epoch: 2, committedOffset: 1 }]);
    expect(zombie).toMatchObject({ code: 'LEASE_LOST', retriable: false });
    await groups.commit('g', b.memberId, [{ topic: 'events', partition: 0, offset: 3, epoch: 2 }]);
    const described = await groups.describe('g');
    expect(described.partitions).toEqual([
      {
        topic: 'events',
        partition: 0,
        owner: b.memberId,
        epoch: 2,
        committedOffset: 3,
        highWatermark: 3,
        lag: 0,
      },
    ]);
    expect(described.members.map((m) => m.memberId)).toEqual([b.memberId]);
    expect(await failure(groups.heartbeat('g', a.memberId))).toMatchObject({ code: 'LEASE_LOST' });
    expect((await topics.describeTopic('events')).partitions).toBe(1);
  });

  it('moves a leaving member’s partitions at once', async () => {
    const { groups } = await world(2);
    const a = await groups.join('g', { topics: ['events'] });
    const b = await groups.join('g', { topics: ['events'] });
    await groups.heartbeat('g', a.memberId);
    await groups.heartbeat('g', b.memberId);
    await groups.leave('g', a.memberId);
    const view = await groups.heartbeat('g', b.memberId);
    expect(owned(view.assignments)).toEqual([0, 1]);
    expect(await failure(groups.leave('g', a.memberId))).toMatchObject({ code: 'LEASE_LOST' });
  });

  it('resets offsets only when the group has no live members', async () => {
    const { groups, log } = await world(2);
    await log.produce({
      topic: 'events',
      records: [record('a', { partition: 0, timestamp: 100 }), record('b', { partition: 0, timestamp: 200 })],
    });
    const a = await groups.join('g', { topics: ['events'] });
    expect((await failure(groups.resetOffsets('g', 'events', { to: 'earliest' }))).code).toBe(
      'INVALID_REQUEST',
    );
    await groups.leave('g', a.memberId);
    expect(await groups.resetOffsets('g', 'events', { to: 'latest' })).toEqual([
      { topic: 'events', partition: 0, committedOffset: 2 },
      { topic: 'events', partition: 1, committedOffset: 0 },
    ]);
    expect(await groups.resetOffsets('g', 'events', { to: 'timestamp', timestamp: 150 }, [0])).toEqual([
      { topic: 'events', partition: 0, committedOffset: 1 },
    ]);
    expect((await failure(groups.resetOffsets('g', 'events', { to: 'offset', offset: 9 }, [0]))).code).toBe(
      'OFFSET_OUT_OF_RANGE',
    );
    const again = await groups.join('g', { topics: ['events'] });
    expect(again.assignments.map((x) => x.committedOffset)).toEqual([1, 0]);
  });

  it('does not carry committed offsets into a re-created topic of the same name', async () => {
    const { groups, topics } = await world(1);
    const a = await groups.join('g', { topics: ['events'] });
    await groups.commit('g', a.memberId, [{ topic: 'events', partition: 0, offset: 0, epoch: 1 }]);
    await groups.leave('g', a.memberId);
    await topics.deleteTopic('events');
    await topics.createTopic('events', 1);
    const b = await groups.join('g', { topics: ['events'] });
    expect(b.assignments[0]?.committedOffset).toBeNull();
  });

  it('a member re-takes its own lease that expired after a failed lease write, at a new epoch that fences the old one', async () => {
    // Prepare: a holds the only partition at epoch 1 and has committed; one heartbeat's lease write
    // is throttled, so the membership is renewed but the lease is not
    const { groups, clock, log, cued } = await world(1);
    await log.produce({ topic: 'events', records: [record('1'), record('2')] });
    const a = await groups.join('g', { topics: ['events'], sessionTimeoutMs: 5_000 });
    await groups.commit('g', a.memberId, [{ topic: 'events', partition: 0, offset: 1, epoch: 1 }]);
    clock.advance(3_000);
    cued.beforeNextWrite(lease(0), async () => {
      throw new StreamError('THROTTLED', 'injected throttle');
    });
    // Whether this heartbeat fails or carries on is another test's concern; only its effect matters.
    await groups.heartbeat('g', a.memberId).catch(() => undefined);
    // Act: the next heartbeat comes after the lease expired (t=6 s > 5 s) but within the session (8 s)
    clock.advance(3_000);
    const view = await groups.heartbeat('g', a.memberId);
    const stale = await failure(
      groups.commit('g', a.memberId, [{ topic: 'events', partition: 0, offset: 2, epoch: 1 }]),
    );
    // Assess: taken back as a fresh assignment; a commit made under the old epoch is fenced
    expect(view.assignments).toEqual([{ topic: 'events', partition: 0, epoch: 2, committedOffset: 1 }]);
    expect(stale.code).toBe('LEASE_LOST');
    await groups.commit('g', a.memberId, [{ topic: 'events', partition: 0, offset: 2, epoch: 2 }]);
    expect((await groups.describe('g')).partitions[0]).toMatchObject({
      owner: a.memberId,
      committedOffset: 2,
    });
  });

  it('carries on through a transient error renewing one lease: it stays assigned and is renewed next time', async () => {
    // Prepare
    const { groups, clock, cued } = await world(2);
    const a = await groups.join('g', { topics: ['events'], sessionTimeoutMs: 5_000 });
    clock.advance(1_000);
    cued.beforeNextWrite(lease(1), async () => {
      throw new StreamError('UNAVAILABLE', 'injected 5xx');
    });
    // Act
    const during = await groups.heartbeat('g', a.memberId);
    clock.advance(3_000);
    const after = await groups.heartbeat('g', a.memberId);
    // Assess: the lease whose renewal failed is still held at its epoch (it had not expired), and the
    // next heartbeat renews it
    expect(during).toEqual({ assignments: a.assignments, revoked: [] });
    expect(after).toEqual({ assignments: a.assignments, revoked: [] });
    expectNothingDropped(a.assignments, during);
  });

  it('keeps a partition whose renewal races the member’s own commit, and keeps the committed offset', async () => {
    // Prepare: the member's commit bumps the lease's version between the heartbeat's read and write
    const { groups, clock, cued } = await world(1);
    const a = await groups.join('g', { topics: ['events'], sessionTimeoutMs: 5_000 });
    clock.advance(1_000);
    cued.beforeNextWrite(lease(0), () =>
      groups.commit('g', a.memberId, [{ topic: 'events', partition: 0, offset: 7, epoch: 1 }]),
    );
    // Act
    const view = await groups.heartbeat('g', a.memberId);
    clock.advance(4_500); // past the join's lease expiry (5 s), within the renewed one (6 s)
    // Assess: still held at epoch 1 with the racing commit's offset, and the lease was really renewed
    expect(view).toEqual({
      assignments: [{ topic: 'events', partition: 0, epoch: 1, committedOffset: 7 }],
      revoked: [],
    });
    expectNothingDropped(a.assignments, view);
    await groups.commit('g', a.memberId, [{ topic: 'events', partition: 0, offset: 8, epoch: 1 }]);
  });

  it('reports a lease that changed hands during the heartbeat as revoked', async () => {
    // Prepare: between the heartbeat's read and its renewal, the lease moves to another owner
    const { groups, clock, cued, meta } = await world(2);
    const a = await groups.join('g', { topics: ['events'], sessionTimeoutMs: 5_000 });
    clock.advance(1_000);
    cued.beforeNextWrite(lease(1), async () => {
      const item = (await meta.get(lease(1))) as Item;
      const { v, ...rest } = item;
      await meta.transact([
        {
          type: 'put',
          item: { ...rest, owner: 'other', epoch: 2, leaseExpiresAt: clock.now() + 9_000 },
          expect: v,
        },
      ]);
    });
    // Act
    const view = await groups.heartbeat('g', a.memberId);
    // Assess
    expect(view).toEqual({
      assignments: [{ topic: 'events', partition: 0, epoch: 1, committedOffset: null }],
      revoked: [{ topic: 'events', partition: 1 }],
    });
    expectNothingDropped(a.assignments, view);
  });

  it('moves a live lease to a re-created topic: a new epoch, no old offset, and commits count on the new topic', async () => {
    // Prepare: a commits on the first incarnation, then the topic is deleted and created again while
    // a's lease is live
    const { groups, topics, log } = await world(1);
    await log.produce({ topic: 'events', records: [record('1'), record('2'), record('3')] });
    const a = await groups.join('g', { topics: ['events'], sessionTimeoutMs: 10_000 });
    await groups.commit('g', a.memberId, [{ topic: 'events', partition: 0, offset: 3, epoch: 1 }]);
    await topics.deleteTopic('events');
    await topics.createTopic('events', 1);
    await log.produce({ topic: 'events', records: [record('x'), record('y')] });
    // Act
    const before = await failure(
      groups.commit('g', a.memberId, [{ topic: 'events', partition: 0, offset: 1, epoch: 1 }]),
    );
    const view = await groups.heartbeat('g', a.memberId);
    await groups.commit('g', a.memberId, [{ topic: 'events', partition: 0, offset: 2, epoch: 2 }]);
    const described = await groups.describe('g');
    await groups.leave('g', a.memberId);
    const b = await groups.join('g', { topics: ['events'] });
    // Assess: a commit under the old incarnation's epoch is refused; the heartbeat hands the partition
    // over anew (revoked and assigned again); the new commit counts and survives the hand-over
    expect(before.code).toBe('LEASE_LOST');
    expect(view).toEqual({
      assignments: [{ topic: 'events', partition: 0, epoch: 2, committedOffset: null }],
      revoked: [{ topic: 'events', partition: 0 }],
    });
    expect(described.partitions[0]).toMatchObject({ committedOffset: 2, highWatermark: 2, lag: 0 });
    expect(b.assignments).toEqual([{ topic: 'events', partition: 0, epoch: 4, committedOffset: 2 }]);
  });

  it('counts a join retried with the same memberId once (the first response was lost after the write applied)', async () => {
    // Prepare
    const { groups } = await world(2);
    const first = await groups.join('g', { topics: ['events'], memberId: 'consumer-1' });
    // Act: the client never saw `first` and sends the same request again
    const retry = await groups.join('g', { topics: ['events'], memberId: 'consumer-1' });
    const other = await groups.join('g', { topics: ['events'] });
    const described = await groups.describe('g');
    // Assess: one member, holding what the first attempt took; the second member is balanced against it
    expect(first.memberId).toBe('consumer-1');
    expect(retry).toEqual(first);
    expect(described.members.map((m) => m.memberId).sort()).toEqual([other.memberId, 'consumer-1'].sort());
    const mismatch = await failure(
      groups.join('g', { topics: ['events'], sessionTimeoutMs: 9_000, memberId: 'consumer-1' }),
    );
    expect(mismatch.code).toBe('INVALID_REQUEST');
    expect((await failure(groups.join('g', { topics: ['events'], memberId: 'bad id' }))).code).toBe(
      'INVALID_REQUEST',
    );
  });

  it('counts a join retry racing its first attempt once: both answer for the same member', async () => {
    // Prepare: the retry runs whole between the first attempt's member write and its renewal
    const { groups, cued } = await world(2);
    const join = () => groups.join('g', { topics: ['events'], memberId: 'consumer-1' });
    const member = memberKey('g', 'consumer-1');
    let retry: Awaited<ReturnType<typeof join>> | undefined;
    cued.beforeNextWrite(member, async () => {
      cued.beforeNextWrite(member, async () => {
        retry = await join();
      });
    });
    // Act
    const first = await join();
    const after = await groups.heartbeat('g', 'consumer-1');
    // Assess: neither attempt is refused, one member, and it holds every partition (the retry took
    // them; the first attempt's answer may lack them, and the next heartbeat reports them)
    expect([first.memberId, retry?.memberId]).toEqual(['consumer-1', 'consumer-1']);
    expect(owned(retry?.assignments ?? [])).toEqual([0, 1]);
    expect((await groups.describe('g')).members.map((m) => m.memberId)).toEqual(['consumer-1']);
    expect(after).toEqual({ assignments: retry?.assignments, revoked: [] });
  });

  it('owns every partition (found by review) when members of one group subscribe to different topic sets', async () => {
    // Prepare: `a` reads t1 (2 partitions); `b` reads t1 and t2 (2 partitions each)
    const { clock, topics, groups } = await world();
    await topics.createTopic('t1', 2);
    await topics.createTopic('t2', 2);
    const a = await groups.join('g', { topics: ['t1'], memberId: 'a' });
    const b = await groups.join('g', { topics: ['t1', 't2'], memberId: 'b' });
    // Act: stable membership, several heartbeat rounds
    for (let round = 0; round < 5; round++) {
      clock.advance(1_000);
      await groups.heartbeat('g', a.memberId);
      await groups.heartbeat('g', b.memberId);
    }
    // Assess: DESIGN §6: within two heartbeat intervals every partition is owned
    const described = await groups.describe('g');
    expect(
      described.partitions.filter((p) => p.owner === null).map((p) => `${p.topic}/${p.partition}`),
    ).toEqual([]);
  });

  it('balances several topics among members subscribed to all of them: every partition owned, counts within one', async () => {
    // Prepare: three one-partition topics and a two-partition one; three members read all four
    const { clock, groups, topics: topicService } = await world();
    for (const name of ['x1', 'x2', 'x3']) await topicService.createTopic(name, 1);
    await topicService.createTopic('x4', 2);
    const topics = ['x1', 'x2', 'x3', 'x4'];
    const ids: string[] = [];
    for (const m of ['m1', 'm2', 'm3']) ids.push((await groups.join('g', { topics, memberId: m })).memberId);
    // Act
    for (let round = 0; round < 3; round++) {
      clock.advance(1_000);
      for (const m of ids) await groups.heartbeat('g', m);
    }
    // Assess
    const described = await groups.describe('g');
    expect(described.partitions.filter((p) => p.owner === null)).toEqual([]);
    const counts = ids.map((m) => described.partitions.filter((p) => p.owner === m).length);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(5);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  it('refuses bad input', async () => {
    const { groups } = await world(1);
    const cases: [Promise<unknown>, string][] = [
      [groups.join('bad group', { topics: ['events'] }), 'INVALID_REQUEST'],
      [groups.join('g', { topics: [] }), 'INVALID_REQUEST'],
      [groups.join('g', { topics: ['events'], sessionTimeoutMs: 10 }), 'INVALID_REQUEST'],
      [groups.join('g', { topics: ['nope'] }), 'TOPIC_NOT_FOUND'],
      [groups.heartbeat('g', 'no-such-member'), 'LEASE_LOST'],
      [groups.commit('g', 'm', []), 'INVALID_REQUEST'],
      [groups.commit('g', 'm', [{ topic: 'events', partition: 0, offset: -1, epoch: 1 }]), 'INVALID_REQUEST'],
      [groups.resetOffsets('g', 'events', { to: 'earliest' }, [5]), 'PARTITION_NOT_FOUND'],
    ];
    for (const [promise, code] of cases) expect((await failure(promise)).code).toBe(code);
  });
});

describe('deleteGroup', () => {
  it('deletes the offsets and the listing of a group nobody is in, and refuses one with a live member', async () => {
    const { groups } = await world(2);
    const member = await groups.join('g', { topics: ['events'] });
    await groups.commit('g', member.memberId, [
      { topic: 'events', partition: 0, offset: 0, epoch: member.assignments[0]?.epoch ?? 0 },
    ]);
    const refused = await failure(groups.deleteGroup('g'));
    expect(refused).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(await groups.list()).toEqual(['g']);
    await groups.leave('g', member.memberId);
    await groups.deleteGroup('g');
    expect(await groups.list()).toEqual([]);
    expect((await groups.describe('g')).partitions).toEqual([]);
  });

  it('lists the group again when a member joins while it is deleted', async () => {
    const { groups, cued } = await world(2);
    const first = await groups.join('g', { topics: ['events'] });
    await groups.leave('g', first.memberId);
    // The join lands after the group was read (no members) and before its listing is deleted.
    let joined: string | undefined;
    cued.beforeNextDelete(groupListKey('g'), async () => {
      joined = (await groups.join('g', { topics: ['events'] })).memberId;
    });
    await groups.deleteGroup('g');
    expect(joined).toBeDefined();
    expect(await groups.list()).toEqual(['g']);
    expect((await groups.describe('g')).members.map((m) => m.memberId)).toEqual([joined]);
  });
});
