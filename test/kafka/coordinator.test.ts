/** The Kafka group coordinator over the services of a memory backend, with time moved by the test. */
import { describe, expect, it } from 'vitest';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import { coordinatorKey } from '../../lambdas/core/layout.ts';
import { errorResponse } from '../../lambdas/http/errors.ts';
import {
  createGroupCoordinator,
  type GroupCoordinator,
  type JoinGroupRequest,
  type JoinGroupResult,
  type Timers,
} from '../../lambdas/kafka/coordinator.ts';
import { attributesOf, type Item, type TransactOp } from '../../lambdas/ports/meta-store.ts';
import { createServices } from '../../lambdas/runtime/services.ts';
import { record } from '../support/log-fixture.ts';
import { FakeTime, frozenTimers, settle } from './fake-time.ts';

const SESSION_MS = 10_000;
const REBALANCE_MS = 30_000;

/** A memory store that runs a cue just before the next transaction putting an item whose sk starts so. */
class CuedMetaStore extends MemoryMetaStore {
  private readonly cues: { sk: string; run: () => Promise<void> }[] = [];
  beforeNextPut(skPrefix: string, run: () => Promise<void>): void {
    this.cues.push({ sk: skPrefix, run });
  }
  override async transact(ops: readonly TransactOp[]): Promise<void> {
    const at = this.cues.findIndex((cue) =>
      ops.some((op) => op.type === 'put' && op.item.sk.startsWith(cue.sk)),
    );
    if (at >= 0) await this.cues.splice(at, 1)[0]?.run();
    return super.transact(ops);
  }
}

async function world() {
  const time = new FakeTime();
  const meta = new CuedMetaStore(time);
  const services = createServices({ meta, objects: new MemoryObjectStore(), close: async () => {} }, time);
  await services.topics.createTopic('events', 4);
  const gateway = (name: string, timers: Timers = time.timers) =>
    createGroupCoordinator({
      meta,
      clock: time,
      timers,
      groups: services.groups,
      self: { nodeId: name === 'a' ? 1 : 2, host: `gateway-${name}`, port: 9092 },
      leaseMs: 15_000,
    });
  const coordinator = gateway('a');
  expect((await coordinator.findCoordinator('g')).host).toBe('gateway-a');
  return { time, meta, services, coordinator, gateway };
}

const protocols = [{ name: 'range', metadata: Buffer.from('subscription') }];

const joinRequest = (memberId: string, overrides: Partial<JoinGroupRequest> = {}): JoinGroupRequest => ({
  group: 'g',
  memberId,
  groupInstanceId: null,
  clientId: 'client',
  clientHost: '/127.0.0.1',
  sessionTimeoutMs: SESSION_MS,
  rebalanceTimeoutMs: REBALANCE_MS,
  protocolType: 'consumer',
  protocols,
  requireKnownMemberId: true,
  ...overrides,
});

/** A first join at v4+: the coordinator hands out the member id to join with. */
async function memberId(coordinator: GroupCoordinator): Promise<string> {
  const first = await coordinator.joinGroup(joinRequest(''));
  expect(first.error).toBe('MEMBER_ID_REQUIRED');
  return first.memberId;
}

/** Whether a promise has settled, without waiting for it. */
function watch<T>(promise: Promise<T>): { settled: () => boolean } {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  return { settled: () => done };
}

/** Joins every member, then syncs with the leader sending `assignment(id)` for each: a Stable group. */
async function stableGroup(coordinator: GroupCoordinator, ids: string[]) {
  const joins = await Promise.all(ids.map((id) => coordinator.joinGroup(joinRequest(id))));
  for (const join of joins) expect(join.error).toBe('NONE');
  const leader = joins[0]?.leader as string;
  const generationId = joins[0]?.generationId as number;
  const syncs = await Promise.all(
    ids.map((id) =>
      coordinator.syncGroup({
        group: 'g',
        generationId,
        memberId: id,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments:
          id === leader ? ids.map((m) => ({ memberId: m, assignment: Buffer.from(`for ${m}`) })) : [],
      }),
    ),
  );
  return { joins, syncs, leader, generationId };
}

const heartbeat = (coordinator: GroupCoordinator, memberId: string, generationId: number) =>
  coordinator.heartbeat({ group: 'g', generationId, memberId, groupInstanceId: null });

