/**
 * The group coordinator of the Kafka listener (DESIGN §13): Kafka's classic group protocol for the
 * groups whose coordinator lease this gateway holds (coordinator-lease.ts), in memory, driven by a
 * Clock and Timers. The wire handlers call it with plain values and map the Kafka error NAMES it
 * answers with to codes.
 *
 * A group moves through Kafka's states:
 *   Empty --join--> PreparingRebalance --every member joined, or rebalance timeout--> CompletingRebalance
 *   CompletingRebalance --leader's SyncGroup--> Stable --join/leave/session timeout--> PreparingRebalance
 *   PreparingRebalance --no member left--> Empty (generation + 1)
 * `Dead` is only reported: a deleted or unknown group describes as Dead and is dropped from memory.
 *
 * Invariants:
 * - Join and Sync are barriers: a JoinGroup answers when every known member has rejoined (or the
 *   largest rebalance timeout passed: members that did not rejoin are removed); a SyncGroup answers
 *   when the leader's assignments arrive. Every generation has exactly one leader, and every member
 *   of a generation gets the assignment the leader sent for it (empty when it sent none).
 * - A request of another generation is ILLEGAL_GENERATION, of an unknown member UNKNOWN_MEMBER_ID;
 *   while a rebalance runs, heartbeats answer REBALANCE_IN_PROGRESS (and still keep the session).
 * - A member that sends nothing (heartbeat, join, sync, commit) for its session timeout is removed
 *   and the others rebalance; a member waiting in a barrier is kept until the barrier ends. A
 *   generation whose members do not all sync within the rebalance timeout loses the silent ones.
 * - Only the lease holder answers, and only while its lease is live: anything else is
 *   NOT_COORDINATOR, so clients look the coordinator up again. Losing or giving up a lease drops the
 *   group's state; its members rejoin at the new coordinator.
 * - A group is either HTTP-leased or Kafka-managed: the first member of an empty group is admitted
 *   only after the lease item counts it and no HTTP member is live (core/groups.ts), otherwise
 *   INCONSISTENT_GROUP_PROTOCOL.
 * - Offsets are the group's committed offsets of core/groups.ts (the HTTP describe shows them);
 *   member and generation are checked here first. Generation -1 with no member id (a consumer without
 *   group management) may commit only while the group has no members.
 * - Static membership (group.instance.id) is refused with UNSUPPORTED_VERSION.
 */
import { randomUUID } from 'node:crypto';
import { StreamError } from '../core/errors.ts';
import { validateGroupId } from '../core/groups.ts';
import {
  type CoordinatorError,
  DEFAULT_COORDINATOR_LEASE_MS,
  DEFAULT_IDLE_RELEASE_MS,
  type GroupCoordinator,
  type GroupCoordinatorOptions,
  type GroupState,
  type GroupSummary,
  type JoinGroupRequest,
  type JoinGroupResult,
  type ListGroupsResult,
  MAX_SESSION_TIMEOUT_MS,
  MIN_SESSION_TIMEOUT_MS,
  OFFSET_METADATA_MAX_CHARS,
  type OffsetCommitResult,
  type OffsetFetchResult,
  type Protocol,
  type SyncGroupResult,
  systemTimers,
} from './coordinator-api.ts';
import { CoordinatorLeases } from './coordinator-lease.ts';

export * from './coordinator-api.ts';

/** A member as its last join described it (rebalance timeout resolved), and where it waits. */
interface Member
  extends Pick<
    JoinGroupRequest,
    | 'memberId'
    | 'clientId'
    | 'clientHost'
    | 'sessionTimeoutMs'
    | 'rebalanceTimeoutMs'
    | 'protocolType'
    | 'protocols'
  > {
  assignment: Buffer;
  joining?: (result: JoinGroupResult) => void;
  syncing?: (result: SyncGroupResult) => void;
  session?: unknown;
}

interface Group {
  id: string;
  state: Exclude<GroupState, 'Dead'>;
  generation: number;
  protocolType: string | null;
  protocol: string | null;
  leader: string | null;
  /** In join order: the first to join leads when the leader is gone. */
  members: Map<string, Member>;
  /** Member ids handed out with MEMBER_ID_REQUIRED, until they join (or their session passes). */
  pending: Map<string, unknown>;
  /** The rebalance timeout of a running join barrier, or of the sync phase after it. */
  barrier?: unknown;
  /** Whether the lease item counts this group's members and core admitted them. */
  admitted: boolean;
  /** Joins between counting themselves on the lease item and core's admission. */
  admitting: number;
}

