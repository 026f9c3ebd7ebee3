/**
 * Consumer group routes (DESIGN §8), a route table for the shared router. Each route: parse and
 * validate at the edge, one call to the group service, shape the response.
 */
import * as z from 'zod';
import type { GroupService, ResetTarget } from '../core/groups.ts';
import { invalidRequest, JSON_CONTENT_TYPE, jsonResponse } from './errors.ts';
import { STORE_ERRORS, WRITE_ERRORS } from './openapi.ts';
import { type RouteTable, readJsonBody, readQuery } from './router.ts';
import {
  commitResponseSchema,
  groupDetailsResponseSchema,
  groupListResponseSchema,
  joinResponseSchema,
  membershipResponseSchema,
  parseWith,
  resetResponseSchema,
} from './schemas.ts';

const name = z.string({ error: 'must be a string' });
const nonNegativeInt = z
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(0, 'must be >= 0');

const joinSchema = z.strictObject(
  {
    topics: z.array(name, { error: 'must be an array of topic names' }),
    sessionTimeoutMs: nonNegativeInt.optional(),
    /** Chosen by the client and sent again on a retry: the join is then answered, not repeated. */
    memberId: name.optional(),
  },
  { error: 'must be a JSON object' },
);

const commitSchema = z.strictObject(
  {
    memberId: name,
    offsets: z.array(
      z.strictObject({
        topic: name,
        partition: nonNegativeInt,
        offset: nonNegativeInt,
        epoch: nonNegativeInt,
      }),
      { error: 'must be an array of {topic, partition, offset, epoch}' },
    ),
  },
  { error: 'must be a JSON object' },
);

export const resetSchema = z.strictObject(
  {
    topic: name,
    partitions: z.array(nonNegativeInt).optional(),
    to: z.enum(['earliest', 'latest', 'timestamp', 'offset'], {
      error: 'must be earliest, latest, timestamp or offset',
    }),
    timestamp: nonNegativeInt.optional(),
    offset: nonNegativeInt.optional(),
  },
  { error: 'must be a JSON object' },
);

function resetTarget(body: z.output<typeof resetSchema>): ResetTarget {
  if (body.to === 'timestamp') {
    if (body.timestamp === undefined) throw invalidRequest('timestamp: required when to is "timestamp"');
    return { to: 'timestamp', timestamp: body.timestamp };
  }
  if (body.to === 'offset') {
    if (body.offset === undefined) throw invalidRequest('offset: required when to is "offset"');
    return { to: 'offset', offset: body.offset };
  }
  return { to: body.to };
}

const param = (params: Readonly<Record<string, string>>, key: string): string => params[key] ?? '';

