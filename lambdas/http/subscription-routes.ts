/**
 * Subscription routes (DESIGN §12), a route table for the shared router. The subscription service
 * validates every body itself (INVALID_REQUEST naming the field, nothing written), so a route only
 * reads the JSON, makes one call and shapes the response.
 */
import type { SubscriptionService } from '../subscriptions/subscriptions.ts';
import { jsonResponse } from './errors.ts';
import { type RouteTable, readJsonBody, readQuery } from './router.ts';

const param = (params: Readonly<Record<string, string>>): string => params.subscription ?? '';

export function subscriptionRoutes(subscriptions: SubscriptionService): RouteTable {
  return {
    prefix: '/v1/subscriptions',
    routes: [
      {
        method: 'POST',
        path: '/v1/subscriptions',
        handle: async ({ request }) => {
          readQuery(request, []);
          return jsonResponse(201, await subscriptions.create(readJsonBody(request)));
        },
      },
      {
        method: 'GET',
        path: '/v1/subscriptions',
        handle: async ({ request }) => {
          readQuery(request, []);
          return jsonResponse(200, { subscriptions: await subscriptions.list() });
        },
      },
      {
        method: 'GET',
        path: '/v1/subscriptions/{subscription}',
        handle: async ({ request, params }) => {
          readQuery(request, []);
          return jsonResponse(200, await subscriptions.describe(param(params)));
        },
      },
      {
        method: 'PATCH',
        path: '/v1/subscriptions/{subscription}',
        handle: async ({ request, params }) => {
          readQuery(request, []);
          return jsonResponse(200, await subscriptions.update(param(params), readJsonBody(request)));
        },
      },
      {
        method: 'DELETE',
        path: '/v1/subscriptions/{subscription}',
        handle: async ({ request, params }) => {
          readQuery(request, []);
          await subscriptions.delete(param(params));
          return { status: 204, headers: {}, body: '' };
        },
      },
    ],
  };
}
