/**
 * Hosts a Lambda handler module behind a local URL (`streambed handler serve`), so the function a
 * user will deploy as a subscription's target can be developed against the local server with the
 * same event: give the subscription this URL as its target.
 *
 * It behaves as one Lambda instance would:
 * - `POST /` with a JSON body calls `handler(event, context)` with a Lambda-like context. Async
 *   handlers and callback handlers `(event, context, callback)` both work.
 * - One invocation at a time; later requests wait their turn.
 * - The return value answers 200 as JSON (`null` when the handler returns nothing). A throw, a
 *   rejection or a callback error answers 500 `{"errorType","errorMessage"}` (Lambda's shape) and
 *   logs one JSON line on stderr; so does running past the timeout (`TimeoutError`). A handler that
 *   times out cannot be stopped in-process: the next invocation starts anyway, as on a new instance.
 * - Anything but `POST` is 405, a body that is not JSON 400, a body over Lambda's payload limit 413.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StreamError } from '../core/errors.ts';
import { MAX_EVENT_BYTES } from './target.ts';

export interface HandlerHostOptions {
  /** The handler's file (`.ts`, `.js`, `.mjs`), relative to the working directory or absolute. */
  modulePath: string;
  /** The export to call (default `handler`). */
  exportName?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Per invocation, like the function's timeout (default 3,000, Lambda's default). */
  timeoutMs?: number;
  /** Where the error lines go (default stderr). */
  log?: (line: string) => void;
}

export interface HandlerHost {
  /** The URL to give a subscription as its target, ending in `/`. */
  url: string;
  /** `<module>#<export>`, also the context's `functionName`. */
  functionName: string;
  /**
   * Fails the running invocation with an error the handler left uncaught (thrown from a timer, a
   * rejection nobody awaited), as Lambda fails the invocation instead of the process; between
   * invocations it only logs. The CLI wires it to `uncaughtException` and `unhandledRejection`.
   */
  reportUncaught(error: unknown): void;
  close(): Promise<void>;
}

export const DEFAULT_HANDLER_TIMEOUT_MS = 3_000;

type Callback = (error?: unknown, result?: unknown) => void;
type Handler = (event: unknown, context: LambdaContext, callback: Callback) => unknown;

export interface LambdaContext {
  awsRequestId: string;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
  done(error?: unknown, result?: unknown): void;
  fail(error: unknown): void;
  succeed(result: unknown): void;
}

type Outcome =
  | { ok: true; result: unknown }
  | { ok: false; errorType: string; errorMessage: string; stack?: string };