export function groupRoutes(groups: GroupService): RouteTable {
  return {
    prefix: '/v1/groups',
    routes: [
      {
        method: 'GET',
        path: '/v1/groups',
        doc: {
          operationId: 'listGroups',
          summary: 'List consumer group ids',
          responses: {
            200: {
              description: 'Every group’s id.',
              content: { [JSON_CONTENT_TYPE]: groupListResponseSchema },
            },
          },
          errors: [400, ...STORE_ERRORS],
        },
        handle: async ({ request }) => {
          readQuery(request, []);
          return jsonResponse(200, { groups: await groups.list() });
        },
      },
      {
        method: 'GET',
        path: '/v1/groups/{group}',
        doc: {
          operationId: 'describeGroup',
          summary: 'Describe a group: members, and per partition owner, committed offset and lag',
          responses: {
            200: { description: 'The group.', content: { [JSON_CONTENT_TYPE]: groupDetailsResponseSchema } },
          },
          errors: [400, ...STORE_ERRORS],
        },
        handle: async ({ request, params }) => {
          readQuery(request, []);
          return jsonResponse(200, await groups.describe(param(params, 'group')));
        },
      },
      {
        method: 'DELETE',
        path: '/v1/groups/{group}',
        doc: {
          operationId: 'deleteGroup',
          summary: 'Delete a group without live members: its committed offsets and its listing',
          responses: { 204: { description: 'The group is deleted (or was not there).' } },
          errors: [400, ...WRITE_ERRORS],
        },
        handle: async ({ request, params }) => {
          readQuery(request, []);
          await groups.deleteGroup(param(params, 'group'));
          return { status: 204, headers: {}, body: '' };
        },
      },
      {
        method: 'POST',
        path: '/v1/groups/{group}/members',
        doc: {
          operationId: 'joinGroup',
          summary: 'Join a group: become a member and receive partition leases',
          body: { [JSON_CONTENT_TYPE]: joinSchema },
          responses: {
            201: {
              description: 'The member and its assignments.',
              content: { [JSON_CONTENT_TYPE]: joinResponseSchema },
            },
          },
          errors: [400, 404, 415, ...WRITE_ERRORS],
        },
        handle: async ({ request, params }) => {
          readQuery(request, []);
          const body = parseWith(joinSchema, readJsonBody(request));
          const joined = await groups.join(param(params, 'group'), body);
          return jsonResponse(201, {
            memberId: joined.memberId,
            assignments: joined.assignments,
            revoked: joined.revoked,
          });
        },
      },
      {
        method: 'POST',
        path: '/v1/groups/{group}/members/{member}/heartbeat',
        doc: {
          operationId: 'heartbeat',
          summary: 'Renew a member’s leases; answers its assignments, taking and giving up partitions',
          responses: {
            200: {
              description: 'The member’s assignments.',
              content: { [JSON_CONTENT_TYPE]: membershipResponseSchema },
            },
          },
          errors: [400, 404, ...WRITE_ERRORS],
        },
        handle: async ({ request, params }) => {
          readQuery(request, []);
          return jsonResponse(200, await groups.heartbeat(param(params, 'group'), param(params, 'member')));
        },
      },
      {
        method: 'DELETE',
        path: '/v1/groups/{group}/members/{member}',
        doc: {
          operationId: 'leaveGroup',
          summary: 'Leave a group; the member’s leases are released',
          responses: { 204: { description: 'The member has left.' } },
          errors: [400, ...WRITE_ERRORS],
        },
        handle: async ({ request, params }) => {
          readQuery(request, []);
          await groups.leave(param(params, 'group'), param(params, 'member'));
          return { status: 204, headers: {}, body: '' };
        },
      },
      {
        method: 'POST',
        path: '/v1/groups/{group}/offsets',
        doc: {
          operationId: 'commitOffsets',
          summary: 'Commit offsets of leased partitions (409 LEASE_LOST when a lease moved on)',
          body: { [JSON_CONTENT_TYPE]: commitSchema },
          responses: {
            200: {
              description: 'How many offsets were committed.',
              content: { [JSON_CONTENT_TYPE]: commitResponseSchema },
            },
          },
          errors: [400, 404, 415, ...WRITE_ERRORS],
        },
        handle: async ({ request, params }) => {
          readQuery(request, []);
          const body = parseWith(commitSchema, readJsonBody(request));
          await groups.commit(param(params, 'group'), body.memberId, body.offsets);
          return jsonResponse(200, { committed: body.offsets.length });
        },
      },
      {
        method: 'POST',
        path: '/v1/groups/{group}/offsets/reset',
        doc: {
          operationId: 'resetOffsets',
          summary: 'Set a group’s committed offsets of a topic to earliest, latest, a timestamp or an offset',
          body: { [JSON_CONTENT_TYPE]: resetSchema },
          responses: {
            200: {
              description: 'The offsets now committed.',
              content: { [JSON_CONTENT_TYPE]: resetResponseSchema },
            },
          },
          errors: [400, 404, 415, ...WRITE_ERRORS],
        },
        handle: async ({ request, params }) => {
          readQuery(request, []);
          const body = parseWith(resetSchema, readJsonBody(request));
          const partitions = await groups.resetOffsets(
            param(params, 'group'),
            body.topic,
            resetTarget(body),
            body.partitions,
          );
          return jsonResponse(200, { partitions });
        },
      },
    ],
  };
}
