/**
 * The classic consumer group protocol (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
 * OffsetCommit, OffsetFetch) and the group admin APIs (DescribeGroups, ListGroups, DeleteGroups):
 * each one call to the group coordinator (coordinator.ts), which answers Kafka's error names. Group
 * requests for a group coordinated by another listener are forwarded before they get here
 * (forwarding.ts).
 */
import { controllerOf } from '../../core/listeners.ts';
import type { CoordinatorError } from '../coordinator.ts';
import { KafkaError } from '../errors.ts';
import { handler } from '../handler.ts';
import {
  DeleteGroups,
  DescribeGroups,
  FindCoordinator,
  Heartbeat,
  JoinGroup,
  LeaveGroup,
  ListGroups,
  OffsetCommit,
  OffsetFetch,
  SyncGroup,
} from '../protocol/messages.ts';

const code = (error: CoordinatorError): number => KafkaError[error];
/** Kafka's FindCoordinator key type of a consumer group (1 is a transactional id). */
const GROUP_KEY = 0;

export const findCoordinator = handler(FindCoordinator, async (request, context, { version }) => {
  const keys = version >= 4 ? request.coordinatorKeys : [request.key];
  const coordinators = await Promise.all(
    keys.map(async (key) => {
      if (request.keyType !== GROUP_KEY) {
        return {
          key,
          nodeId: -1,
          host: '',
          port: -1,
          errorCode: KafkaError.INVALID_REQUEST,
          errorMessage: 'only consumer groups have coordinators here: transactions are not supported',
        };
      }
      const found = await context.coordinator.findCoordinator(key);
      // Another listener at this one's address (one load balancer before both): a client told to go
      // there reaches any of them, so it is told to come here, where its requests are forwarded.
      const shared = found.host === context.self.host && found.port === context.self.port;
      return {
        key,
        nodeId: found.error === 'NONE' && shared ? context.self.nodeId : found.nodeId,
        host: found.host,
        port: found.port,
        errorCode: code(found.error),
        errorMessage: found.message ?? null,
      };
    }),
  );
  const first = coordinators[0];
  return {
    throttleTimeMs: 0,
    coordinators,
    errorCode: first?.errorCode ?? KafkaError.NONE,
    errorMessage: first?.errorMessage ?? null,
    nodeId: first?.nodeId ?? -1,
    host: first?.host ?? '',
    port: first?.port ?? -1,
  };
});

export const joinGroup = handler(JoinGroup, async (request, context, { version, connection }) => {
  const joined = await context.coordinator.joinGroup({
    group: request.groupId,
    memberId: request.memberId,
    groupInstanceId: request.groupInstanceId,
    clientId: connection.clientId ?? '',
    clientHost: `/${connection.remoteAddress.replace(/:\d+$/, '')}`,
    sessionTimeoutMs: request.sessionTimeoutMs,
    rebalanceTimeoutMs: request.rebalanceTimeoutMs,
    protocolType: request.protocolType,
    protocols: request.protocols.map(({ name, metadata }) => ({ name, metadata: Buffer.from(metadata) })),
    requireKnownMemberId: version >= 4,
  });
  return {
    throttleTimeMs: 0,
    errorCode: code(joined.error),
    generationId: joined.generationId,
    protocolType: joined.protocolType,
    protocolName: joined.protocolName ?? (version >= 7 ? null : ''),
    leader: joined.leader,
    memberId: joined.memberId,
    members: joined.members,
  };
});

export const syncGroup = handler(SyncGroup, async (request, context) => {
  const synced = await context.coordinator.syncGroup({
    group: request.groupId,
    generationId: request.generationId,
    memberId: request.memberId,
    groupInstanceId: request.groupInstanceId,
    protocolType: request.protocolType,
    protocolName: request.protocolName,
    assignments: request.assignments.map(({ memberId, assignment }) => ({
      memberId,
      assignment: Buffer.from(assignment),
    })),
  });
  return {
    throttleTimeMs: 0,
    errorCode: code(synced.error),
    protocolType: synced.protocolType,
    protocolName: synced.protocolName,
    assignment: synced.assignment,
  };
});

export const heartbeat = handler(Heartbeat, async (request, context) => {
  const { error } = await context.coordinator.heartbeat({
    group: request.groupId,
    generationId: request.generationId,
    memberId: request.memberId,
    groupInstanceId: request.groupInstanceId,
  });
  return { throttleTimeMs: 0, errorCode: code(error) };
});

