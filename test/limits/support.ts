/**
 * Builds the Lambda events API Gateway would send for a request (shapes of test/handlers/events), and
 * a router on the real services over the memory adapters.
 */
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import { isTextBody } from '../../lambdas/http/lambda-payload.ts';
import { createRouter, type Router } from '../../lambdas/http/router.ts';
import { createServices, type Services } from '../../lambdas/runtime/services.ts';

// biome-ignore lint/suspicious/noExplicitAny: event templates are plain JSON
type Json = any;

function template(name: string): Json {
  return JSON.parse(readFileSync(new URL(`../handlers/events/${name}.json`, import.meta.url), 'utf8'));
}

/** What the client sends: the raw target (path and query as written), headers and body bytes. */
export interface ClientRequest {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string>;
  body: Uint8Array;
  resource: string;
  pathParameters: Record<string, string>;
}

function eventBody(request: ClientRequest): { body: string | null; isBase64Encoded: boolean } {
  if (request.body.byteLength === 0) return { body: null, isBase64Encoded: false };
  if (isTextBody(request.headers['content-type'])) {
    // Invalid UTF-8 becomes U+FFFD, as any UTF-8 decoder writes it into a JSON string.
    return { body: new TextDecoder().decode(request.body), isBase64Encoded: false };
  }
  return { body: Buffer.from(request.body).toString('base64'), isBase64Encoded: true };
}

function decodedQuery(rawQuery: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(rawQuery))
    values.set(name, [...(values.get(name) ?? []), value]);
  return values;
}

const GATEWAY_HEADERS = ['x-amzn-trace-id', 'x-forwarded-for', 'x-forwarded-port', 'x-forwarded-proto'];

/** Payload format 2.0 (HTTP API). */
export function httpApiEvent(request: ClientRequest): Json {
  const event = template('fetch-binary');
  const added = Object.fromEntries(GATEWAY_HEADERS.map((name) => [name, event.headers[name]]));
  const query = decodedQuery(request.rawQuery);
  const { body, isBase64Encoded } = eventBody(request);
  return {
    ...event,
    routeKey: `${request.method} ${request.resource}`,
    rawPath: request.rawPath,
    rawQueryString: request.rawQuery,
    headers: { ...request.headers, ...added },
    ...(query.size > 0
      ? { queryStringParameters: Object.fromEntries([...query].map(([n, v]) => [n, v.join(',')])) }
      : { queryStringParameters: undefined }),
    requestContext: {
      ...event.requestContext,
      routeKey: `${request.method} ${request.resource}`,
      http: {
        ...event.requestContext.http,
        method: request.method,
        path: decodeURIComponent(request.rawPath),
      },
    },
    pathParameters: request.pathParameters,
    ...(body === null ? {} : { body }),
    isBase64Encoded,
  };
}

/** Payload format 1.0 (REST API, Lambda proxy). */
export function restApiEvent(request: ClientRequest): Json {
  const event = template('rest-fetch-binary');
  const added = Object.fromEntries(GATEWAY_HEADERS.map((name) => [name, event.headers[name]]));
  const headers = { ...request.headers, ...added };
  const query = decodedQuery(request.rawQuery);
  const { body, isBase64Encoded } = eventBody(request);
  return {
    ...event,
    resource: request.resource,
    path: request.rawPath,
    httpMethod: request.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([n, v]) => [n, [v]])),
    queryStringParameters:
      query.size > 0 ? Object.fromEntries([...query].map(([n, v]) => [n, v[v.length - 1]])) : null,
    multiValueQueryStringParameters: query.size > 0 ? Object.fromEntries(query) : null,
    pathParameters: request.pathParameters,
    requestContext: {
      ...event.requestContext,
      resourcePath: request.resource,
      httpMethod: request.method,
      path: `/${event.requestContext.stage}${request.rawPath}`,
    },
    body,
    isBase64Encoded,
  };
}

export const eventBytes = (event: Json): number => Buffer.byteLength(JSON.stringify(event));

/** The router's view of the client request (what the local server builds). */
/** The router's request for `request`, as the local server builds it. */
export function routerRequest(request: ClientRequest) {
  return {
    method: request.method,
    path: request.rawPath,
    query: new URLSearchParams(request.rawQuery),
    // As the transports hand it over (the local server, HTTP API events).
    rawQuery: request.rawQuery,
    headers: request.headers,
    body: request.body,
  };
}

export async function realRouter(): Promise<{ router: Router; services: Services }> {
  const services = createServices({
    meta: new MemoryMetaStore(),
    objects: new MemoryObjectStore(),
    close: async () => {},
  });
  const router = createRouter({ topics: services.topics, log: services.log, onInternalError: () => {} });
  return { router, services };
}