/** Loads the handler, then listens; a missing file or export fails here, naming it. */
export async function startHandlerHost(options: HandlerHostOptions): Promise<HandlerHost> {
  const exportName = options.exportName ?? 'handler';
  const functionName = `${options.modulePath}#${exportName}`;
  const handler = await loadHandler(options.modulePath, exportName);
  const timeoutMs = options.timeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const logStream = `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${randomUUID().replaceAll('-', '')}`;

  // One invocation at a time: each waits for the previous one to settle (or time out).
  let queue: Promise<unknown> = Promise.resolve();
  let running: LambdaContext | undefined;
  const invokeInTurn = (event: unknown): Promise<Outcome> => {
    const turn = queue.then(async () => {
      const context = contextFor();
      running = context;
      const outcome = await invoke(handler, event, context, timeoutMs);
      if (running === context) running = undefined;
      return outcome;
    });
    queue = turn;
    return turn;
  };
  const contextFor = (): LambdaContext => {
    const deadline = Date.now() + timeoutMs;
    return {
      awsRequestId: randomUUID(),
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
      memoryLimitInMB: '128',
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: logStream,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      // Replaced per invocation by `invoke`, which owns the outcome.
      done: () => {},
      fail: () => {},
      succeed: () => {},
    };
  };

  const server = createServer((request, response) => {
    serve(request, response, invokeInTurn, log).catch((error: unknown) => {
      log(JSON.stringify({ level: 'ERROR', message: 'handler host failed', error: String(error) }));
      if (!response.headersSent)
        reply(response, 500, { errorType: 'Runtime.Unknown', errorMessage: 'host error' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  // Listening on every interface: the URL to give names loopback, which a subscription may use over http.
  const reachable =
    address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  const host = address.family === 'IPv6' ? `[${reachable}]` : reachable;
  return {
    url: `http://${host}:${address.port}/`,
    functionName,
    reportUncaught: (error) => {
      if (running !== undefined) running.fail(error);
      else {
        const { errorType, errorMessage } = failureOf(error);
        log(
          JSON.stringify({
            level: 'ERROR',
            message: 'uncaught between invocations',
            errorType,
            errorMessage,
          }),
        );
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function loadHandler(modulePath: string, exportName: string): Promise<Handler> {
  const absolute = resolvePath(modulePath);
  if (!existsSync(absolute)) {
    throw new StreamError(
      'INVALID_REQUEST',
      `handler module ${modulePath} not found (looked for ${absolute})`,
    );
  }
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    throw new StreamError(
      'INVALID_REQUEST',
      `handler module ${modulePath} failed to load: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
  // A CommonJS module's exports may sit only on its default export.
  const fromDefault = loaded.default as Record<string, unknown> | undefined;
  const handler =
    loaded[exportName] ?? (typeof fromDefault === 'object' ? fromDefault?.[exportName] : undefined);
  if (typeof handler !== 'function') {
    const names = Object.keys(loaded).filter((name) => typeof loaded[name] === 'function');
    throw new StreamError(
      'INVALID_REQUEST',
      `handler module ${modulePath} has no function export ${JSON.stringify(exportName)}` +
        (names.length > 0 ? ` (its function exports: ${names.join(', ')})` : ''),
    );
  }
  return handler as Handler;
}

async function serve(
  request: IncomingMessage,
  response: ServerResponse,
  invokeInTurn: (event: unknown) => Promise<Outcome>,
  log: (line: string) => void,
): Promise<void> {
  if (request.method !== 'POST') {
    response.setHeader('allow', 'POST');
    reply(response, 405, { errorType: 'MethodNotAllowed', errorMessage: 'send the event with POST' });
    request.resume();
    return;
  }
  const body = await readBody(request);
  if (body === undefined) {
    reply(response, 413, {
      errorType: 'RequestTooLarge',
      errorMessage: `the event exceeds ${MAX_EVENT_BYTES} bytes, Lambda's payload limit`,
    });
    return;
  }
  let event: unknown;
  try {
    event = JSON.parse(body.toString('utf8'));
  } catch (error) {
    reply(response, 400, {
      errorType: 'InvalidRequestContent',
      errorMessage: `body is not JSON: ${messageOf(error)}`,
    });
    return;
  }
  const outcome = await invokeInTurn(event);
  if (outcome.ok) {
    let json: string;
    try {
      json = outcome.result === undefined ? 'null' : JSON.stringify(outcome.result);
    } catch (error) {
      const failed = {
        errorType: 'Runtime.MarshalError',
        errorMessage: `unable to marshal response: ${messageOf(error)}`,
      };
      log(JSON.stringify({ level: 'ERROR', ...failed }));
      reply(response, 500, failed);
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(json);
    return;
  }
  const { errorType, errorMessage, stack } = outcome;
  log(JSON.stringify({ level: 'ERROR', errorType, errorMessage, ...(stack !== undefined && { stack }) }));
  reply(response, 500, { errorType, errorMessage });
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** The request body, or undefined past `MAX_EVENT_BYTES` (the rest is drained, not kept). */
async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length <= MAX_EVENT_BYTES) chunks.push(chunk);
  }
  return length > MAX_EVENT_BYTES ? undefined : Buffer.concat(chunks);
}

/**
 * One invocation, as the Node.js Lambda runtime runs it: a handler that returns a promise settles
 * with it; otherwise a handler declaring a third parameter settles through the callback (or
 * `context.done/succeed/fail`); any other handler's return value is its result. First outcome wins.
 */
function invoke(
  handler: Handler,
  event: unknown,
  context: LambdaContext,
  timeoutMs: number,
): Promise<Outcome> {
  return new Promise<Outcome>((settle) => {
    let settled = false;
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      settle(outcome);
    };
    const succeed = (result: unknown) => finish({ ok: true, result });
    const fail = (error: unknown) => finish(failureOf(error));
    const callback: Callback = (error, result) =>
      error === undefined || error === null ? succeed(result) : fail(error);
    context.done = callback;
    context.succeed = succeed;
    context.fail = fail;
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          errorType: 'TimeoutError',
          errorMessage: `Task timed out after ${timeoutMs} ms`,
        }),
      timeoutMs,
    );
    try {
      const returned = handler(event, context, callback);
      if (isThenable(returned)) returned.then(succeed, fail);
      else if (handler.length < 3) succeed(returned);
    } catch (error) {
      fail(error);
    }
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

function failureOf(error: unknown): Extract<Outcome, { ok: false }> {
  if (error instanceof Error) {
    return {
      ok: false,
      errorType: error.name,
      errorMessage: error.message,
      ...(error.stack && { stack: error.stack }),
    };
  }
  // What the Node.js runtime reports for a thrown non-Error: its `typeof`.
  return { ok: false, errorType: typeof error, errorMessage: messageOf(error) };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error));
}
