/**
 * The schema registry function. API Gateway routes `/schema-registry` and everything below it here.
 */
import { schemaRegistryRoutes } from '../http/schema-routes.ts';
import { createHttpLambda } from './http-handler.ts';

export const handler = createHttpLambda('schemas', {
  routeTables: (services) => [schemaRegistryRoutes(services.schemas)],
});
