/**
 * The subscriptions function. API Gateway routes `GET|POST /v1/subscriptions` and
 * `GET|PATCH|DELETE /v1/subscriptions/{subscription}` here.
 */
import { subscriptionRoutes } from '../http/subscription-routes.ts';
import { createHttpLambda } from './http-handler.ts';

export const handler = createHttpLambda('subscriptions', {
  routeTables: (services) => [subscriptionRoutes(services.subscriptions)],
});
