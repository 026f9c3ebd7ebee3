/**
 * The offline stack's AWS endpoint for the functions: one HTTP proxy in front of DynamoDB Local and the
 * S3 emulator that does what neither emulator does — authorize each call against the calling
 * function's role, as IAM would.
 *
 * Each function signs its calls with its own access key (the offline stack hands every function one),
 * so the proxy knows whose call it is. It derives the IAM action and resource of the call (DynamoDB:
 * the `X-Amz-Target` operation, and for a transaction every item inside it; S3: method, key and query),
 * answers AccessDenied in the service's own error shape when the role's statements do not allow it,
 * and forwards it otherwise. Like S3, it answers 403 AccessDenied — not 404 — for a missing key when
 * the role may not `s3:ListBucket` the bucket.
 *
 * Not emulated: resource policies (the bucket policy's TLS-only deny: the proxy speaks plain HTTP),
 * KMS key policies, session policies, permission boundaries, and SigV4 signature checks between the
 * functions and the services (the emulators ignore them; the API front checks its callers' signatures).
 */
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAllowed, type RequestContext } from './iam.ts';
import type { Environment, PolicyStatement } from './template.ts';

export interface Caller {
  /** The role's statements. */
  statements: readonly PolicyStatement[];
  /** For messages: `arn:aws:sts::ACCOUNT:assumed-role/ROLE/FUNCTION`. */
  principal: string;
}

export interface ServiceProxyOptions {
  environment: Environment;
  dynamoEndpoint: string;
  s3Endpoint: string;
  /** Access key id → caller. */
  callers: ReadonlyMap<string, Caller>;
  /** Every refused call, for tests and the stack's log. */
  onDenied?: (denial: Denial) => void;
}

export interface Denial {
  principal: string;
  action: string;
  resource: string;
}

export interface RunningServiceProxy {
  dynamoEndpoint: string;
  s3Endpoint: string;
  close(): Promise<void>;
}

interface Authorization {
  action: string;
  resource: string;
  context?: RequestContext;
}

function accessKeyOf(request: IncomingMessage): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(request.headers.authorization ?? '')?.[1];
}

async function readAll(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function forward(
  upstream: string,
  request: IncomingMessage,
  path: string,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const target = new URL(upstream);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: request.method,
        path,
        headers: { ...headers, host: target.host, 'content-length': String(body.byteLength) },
      },
      (response) => {
        readAll(response).then(
          (bytes) => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: bytes }),
          reject,
        );
      },
    );
    outgoing.once('error', reject);
    outgoing.end(body);
  });
}

function send(
  response: ServerResponse,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer | string,
): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const clean: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === 'transfer-encoding' || name === 'connection') continue;
    clean[name] = value;
  }
  clean['content-length'] = String(bytes.byteLength);
  response.writeHead(status, clean);
  response.end(bytes);
}

// ---------------------------------------------------------------------------------------------------
// DynamoDB

const TRANSACT_ACTIONS: Record<string, string> = {
  Put: 'PutItem',
  Delete: 'DeleteItem',
  Update: 'UpdateItem',
  ConditionCheck: 'ConditionCheckItem',
  Get: 'GetItem',
};

function dynamoAuthorizations(
  environment: Environment,
  operation: string,
  input: Record<string, unknown>,
): Authorization[] {
  const tableArn = (name: unknown, index?: unknown) =>
    `arn:aws:dynamodb:${environment.region}:${environment.accountId}:table/${String(name)}${
      index === undefined ? '' : `/index/${String(index)}`
    }`;
  switch (operation) {
    case 'TransactWriteItems':
    case 'TransactGetItems': {
      // IAM has no transaction action: each item is authorized as its own operation.
      const items = (input.TransactItems as Record<string, { TableName?: unknown }>[] | undefined) ?? [];
      return items.flatMap((item) =>
        Object.entries(item).map(([kind, body]) => ({
          action: `dynamodb:${TRANSACT_ACTIONS[kind] ?? kind}`,
          resource: tableArn(body.TableName),
        })),
      );
    }
    case 'BatchGetItem':
      return Object.keys((input.RequestItems as object | undefined) ?? {}).map((table) => ({
        action: 'dynamodb:BatchGetItem',
        resource: tableArn(table),
      }));
    case 'BatchWriteItem':
      return Object.keys((input.RequestItems as object | undefined) ?? {}).map((table) => ({
        action: 'dynamodb:BatchWriteItem',
        resource: tableArn(table),
      }));
    default:
      return [{ action: `dynamodb:${operation}`, resource: tableArn(input.TableName, input.IndexName) }];
  }
}

// ---------------------------------------------------------------------------------------------------
// S3

interface S3Call {
  bucket: string;
  key: string | undefined;
  /** The path-style path (`/bucket/key?query`) s3rver is sent. */
  upstreamPath: string;
}

function s3Call(request: IncomingMessage): S3Call | undefined {
  const url = new URL(request.url ?? '/', 'http://offline');
  const host = (request.headers.host ?? '').split(':')[0] ?? '';
  // Virtual-hosted style (`bucket.host`) when the host is a name with labels in front; the SDK uses
  // path style against an IP endpoint.
  const labels = host.split('.');
  const virtual = !/^\d+\.\d+\.\d+\.\d+$/.test(host) && labels.length > 1 && labels[1] !== undefined;
  const segments = url.pathname.split('/').slice(1);
  const bucket = virtual ? (labels[0] as string) : decodeURIComponent(segments.shift() ?? '');
  if (bucket === '') return undefined;
  const rawKey = segments.join('/');
  const key = rawKey === '' ? undefined : decodeURIComponent(rawKey);
  const upstreamPath = `/${bucket}${rawKey === '' ? '' : `/${rawKey}`}${url.search}`;
  return { bucket, key, upstreamPath };
}

