/**
 * The whole HTTP API: the route tables the local server adds to the router's built-in `/v1` routes,
 * and the API document of all of them (openapi.ts), served at `GET /v1/openapi.json` by the local
 * server and the deployed admin function alike, and committed as docs/openapi.json
 * (`npm run docs:openapi`).
 *
 * The document is built from the same route tables the servers answer with; building it never calls
 * a service (a route's `doc` is data), so the tables are made with a service that throws if touched.
 */

import { MAX_LAMBDA_PAYLOAD_BYTES } from '../../client/wire/limits.ts';
import type { GroupService } from '../core/groups.ts';
import type { Janitor } from '../core/janitor.ts';
import type { SchemaRegistryService } from '../core/schemas.ts';
import type { SubscriptionService } from '../subscriptions/subscriptions.ts';
import { JSON_CONTENT_TYPE } from './errors.ts';
import { groupRoutes } from './groups-routes.ts';
import { janitorRoutes } from './janitor-routes.ts';
import { openApiDocument } from './openapi.ts';
import { type RouteTable, readQuery, v1Routes } from './router.ts';
import { schemaRegistryRoutes } from './schema-routes.ts';
import { openApiResponseSchema } from './schemas.ts';
import { subscriptionRoutes } from './subscription-routes.ts';

export const OPENAPI_PATH = '/v1/openapi.json';

export interface ApiServices {
  groups: GroupService;
  subscriptions: SubscriptionService;
  schemas: SchemaRegistryService;
  janitor: Pick<Janitor, 'lastRun'>;
}

/** Every route table beside the router's built-in `/v1` routes, in the order the router tries them. */
export function apiRouteTables(services: ApiServices): RouteTable[] {
  return [
    openApiRoutes(),
    janitorRoutes(services.janitor),
    groupRoutes(services.groups),
    subscriptionRoutes(services.subscriptions),
    schemaRegistryRoutes(services.schemas),
  ];
}

const NO_SERVICE = new Proxy(
  {},
  {
    get(_target, name) {
      throw new Error(`building the API document called a service (${String(name)})`);
    },
  },
) as never;

let documentText: string | undefined;

/** The API document as compact JSON text (docs/openapi.json holds it formatted); built once. */
export function openApiDocumentText(): string {
  documentText ??= JSON.stringify(
    openApiDocument([
      { prefix: '/v1', routes: v1Routes(NO_SERVICE, NO_SERVICE, MAX_LAMBDA_PAYLOAD_BYTES) },
      ...apiRouteTables({
        groups: NO_SERVICE,
        subscriptions: NO_SERVICE,
        schemas: NO_SERVICE,
        janitor: NO_SERVICE,
      }),
    ]),
  );
  return documentText;
}

/** `GET /v1/openapi.json`; authenticated like every route but health. */
export function openApiRoutes(): RouteTable {
  return {
    prefix: OPENAPI_PATH,
    routes: [
      {
        method: 'GET',
        path: OPENAPI_PATH,
        doc: {
          operationId: 'openApiDocument',
          summary: 'This document: the OpenAPI 3.1 description of the HTTP API',
          responses: {
            200: { description: 'The document.', content: { [JSON_CONTENT_TYPE]: openApiResponseSchema } },
          },
          errors: [400],
        },
        handle: async ({ request }) => {
          readQuery(request, []);
          return { status: 200, headers: { 'content-type': JSON_CONTENT_TYPE }, body: openApiDocumentText() };
        },
      },
    ],
  };
}
