/**
 * Consumer group routes (DESIGN §8), a route table for the shared router. Each route: parse and
 * validate at the edge, one call to the group service, shape the response.
 */
import * as z from 'zod';
import type { GroupService, ResetTarget } from '../core/groups.ts';
import { invalidRequest, jsonResponse } from './errors.ts';
import { type RouteTable, readJsonBody, readQuery } from './router.ts';
import { parseWith } from './schemas.ts';

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

const resetSchema = z.strictObject(
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
        handle: async ({ request }) => {
          readQuery(request, []);
          return jsonResponse(200, { groups: await groups.list() });
        },
      },
      {
        method: 'GET',
        path: '/v1/groups/{group}',
        handle: async ({ request, params }) => {
          readQuery(request, []);
          return jsonResponse(200, await groups.describe(param(params, 'group')));
        },
      },
      {
        method: 'DELETE',
        path: '/v1/groups/{group}',
        handle: async ({ request, params }) => {
          readQuery(request, []);
          await groups.deleteGroup(param(params, 'group'));
          return { status: 204, headers: {}, body: '' };
        },
      },
      {
        method: 'POST',
        path: '/v1/groups/{group}/members',
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
        handle: async ({ request, params }) => {
          readQuery(request, []);
          return jsonResponse(200, await groups.heartbeat(param(params, 'group'), param(params, 'member')));
        },
      },
      {
        method: 'DELETE',
        path: '/v1/groups/{group}/members/{member}',
        handle: async ({ request, params }) => {
          readQuery(request, []);
          await groups.leave(param(params, 'group'), param(params, 'member'));
          return { status: 204, headers: {}, body: '' };
        },
      },
      {
        method: 'POST',
        path: '/v1/groups/{group}/offsets',
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