export const leaveGroup = handler(LeaveGroup, async (request, context, { version }) => {
  const members =
    version >= 3
      ? request.members.map(({ memberId, groupInstanceId }) => ({ memberId, groupInstanceId }))
      : [{ memberId: request.memberId, groupInstanceId: null }];
  const left = await context.coordinator.leaveGroup({ group: request.groupId, members });
  return {
    throttleTimeMs: 0,
    errorCode: code(left.error),
    members: left.members.map(({ memberId, groupInstanceId, error }) => ({
      memberId,
      groupInstanceId,
      errorCode: code(error),
    })),
  };
});

export const offsetCommit = handler(OffsetCommit, async (request, context) => {
  const committed = await context.coordinator.commitOffsets({
    group: request.groupId,
    generationId: request.generationIdOrMemberEpoch,
    memberId: request.memberId,
    groupInstanceId: request.groupInstanceId,
    topics: request.topics.map(({ name, partitions }) => ({
      name,
      partitions: partitions.map(({ partitionIndex, committedOffset, committedMetadata }) => ({
        partition: partitionIndex,
        offset: committedOffset,
        metadata: committedMetadata,
      })),
    })),
  });
  return {
    throttleTimeMs: 0,
    topics: committed.topics.map(({ name, partitions }) => ({
      name,
      partitions: partitions.map(({ partition, error }) => ({
        partitionIndex: partition,
        errorCode: code(error),
      })),
    })),
  };
});

export const offsetFetch = handler(OffsetFetch, async (request, context, { version }) => {
  const asked = version >= 8 ? request.groups : [{ groupId: request.groupId, topics: request.topics }];
  const groups = await Promise.all(
    asked.map(async ({ groupId, topics }) => {
      const fetched = await context.coordinator.fetchOffsets({
        group: groupId,
        topics: topics?.map(({ name, partitionIndexes }) => ({ name, partitions: partitionIndexes })) ?? null,
      });
      return {
        groupId,
        errorCode: code(fetched.error),
        topics: fetched.topics.map(({ name, partitions }) => ({
          name,
          partitions: partitions.map(({ partition, offset, metadata, error }) => ({
            partitionIndex: partition,
            committedOffset: offset,
            metadata,
            errorCode: code(error),
          })),
        })),
      };
    }),
  );
  const first = groups[0];
  return {
    throttleTimeMs: 0,
    groups,
    topics: first?.topics ?? [],
    errorCode: first?.errorCode ?? KafkaError.NONE,
  };
});

export const describeGroups = handler(DescribeGroups, async (request, context) => ({
  throttleTimeMs: 0,
  groups: await Promise.all(
    request.groups.map(async (group) => {
      const described = await context.coordinator.describeGroup(group);
      return {
        errorCode: code(described.error),
        groupId: group,
        groupState: described.state,
        protocolType: described.protocolType,
        protocolData: described.protocolData,
        members: described.members.map((member) => ({
          memberId: member.memberId,
          groupInstanceId: member.groupInstanceId,
          clientId: member.clientId,
          clientHost: member.clientHost,
          memberMetadata: member.metadata,
          memberAssignment: member.assignment,
        })),
      };
    }),
  ),
}));

/**
 * Every group of the backend, answered by the controller alone: clients ask every broker and merge
 * the answers (KafkaJS, the Java AdminClient), so each group is listed once however many listeners
 * serve the backend.
 */
export const listGroups = handler(ListGroups, async (request, context) => {
  const brokers = await context.brokers();
  if ((controllerOf(brokers) ?? context.self.nodeId) !== context.self.nodeId)
    return { throttleTimeMs: 0, errorCode: KafkaError.NONE, groups: [] };
  const listed = await context.coordinator.listGroups(
    request.statesFilter.length > 0 ? request.statesFilter : undefined,
  );
  return {
    throttleTimeMs: 0,
    errorCode: code(listed.error),
    groups: listed.groups.map(({ group, protocolType, state }) => ({
      groupId: group,
      protocolType,
      groupState: state,
    })),
  };
});

export const deleteGroups = handler(DeleteGroups, async (request, context) => ({
  throttleTimeMs: 0,
  results: (await context.coordinator.deleteGroups(request.groupsNames)).map(({ group, error }) => ({
    groupId: group,
    errorCode: code(error),
  })),
}));
