/**
 * Consumer groups on leases (DESIGN §6), in the manner of the Kinesis Client Library: one lease item
 * per (group, topic, partition), changed only by compare-and-set; no coordinator, any instance serves
 * any request.
 *
 * Items under `group#{g}`: members `m#{memberId}` (TTL `expiresAt` = last heartbeat + session timeout,
 * so a silent member simply disappears) and leases `l#{topic}#{p}` with owner, epoch, leaseExpiresAt,
 * committedOffset and the topicId it belongs to. A lease is never TTL-deleted: it carries the group's
 * committed offset.
 *
 * Invariants:
 * - At most one live owner per lease: taking a lease is a CAS from "free" (no owner, or expired —
 *   including a lease this same member let expire).
 * - `epoch` is the fencing token: it grows by one on every change of ownership (take, re-take of an
 *   expired lease by its last owner, release, reset, move to a re-created topic); renewals keep it. A
 *   commit succeeds only with the current owner and epoch on a live lease of the topic's current
 *   incarnation, so a consumer that lost its lease (a "zombie"), or that still reads a deleted topic,
 *   gets LEASE_LOST.
 * - A lease's committedOffset belongs to its topicId. A renewal that finds the topic re-created moves
 *   the lease to the new topicId with no offset and a new epoch (the member sees it revoked and assigned
 *   again); commits always write the current topicId.
 * - A conflict on a lease the member holds is not a loss: its own commits bump the lease's version.
 *   Renewals and releases re-read and retry while the lease is still the member's at the same epoch.
 * - Nothing is dropped silently: after a heartbeat, every lease the member held live at its start is in
 *   `assignments` (still held; at a new epoch if it moved) or in `revoked` (given up or lost). A
 *   transient storage error on one lease does not fail the heartbeat: that lease stays assigned at its
 *   epoch until it expires, and the next heartbeat renews or re-takes it.
 * - Balance: every heartbeat computes the same targets for every member, topic by topic: a topic's
 *   P partitions are shared among the M members subscribed to it (sorted by id), floor(P/M) each, and
 *   the P mod M extras go round-robin from where the previous topic's extras stopped (topics sorted by
 *   name). So every partition of every topic has a member whose target includes it, whatever the
 *   members' subscriptions, and when all subscribe to the same topics the counts differ by at most
 *   one. Members over a target release surplus at once, members under it take free leases. With
 *   stable membership, within two heartbeat intervals every partition is owned.
 * - Joining is idempotent per member id: a join carrying the `memberId` of a live member with the same
 *   subscription is that member's retry, not a new member.
 * - A group is either HTTP-leased or Kafka-managed (DESIGN §13), never both at once. The Kafka listener's
 *   coordinator keeps how many Kafka members it has on the group's coordinator item. Each side writes
 *   its own members first and then looks for the other's, so whichever comes second sees the first: an
 *   HTTP join puts its member conditioned on the coordinator item as read (absent, expired, or with no
 *   Kafka members); the coordinator writes its member count first and then calls `admitKafkaMembers`,
 *   which refuses while HTTP members are live.
 * - A Kafka-managed group's committed offsets are the same lease items' (`commitCoordinated`), written
 *   with owner and epoch unchanged: the coordinator checks members and generations in memory.
 */
import { randomUUID } from 'node:crypto';
import type { GroupDescription } from '../../client/api-types.ts';
import type { Clock } from '../ports/clock.ts';
import {
  type AttrValue,
  attributesOf,
  type Item,
  type ItemInput,
  type MetaStore,
  queryAll,
  type TransactOp,
} from '../ports/meta-store.ts';
import { retryOnConflict } from './cas.ts';
import { ConditionFailedError, StreamError } from './errors.ts';
import {
  coordinatorKey,
  GROUPS_PK,
  groupListKey,
  groupPk,
  LEASE_SK_PREFIX,
  leaseKey,
  MEMBER_SK_PREFIX,
  memberKey,
} from './layout.ts';
import type { LogService, TopicDescription } from './log-types.ts';
import type { TopicServiceImpl } from './topics.ts';

export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
export const MIN_SESSION_TIMEOUT_MS = 1_000;
export const MAX_SESSION_TIMEOUT_MS = 300_000;
/** The longest a claimed partition lease runs between renewals (a deliverer's longest invocation, and more). */
export const MAX_LEASE_MS = 20 * 60_000;
/** Offsets per commit request: one transaction of at most 100 ops. */
export const MAX_COMMIT_OFFSETS = 100;
/** Topics one member may subscribe to. */
export const MAX_SUBSCRIBED_TOPICS = 50;

/**
 * A group whose name starts with this belongs to a subscription (DESIGN §12): `subscription:<name>`.
 * Its offsets, lag and describe are any group's, but nobody joins it: its leases are taken one
 * partition at a time by the subscription's deliverers (`claimPartition`), and its offsets move only
 * through them or `resetOffsets`. The prefix holds `:`, which user group ids cannot, so the two never
 * meet.
 */
export const SUBSCRIPTION_GROUP_PREFIX = 'subscription:';
export const subscriptionGroup = (subscription: string): string =>
  `${SUBSCRIPTION_GROUP_PREFIX}${subscription}`;

/** What a partition lease's holder keeps on the lease beside the offset, written in the same put. */
export type LeaseStatus = { [name: string]: AttrValue };

/** One partition's lease as its single holder sees it (`claimPartition`). */
export interface PartitionLease {
  topic: string;
  partition: number;
  owner: string;
  /** The fencing token: renewals and releases are refused once it moved on. */
  epoch: number;
  leaseExpiresAt: number;
  /** The group's committed offset for this incarnation of the topic, or null. */
  committedOffset: number | null;
  status: LeaseStatus | null;
  topicId: string;
  /** The item version read or written last; a renewal conditioned on it usually needs no re-read. */
  version: number;
}

export interface PartitionLeaseChange {
  committedOffset?: number;
  status?: LeaseStatus;
}

