/**
 * API Gateway for the offline stack: an HTTP server that serves the template's API the way the
 * deployed one does, for both flavors the construct makes.
 *
 * - **HTTP API** (payload format 2.0): `$default` stage, routes matched by API Gateway's priority (a
 *   literal segment beats a `{param}`, which beats `{proxy+}`; a method beats `ANY`), unmatched paths
 *   404 `{"message":"Not Found"}`.
 * - **REST API** (Lambda proxy, payload format 1.0): the stage is the first path segment, unmatched
 *   paths answer 403 `{"message":"Missing Authentication Token"}`, bodies whose Content-Type is in
 *   `binaryMediaTypes` reach the function as base64, and a base64 response is decoded only when the
 *   request's first Accept type is a binary media type.
 *
 * Both: request bodies over 10 MB are refused (413); a route with `AWS_IAM` authorization checks the
 * SigV4 signature (service `execute-api`) against the offline callers' secrets and then the caller's
 * identity policy for `execute-api:Invoke` on `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH`;
 * the function runs only if the template lets API Gateway invoke it (an `AWS::Lambda::Permission`);
 * Lambda's payload limits, timeout and function errors surface as API Gateway surfaces them.
 *
 * Not emulated (docs/deploy.md lists it too): throttling (stage and route limits), JWT authorizers,
 * CORS, custom domains, access logs, and the exact wording of API Gateway's error bodies beyond the
 * ones above.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { MAX_EDGE_BODY_BYTES } from '../../client/wire/limits.ts';
import { isAllowed } from './iam.ts';
import type { Invocation, LambdaHost } from './lambda-host.ts';
import type { ApiSpec, Environment, FunctionSpec, PolicyStatement, RouteSpec } from './template.ts';

/** How long a SigV4 signature stays valid either side of now. */
const SIGNATURE_SKEW_MS = 15 * 60 * 1000;

export interface ApiCaller {
  accessKeyId: string;
  secretAccessKey: string;
  /** `arn:aws:iam::ACCOUNT:user/NAME`. */
  arn: string;
  /** The caller's identity policy. */
  statements: readonly PolicyStatement[];
}

export interface ApiFrontOptions {
  api: ApiSpec;
  environment: Environment;
  functions: ReadonlyMap<string, FunctionSpec>;
  /** Functions an AWS::Lambda::Permission lets API Gateway invoke. */
  invokable: ReadonlySet<string>;
  host: LambdaHost;
  callers: readonly ApiCaller[];
  /** Content types whose bodies an HTTP API hands to the function as text (the rest as base64). */
  isTextContentType(contentType: string | undefined): boolean;
  port?: number;
}

export interface RunningApiFront {
  /** The API's base URL, stage included for REST APIs, ending with `/`. */
  url: string;
  close(): Promise<void>;
}

interface GatewayAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const gatewayError = (status: number, message: string): GatewayAnswer => ({
  status,
  headers: { 'content-type': 'application/json', 'x-amzn-errortype': message.replace(/\s/g, '') },
  body: Buffer.from(JSON.stringify({ message })),
});

// ---------------------------------------------------------------------------------------------------
// Routing

interface Match {
  route: RouteSpec;
  parameters: Record<string, string>;
}

/** Lower is more specific: literals beat parameters, parameters beat a greedy tail, methods beat ANY. */
function specificity(route: RouteSpec): number[] {
  const segments = route.path.split('/').slice(1);
  return [
    segments.some((segment) => segment.endsWith('+}')) ? 1 : 0,
    segments.filter((segment) => segment.startsWith('{')).length,
    -segments.length,
    route.method === 'ANY' ? 1 : 0,
  ];
}

function matchRoute(
  routes: readonly RouteSpec[],
  method: string,
  path: string,
  decode: (segment: string) => string,
): Match | undefined {
  const segments = path.split('/').slice(1);
  const candidates: Match[] = [];
  for (const route of routes) {
    if (route.method !== method && route.method !== 'ANY') continue;
    const pattern = route.path === '/' ? [] : route.path.split('/').slice(1);
    const parameters: Record<string, string> = {};
    let matched = true;
    for (let i = 0; i < pattern.length; i += 1) {
      const part = pattern[i] as string;
      const actual = segments[i];
      if (part.endsWith('+}')) {
        const rest = segments.slice(i);
        if (rest.length === 0 || rest.join('/') === '') matched = false;
        else parameters[part.slice(1, -2)] = rest.map(decode).join('/');
        i = pattern.length;
        break;
      }
      if (actual === undefined || actual === '') {
        matched = false;
        break;
      }
      if (part.startsWith('{')) parameters[part.slice(1, -1)] = decode(actual);
      else if (part !== actual) {
        matched = false;
        break;
      }
    }
    const greedy = pattern.some((part) => part.endsWith('+}'));
    if (matched && (greedy || pattern.length === segments.length)) candidates.push({ route, parameters });
  }
  candidates.sort((a, b) => {
    const [x, y] = [specificity(a.route), specificity(b.route)];
    for (let i = 0; i < x.length; i += 1) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
    return 0;
  });
  return candidates[0];
}