function s3Authorizations(request: IncomingMessage, call: S3Call, body: Buffer): Authorization[] {
  const url = new URL(request.url ?? '/', 'http://offline');
  const bucketArn = `arn:aws:s3:::${call.bucket}`;
  const method = request.method ?? 'GET';
  if (call.key !== undefined) {
    const resource = `${bucketArn}/${call.key}`;
    if (method === 'GET' || method === 'HEAD') return [{ action: 's3:GetObject', resource }];
    if (method === 'DELETE') return [{ action: 's3:DeleteObject', resource }];
    return [{ action: 's3:PutObject', resource }];
  }
  if (method === 'POST' && url.searchParams.has('delete')) {
    // DeleteObjects is authorized as s3:DeleteObject on every key it names.
    const keys = [...body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)].map((match) =>
      (match[1] as string).replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>'),
    );
    return keys.map((key) => ({ action: 's3:DeleteObject', resource: `${bucketArn}/${key}` }));
  }
  if (method === 'GET' || method === 'HEAD') {
    const prefix = url.searchParams.get('prefix');
    return [
      {
        action: 's3:ListBucket',
        resource: bucketArn,
        context: prefix === null ? {} : { 's3:prefix': prefix },
      },
    ];
  }
  return [{ action: method === 'PUT' ? 's3:CreateBucket' : 's3:DeleteBucket', resource: bucketArn }];
}

function s3AccessDenied(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>${randomUUID()}</RequestId></Error>`;
}

// ---------------------------------------------------------------------------------------------------

export async function startServiceProxy(options: ServiceProxyOptions): Promise<RunningServiceProxy> {
  const { environment, callers } = options;

  function deny(caller: Caller | undefined, authorization: Authorization): Denial {
    const denial = {
      principal: caller?.principal ?? 'anonymous',
      action: authorization.action,
      resource: authorization.resource,
    };
    options.onDenied?.(denial);
    return denial;
  }

  function firstDenied(caller: Caller | undefined, authorizations: Authorization[]): Denial | undefined {
    for (const authorization of authorizations) {
      if (
        caller === undefined ||
        !isAllowed(caller.statements, authorization.action, authorization.resource, authorization.context)
      ) {
        return deny(caller, authorization);
      }
    }
    return undefined;
  }

  async function dynamo(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readAll(request);
    const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    let input: Record<string, unknown> = {};
    try {
      input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      // DynamoDB Local answers the malformed body itself.
    }
    const caller = callers.get(accessKeyOf(request) ?? '');
    const denied = firstDenied(caller, dynamoAuthorizations(environment, operation, input));
    if (denied !== undefined) {
      send(
        response,
        400,
        { 'content-type': 'application/x-amz-json-1.0' },
        JSON.stringify({
          __type: 'com.amazon.coral.service#AccessDeniedException',
          Message: `User: ${denied.principal} is not authorized to perform: ${denied.action} on resource: ${denied.resource} because no identity-based policy allows the ${denied.action} action`,
        }),
      );
      return;
    }
    const upstream = await forward(
      options.dynamoEndpoint,
      request,
      request.url ?? '/',
      request.headers,
      body,
    );
    send(response, upstream.status, upstream.headers, upstream.body);
  }

  async function s3(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readAll(request);
    const call = s3Call(request);
    const caller = callers.get(accessKeyOf(request) ?? '');
    // S3's refusal: an XML error, no body at all for HEAD.
    const accessDenied = () =>
      send(
        response,
        403,
        { 'content-type': 'application/xml' },
        request.method === 'HEAD' ? '' : s3AccessDenied(),
      );
    if (call === undefined || firstDenied(caller, s3Authorizations(request, call, body)) !== undefined) {
      accessDenied();
      return;
    }
    // The emulator is unauthenticated: the proxy has decided, and s3rver would refuse the functions' keys.
    const { authorization: _a, 'x-amz-security-token': _t, ...headers } = request.headers;
    const upstream = await forward(options.s3Endpoint, request, call.upstreamPath, headers, body);
    const missingKey =
      upstream.status === 404 &&
      call.key !== undefined &&
      (request.method === 'GET' || request.method === 'HEAD');
    if (missingKey && !isAllowed(caller?.statements ?? [], 's3:ListBucket', `arn:aws:s3:::${call.bucket}`)) {
      // S3 hides whether a key exists from a caller that could not have listed it.
      accessDenied();
      return;
    }
    send(
      response,
      upstream.status,
      upstream.headers,
      request.method === 'HEAD' ? Buffer.alloc(0) : upstream.body,
    );
  }

  const servers = [dynamo, s3].map((serve) =>
    createServer((request, response) => {
      serve(request, response).catch((error: unknown) => {
        if (!response.headersSent) send(response, 500, {}, String(error));
        else response.destroy();
      });
    }),
  );
  const urls = await Promise.all(
    servers.map(
      (server) =>
        new Promise<string>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () =>
            resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
          );
        }),
    ),
  );
  return {
    dynamoEndpoint: urls[0] as string,
    s3Endpoint: urls[1] as string,
    close: async () => {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
    },
  };
}