const commit = (
  coordinator: GroupCoordinator,
  memberId: string,
  generationId: number,
  partitions: { partition: number; offset: number; metadata?: string | null }[],
) =>
  coordinator.commitOffsets({
    group: 'g',
    generationId,
    memberId,
    groupInstanceId: null,
    topics: [{ name: 'events', partitions }],
  });

const errorsOf = (result: Awaited<ReturnType<typeof commit>>) =>
  result.topics.flatMap((t) => t.partitions.map((p) => p.error));

describe('Kafka group coordinator: join and sync barriers', () => {
  it('makes one of two members the leader, and both get the assignment the leader sent for them', async () => {
    // Prepare
    const { coordinator } = await world();
    const a = await memberId(coordinator);
    const b = await memberId(coordinator);
    // Act
    const joinA = coordinator.joinGroup(joinRequest(a));
    await settle();
    const aWaits = !watch(joinA).settled();
    const [ja, jb] = (await Promise.all([joinA, coordinator.joinGroup(joinRequest(b))])) as JoinGroupResult[];
    const leader = ja?.leader as string;
    const follower = leader === a ? b : a;
    const followerSync = coordinator.syncGroup({
      group: 'g',
      generationId: 1,
      memberId: follower,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    const followerWatch = watch(followerSync);
    await settle();
    const followerWaitedForLeader = !followerWatch.settled();
    const leaderSync = await coordinator.syncGroup({
      group: 'g',
      generationId: 1,
      memberId: leader,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [
        { memberId: a, assignment: Buffer.from('partitions of a') },
        { memberId: b, assignment: Buffer.from('partitions of b') },
      ],
    });
    const described = await coordinator.describeGroup('g');
    // Assess
    expect(aWaits).toBe(true);
    expect([ja?.error, jb?.error]).toEqual(['NONE', 'NONE']);
    expect([ja?.generationId, jb?.generationId]).toEqual([1, 1]);
    expect(jb?.leader).toBe(leader);
    expect([a, b]).toContain(leader);
    expect(ja?.protocolName).toBe('range');
    const leaderJoin = leader === a ? ja : jb;
    const followerJoin = leader === a ? jb : ja;
    expect(leaderJoin?.members.map((m) => m.memberId).sort()).toEqual([a, b].sort());
    expect(leaderJoin?.members[0]?.metadata.toString()).toBe('subscription');
    expect(followerJoin?.members).toEqual([]);
    expect(followerWaitedForLeader).toBe(true);
    expect(leaderSync.assignment.toString()).toBe(`partitions of ${leader === a ? 'a' : 'b'}`);
    expect((await followerSync).assignment.toString()).toBe(`partitions of ${follower === a ? 'a' : 'b'}`);
    expect(described).toMatchObject({
      error: 'NONE',
      state: 'Stable',
      protocolType: 'consumer',
      protocolData: 'range',
    });
    expect(described.members.map((m) => [m.memberId, m.clientId, m.assignment.length > 0])).toEqual(
      expect.arrayContaining([
        [a, 'client', true],
        [b, 'client', true],
      ]),
    );
  });

  it('rebalances when a third member joins: heartbeats answer REBALANCE_IN_PROGRESS until all rejoined', async () => {
    // Prepare
    const { coordinator } = await world();
    const a = await memberId(coordinator);
    const b = await memberId(coordinator);
    await stableGroup(coordinator, [a, b]);
    const c = await memberId(coordinator);
    // Act
    const joinC = coordinator.joinGroup(joinRequest(c));
    await settle();
    const during = await Promise.all([heartbeat(coordinator, a, 1), heartbeat(coordinator, b, 1)]);
    const state = (await coordinator.describeGroup('g')).state;
    const rejoined = await Promise.all([
      coordinator.joinGroup(joinRequest(a)),
      coordinator.joinGroup(joinRequest(b)),
      joinC,
    ]);
    // Assess
    expect(during.map((h) => h.error)).toEqual(['REBALANCE_IN_PROGRESS', 'REBALANCE_IN_PROGRESS']);
    expect(state).toBe('PreparingRebalance');
    expect(rejoined.map((j) => [j.error, j.generationId])).toEqual([
      ['NONE', 2],
      ['NONE', 2],
      ['NONE', 2],
    ]);
    expect(rejoined.find((j) => j.memberId === j.leader)?.members).toHaveLength(3);
  });

  it('removes a member that misses its session timeout, and the others rebalance without it', async () => {
    // Prepare
    const { coordinator, time } = await world();
    const a = await memberId(coordinator);
    const b = await memberId(coordinator);
    await stableGroup(coordinator, [a, b]);
    // Act: a heartbeats every 3 s, b is silent
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) {
      await time.tick(3_000);
      answers.push((await heartbeat(coordinator, a, 1)).error);
    }
    const rejoin = await coordinator.joinGroup(joinRequest(a));
    const gone = await heartbeat(coordinator, b, 1);
    // Assess
    expect(answers).toEqual(['NONE', 'NONE', 'NONE', 'REBALANCE_IN_PROGRESS']);
    expect(rejoin).toMatchObject({ error: 'NONE', generationId: 2, leader: a });
    expect(rejoin.members.map((m) => m.memberId)).toEqual([a]);
    expect(gone.error).toBe('UNKNOWN_MEMBER_ID');
  });

  it('completes a join at the rebalance timeout without the members that did not rejoin', async () => {
    // Prepare
    const { coordinator, time } = await world();
    const a = await memberId(coordinator);
    const b = await memberId(coordinator);
    await stableGroup(coordinator, [a, b]);
    // Act: a rejoins, b only heartbeats
    const joinA = coordinator.joinGroup(joinRequest(a));
    await settle();
    for (let waited = 0; waited < REBALANCE_MS; waited += 5_000) {
      expect((await heartbeat(coordinator, b, 1)).error).toBe('REBALANCE_IN_PROGRESS');
      await time.tick(5_000);
    }
    const joined = await joinA;
    // Assess
    expect(joined).toMatchObject({ error: 'NONE', generationId: 2, leader: a });
    expect(joined.members.map((m) => m.memberId)).toEqual([a]);
    expect((await heartbeat(coordinator, b, 1)).error).toBe('UNKNOWN_MEMBER_ID');
  });

  it('rebalances when a member leaves, and drops members that do not sync while the leader never does', async () => {
    // Prepare
    const { coordinator, time } = await world();
    const a = await memberId(coordinator);
    const b = await memberId(coordinator);
    const c = await memberId(coordinator);
    await stableGroup(coordinator, [a, b, c]);
    // Act: c leaves; a and b rejoin; only the follower syncs
    const left = await coordinator.leaveGroup({
      group: 'g',
      members: [{ memberId: c, groupInstanceId: null }],
    });
    const afterLeave = await heartbeat(coordinator, a, 1);
    const [ja, jb] = await Promise.all([
      coordinator.joinGroup(joinRequest(a)),
      coordinator.joinGroup(joinRequest(b)),
    ]);
    const follower = ja?.leader === a ? b : a;
    const followerSync = coordinator.syncGroup({
      group: 'g',
      generationId: 2,
      memberId: follower,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    const commitWhileSyncing = await commit(coordinator, follower, 2, [{ partition: 0, offset: 1 }]);
    // The leader stays alive (heartbeats) but never sends the assignments.
    const leaderBeats: string[] = [];
    for (let waited = 0; waited < REBALANCE_MS; waited += 5_000) {
      leaderBeats.push((await heartbeat(coordinator, ja?.leader as string, 2)).error);
      await time.tick(5_000);
    }
    const synced = await followerSync;
    // Assess
    expect(left.members[0]?.error).toBe('NONE');
    expect(afterLeave.error).toBe('REBALANCE_IN_PROGRESS');
    expect([ja?.generationId, jb?.generationId]).toEqual([2, 2]);
    expect(errorsOf(commitWhileSyncing)).toEqual(['REBALANCE_IN_PROGRESS']);
    expect(new Set(leaderBeats)).toEqual(new Set(['NONE']));
    expect(synced.error).toBe('REBALANCE_IN_PROGRESS');
    expect((await heartbeat(coordinator, ja?.leader as string, 2)).error).toBe('UNKNOWN_MEMBER_ID');
    expect(await coordinator.describeGroup('g')).toMatchObject({
      state: 'PreparingRebalance',
      members: [expect.objectContaining({ memberId: follower })],
    });
  });

  it('answers MEMBER_ID_REQUIRED at v4+, UNKNOWN_MEMBER_ID for an unknown id, and refuses static membership', async () => {
    // Prepare
    const { coordinator } = await world();
    // Act: a v0-v3 first join joins at once
    const old = await coordinator.joinGroup(joinRequest('', { requireKnownMemberId: false }));
    const first = await coordinator.joinGroup(joinRequest(''));
    const unknown = await coordinator.joinGroup(joinRequest('nobody'));
    const staticMember = await coordinator.joinGroup(joinRequest('', { groupInstanceId: 'host-1' }));
    const badTimeout = await coordinator.joinGroup(joinRequest('', { sessionTimeoutMs: 10 }));
    // Assess
    expect(first.error).toBe('MEMBER_ID_REQUIRED');
    expect(first.memberId).toMatch(/^client-/);
    expect(unknown.error).toBe('UNKNOWN_MEMBER_ID');
    expect(staticMember.error).toBe('UNSUPPORTED_VERSION');
    expect(staticMember.message).toContain('group.instance.id');
    expect(badTimeout.error).toBe('INVALID_SESSION_TIMEOUT');
    expect(old).toMatchObject({ error: 'NONE', generationId: 1 });
    expect(old.leader).toBe(old.memberId);
  });

  it('refuses a join whose protocols the group does not share', async () => {
    const { coordinator } = await world();
    const a = await memberId(coordinator);
    await stableGroup(coordinator, [a]);
    const other = await coordinator.joinGroup(
      joinRequest('', { protocols: [{ name: 'roundrobin', metadata: Buffer.alloc(0) }] }),
    );
    expect(other.error).toBe('INCONSISTENT_GROUP_PROTOCOL');
  });
});

describe('Kafka group coordinator: offsets', () => {
  it('refuses a commit from a stale generation or an unknown member, accepts the current one', async () => {
    // Prepare
    const { coordinator } = await world();
    const a = await memberId(coordinator);
    await stableGroup(coordinator, [a]);
    await coordinator.joinGroup(
      joinRequest(a, { protocols: [{ name: 'range', metadata: Buffer.from('v2') }] }),
    );
    await coordinator.syncGroup({
      group: 'g',
      generationId: 2,
      memberId: a,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    // Act
    const stale = await commit(coordinator, a, 1, [{ partition: 0, offset: 5 }]);
    const unknown = await commit(coordinator, 'nobody', 2, [{ partition: 0, offset: 5 }]);
    const current = await commit(coordinator, a, 2, [{ partition: 0, offset: 7 }]);
    const fetched = await coordinator.fetchOffsets({
      group: 'g',
      topics: [{ name: 'events', partitions: [0] }],
    });
    // Assess
    expect(errorsOf(stale)).toEqual(['ILLEGAL_GENERATION']);
    expect(errorsOf(unknown)).toEqual(['UNKNOWN_MEMBER_ID']);
    expect(errorsOf(current)).toEqual(['NONE']);
    expect(fetched.topics[0]?.partitions[0]?.offset).toBe(7);
  });

  it('accepts a commit without group management only while the group has no members', async () => {
    // Prepare
    const { coordinator } = await world();
    // Act
    const whileEmpty = await commit(coordinator, '', -1, [{ partition: 1, offset: 3 }]);
    const a = await memberId(coordinator);
    await stableGroup(coordinator, [a]);
    const whileMembers = await commit(coordinator, '', -1, [{ partition: 1, offset: 9 }]);
    // Assess
    expect(errorsOf(whileEmpty)).toEqual(['NONE']);
    expect(errorsOf(whileMembers)).toEqual(['UNKNOWN_MEMBER_ID']);
  });

  it('commits the offsets the HTTP describe shows, with lag, and keeps them listed after the members left', async () => {
    // Prepare
    const { coordinator, services } = await world();
    await services.log.produce({
      topic: 'events',
      records: [0, 1, 2, 3, 4].map((i) => record(`v${i}`, { partition: 0 })),
    });
    const a = await memberId(coordinator);
    await stableGroup(coordinator, [a]);
    // Act
    const committed = await commit(coordinator, a, 1, [
      { partition: 0, offset: 3 },
      { partition: 9, offset: 1 },
    ]);
    const whileMember = await services.groups.describe('g');
    const left = await coordinator.leaveGroup({
      group: 'g',
      members: [{ memberId: a, groupInstanceId: null }],
    });
    const afterLeave = await services.groups.describe('g');
    const fetched = await coordinator.fetchOffsets({
      group: 'g',
      topics: [
        { name: 'events', partitions: [0, 1] },
        { name: 'missing', partitions: [0] },
      ],
    });
    const all = await coordinator.fetchOffsets({ group: 'g', topics: null });
    // Assess
    expect(errorsOf(committed)).toEqual(['NONE', 'UNKNOWN_TOPIC_OR_PARTITION']);
    expect(left.members).toEqual([{ memberId: a, groupInstanceId: null, error: 'NONE' }]);
    for (const described of [whileMember, afterLeave]) {
      expect(described.partitions.map((p) => [p.partition, p.committedOffset, p.lag])).toEqual([
        [0, 3, 2],
        [1, null, 0],
        [2, null, 0],
        [3, null, 0],
      ]);
    }
    expect(await services.groups.list()).toEqual(['g']);
    expect(fetched).toEqual({
      error: 'NONE',
      topics: [
        {
          name: 'events',
          partitions: [
            { partition: 0, offset: 3, metadata: '', error: 'NONE' },
            { partition: 1, offset: -1, metadata: '', error: 'NONE' },
          ],
        },
        { name: 'missing', partitions: [{ partition: 0, offset: -1, metadata: '', error: 'NONE' }] },
      ],
    });
    expect(all.topics).toEqual([
      { name: 'events', partitions: [{ partition: 0, offset: 3, metadata: '', error: 'NONE' }] },
    ]);
  });
});

describe('Kafka group coordinator: offset metadata', () => {
  it('keeps the metadata committed with an offset, until an offset is committed without it', async () => {
    // Prepare
    const { coordinator } = await world();
    const a = await memberId(coordinator);
    await stableGroup(coordinator, [a]);
    const fetch = async () =>
      (
        await coordinator.fetchOffsets({ group: 'g', topics: [{ name: 'events', partitions: [0, 1, 2] }] })
      ).topics[0]?.partitions.map((p) => [p.partition, p.offset, p.metadata]);
    // Act
    const first = await commit(coordinator, a, 1, [
      { partition: 0, offset: 4, metadata: 'stream-time=1790000000000' },
      { partition: 1, offset: 2, metadata: null },
    ]);
    const withMetadata = await fetch();
    await commit(coordinator, a, 1, [{ partition: 0, offset: 6 }]);
    const without = await fetch();
    // Assess
    expect(errorsOf(first)).toEqual(['NONE', 'NONE']);
    expect(withMetadata).toEqual([
      [0, 4, 'stream-time=1790000000000'],
      [1, 2, ''],
      [2, -1, ''],
    ]);
    expect(without?.[0]).toEqual([0, 6, '']);
  });

  it("refuses a partition whose metadata is over Kafka's 4,096 and commits the others", async () => {
    // Prepare
    const { coordinator } = await world();
    const a = await memberId(coordinator);
    await stableGroup(coordinator, [a]);
    // Act
    const result = await commit(coordinator, a, 1, [
      { partition: 0, offset: 4, metadata: 'm'.repeat(4097) },
      { partition: 1, offset: 5, metadata: 'm'.repeat(4096) },
    ]);
    const fetched = await coordinator.fetchOffsets({
      group: 'g',
      topics: [{ name: 'events', partitions: [0, 1] }],
    });
    // Assess
    expect(errorsOf(result)).toEqual(['OFFSET_METADATA_TOO_LARGE', 'NONE']);
    expect(fetched.topics[0]?.partitions.map((p) => [p.offset, p.metadata.length])).toEqual([
      [-1, 0],
      [5, 4096],
    ]);
  });
});

describe('Kafka group coordinator: HTTP-leased or Kafka-managed', () => {
  it('refuses an HTTP join while the group has Kafka members (409 CONFLICT naming the group), and admits it after they left', async () => {
    // Prepare
    const { coordinator, services } = await world();
    const a = await memberId(coordinator);
    await stableGroup(coordinator, [a]);
    // Act
    const refused = await services.groups.join('g', { topics: ['events'] }).catch((error: unknown) => error);
    const deleteRefused = await services.groups.deleteGroup('g').catch((error: unknown) => error);
    await coordinator.leaveGroup({ group: 'g', members: [{ memberId: a, groupInstanceId: null }] });
    await settle();
    const joined = await services.groups.join('g', { topics: ['events'] });
    // Assess
    expect(refused).toBeInstanceOf(StreamError);
    const response = errorResponse(refused);
    expect(response.status).toBe(409);
    expect(JSON.parse(String(response.body)).error).toMatchObject({ code: 'CONFLICT', retriable: false });
    expect((refused as StreamError).message).toContain('group g is managed by Kafka consumers');
    expect(deleteRefused).toBeInstanceOf(StreamError);
    expect(joined.assignments).toHaveLength(4);
  });

  it('refuses an HTTP join that read the group before a Kafka member was admitted, and writes it after', async () => {
    // Prepare: the Kafka member is admitted between the HTTP join's read and its write
    const { coordinator, services, meta } = await world();
    let kafka: JoinGroupResult | undefined;
    meta.beforeNextPut('m#', async () => {
      kafka = await coordinator.joinGroup(joinRequest(''));
    });
    // Act
    const http = await services.groups.join('g', { topics: ['events'] }).catch((error: unknown) => error);
    // Assess
    expect(kafka?.error).toBe('MEMBER_ID_REQUIRED');
    expect(http).toBeInstanceOf(StreamError);
    expect((http as StreamError).message).toContain('managed by Kafka consumers');
    expect(await services.groups.httpMembers('g')).toEqual([]);
  });

  it('refuses a Kafka join while HTTP members are live, and admits it after they left', async () => {
    // Prepare
    const { coordinator, services } = await world();
    const http = await services.groups.join('g', { topics: ['events'] });
    // Act
    const refused = await coordinator.joinGroup(joinRequest(''));
    const simpleCommit = await commit(coordinator, '', -1, [{ partition: 0, offset: 1 }]);
    const described = await coordinator.describeGroup('g');
    await services.groups.leave('g', http.memberId);
    const admitted = await coordinator.joinGroup(joinRequest(''));
    // Assess
    expect(refused.error).toBe('INCONSISTENT_GROUP_PROTOCOL');
    expect(refused.message).toContain('leased by HTTP consumers');
    expect(errorsOf(simpleCommit)).toEqual(['INCONSISTENT_GROUP_PROTOCOL']);
    expect(described).toMatchObject({ state: 'Stable', protocolType: 'consumer' });
    expect(described.members.map((m) => m.memberId)).toEqual([http.memberId]);
    expect(admitted.error).toBe('MEMBER_ID_REQUIRED');
  });
});

describe('Kafka group coordinator: admin', () => {
  it('lists HTTP and Kafka groups, and deletes a group only when it is empty', async () => {
    // Prepare
    const { coordinator, services } = await world();
    await services.groups.join('http-group', { topics: ['events'] });
    const a = await memberId(coordinator);
    await stableGroup(coordinator, [a]);
    // Act
    const listed = await coordinator.listGroups();
    const stableOnly = await coordinator.listGroups(['stable']);
    expect((await coordinator.findCoordinator('gone')).error).toBe('NONE');
    expect((await coordinator.findCoordinator('http-group')).error).toBe('NONE');
    const nonEmpty = await coordinator.deleteGroups(['g', 'gone', 'http-group']);
    await coordinator.leaveGroup({ group: 'g', members: [{ memberId: a, groupInstanceId: null }] });
    const deleted = await coordinator.deleteGroups(['g']);
    const dead = await coordinator.describeGroup('g');
    // Assess
    expect(listed.groups).toEqual([
      { group: 'g', protocolType: 'consumer', state: 'Stable' },
      { group: 'http-group', protocolType: 'consumer', state: 'Stable' },
    ]);
    expect(stableOnly.groups).toHaveLength(2);
    expect(nonEmpty.map((r) => r.error)).toEqual([
      'NON_EMPTY_GROUP',
      'GROUP_ID_NOT_FOUND',
      'NON_EMPTY_GROUP',
    ]);
    expect(deleted).toEqual([{ group: 'g', error: 'NONE' }]);
    expect(dead.state).toBe('Dead');
    expect(await services.groups.list()).toEqual(['http-group']);
  });
});

describe('Kafka group coordinator: coordinator lease across gateways', () => {
  it('lets one gateway hold a group; the other answers NOT_COORDINATOR and takes over when the holder closes', async () => {
    // Prepare
    const { coordinator: a, gateway } = await world();
    const b = gateway('b');
    const memberAtA = await memberId(a);
    await stableGroup(a, [memberAtA]);
    // Act
    const seenFromB = await b.findCoordinator('g');
    const joinAtB = await b.joinGroup(joinRequest(''));
    const heartbeatAtB = await heartbeat(b, memberAtA, 1);
    const listedAtB = await b.listGroups();
    await a.close();
    const afterClose = await heartbeat(a, memberAtA, 1);
    const moved = await b.findCoordinator('g');
    const rejoin = await b.joinGroup(joinRequest(''));
    // Assess
    expect(seenFromB).toMatchObject({ error: 'NONE', nodeId: 1, host: 'gateway-a' });
    expect(joinAtB.error).toBe('NOT_COORDINATOR');
    expect(heartbeatAtB.error).toBe('NOT_COORDINATOR');
    expect(listedAtB.groups).toEqual([{ group: 'g', protocolType: 'consumer', state: 'Stable' }]);
    expect(afterClose.error).toBe('NOT_COORDINATOR');
    expect(moved).toMatchObject({ error: 'NONE', nodeId: 2, host: 'gateway-b' });
    expect(rejoin.error).toBe('MEMBER_ID_REQUIRED');
    await b.close();
  });

  it('moves a group to another gateway when its holder dies without closing, once the lease expires', async () => {
    // Prepare: gateway a's timers never fire, as if its process were gone
    const { gateway, time } = await world();
    const dead = gateway('dead', frozenTimers);
    const alive = gateway('b');
    expect((await dead.findCoordinator('h')).host).toBe('gateway-dead');
    // Act
    const before = await alive.findCoordinator('h');
    await time.tick(15_000);
    const after = await alive.findCoordinator('h');
    const answersAfterExpiry = await dead.heartbeat({
      group: 'h',
      generationId: 1,
      memberId: 'm',
      groupInstanceId: null,
    });
    // Assess
    expect(before.host).toBe('gateway-dead');
    expect(after.host).toBe('gateway-b');
    expect(answersAfterExpiry.error).toBe('NOT_COORDINATOR');
    await alive.close();
  });

  it('drops a group whose lease another gateway took: its members are told NOT_COORDINATOR', async () => {
    // Prepare
    const { coordinator, meta, time } = await world();
    const a = await memberId(coordinator);
    await stableGroup(coordinator, [a]);
    const item = await meta.get(coordinatorKey('g'), { consistent: true });
    // Act: another owner's write, as after an expiry this gateway did not notice
    await meta.transact([
      {
        type: 'put',
        item: { ...attributesOf(item as Item), owner: 'gateway-c-id', nodeId: 3, host: 'gateway-c' },
        expect: item?.v ?? 0,
      },
    ]);
    await time.tick(5_000);
    // Assess
    expect((await heartbeat(coordinator, a, 1)).error).toBe('NOT_COORDINATOR');
    expect(await coordinator.findCoordinator('g')).toMatchObject({ nodeId: 3, host: 'gateway-c' });
  });

  it('keeps a live lease renewed, and waiting joins answer NOT_COORDINATOR when the gateway closes', async () => {
    // Prepare
    const { coordinator, gateway, time } = await world();
    const other = gateway('b');
    // Act
    await time.tick(60_000);
    const stillHeld = await other.findCoordinator('g');
    const a = await memberId(coordinator);
    await memberId(coordinator);
    // a waits for the other member, whose id is handed out but who has not joined yet
    const waiting = coordinator.joinGroup(joinRequest(a));
    await settle();
    await coordinator.close();
    // Assess
    expect(stillHeld.host).toBe('gateway-a');
    expect((await waiting).error).toBe('NOT_COORDINATOR');
    await other.close();
  });
});