/**
 * The path an HTTP API routes on and hands to the function (`rawPath`): percent-decoded twice, cut at
 * a `?` the first decoding produced, refused when the second decoding fails. That is what live HTTP
 * APIs were observed to do (captures published with the hotsock/voker Lambda runtime,
 * vokerhttp/testdata/ingress-paths.json): `/a%2Fb` arrives as `/a/b`, `/a%252Fb` too, `/a%3Fb` as
 * `/a`, and `/a%25b` is refused with 400. REST APIs route on the path as sent and pass it still
 * encoded.
 */
export function httpApiPath(sent: string): string | undefined {
  try {
    const once = decodeURIComponent(sent).split('?')[0] ?? '';
    return decodeURIComponent(once);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// SigV4

interface SignedBy {
  caller: ApiCaller;
}

function parseAuthorization(header: string | undefined) {
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      header ?? '',
    );
  if (match === null) return undefined;
  return {
    accessKeyId: match[1] as string,
    region: match[3] as string,
    service: match[4] as string,
    signedHeaders: (match[5] as string).split(';'),
    signature: match[6] as string,
  };
}

async function verifySignature(
  request: IncomingMessage,
  rawPath: string,
  query: URLSearchParams,
  body: Buffer,
  callers: readonly ApiCaller[],
  region: string,
): Promise<SignedBy | GatewayAnswer> {
  const parsed = parseAuthorization(request.headers.authorization);
  if (parsed === undefined) return gatewayError(403, 'Forbidden');
  const caller = callers.find((each) => each.accessKeyId === parsed.accessKeyId);
  if (caller === undefined)
    return gatewayError(403, 'The security token included in the request is invalid.');
  if (parsed.service !== 'execute-api' || parsed.region !== region) {
    return gatewayError(
      403,
      `Credential should be scoped to a valid region and service execute-api (got ${parsed.region}/${parsed.service}).`,
    );
  }
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  const dateMatch = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (dateMatch === null) return gatewayError(403, 'Forbidden');
  const [, y, mo, d, h, mi, s] = dateMatch;
  const signingDate = new Date(
    Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)),
  );
  if (Math.abs(Date.now() - signingDate.getTime()) > SIGNATURE_SKEW_MS) {
    return gatewayError(403, 'Signature expired');
  }
  const headers: Record<string, string> = {};
  for (const name of parsed.signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) return gatewayError(403, 'Forbidden');
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const queryObject: Record<string, string> = {};
  for (const [name, value] of query) queryObject[name] = value;
  const signer = new SignatureV4({
    credentials: { accessKeyId: caller.accessKeyId, secretAccessKey: caller.secretAccessKey },
    region,
    service: 'execute-api',
    sha256: Sha256,
  });
  const [hostname = '', port] = (headers.host ?? '').split(':');
  const resigned = await signer.sign(
    {
      method: request.method ?? 'GET',
      protocol: 'https:',
      hostname,
      ...(port === undefined ? {} : { port: Number(port) }),
      path: rawPath,
      query: queryObject,
      headers,
      body: body.byteLength === 0 ? undefined : new Uint8Array(body),
    },
    { signingDate },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(resigned.headers.authorization))?.[1];
  if (expected !== parsed.signature) {
    return gatewayError(
      403,
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
  return { caller };
}

// ---------------------------------------------------------------------------------------------------
// Events and results

function matchesMediaType(patterns: readonly string[], contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === '') return false;
  return patterns.some((pattern) => {
    const [pMain, pSub] = pattern.toLowerCase().split('/');
    const [tMain, tSub] = type.split('/');
    return (pMain === '*' || pMain === tMain) && (pSub === '*' || pSub === tSub);
  });
}

interface IncomingCall {
  request: IncomingMessage;
  method: string;
  /** Path after the stage, still percent-encoded. */
  path: string;
  /** The path API Gateway routes on: an HTTP API's decoded one (httpApiPath), a REST API's as sent. */
  routedPath: string;
  rawQuery: string;
  body: Buffer;
  match: Match;
  caller: ApiCaller | undefined;
  requestId: string;
}

