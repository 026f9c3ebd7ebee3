/**
 * `streambed console --url <ApiUrl>` (DESIGN §15): the built web console on a local port, in front of
 * a deployed stack. The browser talks only to this server; its API calls are forwarded to the API
 * signed with SigV4 (service `execute-api`) from the user's AWS credentials, so no credential ever
 * reaches the browser, and the page never asks for a token.
 *
 * - `/console…`: the console's files (console-assets.ts, same headers and path rules), its page
 *   marked as served by this proxy.
 * - `/v1/…` and `/schema-registry…`: forwarded to the ApiUrl (its stage path, if any, kept in front),
 *   with the method, path, query, body, `Content-Type` and `Accept` and nothing else — no incoming
 *   `Authorization`, cookies or hop-by-hop headers. The body is read whole, up to API Gateway's 10 MB
 *   (node-server.ts answers 413 beyond), and signed as sent. The API's answer comes back as it is,
 *   status, headers and body, whatever it is (a 403 when the credentials are refused), less its
 *   cookies and hop-by-hop headers.
 * - Anything else: 404. An API that cannot be reached: 502 UNAVAILABLE; one that does not answer
 *   within API Gateway's own limit: 504 UNAVAILABLE, both in the API's error shape.
 */

import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { sigV4Signer } from '../../client/sigv4.ts';
import { LAMBDA_TIMEOUT_MS } from '../../client/wire/limits.ts';
import { errorResponse, HttpError, routeNotFound } from '../http/errors.ts';
import { type RunningHttpServer, startHttpServer } from '../http/node-server.ts';
import { SCHEMA_REGISTRY_PREFIX } from '../http/schema-routes.ts';
import type { HttpHandler, HttpRequest } from '../http/types.ts';
import { CONSOLE_PATH, createConsoleAssets, isConsolePath } from './console-assets.ts';

export interface ConsoleProxyOptions {
  /** The deployed API's base URL (the stack's ApiUrl output), with its stage path if it has one. */
  apiUrl: string;
  /** The Region the API is in, for the signature. */
  region: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The built console; default console/dist. */
  consoleDir?: string;
}

export interface ConsoleProxy {
  /** Where the console is: `http://host:port/console`. */
  consoleUrl: string;
  close(): Promise<void>;
}

/** Request headers the API is given; everything else the browser sent stays here. */
const FORWARDED_REQUEST_HEADERS = ['content-type', 'accept'] as const;

/**
 * Response headers the browser is not given: hop-by-hop ones (RFC 9110 §7.6.1), cookies, and the
 * framing fetch already undid (the body arrives decoded; this server sets its own length).
 */
const DROPPED_RESPONSE_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'set-cookie',
  'content-length',
  'content-encoding',
]);

/** How long the API may take: API Gateway's own limit, with a second of slack for the network. */
const UPSTREAM_TIMEOUT_MS = LAMBDA_TIMEOUT_MS + 1_000;

/** The paths the console calls: the HTTP API and the schema registry. */
export function isProxiedPath(path: string): boolean {
  return (
    path.startsWith('/v1/') ||
    path === SCHEMA_REGISTRY_PREFIX ||
    path.startsWith(`${SCHEMA_REGISTRY_PREFIX}/`)
  );
}

/** The API URL a proxied request goes to: the ApiUrl's path (a stage) in front of the request's. */
export function upstreamUrl(apiUrl: string, request: Pick<HttpRequest, 'path' | 'query' | 'rawQuery'>): URL {
  const base = new URL(apiUrl);
  const url = new URL(`${base.pathname.replace(/\/+$/, '')}${request.path}`, base.origin);
  url.search = request.rawQuery ?? request.query.toString();
  return url;
}

/** The handler behind `streambed console`: the console's files and the signed API calls. */
export function createConsoleProxyHandler(
  options: Pick<ConsoleProxyOptions, 'apiUrl' | 'region' | 'credentials' | 'consoleDir'>,
): HttpHandler {
  const assets = createConsoleAssets(options.consoleDir, { signingProxy: true });
  const sign = sigV4Signer({ region: options.region, credentials: options.credentials });
  const apiOrigin = new URL(options.apiUrl).origin;
  return async (request) => {
    if (isConsolePath(request.path)) return assets(request);
    if (!isProxiedPath(request.path)) return errorResponse(routeNotFound(request.method, request.path));
    const url = upstreamUrl(options.apiUrl, request);
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.headers[name];
      if (value !== undefined) headers[name] = value;
    }
    // GET and HEAD carry no body (fetch refuses one); any other method's is signed as it is sent.
    const bodyless = request.method === 'GET' || request.method === 'HEAD' || request.body.byteLength === 0;
    const body = bodyless ? undefined : request.body;
    let upstream: Response;
    try {
      const signed = await sign({ method: request.method, url, headers, body });
      upstream = await fetch(url, {
        method: request.method,
        headers: signed,
        ...(body === undefined ? {} : { body }),
        redirect: 'manual',
        signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
      });
    } catch (error) {
      return errorResponse(unreachable(apiOrigin, error));
    }
    let responseBody: Uint8Array;
    try {
      responseBody = new Uint8Array(await upstream.arrayBuffer());
    } catch (error) {
      return errorResponse(unreachable(apiOrigin, error));
    }
    const responseHeaders: Record<string, string> = {};
    const named = new Set((upstream.headers.get('connection') ?? '').toLowerCase().split(/\s*,\s*/));
    for (const [name, value] of upstream.headers) {
      if (!DROPPED_RESPONSE_HEADERS.has(name) && !named.has(name)) responseHeaders[name] = value;
    }
    return { status: upstream.status, headers: responseHeaders, body: responseBody };
  };
}

function unreachable(apiOrigin: string, error: unknown): HttpError {
  if (error instanceof DOMException && error.name === 'TimeoutError') {
    return new HttpError(
      504,
      'UNAVAILABLE',
      `the API at ${apiOrigin} did not answer within ${UPSTREAM_TIMEOUT_MS} ms; retry`,
    );
  }
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const why =
    typeof cause?.code === 'string' ? cause.code : error instanceof Error ? error.message : String(error);
  return new HttpError(502, 'UNAVAILABLE', `cannot reach the API at ${apiOrigin} (${why})`);
}

/** Starts the console's server; resolves once it listens. */
export async function startConsoleProxy(options: ConsoleProxyOptions): Promise<ConsoleProxy> {
  const server: RunningHttpServer = await startHttpServer({
    handler: createConsoleProxyHandler(options),
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    // The proxy's own bound sits above the upstream's, so a slow API gets the 504 said above.
    handlerTimeoutMs: UPSTREAM_TIMEOUT_MS + 1_000,
  });
  return { consoleUrl: `${server.url}${CONSOLE_PATH}`, close: () => server.close() };
}
