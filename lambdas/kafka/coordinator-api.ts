/**
 * What the Kafka listener's group handlers exchange with the group coordinator (coordinator.ts): plain
 * requests and results, with Kafka's error NAMES (the handlers map them to codes through errors.ts).
 */
import type { GroupService } from '../core/groups.ts';
import type { Clock } from '../ports/clock.ts';
import type { MetaStore } from '../ports/meta-store.ts';
import type { CoordinatorAddress } from './coordinator-lease.ts';
import type { KafkaErrorName } from './errors.ts';

export type { CoordinatorAddress } from './coordinator-lease.ts';

/** Kafka's error names the coordinator answers with; each must be a code of errors.ts. */
const COORDINATOR_ERRORS = [
  'NONE',
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'INVALID_GROUP_ID',
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'REBALANCE_IN_PROGRESS',
  'MEMBER_ID_REQUIRED',
  'INCONSISTENT_GROUP_PROTOCOL',
  'INVALID_SESSION_TIMEOUT',
  'UNSUPPORTED_VERSION',
  'GROUP_ID_NOT_FOUND',
  'NON_EMPTY_GROUP',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'OFFSET_METADATA_TOO_LARGE',
  'INVALID_REQUEST',
  'UNKNOWN_SERVER_ERROR',
] as const satisfies readonly KafkaErrorName[];

export type CoordinatorError = (typeof COORDINATOR_ERRORS)[number];

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** Kafka's broker limits on a member's session timeout (group.min/max.session.timeout.ms). */
export const MIN_SESSION_TIMEOUT_MS = 6_000;
export const MAX_SESSION_TIMEOUT_MS = 1_800_000;
export const DEFAULT_COORDINATOR_LEASE_MS = 15_000;
/** A group with no members and no request for this long gives its lease up. */
export const DEFAULT_IDLE_RELEASE_MS = 300_000;
/**
 * Kafka's broker limit on a committed offset's metadata (offset.metadata.max.bytes), which it compares
 * with the string's length in characters, as this does.
 */
export const OFFSET_METADATA_MAX_CHARS = 4096;

export interface Protocol {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupRequest {
  group: string;
  /** '' on a first join. */
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  /** -1 (JoinGroup v0) means the session timeout. */
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  /** JoinGroup v4+: a first join gets MEMBER_ID_REQUIRED with its member id, and joins again with it. */
  requireKnownMemberId: boolean;
}

export interface JoinGroupResult {
  error: CoordinatorError;
  /** Why, for an error (logs, or the response's message where it has one). */
  message?: string;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  /** The leader's: every member with its metadata for the chosen protocol. Others: empty. */
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncGroupRequest {
  group: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** SyncGroup v5+; null when not sent. */
  protocolType: string | null;
  protocolName: string | null;
  /** The leader's assignments; empty from followers. */
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface SyncGroupResult {
  error: CoordinatorError;
  message?: string;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface HeartbeatRequest {
  group: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeaveGroupRequest {
  group: string;
  /** LeaveGroup v0-2 carry one member id: pass it as one member with groupInstanceId null. */
  members: { memberId: string; groupInstanceId: string | null }[];
}

export interface LeaveGroupResult {
  error: CoordinatorError;
  members: { memberId: string; groupInstanceId: string | null; error: CoordinatorError }[];
}

export interface OffsetCommitRequest {
  group: string;
  /** -1 with memberId '' from a consumer that does not use group management. */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** `metadata`: the client's string kept with the offset (null is kept as ''). */
  topics: {
    name: string;
    partitions: { partition: number; offset: number; metadata?: string | null }[];
  }[];
}

export interface OffsetCommitResult {
  message?: string;
  topics: { name: string; partitions: { partition: number; error: CoordinatorError }[] }[];
}

export interface OffsetFetchRequest {
  group: string;
  /** null: every partition the group has an offset for. */
  topics: { name: string; partitions: number[] }[] | null;
}

export interface OffsetFetchResult {
  error: CoordinatorError;
  message?: string;
  topics: {
    name: string;
    /** offset -1 and metadata '' where the group has none. */
    partitions: { partition: number; offset: number; metadata: string; error: CoordinatorError }[];
  }[];
}

export interface GroupSummary {
  error: CoordinatorError;
  message?: string;
  group: string;
  state: GroupState;
  protocolType: string;
  /** The chosen protocol (assignor) while Stable; '' otherwise. */
  protocolData: string;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    /** The member's metadata for the chosen protocol, and its assignment: while Stable only. */
    metadata: Buffer;
    assignment: Buffer;
  }[];
}

export interface ListGroupsResult {
  error: CoordinatorError;
  message?: string;
  groups: { group: string; protocolType: string; state: GroupState }[];
}

export interface FindCoordinatorResult {
  error: CoordinatorError;
  message?: string;
  nodeId: number;
  host: string;
  port: number;
}

/** setTimeout as the coordinator sees it, so tests drive time. */
export interface Timers {
  set(ms: number, run: () => void): unknown;
  clear(handle: unknown): void;
}

export const systemTimers: Timers = {
  set(ms, run) {
    const timer = setTimeout(run, Math.max(0, ms));
    timer.unref();
    return timer;
  },
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Every method answers with Kafka error names; storage faults answer COORDINATOR_NOT_AVAILABLE
 * (retriable). A failure that is not a StreamError (a bug) is thrown, for the listener to log and close
 * the connection.
 */
export interface GroupCoordinator {
  /** The live holder of the group's coordinator lease, taking it when it is free. */
  findCoordinator(group: string): Promise<FindCoordinatorResult>;
  /**
   * Another listener holding the group's lease now, without taking it: where group requests that
   * reach this one are forwarded. Undefined when this listener holds it, nobody does, or it is unknown.
   */
  coordinatorElsewhere(group: string): Promise<CoordinatorAddress | undefined>;
  /** Resolves when the join barrier completes (or at once with an error). */
  joinGroup(request: JoinGroupRequest): Promise<JoinGroupResult>;
  /** Resolves when the leader's assignments arrive (or at once with an error, or while Stable). */
  syncGroup(request: SyncGroupRequest): Promise<SyncGroupResult>;
  heartbeat(request: HeartbeatRequest): Promise<{ error: CoordinatorError; message?: string }>;
  leaveGroup(request: LeaveGroupRequest): Promise<LeaveGroupResult>;
  commitOffsets(request: OffsetCommitRequest): Promise<OffsetCommitResult>;
  fetchOffsets(request: OffsetFetchRequest): Promise<OffsetFetchResult>;
  describeGroup(group: string): Promise<GroupSummary>;
  /** Every group of the backend (HTTP ones too, protocol type "consumer"); `states` filters by state. */
  listGroups(states?: string[]): Promise<ListGroupsResult>;
  /** Each group deleted only while it has no members (NON_EMPTY_GROUP), as the HTTP delete. */
  deleteGroups(groups: string[]): Promise<{ group: string; error: CoordinatorError; message?: string }[]>;
  /** Answers every waiting request NOT_COORDINATOR, stops the timers and releases the leases. */
  close(): Promise<void>;
}

export interface GroupCoordinatorOptions {
  meta: MetaStore;
  clock: Clock;
  timers?: Timers;
  groups: GroupService;
  /** This gateway's advertised address, written on its leases. */
  self: CoordinatorAddress;
  leaseMs?: number;
  idleReleaseMs?: number;
}
