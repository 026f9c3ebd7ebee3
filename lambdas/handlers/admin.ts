/**
 * The admin function. API Gateway routes `GET /v1/health`, `GET /v1/openapi.json`, `GET /v1/janitor`,
 * `GET|POST /v1/topics`, `GET|PATCH|DELETE /v1/topics/{topic}` and
 * `POST /v1/topics/{topic}/records/delete` here.
 */
import { openApiRoutes } from '../http/api-routes.ts';
import { janitorRoutes } from '../http/janitor-routes.ts';
import { createHttpLambda } from './http-handler.ts';

export const handler = createHttpLambda('admin', {
  routeTables: (services) => [openApiRoutes(), janitorRoutes(services.janitor)],
});