function singleHeaders(request: IncomingMessage, lowerCase: boolean): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i] as string;
    const key = lowerCase ? name.toLowerCase() : name;
    const value = request.rawHeaders[i + 1] as string;
    headers[key] = headers[key] === undefined ? value : `${headers[key]},${value}`;
  }
  return headers;
}

function identity(call: IncomingCall, environment: Environment) {
  return call.caller === undefined
    ? undefined
    : {
        accessKey: call.caller.accessKeyId,
        accountId: environment.accountId,
        callerId: call.caller.accessKeyId,
        principalOrgId: null,
        userArn: call.caller.arn,
        userId: call.caller.accessKeyId,
      };
}

function httpApiEvent(call: IncomingCall, options: ApiFrontOptions): Record<string, unknown> {
  const { request, match } = call;
  const headers = singleHeaders(request, true);
  const text = call.body.byteLength === 0 || options.isTextContentType(headers['content-type']);
  const queryStringParameters: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(call.rawQuery)) {
    queryStringParameters[name] =
      queryStringParameters[name] === undefined ? value : `${queryStringParameters[name]},${value}`;
  }
  const routeKey = `${match.route.method} ${match.route.path}`;
  const now = Date.now();
  const iam = identity(call, options.environment);
  return {
    version: '2.0',
    routeKey,
    rawPath: call.routedPath,
    rawQueryString: call.rawQuery,
    headers,
    ...(Object.keys(queryStringParameters).length > 0 ? { queryStringParameters } : {}),
    ...(Object.keys(match.parameters).length > 0 ? { pathParameters: match.parameters } : {}),
    requestContext: {
      accountId: options.environment.accountId,
      apiId: options.api.id,
      ...(iam === undefined ? {} : { authorizer: { iam } }),
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0],
      http: {
        method: call.method,
        path: call.routedPath,
        protocol: 'HTTP/1.1',
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: call.requestId,
      routeKey,
      stage: options.api.stage,
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    ...(call.body.byteLength === 0
      ? {}
      : { body: text ? call.body.toString('utf8') : call.body.toString('base64') }),
    isBase64Encoded: !text,
  };
}

function restApiEvent(call: IncomingCall, options: ApiFrontOptions): Record<string, unknown> {
  const { request, match } = call;
  const headers = singleHeaders(request, false);
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i] as string;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), request.rawHeaders[i + 1] as string];
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(call.rawQuery)) {
    query[name] = value;
    multiQuery[name] = [...(multiQuery[name] ?? []), value];
  }
  const contentType = request.headers['content-type'];
  const binary = call.body.byteLength > 0 && matchesMediaType(options.api.binaryMediaTypes, contentType);
  const iam = identity(call, options.environment);
  const hasQuery = Object.keys(query).length > 0;
  return {
    resource: match.route.path,
    path: call.path,
    httpMethod: call.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: Object.keys(match.parameters).length > 0 ? match.parameters : null,
    stageVariables: null,
    requestContext: {
      accountId: options.environment.accountId,
      apiId: options.api.id,
      resourcePath: match.route.path,
      httpMethod: call.method,
      path: `/${options.api.stage}${call.path}`,
      stage: options.api.stage,
      requestId: call.requestId,
      requestTimeEpoch: Date.now(),
      protocol: 'HTTP/1.1',
      identity: {
        accessKey: iam?.accessKey ?? null,
        accountId: iam?.accountId ?? null,
        caller: iam?.callerId ?? null,
        user: iam?.userId ?? null,
        userArn: iam?.userArn ?? null,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['User-Agent'] ?? headers['user-agent'] ?? '',
      },
      domainName: request.headers.host ?? 'localhost',
    },
    body:
      call.body.byteLength === 0 ? null : binary ? call.body.toString('base64') : call.body.toString('utf8'),
    isBase64Encoded: binary,
  };
}

