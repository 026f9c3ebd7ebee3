/**
 * Subscription routes (DESIGN §12), a route table for the shared router. The subscription service
 * validates every body itself (INVALID_REQUEST naming the field, nothing written), so a route only
 * reads the JSON, makes one call and shapes the response.
 */
import type { SubscriptionService } from '../subscriptions/subscriptions.ts';
import { JSON_CONTENT_TYPE, jsonResponse } from './errors.ts';
import { STORE_ERRORS, WRITE_ERRORS } from './openapi.ts';
import { type RouteTable, readJsonBody, readQuery } from './router.ts';
import {
  changeSubscriptionSchema,
  createSubscriptionSchema,
  subscriptionDetailsResponseSchema,
  subscriptionListResponseSchema,
  subscriptionResponseSchema,
} from './schemas.ts';

const param = (params: Readonly<Record<string, string>>): string => params.subscription ?? '';

export function subscriptionRoutes(subscriptions: SubscriptionService): RouteTable {
  return {
    prefix: '/v1/subscriptions',
    routes: [
      {
        method: 'POST',
        path: '/v1/subscriptions',
        doc: {
          operationId: 'createSubscription',
          summary: 'Create a subscription: deliver a topic’s records to a function or a webhook',
          body: { [JSON_CONTENT_TYPE]: createSubscriptionSchema },
          responses: {
            201: {
              description: 'The subscription.',
              content: { [JSON_CONTENT_TYPE]: subscriptionResponseSchema },
            },
          },
          errors: [400, 404, 415, ...WRITE_ERRORS],
        },
        handle: async ({ request }) => {
          readQuery(request, []);
          return jsonResponse(201, await subscriptions.create(readJsonBody(request)));
        },
      },
      {
        method: 'GET',
        path: '/v1/subscriptions',
        doc: {
          operationId: 'listSubscriptions',
          summary: 'List subscriptions',
          responses: {
            200: {
              description: 'Every subscription.',
              content: { [JSON_CONTENT_TYPE]: subscriptionListResponseSchema },
            },
          },
          errors: [400, ...STORE_ERRORS],
        },
        handle: async ({ request }) => {
          readQuery(request, []);
          return jsonResponse(200, { subscriptions: await subscriptions.list() });
        },
      },
      {
        method: 'GET',
        path: '/v1/subscriptions/{subscription}',
        doc: {
          operationId: 'describeSubscription',
          summary: 'Describe a subscription: its configuration and per partition position, lag and errors',
          responses: {
            200: {
              description: 'The subscription.',
              content: { [JSON_CONTENT_TYPE]: subscriptionDetailsResponseSchema },
            },
          },
          errors: [400, 404, ...STORE_ERRORS],
        },
        handle: async ({ request, params }) => {
          readQuery(request, []);
          return jsonResponse(200, await subscriptions.describe(param(params)));
        },
      },
      {
        method: 'PATCH',
        path: '/v1/subscriptions/{subscription}',
        doc: {
          operationId: 'alterSubscription',
          summary: 'Enable or disable a subscription, or change its batching and retries',
          body: { [JSON_CONTENT_TYPE]: changeSubscriptionSchema },
          responses: {
            200: {
              description: 'The subscription, changed.',
              content: { [JSON_CONTENT_TYPE]: subscriptionResponseSchema },
            },
          },
          errors: [400, 404, 415, ...WRITE_ERRORS],
        },
        handle: async ({ request, params }) => {
          readQuery(request, []);
          return jsonResponse(200, await subscriptions.update(param(params), readJsonBody(request)));
        },
      },
      {
        method: 'DELETE',
        path: '/v1/subscriptions/{subscription}',
        doc: {
          operationId: 'deleteSubscription',
          summary: 'Delete a subscription and its consumer group',
          responses: { 204: { description: 'The subscription is deleted.' } },
          errors: [400, 404, ...WRITE_ERRORS],
        },
        handle: async ({ request, params }) => {
          readQuery(request, []);
          await subscriptions.delete(param(params));
          return { status: 204, headers: {}, body: '' };
        },
      },
    ],
  };
}
