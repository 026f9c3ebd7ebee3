/**
 * The Lambda Invoke API offline (`POST /2015-03-31/functions/{name}/invocations`), where the stack's
 * functions point their Lambda clients (`AWS_ENDPOINT_URL_LAMBDA`): the deliverer's wake-ups and its
 * calls of target functions. A call is authorized like AWS does it: the caller (found by the access
 * key its request is signed with) needs `lambda:InvokeFunction` on the function's ARN in its role.
 *
 * - `X-Amz-Invocation-Type: Event` answers 202 at once and runs the function in the background (its
 *   outcome goes to the logs; asynchronous retries and destinations are not emulated).
 * - `RequestResponse` (the default) answers 200 with the function's payload, with
 *   `X-Amz-Function-Error: Unhandled` and Lambda's error document when the function threw; a throttle
 *   is 429 `TooManyRequestsException`, an oversized request 413.
 * - Functions outside the stack (a subscription's target) are served by handlers the test passes in.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAllowed } from './iam.ts';
import type { Invocation } from './lambda-host.ts';
import type { Denial } from './service-proxy.ts';
import type { FunctionSpec, PolicyStatement } from './template.ts';

/** A function that is not the stack's: given the event (parsed JSON), returns the payload or throws. */
export type ExternalFunction = (event: unknown) => Promise<unknown>;

export interface LambdaApiOptions {
  region: string;
  accountId: string;
  functions: readonly FunctionSpec[];
  /** External functions by name (their ARN is formed in the stack's account and Region). */
  external: Record<string, ExternalFunction>;
  /** The statements of each caller, by access key. */
  callers: ReadonlyMap<string, { statements: PolicyStatement[]; principal: string }>;
  invoke(fn: FunctionSpec, eventJson: string): Promise<Invocation>;
  onLog(line: string): void;
  onDenied(denial: Denial): void;
}

export interface RunningLambdaApi {
  endpoint: string;
  /** Background (Event) invocations still running. */
  inFlight(): number;
  close(): Promise<void>;
}

const PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

function send(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(body);
}

function awsError(response: ServerResponse, status: number, type: string, message: string): void {
  send(response, status, JSON.stringify({ Type: 'User', message }), { 'x-amzn-errortype': type });
}

async function readAll(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startLambdaApi(options: LambdaApiOptions): Promise<RunningLambdaApi> {
  const arnOf = (name: string) => `arn:aws:lambda:${options.region}:${options.accountId}:function:${name}`;
  const background = new Set<Promise<unknown>>();

  /** A name, a full ARN or a partial ARN; a qualifier other than $LATEST is not emulated. */
  function nameOf(reference: string): string {
    const arn = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(?::\$LATEST)?$/.exec(reference);
    return arn === null ? reference : (arn[1] as string);
  }

  async function run(name: string, eventJson: string): Promise<Invocation> {
    const fn = options.functions.find((each) => each.name === name);
    if (fn !== undefined) return options.invoke(fn, eventJson);
    const external = options.external[name] as ExternalFunction;
    try {
      return { kind: 'result', payload: JSON.stringify((await external(JSON.parse(eventJson))) ?? null) };
    } catch (error) {
      return { kind: 'error', errorType: 'Error', errorMessage: (error as Error).message };
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const match = PATH.exec(request.url?.split('?')[0] ?? '');
    if (request.method !== 'POST' || match === null) {
      awsError(
        response,
        404,
        'UnknownOperationException',
        `${request.method} ${request.url} is not emulated`,
      );
      return;
    }
    const name = nameOf(decodeURIComponent(match[1] as string));
    if (!options.functions.some((fn) => fn.name === name) && options.external[name] === undefined) {
      awsError(response, 404, 'ResourceNotFoundException', `Function not found: ${arnOf(name)}`);
      return;
    }
    const key = /Credential=([^/,\s]+)\//.exec(request.headers.authorization ?? '')?.[1];
    const caller = key === undefined ? undefined : options.callers.get(key);
    if (caller === undefined || !isAllowed(caller.statements, 'lambda:InvokeFunction', arnOf(name))) {
      const who = caller?.principal ?? 'an unknown caller';
      options.onDenied({ principal: who, action: 'lambda:InvokeFunction', resource: arnOf(name) });
      awsError(
        response,
        403,
        'AccessDeniedException',
        `User: ${who} is not authorized to perform: lambda:InvokeFunction on resource: ${arnOf(name)}`,
      );
      return;
    }
    const body = await readAll(request);
    const type = String(request.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (type === 'Event') {
      const running = run(name, body || '{}').then((outcome) => {
        if (outcome.kind !== 'result')
          options.onLog(`${name}: asynchronous invocation: ${JSON.stringify(outcome)}`);
      });
      background.add(running);
      void running.finally(() => background.delete(running));
      send(response, 202, '');
      return;
    }
    if (type !== 'RequestResponse') {
      awsError(response, 400, 'InvalidParameterValueException', `InvocationType ${type} is not emulated`);
      return;
    }
    const outcome = await run(name, body || '{}');
    const executed = { 'x-amz-executed-version': '$LATEST' };
    switch (outcome.kind) {
      case 'result':
        send(response, 200, outcome.payload, executed);
        return;
      case 'error':
        send(
          response,
          200,
          JSON.stringify({ errorType: outcome.errorType, errorMessage: outcome.errorMessage }),
          {
            ...executed,
            'x-amz-function-error': 'Unhandled',
          },
        );
        return;
      case 'throttled':
        awsError(response, 429, 'TooManyRequestsException', 'Rate Exceeded.');
        return;
      case 'request-too-large':
        awsError(response, 413, 'RequestTooLargeException', `Request must be smaller than 6291456 bytes`);
        return;
    }
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      options.onLog(`lambda api: ${String(error)}`);
      if (!response.headersSent) awsError(response, 500, 'ServiceException', 'offline Lambda API failed');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    inFlight: () => background.size,
    async close() {
      // Background invocations end when the Lambda host closes; they are not waited for here.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