/** The function's result as the client receives it; an unusable result is API Gateway's 500/502. */
function toAnswer(invocation: Invocation, call: IncomingCall, options: ApiFrontOptions): GatewayAnswer {
  const rest = options.api.kind === 'rest';
  const failed = rest
    ? gatewayError(502, 'Internal server error')
    : gatewayError(500, 'Internal Server Error');
  switch (invocation.kind) {
    case 'request-too-large':
      return gatewayError(413, 'Request Entity Too Large');
    case 'throttled':
      return rest ? gatewayError(500, 'Internal server error') : gatewayError(503, 'Service Unavailable');
    case 'error':
      return failed;
  }
  let result: unknown;
  try {
    result = JSON.parse(invocation.payload);
  } catch {
    return failed;
  }
  if (
    typeof result !== 'object' ||
    result === null ||
    typeof (result as { statusCode?: unknown }).statusCode !== 'number'
  ) {
    // HTTP APIs (2.0) also accept a bare JSON value as a 200 body; Streambed never returns one.
    return failed;
  }
  const shaped = result as {
    statusCode: number;
    headers?: Record<string, unknown>;
    body?: unknown;
    isBase64Encoded?: boolean;
  };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(shaped.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  const text = typeof shaped.body === 'string' ? shaped.body : '';
  let body = Buffer.from(text, 'utf8');
  if (shaped.isBase64Encoded === true) {
    const accept = String(call.request.headers.accept ?? '').split(',')[0];
    const decode = !rest || matchesMediaType(options.api.binaryMediaTypes, accept);
    if (decode) body = Buffer.from(text, 'base64');
  }
  return { status: shaped.statusCode, headers, body };
}

// ---------------------------------------------------------------------------------------------------

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const declared = Number(request.headers['content-length'] ?? Number.NaN);
  if (declared > MAX_EDGE_BODY_BYTES) return undefined;
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of request) {
    received += (chunk as Buffer).byteLength;
    if (received > MAX_EDGE_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startApiFront(options: ApiFrontOptions): Promise<RunningApiFront> {
  const { api, environment } = options;
  const stagePrefix = api.kind === 'rest' ? `/${api.stage}` : '';

  async function answer(request: IncomingMessage): Promise<GatewayAnswer> {
    const target = request.url ?? '/';
    const queryAt = target.indexOf('?');
    const fullPath = queryAt === -1 ? target : target.slice(0, queryAt);
    const rawQuery = queryAt === -1 ? '' : target.slice(queryAt + 1);
    const body = await readBody(request);
    if (body === undefined) return gatewayError(413, 'Request Entity Too Large');
    const notFound =
      api.kind === 'rest'
        ? gatewayError(403, 'Missing Authentication Token')
        : gatewayError(404, 'Not Found');
    if (stagePrefix !== '' && !(fullPath === stagePrefix || fullPath.startsWith(`${stagePrefix}/`)))
      return notFound;
    const path = fullPath.slice(stagePrefix.length) || '/';
    const routedPath = api.kind === 'rest' ? path : httpApiPath(path);
    if (routedPath === undefined) return gatewayError(400, 'Bad Request');
    const method = (request.method ?? 'GET').toUpperCase();
    let match: Match | undefined;
    try {
      match = matchRoute(
        api.routes,
        method,
        routedPath,
        api.kind === 'rest' ? decodeURIComponent : (segment) => segment,
      );
    } catch {
      return gatewayError(400, 'Bad Request');
    }
    if (match === undefined) return notFound;

    let caller: ApiCaller | undefined;
    if (match.route.authorization === 'AWS_IAM') {
      const verified = await verifySignature(
        request,
        fullPath,
        new URLSearchParams(rawQuery),
        body,
        options.callers,
        environment.region,
      );
      if ('status' in verified) return verified;
      caller = verified.caller;
      const resource = `arn:aws:execute-api:${environment.region}:${environment.accountId}:${api.id}/${api.stage}/${method}${routedPath}`;
      if (!isAllowed(caller.statements, 'execute-api:Invoke', resource)) {
        return gatewayError(
          403,
          `User: ${caller.arn} is not authorized to perform: execute-api:Invoke on resource: ${resource}`,
        );
      }
    } else if (match.route.authorization !== 'NONE') {
      return gatewayError(500, `authorization type ${match.route.authorization} is not emulated`);
    }

    const fnId = match.route.functionLogicalId;
    const fn = fnId === undefined ? undefined : options.functions.get(fnId);
    if (fn === undefined || fnId === undefined || !options.invokable.has(fnId)) {
      // No Lambda behind the route, or API Gateway may not invoke it: the integration fails.
      return api.kind === 'rest'
        ? gatewayError(500, 'Internal server error')
        : gatewayError(500, 'Internal Server Error');
    }
    const call: IncomingCall = {
      request,
      method,
      path,
      routedPath,
      rawQuery,
      body,
      match,
      caller,
      requestId: randomUUID(),
    };
    const event = api.kind === 'rest' ? restApiEvent(call, options) : httpApiEvent(call, options);
    const invocation = await options.host.invoke(fn, JSON.stringify(event));
    return toAnswer(invocation, call, options);
  }

  const server = createServer((request, response: ServerResponse) => {
    answer(request)
      .catch((error: unknown) => gatewayError(500, `offline API front failed: ${String(error)}`))
      .then((result) => {
        const headers = {
          ...result.headers,
          'content-length': String(result.body.byteLength),
          'apigw-requestid': createHash('sha1').update(randomUUID()).digest('hex').slice(0, 16),
        };
        response.writeHead(result.status, headers);
        response.end(result.body);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${stagePrefix}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
