/** Every API handler the listener serves; ApiVersions advertises exactly these. */
import type { Handler } from '../handler.ts';
import { apiVersions } from './api-versions.ts';
import { alterConfigs, describeConfigs } from './configs.ts';
import { deleteRecords } from './delete-records.ts';
import { fetch } from './fetch.ts';
import {
  deleteGroups,
  describeGroups,
  findCoordinator,
  heartbeat,
  joinGroup,
  leaveGroup,
  listGroups,
  offsetCommit,
  offsetFetch,
  syncGroup,
} from './groups.ts';
import { initProducerId } from './init-producer-id.ts';
import { listOffsets } from './list-offsets.ts';
import { metadata } from './metadata.ts';
import { produce } from './produce.ts';
import { saslAuthenticate, saslHandshake } from './sasl.ts';
import { createPartitions, createTopics, deleteTopics } from './topics.ts';

export const HANDLERS: readonly Handler[] = [
  apiVersions,
  metadata,
  produce,
  fetch,
  listOffsets,
  initProducerId,
  createTopics,
  deleteTopics,
  createPartitions,
  deleteRecords,
  describeConfigs,
  alterConfigs,
  saslHandshake,
  saslAuthenticate,
  findCoordinator,
  joinGroup,
  syncGroup,
  heartbeat,
  leaveGroup,
  offsetCommit,
  offsetFetch,
  describeGroups,
  listGroups,
  deleteGroups,
] as readonly Handler[];