export interface Assignment {
  topic: string;
  partition: number;
  epoch: number;
  /** The group's committed offset, or null when the group has none for this partition. */
  committedOffset: number | null;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface MembershipView {
  assignments: Assignment[];
  /**
   * Partitions this member held at the start of the call and gave up or lost in it: stop processing
   * them. One that is also in `assignments` came back at a new epoch (its topic was re-created): start
   * it over from its committedOffset.
   */
  revoked: TopicPartition[];
}

export interface CommitOffset extends TopicPartition {
  offset: number;
  epoch: number;
}

export type ResetTarget =
  | { to: 'earliest' }
  | { to: 'latest' }
  | { to: 'timestamp'; timestamp: number }
  | { to: 'offset'; offset: number };

export interface GroupService {
  /**
   * Adds a member. With `memberId` (chosen by the client, reused on every retry of the same join) a
   * retry whose first response was lost finds the member already there and answers for it.
   */
  join(
    group: string,
    options: { topics: string[]; sessionTimeoutMs?: number; memberId?: string },
  ): Promise<MembershipView & { memberId: string }>;
  heartbeat(group: string, memberId: string): Promise<MembershipView>;
  leave(group: string, memberId: string): Promise<void>;
  commit(group: string, memberId: string, offsets: CommitOffset[]): Promise<void>;
  describe(group: string): Promise<GroupDescription>;
  list(): Promise<string[]>;
  /**
   * Takes one partition's lease for `owner` (a subscription's deliverer), at a new epoch, when it is
   * free or expired; undefined while someone else holds it live. An owner that finds its own lease
   * still live takes it over at a new epoch as well (a restarted deliverer under the same id).
   */
  claimPartition(
    group: string,
    topic: string,
    partition: number,
    owner: string,
    leaseMs: number,
  ): Promise<PartitionLease | undefined>;
  /**
   * Extends a claimed lease to now + leaseMs, writing an offset and status with it (one put).
   * LEASE_LOST once the lease is not the owner's at its epoch (released, taken after expiry, reset,
   * deleted) or its topic was re-created.
   */
  renewPartition(
    group: string,
    lease: PartitionLease,
    leaseMs: number,
    change?: PartitionLeaseChange,
  ): Promise<PartitionLease>;
  /** The status each partition lease of `topic` holds (for a subscription's describe). */
  partitionStatuses(group: string, topic: string): Promise<Map<number, LeaseStatus | null>>;
  /**
   * Deletes a claimed lease while it is still the holder's at its epoch (a deliverer that claimed a
   * partition of a subscription deleted meanwhile removes what its claim re-created); nothing when
   * it is gone or someone else's.
   */
  dropPartition(group: string, lease: PartitionLease): Promise<void>;
  /** Gives a claimed lease up (new epoch), writing an offset and status with it; LEASE_LOST as renew. */
  releasePartition(group: string, lease: PartitionLease, change?: PartitionLeaseChange): Promise<void>;
  /** Moves a group's committed offsets; only while the group has no live members. */
  resetOffsets(
    group: string,
    topic: string,
    target: ResetTarget,
    partitions?: number[],
  ): Promise<(TopicPartition & { committedOffset: number })[]>;
  /**
   * Deletes a group: its committed offsets and its listing. Refused (INVALID_REQUEST) while it has
   * live members, and for a subscription's group (delete the subscription). A group that does not
   * exist is already deleted: nothing happens.
   */
  deleteGroup(group: string): Promise<void>;
  /**
   * Lets Kafka members into a group (DESIGN §13): lists it, and refuses (CONFLICT, not retriable)
   * while it has live HTTP members. The coordinator has written its member count on the coordinator
   * item before calling it.
   */
  admitKafkaMembers(group: string): Promise<void>;
  /** The ids of the group's live HTTP members (none in a Kafka-managed group). */
  httpMembers(group: string): Promise<string[]>;
  /**
   * Writes offsets the Kafka coordinator accepted (it checked member and generation), last one per
   * partition winning. Partitions of topics or partition numbers that do not exist are returned, not
   * written. CONFLICT (not retriable) while the group has live HTTP members.
   */
  commitCoordinated(
    group: string,
    offsets: (TopicPartition & { offset: number; metadata?: string })[],
  ): Promise<TopicPartition[]>;
  /**
   * The group's committed offsets of these partitions (null where it has none, or the topic is gone
   * or was re-created since) with the metadata a Kafka client committed beside each ('' where none);
   * without `partitions`, every partition that holds one.
   */
  committedOffsets(
    group: string,
    partitions?: TopicPartition[],
  ): Promise<(TopicPartition & { committedOffset: number | null; committedMetadata: string })[]>;
}

const NAME = /^[A-Za-z0-9._-]{1,249}$/;
const invalid = (message: string) => new StreamError('INVALID_REQUEST', message);

/**
 * Group ids a client may join and commit in. A subscription's group (`subscription:<name>`) is valid
 * only where `subscriptions` allows it: describing, listing, resetting — never joining or committing.
 */
function validateGroup(group: string, subscriptions: 'allowed' | 'refused' = 'refused'): void {
  if (typeof group === 'string' && group.startsWith(SUBSCRIPTION_GROUP_PREFIX)) {
    const name = group.slice(SUBSCRIPTION_GROUP_PREFIX.length);
    if (!NAME.test(name)) {
      throw invalid(`group id ${JSON.stringify(group)} is invalid: use 1-249 of A-Z a-z 0-9 . _ -`);
    }
    if (subscriptions === 'refused') {
      throw invalid(
        `group ${group} belongs to subscription ${name}: its deliverers alone take its partitions and commit; describe it or reset its offsets`,
      );
    }
    return;
  }
  if (typeof group !== 'string' || !NAME.test(group)) {
    throw invalid(`group id ${JSON.stringify(group)} is invalid: use 1-249 of A-Z a-z 0-9 . _ -`);
  }
}

/** Throws INVALID_REQUEST, naming the rule, for a group id no client may join (see validateGroup). */
export const validateGroupId = (group: string): void => validateGroup(group);

/** Client-chosen member ids travel in URL paths and sort keys: the group id's alphabet, shorter. */
const MEMBER_ID = /^[A-Za-z0-9._-]{1,128}$/;

function validateMemberId(memberId: string): void {
  if (typeof memberId !== 'string' || !MEMBER_ID.test(memberId)) {
    throw invalid(`memberId ${JSON.stringify(memberId)} is invalid: use 1-128 of A-Z a-z 0-9 . _ -`);
  }
}

/**
 * A storage fault (throttling, a 5xx, a timeout, CAS contention that outlasted its retries) on one
 * lease write: that write may be tried again on the next heartbeat, so the heartbeat carries on.
 */
const isTransient = (error: unknown): boolean => error instanceof StreamError && error.retriable;

function sameTopics(a: readonly string[], b: readonly string[]): boolean {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((topic, i) => topic === y[i]);
}

interface Lease {
  item: Item | undefined;
  topic: string;
  partition: number;
  owner: string | null;
  epoch: number;
  leaseExpiresAt: number;
  committedOffset: number | null;
  /** A Kafka client's string kept with the offset (OffsetCommit's metadata); '' when none. */
  committedMetadata: string;
  topicId: string | null;
  /** What a partition lease's holder keeps beside its offset (a subscription's delivery status). */
  status: LeaseStatus | null;
}

function readLease(item: Item | undefined, topic: string, partition: number): Lease {
  return {
    item,
    topic,
    partition,
    owner: (item?.owner as string | null | undefined) ?? null,
    epoch: (item?.epoch as number | undefined) ?? 0,
    leaseExpiresAt: (item?.leaseExpiresAt as number | undefined) ?? 0,
    committedOffset: (item?.committedOffset as number | null | undefined) ?? null,
    committedMetadata: (item?.committedMetadata as string | undefined) ?? '',
    topicId: (item?.topicId as string | undefined) ?? null,
    status: (item?.status as LeaseStatus | null | undefined) ?? null,
  };
}

function parseLeaseSk(sk: string): TopicPartition {
  const body = sk.slice(LEASE_SK_PREFIX.length);
  const cut = body.lastIndexOf('#');
  return { topic: body.slice(0, cut), partition: Number(body.slice(cut + 1)) };
}

const id = (tp: TopicPartition) => `${tp.topic}#${tp.partition}`;

/** The group is Kafka-managed: an HTTP join or delete is refused. */
function kafkaHeld(group: string, holder: Item): StreamError {
  return new StreamError(
    'CONFLICT',
    `group ${group} is managed by Kafka consumers (${holder.members} member(s) through the Kafka listener at ${holder.host}:${holder.port}); use a Kafka client for it, or wait until its Kafka members have left`,
    { retriable: false },
  );
}

/** The sort-key range of a group's member items (member ids are ASCII letters, digits and . _ -). */
const MEMBERS = { from: MEMBER_SK_PREFIX, to: `${MEMBER_SK_PREFIX}~` };

/** How many Kafka members the group's coordinator item holds (0 when absent, released or expired). */
const kafkaMembers = (holder: Item | undefined, now: number): number =>
  ((holder?.leaseExpiresAt as number | undefined) ?? 0) > now
    ? ((holder?.members as number | undefined) ?? 0)
    : 0;

export interface GroupServiceDeps {
  meta: MetaStore;
  clock: Clock;
  topics: Pick<TopicServiceImpl, 'requireTopic'>;
  log: Pick<LogService, 'offsets'>;
}

export function createGroupService({ meta, clock, topics, log }: GroupServiceDeps): GroupService {
  /** The listing item is written once per group; an existing one is fine. */
  async function listGroup(group: string, now: number): Promise<void> {
    if ((await meta.get(groupListKey(group))) !== undefined) return;
    await meta
      .transact([{ type: 'put', item: { ...groupListKey(group), createdAt: now }, expect: 'absent' }])
      .catch((error) => {
        if (!(error instanceof ConditionFailedError)) throw error;
      });
  }

  /** Members and leases of a group, read together (one query: they share the partition key). */
  async function readGroup(group: string) {
    const members: Item[] = [];
    const leases = new Map<string, Lease>();
    for (const item of await queryAll(meta, groupPk(group), { consistent: true, pageSize: 500 })) {
      if (item.sk.startsWith(MEMBER_SK_PREFIX)) members.push(item);
      else if (item.sk.startsWith(LEASE_SK_PREFIX)) {
        const tp = parseLeaseSk(item.sk);
        leases.set(id(tp), readLease(item, tp.topic, tp.partition));
      }
    }
    members.sort((a, b) => (a.sk < b.sk ? -1 : 1));
    return { members, leases };
  }

  /** The subscribed topics that exist, with their partitions. Deleted topics are simply skipped. */
  async function describeTopics(names: readonly string[]): Promise<TopicDescription[]> {
    const found: TopicDescription[] = [];
    for (const name of names) {
      try {
        found.push(await topics.requireTopic(name));
      } catch (error) {
        if (!(error instanceof StreamError) || error.code !== 'TOPIC_NOT_FOUND') throw error;
      }
    }
    return found;
  }

  function leaseInput(group: string, lease: Lease, change: Partial<Omit<Lease, 'item'>>): ItemInput {
    const next = { ...lease, ...change };
    // Metadata belongs to the offset it was committed with: any other new offset goes without it.
    if (change.committedOffset !== undefined && change.committedMetadata === undefined)
      next.committedMetadata = '';
    return {
      ...leaseKey(group, next.topic, next.partition),
      owner: next.owner,
      epoch: next.epoch,
      leaseExpiresAt: next.leaseExpiresAt,
      committedOffset: next.committedOffset,
      ...(next.committedMetadata !== '' && { committedMetadata: next.committedMetadata }),
      topicId: next.topicId,
      ...(next.status !== null && { status: next.status }),
    };
  }

  /** Writes a lease by CAS; false when someone else changed it first. */
  async function casLease(
    group: string,
    lease: Lease,
    change: Partial<Omit<Lease, 'item'>>,
  ): Promise<boolean> {
    try {
      await meta.transact([
        { type: 'put', item: leaseInput(group, lease, change), expect: lease.item?.v ?? 'absent' },
      ]);
      return true;
    } catch (error) {
      if (error instanceof ConditionFailedError) return false;
      throw error;
    }
  }

  /** A Kafka-managed group admits no HTTP members, and takes no Kafka offsets while they are live. */
  async function refuseHttpMembers(group: string): Promise<void> {
    const { items } = await meta.query(groupPk(group), { ...MEMBERS, limit: 1, consistent: true });
    if (items.length > 0) {
      throw new StreamError(
        'CONFLICT',
        `group ${group} is leased by HTTP consumers (member ${items[0]?.sk.slice(MEMBER_SK_PREFIX.length)} is live); a Kafka client can join it once they have left`,
        { retriable: false },
      );
    }
  }

  const isFree = (lease: Lease, now: number) => lease.owner === null || lease.leaseExpiresAt <= now;

  type LeaseChange = Partial<Omit<Lease, 'item'>>;

  /**
   * Changes a lease this member holds live at `lease.epoch` (renew, move, release). A CAS conflict is
   * not a loss by itself — the member's own commits bump the version too — so the lease is read again
   * and the change retried while it is still this member's, at the same epoch, unexpired at `now`.
   * Returns the lease as written, or undefined when it was lost meanwhile (another owner, a new epoch,
   * or expired). Storage faults are thrown.
   */
  function changeOwnLease(
    group: string,
    memberId: string,
    lease: Lease,
    now: number,
    change: (current: Lease) => LeaseChange,
  ): Promise<Lease | undefined> {
    const what = `lease ${lease.topic}/${lease.partition} of group ${group}`;
    return retryOnConflict({ clock, what }, async (attempt) => {
      // The first attempt uses the lease as read (consistently) at the start of this call.
      const current =
        attempt === 0
          ? lease
          : readLease(
              await meta.get(leaseKey(group, lease.topic, lease.partition), { consistent: true }),
              lease.topic,
              lease.partition,
            );
      if (current.owner !== memberId || current.epoch !== lease.epoch || current.leaseExpiresAt <= now) {
        return undefined;
      }
      const next = change(current);
      await meta.transact([
        { type: 'put', item: leaseInput(group, current, next), expect: current.item?.v ?? 'absent' },
      ]);
      return { ...current, ...next };
    });
  }

  /** Giving a lease up: no owner, and a new epoch, so the last owner's commits are refused from now on. */
  const released = (current: Lease): LeaseChange => ({
    owner: null,
    epoch: current.epoch + 1,
    leaseExpiresAt: 0,
  });

  /** Renews the membership; a member that is gone (left, or timed out) must join again. */
  async function renewMember(group: string, memberId: string, read: Item, now: number): Promise<Item> {
    const lost = () =>
      new StreamError(
        'LEASE_LOST',
        `member ${memberId} is not in group ${group} (it left or timed out); join again`,
      );
    // A conflict here is another renewal of the same member (a join retried while its first attempt
    // still runs): harmless, so read again and renew again.
    return retryOnConflict({ clock, what: `member ${memberId} of group ${group}` }, async (attempt) => {
      const me = attempt === 0 ? read : await meta.get(memberKey(group, memberId), { consistent: true });
      if (me === undefined) throw lost();
      const timeout = me.sessionTimeoutMs as number;
      await meta.transact([
        { type: 'put', item: { ...attributesOf(me), expiresAt: now + timeout }, expect: me.v },
      ]);
      return me;
    });
  }

  /**
   * This member's target per topic (see Balance in the module comment): its index among the topic's
   * subscribers, how many they are, and how many of the topic's partitions it should hold.
   */
  function topicTargets(
    members: readonly Item[],
    groupTopics: readonly TopicDescription[],
    me: string,
  ): Map<string, { target: number; index: number; members: number }> {
    const out = new Map<string, { target: number; index: number; members: number }>();
    let carried = 0;
    for (const topic of groupTopics) {
      const sharing = members.filter((m) => (m.topics as string[]).includes(topic.name));
      const index = sharing.findIndex((m) => m.sk === me);
      const M = sharing.length;
      const extras = topic.partitions % M;
      const first = carried % M;
      if (index >= 0) {
        const hasExtra = (index - first + M) % M < extras;
        out.set(topic.name, {
          target: Math.floor(topic.partitions / M) + (hasExtra ? 1 : 0),
          index,
          members: M,
        });
      }
      carried += topic.partitions;
    }
    return out;
  }

  async function rebalance(group: string, memberId: string): Promise<MembershipView> {
    const now = clock.now();
    const { members, leases } = await readGroup(group);
    const read = members.find((m) => m.sk === memberKey(group, memberId).sk);
    if (read === undefined) {
      throw new StreamError(
        'LEASE_LOST',
        `member ${memberId} is not in group ${group} (it left or timed out); join again`,
      );
    }
    // Renew the membership first: a member that cannot renew must not take leases.
    const me = await renewMember(group, memberId, read, now);
    const timeout = me.sessionTimeoutMs as number;
    const myTopics = new Set(me.topics as string[]);
    // Targets depend on every topic of the group (where each topic's extras start), so all are read.
    const groupTopics = await describeTopics(
      [...new Set(members.flatMap((m) => m.topics as string[]))].sort(),
    );
    const described = groupTopics.filter((t) => myTopics.has(t.name));
    const partitions: TopicPartition[] = described.flatMap((t) =>
      Array.from({ length: t.partitions }, (_, partition) => ({ topic: t.name, partition })),
    );
    const topicIds = new Map(described.map((t) => [t.name, t.topicId]));
    const targets = topicTargets(members, groupTopics, me.sk);
    const leaseOf = (tp: TopicPartition) =>
      leases.get(id(tp)) ?? readLease(undefined, tp.topic, tp.partition);
    const isHeld = (l: Lease) => l.owner === memberId && l.leaseExpiresAt > now;

    const revoked: TopicPartition[] = [];
    const kept: Lease[] = [];
    /** Runs one lease write; a transient fault leaves the lease as it was, for the next heartbeat. */
    async function tryWrite<T>(write: () => Promise<T>): Promise<{ done: T } | undefined> {
      try {
        return { done: await write() };
      } catch (error) {
        if (isTransient(error)) return undefined;
        throw error;
      }
    }

    // Leases held on partitions that are no longer the member's (their topic was deleted): give them
    // up, and stop processing them whether or not the release got through (they expire anyway).
    const current = new Set(partitions.map(id));
    for (const lease of leases.values()) {
      if (!isHeld(lease) || current.has(id(lease))) continue;
      await tryWrite(() => changeOwnLease(group, memberId, lease, now, released));
      revoked.push({ topic: lease.topic, partition: lease.partition });
    }

    const owned = partitions.map(leaseOf).filter(isHeld);
    // Surplus first: release the highest partitions beyond a topic's target so others can take them now.
    const held = new Map<string, number>();
    for (const lease of owned) {
      const tp = { topic: lease.topic, partition: lease.partition };
      const rank = held.get(lease.topic) ?? 0;
      held.set(lease.topic, rank + 1);
      if (rank >= (targets.get(lease.topic)?.target ?? 0)) {
        const outcome = await tryWrite(() => changeOwnLease(group, memberId, lease, now, released));
        // Released, or lost meanwhile: either way no longer this member's. A fault: still held.
        if (outcome === undefined) kept.push(lease);
        else revoked.push(tp);
        continue;
      }
      const topicId = topicIds.get(lease.topic) ?? null;
      const outcome = await tryWrite(() =>
        changeOwnLease(group, memberId, lease, now, (l) =>
          l.topicId === topicId
            ? { leaseExpiresAt: now + timeout }
            : // The topic was re-created under this lease: the old offset means nothing in the new one.
              { leaseExpiresAt: now + timeout, epoch: l.epoch + 1, topicId, committedOffset: null },
        ),
      );
      if (outcome === undefined) kept.push(lease);
      else if (outcome.done === undefined) revoked.push(tp);
      else {
        if (outcome.done.epoch !== lease.epoch) revoked.push(tp);
        kept.push(outcome.done);
      }
    }
    // Then take free or expired leases up to the target, each member starting at its own place in
    // the list so members joining together do not all race for the same leases. A lease this member
    // let expire (a renewal that failed) is taken back like any other: with a new epoch, so nothing
    // committed under the old one after it expired can count.
    const handled = new Set(owned.map(id));
    for (const topic of described) {
      const {
        target,
        index,
        members: sharing,
      } = targets.get(topic.name) ?? { target: 0, index: 0, members: 1 };
      let count = kept.filter((l) => l.topic === topic.name).length;
      const start = Math.floor((index * topic.partitions) / sharing);
      for (let k = 0; k < topic.partitions && count < target; k++) {
        const tp = { topic: topic.name, partition: (start + k) % topic.partitions };
        const lease = leaseOf(tp);
        if (handled.has(id(tp)) || !isFree(lease, now)) continue;
        // A lease left over from a deleted topic of the same name carries no offset into the new one.
        const topicId = topicIds.get(tp.topic) ?? null;
        const committedOffset = lease.topicId === topicId ? lease.committedOffset : null;
        const change = {
          owner: memberId,
          epoch: lease.epoch + 1,
          leaseExpiresAt: now + timeout,
          topicId,
          committedOffset,
        };
        if ((await tryWrite(() => casLease(group, lease, change)))?.done) {
          kept.push({ ...lease, ...change });
          count++;
        }
      }
    }
    const assignments = kept
      .map((l) => ({
        topic: l.topic,
        partition: l.partition,
        epoch: l.epoch,
        committedOffset: l.committedOffset,
      }))
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    return { assignments, revoked };
  }

  function partitionLease(lease: Lease, owner: string, topicId: string, version: number): PartitionLease {
    return {
      topic: lease.topic,
      partition: lease.partition,
      owner,
      epoch: lease.epoch,
      leaseExpiresAt: lease.leaseExpiresAt,
      committedOffset: lease.committedOffset,
      status: lease.status,
      topicId,
      version,
    };
  }

  function validateLeaseMs(leaseMs: number): void {
    if (!Number.isInteger(leaseMs) || leaseMs < MIN_SESSION_TIMEOUT_MS || leaseMs > MAX_LEASE_MS) {
      throw invalid(`leaseMs must be an integer from ${MIN_SESSION_TIMEOUT_MS} to ${MAX_LEASE_MS}`);
    }
  }

  /** Renewal and release of a claimed partition lease: the same checks, one put. */
  async function changePartitionLease(
    group: string,
    held: PartitionLease,
    change: (current: Lease, now: number) => LeaseChange,
  ): Promise<PartitionLease> {
    validateGroup(group, 'allowed');
    if (held.committedOffset !== null && !Number.isSafeInteger(held.committedOffset)) {
      throw invalid(`committed offset of ${held.topic}/${held.partition} must be an integer`);
    }
    const now = clock.now();
    const lost = (why: string) =>
      new StreamError(
        'LEASE_LOST',
        `${held.owner} no longer holds ${held.topic}/${held.partition} at epoch ${held.epoch} in group ${group}: ${why}`,
      );
    const topic = (await describeTopics([held.topic]))[0];
    if (topic?.topicId !== held.topicId) throw lost(`topic ${held.topic} was deleted or re-created`);
    const start = readLease(
      { ...leaseKey(group, held.topic, held.partition), v: held.version } as Item,
      held.topic,
      held.partition,
    );
    // The first attempt writes on the lease as this holder last wrote it; a conflict re-reads it.
    const written = await changeOwnLease(
      group,
      held.owner,
      {
        ...start,
        owner: held.owner,
        epoch: held.epoch,
        leaseExpiresAt: held.leaseExpiresAt,
        committedOffset: held.committedOffset,
        status: held.status,
        topicId: held.topicId,
      },
      now,
      (current) => change(current, now),
    );
    if (written === undefined) throw lost('it was released, expired and taken, reset, or deleted');
    const version = (written.item?.v ?? 0) + 1;
    return partitionLease(written, held.owner, held.topicId, version);
  }

  const partitionChange = (change: PartitionLeaseChange): LeaseChange => ({
    ...(change.committedOffset !== undefined && { committedOffset: change.committedOffset }),
    ...(change.status !== undefined && { status: change.status }),
  });

  return {
    async claimPartition(group, topicName, partition, owner, leaseMs) {
      validateGroup(group, 'allowed');
      validateMemberId(owner);
      validateLeaseMs(leaseMs);
      const topic = await topics.requireTopic(topicName);
      if (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitions) {
        throw new StreamError('PARTITION_NOT_FOUND', `topic ${topicName} has no partition ${partition}`);
      }
      const key = leaseKey(group, topicName, partition);
      const now = clock.now();
      const lease = readLease(await meta.get(key, { consistent: true }), topicName, partition);
      // A lease left over from a deleted topic of the same name carries no offset into the new one,
      // and its holder is fenced already (renewals check the topic id): it is free to take.
      const same = lease.topicId === topic.topicId;
      if (same && !isFree(lease, now) && lease.owner !== owner) return undefined;
      const change: LeaseChange = {
        owner,
        epoch: lease.epoch + 1,
        leaseExpiresAt: now + leaseMs,
        topicId: topic.topicId,
        committedOffset: same ? lease.committedOffset : null,
        status: same ? lease.status : null,
      };
      if (!(await casLease(group, lease, change))) return undefined;
      // A subscription's group is listed by the subscription itself (created and deleted with it), so
      // a claim racing the subscription's delete cannot list the group again.
      if (lease.item === undefined && !group.startsWith(SUBSCRIPTION_GROUP_PREFIX)) {
        await listGroup(group, now);
      }
      return partitionLease({ ...lease, ...change }, owner, topic.topicId, (lease.item?.v ?? 0) + 1);
    },

    async partitionStatuses(group, topic) {
      validateGroup(group, 'allowed');
      const statuses = new Map<number, LeaseStatus | null>();
      for (const lease of (await readGroup(group)).leases.values()) {
        if (lease.topic === topic) statuses.set(lease.partition, lease.status);
      }
      return statuses;
    },

    renewPartition(group, held, leaseMs, change = {}) {
      validateLeaseMs(leaseMs);
      return changePartitionLease(group, held, (_current, now) => ({
        leaseExpiresAt: now + leaseMs,
        ...partitionChange(change),
      }));
    },

    async dropPartition(group, held) {
      validateGroup(group, 'allowed');
      const key = leaseKey(group, held.topic, held.partition);
      await retryOnConflict(
        { clock, what: `lease ${held.topic}/${held.partition} of group ${group}` },
        async () => {
          const current = readLease(await meta.get(key, { consistent: true }), held.topic, held.partition);
          if (current.item === undefined || current.owner !== held.owner || current.epoch !== held.epoch)
            return;
          await meta.transact([{ type: 'delete', key, expect: current.item.v }]);
        },
      );
    },

    async releasePartition(group, held, change = {}) {
      await changePartitionLease(group, held, (current) => ({
        ...released(current),
        ...partitionChange(change),
      }));
    },

    async join(group, { topics: subscribed, sessionTimeoutMs, memberId: chosen }) {
      validateGroup(group);
      if (chosen !== undefined) validateMemberId(chosen);
      const timeout = sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
      if (
        !Number.isInteger(timeout) ||
        timeout < MIN_SESSION_TIMEOUT_MS ||
        timeout > MAX_SESSION_TIMEOUT_MS
      ) {
        throw invalid(
          `sessionTimeoutMs must be an integer from ${MIN_SESSION_TIMEOUT_MS} to ${MAX_SESSION_TIMEOUT_MS}`,
        );
      }
      if (
        !Array.isArray(subscribed) ||
        subscribed.length === 0 ||
        subscribed.length > MAX_SUBSCRIBED_TOPICS
      ) {
        throw invalid(`topics must list 1 to ${MAX_SUBSCRIBED_TOPICS} topic names`);
      }
      const unique = [...new Set(subscribed)];
      for (const topic of unique) await topics.requireTopic(topic);
      const memberId = chosen ?? randomUUID();
      const now = clock.now();
      const key = memberKey(group, memberId);
      await retryOnConflict({ clock, what: `member ${memberId} of group ${group}` }, async () => {
        const holder = await meta.get(coordinatorKey(group), { consistent: true });
        if (kafkaMembers(holder, clock.now()) > 0 && holder !== undefined) throw kafkaHeld(group, holder);
        const existing = chosen === undefined ? undefined : await meta.get(key, { consistent: true });
        if (existing !== undefined) {
          // The member is live: this is a retry of its join whose answer was lost (or a duplicate).
          // The rebalance below renews it. Another subscription under the same id is a client error.
          if (existing.sessionTimeoutMs !== timeout || !sameTopics(existing.topics as string[], unique)) {
            throw invalid(
              `member ${memberId} is already in group ${group} with other topics or sessionTimeoutMs; leave first or join with another memberId`,
            );
          }
          return;
        }
        await meta.transact([
          {
            type: 'put',
            item: {
              ...key,
              topics: unique,
              sessionTimeoutMs: timeout,
              joinedAt: now,
              expiresAt: now + timeout,
            },
            expect: 'absent',
          },
          // Kafka members that arrive meanwhile change this item: the join reads it again.
          { type: 'check', key: coordinatorKey(group), expect: holder?.v ?? 'absent' },
        ]);
      });
      await listGroup(group, now);
      return { memberId, ...(await rebalance(group, memberId)) };
    },

    async heartbeat(group, memberId) {
      validateGroup(group);
      return rebalance(group, memberId);
    },

    async leave(group, memberId) {
      validateGroup(group);
      const now = clock.now();
      const { members, leases } = await readGroup(group);
      const me = members.find((m) => m.sk === memberKey(group, memberId).sk);
      if (me === undefined) {
        throw new StreamError(
          'LEASE_LOST',
          `member ${memberId} is not in group ${group} (it left or timed out)`,
        );
      }
      // Release the leases first, so the partitions are free the moment the member is gone. A commit
      // racing the release only bumps the version: the release is retried, not skipped.
      for (const lease of leases.values()) {
        if (lease.owner === memberId && lease.leaseExpiresAt > now) {
          await changeOwnLease(group, memberId, lease, now, released);
        }
      }
      await meta.transact([{ type: 'delete', key: memberKey(group, memberId) }]);
    },

    async commit(group, memberId, offsets) {
      validateGroup(group);
      if (offsets.length === 0 || offsets.length > MAX_COMMIT_OFFSETS) {
        throw invalid(`a commit holds 1 to ${MAX_COMMIT_OFFSETS} offsets`);
      }
      const seen = new Set<string>();
      for (const o of offsets) {
        if (!Number.isSafeInteger(o.offset) || o.offset < 0)
          throw invalid(`offset for ${o.topic}/${o.partition} must be a non-negative integer`);
        if (seen.has(id(o))) throw invalid(`${o.topic}/${o.partition} appears twice in one commit`);
        seen.add(id(o));
      }
      // A committed offset belongs to the topic's current incarnation. A lease still on a deleted or
      // re-created topic's old topicId is the member's until its next heartbeat moves it (with a new
      // epoch), but an offset for it would be read against the wrong log: refused like a stale epoch.
      const topicIds = new Map<string, string | undefined>();
      for (const name of new Set(offsets.map((o) => o.topic))) {
        topicIds.set(name, (await describeTopics([name]))[0]?.topicId);
      }
      // Renewals bump the lease's version, so a commit racing a heartbeat re-reads and checks again.
      await retryOnConflict({ clock, what: `offsets of group ${group}` }, async () => {
        const now = clock.now();
        const items = await meta.batchGet(
          offsets.map((o) => leaseKey(group, o.topic, o.partition)),
          { consistent: true },
        );
        const ops = offsets.map((o, i) => {
          const lease = readLease(items[i], o.topic, o.partition);
          const topicId = topicIds.get(o.topic);
          if (lease.owner !== memberId || lease.epoch !== o.epoch || lease.leaseExpiresAt <= now) {
            throw new StreamError(
              'LEASE_LOST',
              `member ${memberId} does not hold ${o.topic}/${o.partition} at epoch ${o.epoch} in group ${group}; heartbeat for the current assignment`,
            );
          }
          if (topicId === undefined || lease.topicId !== topicId) {
            throw new StreamError(
              'LEASE_LOST',
              `topic ${o.topic} was deleted or re-created since member ${memberId} took ${o.topic}/${o.partition} in group ${group}; heartbeat for the current assignment`,
            );
          }
          return {
            type: 'put' as const,
            item: leaseInput(group, lease, { committedOffset: o.offset, topicId }),
            expect: lease.item?.v as number,
          };
        });
        await meta.transact(ops);
      });
    },

    async describe(group) {
      validateGroup(group, 'allowed');
      const now = clock.now();
      const { members, leases } = await readGroup(group);
      // A group nobody has joined describes as empty, as Kafka describes an unknown group as dead.
      const names = new Set<string>([...leases.values()].map((l) => l.topic));
      for (const m of members) for (const t of m.topics as string[]) names.add(t);
      const partitions: GroupDescription['partitions'] = [];
      for (const topic of await describeTopics([...names].sort())) {
        for (let partition = 0; partition < topic.partitions; partition++) {
          const lease =
            leases.get(id({ topic: topic.name, partition })) ?? readLease(undefined, topic.name, partition);
          const range = await log.offsets(topic.name, partition);
          const committed = lease.topicId === topic.topicId ? lease.committedOffset : null;
          partitions.push({
            topic: topic.name,
            partition,
            owner: isFree(lease, now) ? null : lease.owner,
            epoch: lease.epoch,
            committedOffset: committed,
            highWatermark: range.highWatermark,
            lag: range.highWatermark - (committed ?? range.logStartOffset),
          });
        }
      }
      return {
        group,
        members: members.map((m) => ({
          memberId: m.sk.slice(MEMBER_SK_PREFIX.length),
          topics: m.topics as string[],
          expiresAt: m.expiresAt as number,
        })),
        partitions,
      };
    },

    async list() {
      return (await queryAll(meta, GROUPS_PK, { consistent: true })).map((item) => item.sk);
    },

    async resetOffsets(group, topicName, target, partitions) {
      validateGroup(group, 'allowed');
      const topic = await topics.requireTopic(topicName);
      const chosen = partitions ?? Array.from({ length: topic.partitions }, (_, p) => p);
      for (const p of chosen) {
        if (!Number.isInteger(p) || p < 0 || p >= topic.partitions) {
          throw new StreamError('PARTITION_NOT_FOUND', `topic ${topicName} has no partition ${p}`);
        }
      }
      if (new Set(chosen).size !== chosen.length)
        throw invalid(`partitions of ${topicName} are listed more than once`);
      const { members, leases } = await readGroup(group);
      if (members.length > 0) {
        throw invalid(
          `group ${group} has ${members.length} live member(s); offsets can be reset only while it has none`,
        );
      }
      // Every target is worked out and checked before anything is written: all partitions or none.
      const results: (TopicPartition & { committedOffset: number })[] = [];
      for (const partition of chosen) {
        const range = await log.offsets(
          topicName,
          partition,
          target.to === 'timestamp' ? target.timestamp : undefined,
        );
        let committedOffset: number;
        if (target.to === 'earliest') committedOffset = range.logStartOffset;
        else if (target.to === 'latest') committedOffset = range.highWatermark;
        else if (target.to === 'timestamp') committedOffset = range.offset ?? range.highWatermark;
        else {
          committedOffset = target.offset;
          if (committedOffset < range.logStartOffset || committedOffset > range.highWatermark) {
            throw new StreamError(
              'OFFSET_OUT_OF_RANGE',
              `offset ${committedOffset} is outside ${topicName}/${partition}: valid offsets are ${range.logStartOffset} to ${range.highWatermark}`,
              { details: { logStartOffset: range.logStartOffset, highWatermark: range.highWatermark } },
            );
          }
        }
        results.push({ topic: topicName, partition, committedOffset });
      }
      const ops: TransactOp[] = results.map(({ partition, committedOffset }) => {
        const lease =
          leases.get(id({ topic: topicName, partition })) ?? readLease(undefined, topicName, partition);
        const change = {
          owner: null,
          epoch: lease.epoch + 1,
          leaseExpiresAt: 0,
          committedOffset,
          topicId: topic.topicId,
        };
        return { type: 'put', item: leaseInput(group, lease, change), expect: lease.item?.v ?? 'absent' };
      });
      // One transaction holds at most 100 ops; topics have at most 256 partitions, so a reset of more
      // than 100 partitions is done in steps, each all-or-nothing.
      for (let i = 0; i < ops.length; i += 100) {
        try {
          await meta.transact(ops.slice(i, i + 100));
        } catch (error) {
          if (error instanceof ConditionFailedError) {
            throw new StreamError('CONFLICT', `group ${group} changed while its offsets were reset; retry`);
          }
          throw error;
        }
      }
      return results;
    },

    async deleteGroup(group) {
      validateGroup(group, 'allowed');
      if (group.startsWith(SUBSCRIPTION_GROUP_PREFIX)) {
        throw invalid(
          `group ${group} belongs to subscription ${group.slice(SUBSCRIPTION_GROUP_PREFIX.length)}: delete the subscription instead`,
        );
      }
      // Members past their session timeout are absent: only live ones are read.
      const all = await queryAll(meta, groupPk(group), { consistent: true, pageSize: 500 });
      // The coordinator item is the Kafka listener's: it stays, and refuses while it has members.
      const holder = all.find((item) => item.sk === coordinatorKey(group).sk);
      if (kafkaMembers(holder, clock.now()) > 0 && holder !== undefined) throw kafkaHeld(group, holder);
      const items = all.filter((item) => item !== holder);
      const live = items.filter((item) => item.sk.startsWith(MEMBER_SK_PREFIX));
      if (live.length > 0) {
        throw invalid(
          `group ${group} has ${live.length} live member(s); a group can be deleted only while it has none`,
        );
      }
      // Each item is deleted at the version read: a lease taken or committed meanwhile conflicts.
      for (let i = 0; i < items.length; i += 100) {
        try {
          await meta.transact(
            items.slice(i, i + 100).map((item) => ({
              type: 'delete' as const,
              key: { pk: item.pk, sk: item.sk },
              expect: item.v,
            })),
          );
        } catch (error) {
          if (error instanceof ConditionFailedError) {
            throw new StreamError('CONFLICT', `group ${group} changed while it was deleted; retry`);
          }
          throw error;
        }
      }
      await meta.transact([{ type: 'delete', key: groupListKey(group) }]);
      // A member that joined after the read above lost its listing with it: the group is listed again.
      const joined = await queryAll(meta, groupPk(group), { consistent: true, pageSize: 500 });
      if (joined.some((item) => item.sk.startsWith(MEMBER_SK_PREFIX))) await listGroup(group, clock.now());
    },

    async admitKafkaMembers(group) {
      validateGroup(group);
      await refuseHttpMembers(group);
      await listGroup(group, clock.now());
    },

    async httpMembers(group) {
      validateGroup(group, 'allowed');
      const items = await queryAll(meta, groupPk(group), { ...MEMBERS, consistent: true, pageSize: 500 });
      return items.map((item) => item.sk.slice(MEMBER_SK_PREFIX.length));
    },

    async commitCoordinated(group, offsets) {
      validateGroup(group);
      const last = new Map<string, TopicPartition & { offset: number; metadata?: string }>();
      for (const o of offsets) {
        if (!Number.isSafeInteger(o.offset) || o.offset < 0)
          throw invalid(`offset for ${o.topic}/${o.partition} must be a non-negative integer`);
        last.set(id(o), o);
      }
      await refuseHttpMembers(group);
      const described = new Map(
        (await describeTopics([...new Set(offsets.map((o) => o.topic))])).map((t) => [t.name, t]),
      );
      const exists = (o: TopicPartition) => {
        const p = described.get(o.topic)?.partitions ?? 0;
        return Number.isInteger(o.partition) && o.partition >= 0 && o.partition < p;
      };
      const valid = [...last.values()].filter(exists);
      for (let i = 0; i < valid.length; i += MAX_COMMIT_OFFSETS) {
        const chunk = valid.slice(i, i + MAX_COMMIT_OFFSETS);
        await retryOnConflict({ clock, what: `offsets of group ${group}` }, async () => {
          const items = await meta.batchGet(
            chunk.map((o) => leaseKey(group, o.topic, o.partition)),
            { consistent: true },
          );
          await meta.transact(
            chunk.map((o, k) => {
              const lease = readLease(items[k], o.topic, o.partition);
              const topicId = described.get(o.topic)?.topicId ?? null;
              return {
                type: 'put' as const,
                item: leaseInput(group, lease, {
                  committedOffset: o.offset,
                  committedMetadata: o.metadata ?? '',
                  topicId,
                }),
                expect: lease.item?.v ?? 'absent',
              };
            }),
          );
        });
      }
      if (valid.length > 0) await listGroup(group, clock.now());
      return [...last.values()]
        .filter((o) => !exists(o))
        .map(({ topic, partition }) => ({ topic, partition }));
    },

    async committedOffsets(group, partitions) {
      validateGroup(group, 'allowed');
      const { leases } = await readGroup(group);
      const wanted = partitions ?? [...leases.values()].map(({ topic, partition }) => ({ topic, partition }));
      const topicIds = new Map(
        (await describeTopics([...new Set(wanted.map((tp) => tp.topic))])).map((t) => [t.name, t.topicId]),
      );
      const offsets = wanted.map(({ topic, partition }) => {
        const lease = leases.get(id({ topic, partition }));
        const current = lease !== undefined && lease.topicId === topicIds.get(topic);
        return {
          topic,
          partition,
          committedOffset: current ? lease.committedOffset : null,
          committedMetadata: current ? lease.committedMetadata : '',
        };
      });
      return partitions === undefined ? offsets.filter((o) => o.committedOffset !== null) : offsets;
    },
  };
}
