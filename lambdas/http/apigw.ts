/**
 * API Gateway ⇄ the router's HttpRequest / HttpResponse. Both API flavors the CDK stack can build
 * reach the same handlers: an HTTP API sends payload format 2.0 events, a REST API (the flavor
 * LocalStack's free edition serves) sends Lambda proxy events in payload format 1.0. The router's
 * contract (router.ts, types.ts) decides the shape: the path still percent-encoded, the query as
 * name/value pairs with repetitions kept, header names lower-cased, the body as bytes. The response is
 * the same for both (statusCode, headers, body, isBase64Encoded); binary responses go back
 * base64-encoded.
 *
 * Which fields, and why:
 * - 2.0: `rawPath` and `rawQueryString`. `requestContext.http.path` and `pathParameters` are decoded
 *   by API Gateway, and `queryStringParameters` joins repeated parameters with commas, hiding the
 *   repetition the router rejects. Note that HTTP APIs also decode the path before routing (live
 *   captures published with the hotsock/voker Lambda runtime, vokerhttp/testdata/ingress-paths.json:
 *   `/capture/slash%2Fvalue` arrives as rawPath `/capture/slash/value`, and `%25` is refused with 400),
 *   so an encoded `%2F` in a topic name reaches the function as a separator on AWS; rawPath is still
 *   the closest to what the client sent.
 * - 1.0: `path`, which REST APIs deliver still percent-encoded and without the stage (the same
 *   captures: `path` `/capture/space%20value` for that request, `requestContext.path`
 *   `/live/capture/space%20value` with the stage `live` in front). So an encoded `%2F` in a topic name
 *   stays inside its segment; `requestContext.path` has it too, but needs the stage (or a custom
 *   domain's base path) stripped, so `path` is read. The query comes from
 *   `multiValueQueryStringParameters` (already decoded, every repetition kept) and the headers from
 *   `multiValueHeaders` (repeated headers joined with `, `), falling back on the single-value maps
 *   when the multi-value ones are absent.
 */
import type {
  APIGatewayEventRequestContextV2,
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2WithRequestContext,
  APIGatewayProxyStructuredResultV2,
} from 'aws-lambda';
import type { HttpRequest, HttpResponse } from './types.ts';

/**
 * Any HTTP API v2 event: with IAM auth (`...WithIAMAuthorizer`), another authorizer, or none. The
 * adapter reads nothing from the authorizer: under IAM auth API Gateway has verified the SigV4
 * signature before Lambda runs, so the router is built without its own `auth`.
 */
export type HttpApiEvent = APIGatewayProxyEventV2WithRequestContext<APIGatewayEventRequestContextV2>;
/** A REST API Lambda proxy event (payload format 1.0); the same holds for its authorizer. */
export type RestApiEvent = APIGatewayProxyEvent;
export type ApiGatewayEvent = HttpApiEvent | RestApiEvent;
/** Both flavors take this shape back; REST APIs ignore `cookies`, which Streambed never sets. */
export type ApiGatewayResult = APIGatewayProxyStructuredResultV2;

/** True for a REST API (payload format 1.0) event: it has `httpMethod`, a 2.0 event has `routeKey`. */
export function isRestApiEvent(event: ApiGatewayEvent): event is RestApiEvent {
  return typeof (event as Partial<RestApiEvent>).httpMethod === 'string';
}