const EMPTY = Buffer.alloc(0);

export function createGroupCoordinator(options: GroupCoordinatorOptions): GroupCoordinator {
  const { clock, groups: core, self } = options;
  const timers = options.timers ?? systemTimers;
  const leaseMs = options.leaseMs ?? DEFAULT_COORDINATOR_LEASE_MS;
  const idleReleaseMs = options.idleReleaseMs ?? DEFAULT_IDLE_RELEASE_MS;
  const leases = new CoordinatorLeases({ meta: options.meta, clock, self, leaseMs });
  const groups = new Map<string, Group>();
  let closed = false;

  /** When each group was last asked about: an idle group without members gives its lease up. */
  const lastUsed = new Map<string, number>();

  const population = (g: Group) => g.members.size + g.pending.size;
  /** What the lease item counts: the members, and joins being admitted. */
  const counted = (g: Group | undefined) => (g === undefined ? 0 : population(g) + g.admitting);

  function groupOf(id: string): Group {
    let g = groups.get(id);
    if (g === undefined) {
      g = {
        id,
        state: 'Empty',
        generation: 0,
        protocolType: null,
        protocol: null,
        leader: null,
        members: new Map(),
        pending: new Map(),
        admitted: false,
        admitting: 0,
      };
      groups.set(id, g);
    }
    return g;
  }

  /** Why this gateway may not answer for the group now, or undefined when it may. */
  function notServing(group: string): { error: CoordinatorError; message: string } | undefined {
    if (closed) return { error: 'NOT_COORDINATOR', message: 'this gateway is shutting down' };
    try {
      validateGroupId(group);
    } catch (error) {
      return { error: 'INVALID_GROUP_ID', message: (error as Error).message };
    }
    if (!leases.holds(group)) {
      return { error: 'NOT_COORDINATOR', message: `this gateway is not the coordinator of group ${group}` };
    }
    lastUsed.set(group, clock.now());
    return undefined;
  }

  /** A storage or service failure as a Kafka error name. */
  function failure(error: unknown): { error: CoordinatorError; message: string } {
    // Anything but a StreamError is the server's own failure: thrown, as errors.ts's toKafkaError
    // does, so the listener logs it and closes the connection.
    if (!(error instanceof StreamError)) throw error;
    const { message } = error;
    if (error.code === 'CONFLICT' && !error.retriable)
      return { error: 'INCONSISTENT_GROUP_PROTOCOL', message };
    if (error.retriable) return { error: 'COORDINATOR_NOT_AVAILABLE', message };
    if (error.code === 'INVALID_REQUEST') return { error: 'INVALID_REQUEST', message };
    return { error: 'UNKNOWN_SERVER_ERROR', message: 'internal error' };
  }

  // --- sessions and barriers -------------------------------------------------------------------

  function touch(g: Group, m: Member): void {
    if (m.session !== undefined) timers.clear(m.session);
    m.session = timers.set(m.sessionTimeoutMs, () => {
      m.session = undefined;
      if (groups.get(g.id) !== g || g.members.get(m.memberId) !== m) return;
      // A member waiting in a barrier is not silent: the barrier's own timeout decides for it.
      if (m.joining !== undefined || m.syncing !== undefined) touch(g, m);
      else removeMember(g, m);
    });
  }

  function clearBarrier(g: Group): void {
    if (g.barrier !== undefined) timers.clear(g.barrier);
    g.barrier = undefined;
  }

  const rebalanceMs = (g: Group) => Math.max(0, ...[...g.members.values()].map((m) => m.rebalanceTimeoutMs));

  function prepareRebalance(g: Group): void {
    if (g.state === 'CompletingRebalance') {
      for (const m of g.members.values()) {
        if (answerSync(m, { error: 'REBALANCE_IN_PROGRESS', message: `group ${g.id} is rebalancing` })) {
          // Its session was on hold while it waited: it starts again now, as Kafka's does.
          touch(g, m);
        }
      }
    }
    for (const m of g.members.values()) m.assignment = EMPTY;
    clearBarrier(g);
    g.state = 'PreparingRebalance';
    g.barrier = timers.set(rebalanceMs(g), () => {
      g.barrier = undefined;
      completeJoin(g);
    });
    tryCompleteJoin(g);
  }

  function tryCompleteJoin(g: Group): void {
    if (g.state !== 'PreparingRebalance' || g.pending.size > 0) return;
    if ([...g.members.values()].every((m) => m.joining !== undefined)) completeJoin(g);
  }

  function selectProtocol(g: Group): string | null {
    const members = [...g.members.values()];
    const candidates = (members[0]?.protocols ?? [])
      .map((p) => p.name)
      .filter((name) => members.every((m) => m.protocols.some((p) => p.name === name)));
    const votes = new Map<string, number>();
    for (const m of members) {
      const choice = m.protocols.find((p) => candidates.includes(p.name))?.name;
      if (choice !== undefined) votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best: string | null = null;
    for (const name of candidates) {
      if (best === null || (votes.get(name) ?? 0) > (votes.get(best) ?? 0)) best = name;
    }
    return best;
  }

  function completeJoin(g: Group): void {
    if (g.state !== 'PreparingRebalance') return;
    clearBarrier(g);
    for (const m of [...g.members.values()]) {
      if (m.joining === undefined) dropMember(g, m);
    }
    g.generation++;
    if (g.members.size === 0) {
      g.state = 'Empty';
      g.protocol = null;
      g.protocolType = null;
      g.leader = null;
      emptied(g);
      return;
    }
    g.protocol = selectProtocol(g);
    if (g.leader === null || !g.members.has(g.leader)) g.leader = g.members.keys().next().value ?? null;
    g.state = 'CompletingRebalance';
    const all = [...g.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: null,
      metadata: m.protocols.find((p) => p.name === g.protocol)?.metadata ?? EMPTY,
    }));
    for (const m of g.members.values()) {
      const answer = m.joining;
      m.joining = undefined;
      touch(g, m);
      answer?.(joinAnswer(g, m.memberId, m.memberId === g.leader ? all : []));
    }
    // Members that never sync leave the generation when the rebalance timeout passes.
    g.barrier = timers.set(rebalanceMs(g), () => {
      g.barrier = undefined;
      if (g.state !== 'CompletingRebalance') return;
      const silent = [...g.members.values()].filter((m) => m.syncing === undefined);
      for (const m of silent) dropMember(g, m);
      if (silent.length > 0) afterRemoval(g);
    });
  }

  function joinAnswer(g: Group, memberId: string, members: JoinGroupResult['members']): JoinGroupResult {
    return {
      error: 'NONE',
      generationId: g.generation,
      protocolType: g.protocolType,
      protocolName: g.protocol,
      leader: g.leader ?? '',
      memberId,
      members,
    };
  }

  /** Answers the member's waiting SyncGroup, if any; whether there was one. */
  function answerSync(m: Member, result: Pick<SyncGroupResult, 'error'> & Partial<SyncGroupResult>): boolean {
    const answer = m.syncing;
    m.syncing = undefined;
    answer?.({ protocolType: null, protocolName: null, assignment: EMPTY, ...result });
    return answer !== undefined;
  }

  /** Takes a member out without starting a rebalance; its waiting requests answer UNKNOWN_MEMBER_ID. */
  function dropMember(g: Group, m: Member): void {
    if (m.session !== undefined) timers.clear(m.session);
    g.members.delete(m.memberId);
    const message = `member ${m.memberId} is no longer in group ${g.id}`;
    const answer = m.joining;
    m.joining = undefined;
    answer?.({ ...failedJoin(m.memberId, 'UNKNOWN_MEMBER_ID'), message });
    answerSync(m, { error: 'UNKNOWN_MEMBER_ID', message });
  }

  function removeMember(g: Group, m: Member): void {
    dropMember(g, m);
    afterRemoval(g);
  }

  function afterRemoval(g: Group): void {
    if (g.state === 'Stable' || g.state === 'CompletingRebalance') prepareRebalance(g);
    else tryCompleteJoin(g);
    if (population(g) === 0) emptied(g);
  }

  /** The lease item stops counting members, so HTTP members may join again. */
  function emptied(g: Group): void {
    if (!g.admitted || population(g) > 0) return;
    g.admitted = false;
    if (leases.holds(g.id)) void renew(g.id);
  }

  const failedJoin = (memberId: string, error: CoordinatorError, message?: string): JoinGroupResult => ({
    error,
    ...(message !== undefined && { message }),
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    memberId,
    members: [],
  });

  // --- leases --------------------------------------------------------------------------------

  /** Renews one lease with the current member count; a lost lease drops the group. */
  async function renew(group: string): Promise<void> {
    const g = groups.get(group);
    try {
      if (!(await leases.renew(group, counted(g)))) drop(group);
    } catch {
      // A storage fault: kept until the lease expires; the next renewal tries again.
    }
  }

  /** Forgets a group this gateway no longer coordinates: its waiting requests answer NOT_COORDINATOR. */
  function drop(group: string): void {
    const g = groups.get(group);
    if (g === undefined) return;
    groups.delete(group);
    clearBarrier(g);
    for (const timer of g.pending.values()) timers.clear(timer);
    const message = `this gateway is no longer the coordinator of group ${group}`;
    for (const m of g.members.values()) {
      if (m.session !== undefined) timers.clear(m.session);
      const answer = m.joining;
      m.joining = undefined;
      answer?.(failedJoin(m.memberId, 'NOT_COORDINATOR', message));
      answerSync(m, { error: 'NOT_COORDINATOR', message });
    }
  }

  let renewal: unknown;
  function scheduleRenewal(): void {
    renewal = timers.set(Math.floor(leaseMs / 3), () => {
      void renewAll().finally(() => {
        if (!closed) scheduleRenewal();
      });
    });
  }
  scheduleRenewal();

  async function renewAll(): Promise<void> {
    const now = clock.now();
    for (const group of leases.groups()) {
      const g = groups.get(group);
      const idle = counted(g) === 0 && (lastUsed.get(group) ?? 0) + idleReleaseMs <= now;
      if (idle) {
        drop(group);
        lastUsed.delete(group);
        await leases.release(group).catch(() => undefined);
      } else {
        await renew(group);
      }
    }
  }

  // --- admission (HTTP-leased or Kafka-managed) ----------------------------------------------

  /** Counts the group's members on its lease item, then has core check that no HTTP member is live. */
  async function admit(g: Group): Promise<{ error: CoordinatorError; message: string } | undefined> {
    if (g.admitted) return undefined;
    g.admitting++;
    let refused: { error: CoordinatorError; message: string } | undefined;
    try {
      if (await leases.renew(g.id, counted(g))) {
        await core.admitKafkaMembers(g.id);
        g.admitted = true;
      } else {
        drop(g.id);
        refused = {
          error: 'NOT_COORDINATOR',
          message: `this gateway is no longer the coordinator of group ${g.id}`,
        };
      }
    } catch (error) {
      refused = failure(error);
    } finally {
      g.admitting--;
    }
    // Refused: the lease item stops counting the join that was not admitted.
    if (refused !== undefined && refused.error !== 'NOT_COORDINATOR') await renew(g.id);
    return refused;
  }

  // --- the API -------------------------------------------------------------------------------

  const sameProtocols = (a: Protocol[], b: Protocol[]) =>
    a.length === b.length &&
    a.every((p, i) => p.name === b[i]?.name && p.metadata.equals(b[i]?.metadata ?? EMPTY));

  function updateMember(m: Member, request: JoinGroupRequest, rebalanceTimeoutMs: number): void {
    m.clientId = request.clientId;
    m.clientHost = request.clientHost;
    m.sessionTimeoutMs = request.sessionTimeoutMs;
    m.rebalanceTimeoutMs = rebalanceTimeoutMs;
    m.protocolType = request.protocolType;
    m.protocols = request.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) }));
  }

  /** Registers the member's wait at the join barrier (a previous wait of the same member is told to rejoin). */
  function awaitJoin(g: Group, m: Member): Promise<JoinGroupResult> {
    const previous = m.joining;
    m.joining = undefined;
    previous?.(failedJoin(m.memberId, 'REBALANCE_IN_PROGRESS', `member ${m.memberId} joined again`));
    return new Promise((resolve) => {
      m.joining = resolve;
      touch(g, m);
    });
  }

  function checkJoin(request: JoinGroupRequest): { error: CoordinatorError; message: string } | undefined {
    if (request.groupInstanceId !== null) {
      return {
        error: 'UNSUPPORTED_VERSION',
        message: `static membership (group.instance.id ${request.groupInstanceId}) is not supported: unset group.instance.id`,
      };
    }
    const timeout = request.sessionTimeoutMs;
    if (!Number.isInteger(timeout) || timeout < MIN_SESSION_TIMEOUT_MS || timeout > MAX_SESSION_TIMEOUT_MS) {
      return {
        error: 'INVALID_SESSION_TIMEOUT',
        message: `session timeout ${timeout} ms is outside ${MIN_SESSION_TIMEOUT_MS} to ${MAX_SESSION_TIMEOUT_MS} ms`,
      };
    }
    if (request.protocolType === '' || request.protocols.length === 0) {
      return {
        error: 'INCONSISTENT_GROUP_PROTOCOL',
        message: 'a join names a protocol type and at least one protocol',
      };
    }
    return undefined;
  }

  return {
    async findCoordinator(group) {
      const none = { nodeId: -1, host: '', port: -1 };
      if (closed)
        return { error: 'COORDINATOR_NOT_AVAILABLE', message: 'this gateway is shutting down', ...none };
      try {
        validateGroupId(group);
      } catch (error) {
        return { error: 'INVALID_GROUP_ID', message: (error as Error).message, ...none };
      }
      try {
        const { nodeId, host, port, mine } = await leases.find(group);
        if (mine) {
          lastUsed.set(group, clock.now());
          // A lease taken again after it expired here starts with no member count: write it now.
          if (counted(groups.get(group)) > 0) await renew(group);
        }
        return { error: 'NONE', nodeId, host, port };
      } catch (error) {
        return { ...failure(error), error: 'COORDINATOR_NOT_AVAILABLE', ...none };
      }
    },

    async coordinatorElsewhere(group) {
      if (closed || leases.holds(group)) return undefined;
      try {
        validateGroupId(group);
        const holder = await leases.holder(group);
        return holder === undefined || holder.mine
          ? undefined
          : { nodeId: holder.nodeId, host: holder.host, port: holder.port };
      } catch {
        // An invalid id or a storage fault: answered here, with the error the request earns.
        return undefined;
      }
    },

    async joinGroup(request) {
      const refused = notServing(request.group) ?? checkJoin(request);
      if (refused !== undefined) return failedJoin(request.memberId, refused.error, refused.message);
      const g = groupOf(request.group);
      const admission = await admit(g);
      if (admission !== undefined) return failedJoin(request.memberId, admission.error, admission.message);
      // The lease may have been lost (and the group's state with it) while admitting.
      const lost =
        notServing(request.group) ??
        (groups.get(request.group) === g
          ? undefined
          : { error: 'NOT_COORDINATOR' as const, message: `the coordinator of group ${g.id} moved` });
      if (lost !== undefined) return failedJoin(request.memberId, lost.error, lost.message);
      if (population(g) > 0 && g.protocolType !== null) {
        const names = new Set(request.protocols.map((p) => p.name));
        const shared = [...g.members.values()].every((m) => m.protocols.some((p) => names.has(p.name)));
        if (request.protocolType !== g.protocolType || !shared) {
          return failedJoin(
            request.memberId,
            'INCONSISTENT_GROUP_PROTOCOL',
            `group ${g.id} uses protocol type ${g.protocolType} with protocols its members all support; this join offers ${request.protocolType} ${[...names].join(', ')}`,
          );
        }
      }
      const rebalanceTimeoutMs =
        request.rebalanceTimeoutMs < 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs;
      let memberId = request.memberId;
      if (memberId === '') {
        memberId = `${request.clientId === '' ? 'member' : request.clientId}-${randomUUID()}`;
        if (request.requireKnownMemberId) {
          g.pending.set(
            memberId,
            timers.set(request.sessionTimeoutMs, () => {
              if (!g.pending.delete(memberId)) return;
              tryCompleteJoin(g);
              emptied(g);
            }),
          );
          return failedJoin(memberId, 'MEMBER_ID_REQUIRED', 'join again with this member id');
        }
      } else if (g.pending.has(memberId)) {
        timers.clear(g.pending.get(memberId));
        g.pending.delete(memberId);
      } else {
        const m = g.members.get(memberId);
        if (m === undefined) {
          return failedJoin(memberId, 'UNKNOWN_MEMBER_ID', `member ${memberId} is not in group ${g.id}`);
        }
        if (g.state === 'PreparingRebalance') {
          updateMember(m, request, rebalanceTimeoutMs);
          const joined = awaitJoin(g, m);
          tryCompleteJoin(g);
          return joined;
        }
        const unchanged = sameProtocols(m.protocols, request.protocols);
        if (unchanged && (g.state === 'CompletingRebalance' || memberId !== g.leader)) {
          // A rejoin with nothing new: the current generation, as answered before.
          touch(g, m);
          const all =
            memberId === g.leader && g.state === 'CompletingRebalance'
              ? [...g.members.values()].map((x) => ({
                  memberId: x.memberId,
                  groupInstanceId: null,
                  metadata: x.protocols.find((p) => p.name === g.protocol)?.metadata ?? EMPTY,
                }))
              : [];
          return joinAnswer(g, memberId, all);
        }
        updateMember(m, request, rebalanceTimeoutMs);
        const joined = awaitJoin(g, m);
        prepareRebalance(g);
        return joined;
      }
      const m: Member = {
        memberId,
        clientId: '',
        clientHost: '',
        sessionTimeoutMs: 0,
        rebalanceTimeoutMs: 0,
        protocolType: '',
        protocols: [],
        assignment: EMPTY,
      };
      updateMember(m, request, rebalanceTimeoutMs);
      g.members.set(memberId, m);
      if (g.protocolType === null) g.protocolType = request.protocolType;
      const joined = awaitJoin(g, m);
      if (g.state === 'PreparingRebalance') tryCompleteJoin(g);
      else prepareRebalance(g);
      return joined;
    },

    async syncGroup(request) {
      const failed = (error: CoordinatorError, message: string): SyncGroupResult => ({
        error,
        message,
        protocolType: null,
        protocolName: null,
        assignment: EMPTY,
      });
      const refused = notServing(request.group);
      if (refused !== undefined) return failed(refused.error, refused.message);
      const g = groups.get(request.group);
      const m = g?.members.get(request.memberId);
      if (g === undefined || m === undefined) {
        return failed('UNKNOWN_MEMBER_ID', `member ${request.memberId} is not in group ${request.group}`);
      }
      if (request.generationId !== g.generation) {
        return failed(
          'ILLEGAL_GENERATION',
          `group ${g.id} is at generation ${g.generation}, not ${request.generationId}`,
        );
      }
      if (
        (request.protocolType !== null && request.protocolType !== g.protocolType) ||
        (request.protocolName !== null && request.protocolName !== g.protocol)
      ) {
        return failed(
          'INCONSISTENT_GROUP_PROTOCOL',
          `group ${g.id} uses ${g.protocolType}/${g.protocol}, not ${request.protocolType}/${request.protocolName}`,
        );
      }
      const done = (): SyncGroupResult => ({
        error: 'NONE',
        protocolType: g.protocolType,
        protocolName: g.protocol,
        assignment: m.assignment,
      });
      if (g.state === 'PreparingRebalance')
        return failed('REBALANCE_IN_PROGRESS', `group ${g.id} is rebalancing`);
      if (g.state === 'Stable') {
        touch(g, m);
        return done();
      }
      const synced = new Promise<SyncGroupResult>((resolve) => {
        answerSync(m, { error: 'REBALANCE_IN_PROGRESS', message: `member ${m.memberId} synced again` });
        m.syncing = resolve;
      });
      touch(g, m);
      if (request.memberId === g.leader) {
        const sent = new Map(request.assignments.map((a) => [a.memberId, a.assignment]));
        clearBarrier(g);
        g.state = 'Stable';
        for (const member of g.members.values()) {
          member.assignment = Buffer.from(sent.get(member.memberId) ?? EMPTY);
          const waited = answerSync(member, {
            error: 'NONE',
            protocolType: g.protocolType,
            protocolName: g.protocol,
            assignment: member.assignment,
          });
          if (waited) touch(g, member);
        }
      }
      return synced;
    },

    async heartbeat(request) {
      const refused = notServing(request.group);
      if (refused !== undefined) return refused;
      const g = groups.get(request.group);
      const m = g?.members.get(request.memberId);
      if (g === undefined || m === undefined) {
        return {
          error: 'UNKNOWN_MEMBER_ID',
          message: `member ${request.memberId} is not in group ${request.group}`,
        };
      }
      if (request.generationId !== g.generation) {
        return {
          error: 'ILLEGAL_GENERATION',
          message: `group ${g.id} is at generation ${g.generation}, not ${request.generationId}`,
        };
      }
      touch(g, m);
      if (g.state === 'PreparingRebalance') {
        return { error: 'REBALANCE_IN_PROGRESS', message: `group ${g.id} is rebalancing: join again` };
      }
      return { error: 'NONE' };
    },

    async leaveGroup(request) {
      const refused = notServing(request.group);
      if (refused !== undefined) return { error: refused.error, members: [] };
      const g = groups.get(request.group);
      const members = request.members.map(({ memberId, groupInstanceId }) => {
        let error: CoordinatorError = 'UNKNOWN_MEMBER_ID';
        const m = g?.members.get(memberId);
        if (g !== undefined && groupInstanceId === null) {
          if (m !== undefined) {
            removeMember(g, m);
            error = 'NONE';
          } else if (g.pending.has(memberId)) {
            timers.clear(g.pending.get(memberId));
            g.pending.delete(memberId);
            tryCompleteJoin(g);
            emptied(g);
            error = 'NONE';
          }
        }
        return { memberId, groupInstanceId, error };
      });
      return { error: 'NONE', members };
    },

    async commitOffsets(request) {
      const answer = (error: CoordinatorError, message?: string): OffsetCommitResult => ({
        ...(message !== undefined && { message }),
        topics: request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partition: p.partition, error })),
        })),
      });
      const refused = notServing(request.group);
      if (refused !== undefined) return answer(refused.error, refused.message);
      const g = groups.get(request.group);
      const simple = request.generationId < 0 && request.memberId === '' && request.groupInstanceId === null;
      if (simple) {
        if (g !== undefined && population(g) > 0) {
          return answer(
            'UNKNOWN_MEMBER_ID',
            `group ${request.group} has members: only they commit its offsets`,
          );
        }
      } else {
        const m = g?.members.get(request.memberId);
        if (g === undefined || population(g) === 0) {
          return answer(
            'ILLEGAL_GENERATION',
            `group ${request.group} has no generation ${request.generationId}`,
          );
        }
        if (m === undefined) {
          return answer('UNKNOWN_MEMBER_ID', `member ${request.memberId} is not in group ${request.group}`);
        }
        if (request.generationId !== g.generation) {
          return answer(
            'ILLEGAL_GENERATION',
            `group ${g.id} is at generation ${g.generation}, not ${request.generationId}`,
          );
        }
        if (g.state === 'CompletingRebalance') {
          return answer('REBALANCE_IN_PROGRESS', `group ${g.id} is rebalancing`);
        }
        touch(g, m);
      }
      // As Kafka's broker, a partition whose metadata is over the limit is refused on its own.
      const tooLarge = (metadata: string | null | undefined) =>
        (metadata?.length ?? 0) > OFFSET_METADATA_MAX_CHARS;
      const offsets = request.topics.flatMap((t) =>
        t.partitions
          .filter((p) => Number.isSafeInteger(p.offset) && p.offset >= 0 && !tooLarge(p.metadata))
          .map((p) => ({
            topic: t.name,
            partition: p.partition,
            offset: p.offset,
            metadata: p.metadata ?? '',
          })),
      );
      let rejected: { topic: string; partition: number }[];
      try {
        rejected = await core.commitCoordinated(request.group, offsets);
      } catch (error) {
        const { error: name, message } = failure(error);
        return answer(name, message);
      }
      const unknown = new Set(rejected.map((tp) => `${tp.topic}#${tp.partition}`));
      return {
        topics: request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map(({ partition, offset, metadata }) => ({
            partition,
            error:
              !Number.isSafeInteger(offset) || offset < 0
                ? ('INVALID_REQUEST' as const)
                : tooLarge(metadata)
                  ? ('OFFSET_METADATA_TOO_LARGE' as const)
                  : unknown.has(`${t.name}#${partition}`)
                    ? ('UNKNOWN_TOPIC_OR_PARTITION' as const)
                    : ('NONE' as const),
          })),
        })),
      };
    },

    async fetchOffsets(request) {
      const refused = notServing(request.group);
      if (refused !== undefined) return { ...refused, topics: [] };
      const wanted = request.topics?.flatMap((t) =>
        t.partitions.map((partition) => ({ topic: t.name, partition })),
      );
      let offsets: Awaited<ReturnType<typeof core.committedOffsets>>;
      try {
        offsets = await core.committedOffsets(request.group, wanted);
      } catch (error) {
        return { ...failure(error), topics: [] };
      }
      const topics = new Map<string, OffsetFetchResult['topics'][number]>();
      for (const name of request.topics?.map((t) => t.name) ?? []) topics.set(name, { name, partitions: [] });
      for (const o of offsets) {
        const topic = topics.get(o.topic) ?? { name: o.topic, partitions: [] };
        topics.set(o.topic, topic);
        topic.partitions.push({
          partition: o.partition,
          offset: o.committedOffset ?? -1,
          metadata: o.committedMetadata,
          error: 'NONE',
        });
      }
      return { error: 'NONE', topics: [...topics.values()] };
    },

    async describeGroup(group) {
      const summary = (state: GroupState, rest: Partial<GroupSummary> = {}): GroupSummary => ({
        error: 'NONE',
        group,
        state,
        protocolType: '',
        protocolData: '',
        members: [],
        ...rest,
      });
      const refused = notServing(group);
      if (refused !== undefined) return summary('Dead', refused);
      const g = groups.get(group);
      if (g !== undefined && population(g) > 0) {
        const stable = g.state === 'Stable';
        return summary(g.state, {
          protocolType: g.protocolType ?? '',
          protocolData: stable ? (g.protocol ?? '') : '',
          members: [...g.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: null,
            clientId: m.clientId,
            clientHost: m.clientHost,
            metadata: stable ? (m.protocols.find((p) => p.name === g.protocol)?.metadata ?? EMPTY) : EMPTY,
            assignment: stable ? m.assignment : EMPTY,
          })),
        });
      }
      try {
        // Not Kafka-managed now: what the HTTP API knows of it.
        const http = await core.httpMembers(group);
        if (http.length > 0) {
          return summary('Stable', {
            protocolType: 'consumer',
            members: http.map((memberId) => ({
              memberId,
              groupInstanceId: null,
              clientId: '',
              clientHost: '',
              metadata: EMPTY,
              assignment: EMPTY,
            })),
          });
        }
        const listed = (await core.list()).includes(group);
        return listed ? summary('Empty', { protocolType: 'consumer' }) : summary('Dead');
      } catch (error) {
        return summary('Dead', failure(error));
      }
    },

    async listGroups(states) {
      if (closed)
        return { error: 'COORDINATOR_NOT_AVAILABLE', message: 'this gateway is shutting down', groups: [] };
      try {
        const wanted =
          states === undefined || states.length === 0
            ? undefined
            : new Set(states.map((s) => s.toLowerCase()));
        const listed: ListGroupsResult['groups'] = [];
        for (const group of await core.list()) {
          const g = groups.get(group);
          let entry: ListGroupsResult['groups'][number];
          if (g !== undefined && population(g) > 0) {
            entry = { group, protocolType: g.protocolType ?? 'consumer', state: g.state };
          } else {
            // Kafka members at another gateway, or HTTP members: the group is in use.
            const used = (await leases.members(group)) > 0 || (await core.httpMembers(group)).length > 0;
            entry = { group, protocolType: 'consumer', state: used ? 'Stable' : 'Empty' };
          }
          if (wanted === undefined || wanted.has(entry.state.toLowerCase())) listed.push(entry);
        }
        return { error: 'NONE', groups: listed };
      } catch (error) {
        return { ...failure(error), error: 'COORDINATOR_NOT_AVAILABLE', groups: [] };
      }
    },

    async deleteGroups(names) {
      const results: { group: string; error: CoordinatorError; message?: string }[] = [];
      for (const group of names) {
        const refused = notServing(group);
        if (refused !== undefined) {
          results.push({ group, ...refused });
          continue;
        }
        const g = groups.get(group);
        if (g !== undefined && population(g) > 0) {
          results.push({
            group,
            error: 'NON_EMPTY_GROUP',
            message: `group ${group} has ${population(g)} member(s)`,
          });
          continue;
        }
        try {
          if (!(await core.list()).includes(group)) {
            results.push({ group, error: 'GROUP_ID_NOT_FOUND', message: `group ${group} does not exist` });
            continue;
          }
          await core.deleteGroup(group);
          groups.delete(group);
          results.push({ group, error: 'NONE' });
        } catch (error) {
          const mapped = failure(error);
          // Core refuses a group with live members (HTTP ones, or Kafka ones of another gateway).
          results.push({
            group,
            ...mapped,
            ...((mapped.error === 'INVALID_REQUEST' || mapped.error === 'INCONSISTENT_GROUP_PROTOCOL') && {
              error: 'NON_EMPTY_GROUP' as const,
            }),
          });
        }
      }
      return results;
    },

    async close() {
      if (closed) return;
      closed = true;
      if (renewal !== undefined) timers.clear(renewal);
      for (const group of [...groups.keys()]) drop(group);
      await Promise.all(leases.groups().map((group) => leases.release(group).catch(() => undefined)));
    },
  };
}
