/**
 * The consumer groups function. API Gateway routes `/v1/groups` and everything below it here.
 */
import { groupRoutes } from '../http/groups-routes.ts';
import { createHttpLambda } from './http-handler.ts';

export const handler = createHttpLambda('groups', {
  routeTables: (services) => [groupRoutes(services.groups)],
});