/** The route that matched, as `METHOD /path/{param}` in both flavors (for logs). */
export function routeKeyOf(event: ApiGatewayEvent): string {
  return isRestApiEvent(event) ? `${event.httpMethod} ${event.resource}` : event.routeKey;
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

/**
 * A named stage (not `$default`) is part of rawPath (`/prod/v1/topics`) but not of any route: strip it.
 * The CDK stack serves the API on `$default`, where nothing is stripped.
 */
function pathWithoutStage(rawPath: string, stage: string | undefined): string {
  if (stage === undefined || stage === '' || stage === '$default') return rawPath;
  const prefix = `/${stage}`;
  if (rawPath === prefix) return '/';
  return rawPath.startsWith(`${prefix}/`) ? rawPath.slice(prefix.length) : rawPath;
}

function requestBody(event: ApiGatewayEvent): Uint8Array {
  if (event.body === undefined || event.body === null || event.body === '') return EMPTY;
  if (!event.isBase64Encoded) return utf8.encode(event.body);
  const decoded = Buffer.from(event.body, 'base64');
  // A plain Uint8Array view (same memory): downstream code never has to care about Buffer semantics.
  return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
}

type HeaderValues = Record<string, string | readonly (string | undefined)[] | undefined>;

/** Names lower-cased; the values of one name (in any case mix) joined with `, `. */
function joinHeaders(...sources: (HeaderValues | null | undefined)[]): Record<string, string> {
  const values = new Map<string, string[]>();
  for (const source of sources) {
    for (const [name, value] of Object.entries(source ?? {})) {
      if (value === undefined) continue;
      const key = name.toLowerCase();
      const list = values.get(key) ?? [];
      for (const each of typeof value === 'string' ? [value] : value) if (each !== undefined) list.push(each);
      values.set(key, list);
    }
  }
  return Object.fromEntries([...values].map(([name, list]) => [name, list.join(', ')]));
}

function fromHttpApiEvent(event: HttpApiEvent): HttpRequest {
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: pathWithoutStage(event.rawPath, event.requestContext.stage),
    query: new URLSearchParams(event.rawQueryString ?? ''),
    rawQuery: event.rawQueryString ?? '',
    // HTTP APIs already join repeated headers with commas and move Cookie into `event.cookies`, which
    // no Streambed route reads. Names arrive lower-cased today; lower-casing again costs nothing.
    headers: joinHeaders(event.headers),
    body: requestBody(event),
  };
}

function fromRestApiEvent(event: RestApiEvent): HttpRequest {
  const query = new URLSearchParams();
  const multiQuery = event.multiValueQueryStringParameters;
  if (multiQuery) {
    for (const [name, values] of Object.entries(multiQuery)) {
      for (const value of values ?? []) query.append(name, value);
    }
  } else {
    for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
      if (value !== undefined) query.append(name, value);
    }
  }
  return {
    method: event.httpMethod.toUpperCase(),
    path: event.path,
    query,
    // REST APIs keep header names as the client sent them and list every repetition in
    // multiValueHeaders (headers holds only the last value of each).
    headers: event.multiValueHeaders ? joinHeaders(event.multiValueHeaders) : joinHeaders(event.headers),
    body: requestBody(event),
  };
}

/** The event as the router's request. Never throws: whatever is wrong with it is the router's 400. */
export function fromApiGatewayEvent(event: ApiGatewayEvent): HttpRequest {
  return isRestApiEvent(event) ? fromRestApiEvent(event) : fromHttpApiEvent(event);
}

function toResult(response: HttpResponse): ApiGatewayResult {
  try {
    return encodeResult(response);
  } finally {
    response.release?.();
  }
}

function encodeResult(response: HttpResponse): ApiGatewayResult {
  if (typeof response.body === 'string') {
    return { statusCode: response.status, headers: { ...response.headers }, body: response.body };
  }
  const bytes = response.body;
  if (response.textBytes === true) {
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    return { statusCode: response.status, headers: { ...response.headers }, body };
  }
  return {
    statusCode: response.status,
    headers: { ...response.headers },
    body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
    isBase64Encoded: true,
  };
}

/**
 * The router's response as the result Lambda returns. It always fits Lambda's response bound: the
 * router measures every response (lambda-payload.ts) and answers one that would not fit with a clean
 * 500 itself, so nothing here measures it again.
 */
export function toApiGatewayResult(response: HttpResponse): ApiGatewayResult {
  return toResult(response);
}

/** Bytes of a result's body as the client receives them (base64 decoded), for logs and metrics. */
export function resultBodyBytes(result: ApiGatewayResult): number {
  const body = result.body ?? '';
  return Buffer.byteLength(body, result.isBase64Encoded ? 'base64' : 'utf8');
}
