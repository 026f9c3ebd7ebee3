/**
 * API Gateway HTTP API (payload format 2.0) ⇄ the router's HttpRequest / HttpResponse. The router's
 * contract (router.ts, types.ts) decides the shape: the path still percent-encoded, the query from the
 * raw string, header names lower-cased, the body as bytes; binary responses go back base64-encoded.
 *
 * Why the raw fields: API Gateway also sends `requestContext.http.path` and `pathParameters`, but those
 * are already percent-decoded, so an encoded `%2F` inside a topic name would become a path separator;
 * and `queryStringParameters` joins repeated parameters with commas, hiding the repetition the router
 * rejects. `rawPath` and `rawQueryString` are what the client sent.
 */
import type {
  APIGatewayEventRequestContextV2,
  APIGatewayProxyEventV2WithRequestContext,
  APIGatewayProxyStructuredResultV2,
} from 'aws-lambda';
import { StreamError } from '../core/errors.ts';
import { errorResponse } from './errors.ts';
import { oversizedResponseBytes } from './lambda-payload.ts';
import type { HttpRequest, HttpResponse } from './types.ts';

/**
 * Any HTTP API v2 event: with IAM auth (`...WithIAMAuthorizer`), another authorizer, or none. The
 * adapter reads nothing from the authorizer: under IAM auth API Gateway has verified the SigV4
 * signature before Lambda runs, so the router is built without its own `auth`.
 */
export type ApiGatewayEvent = APIGatewayProxyEventV2WithRequestContext<APIGatewayEventRequestContextV2>;
export type ApiGatewayResult = APIGatewayProxyStructuredResultV2;

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
  if (event.body === undefined || event.body === '') return EMPTY;
  if (!event.isBase64Encoded) return utf8.encode(event.body);
  const decoded = Buffer.from(event.body, 'base64');
  // A plain Uint8Array view (same memory): downstream code never has to care about Buffer semantics.
  return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
}

/** The event as the router's request. Never throws: whatever is wrong with it is the router's 400. */
export function fromApiGatewayEvent(event: ApiGatewayEvent): HttpRequest {
  const headers: Record<string, string> = {};
  // HTTP APIs already join repeated headers with commas and move Cookie into `event.cookies`, which
  // no Streambed route reads. Names arrive lower-cased today; lower-casing again costs nothing.
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: pathWithoutStage(event.rawPath, event.requestContext.stage),
    query: new URLSearchParams(event.rawQueryString ?? ''),
    headers,
    body: requestBody(event),
  };
}

function toResult(response: HttpResponse): ApiGatewayResult {
  if (typeof response.body === 'string') {
    return { statusCode: response.status, headers: { ...response.headers }, body: response.body };
  }
  const bytes = response.body;
  return {
    statusCode: response.status,
    headers: { ...response.headers },
    body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
    isBase64Encoded: true,
  };
}

/**
 * The router's response as an HTTP API result. A response Lambda could not return (its result document
 * over MAX_LAMBDA_PAYLOAD_BYTES, measured by lambda-payload.ts like every other bound) becomes a clean
 * 500 in the Streambed error shape instead of API Gateway's bare 502; the caller learns about it
 * through `onOversized` to log it. The router already refuses such responses itself: this is the last
 * resort for anything answered outside it.
 */
export function toApiGatewayResult(
  response: HttpResponse,
  onOversized?: (payloadBytes: number) => void,
): ApiGatewayResult {
  const payloadBytes = oversizedResponseBytes(response);
  if (payloadBytes === undefined) return toResult(response);
  onOversized?.(payloadBytes);
  return toResult(
    errorResponse(
      new StreamError('INTERNAL', `response of ${payloadBytes} bytes exceeds the Lambda response limit`),
    ),
  );
}

/** Bytes of a result's body as the client receives them (base64 decoded), for logs and metrics. */
export function resultBodyBytes(result: ApiGatewayResult): number {
  const body = result.body ?? '';
  return Buffer.byteLength(body, result.isBase64Encoded ? 'base64' : 'utf8');
}
