/**
 * The router on node:http, for the local server (`streambed start`) and tests.
 *
 * Body reading has a hard cap, API Gateway's 10 MB by default (MAX_EDGE_BODY_BYTES): a declared
 * Content-Length over the cap is refused before one body byte is read (and before `100 Continue` is
 * sent), and a chunked body is refused the moment it crosses the cap. Either way the server answers 413
 * RECORD_TOO_LARGE with `Connection: close`, stops reading, and closes the connection: at most
 * `maxBodyBytes` of a request are ever held in memory. What Lambda could not take below that cap (its
 * event is larger than the body: base64, escaping) is the router's 413, as on AWS.
 *
 * Timeouts: `requestTimeoutMs` bounds receiving a request (node answers 408 past it), so a slow client
 * cannot hold a connection forever; `handlerTimeoutMs` bounds the handler at the deployed functions'
 * timeout (LAMBDA_TIMEOUT_MS, 29 s), past it the client gets 503 UNAVAILABLE (retriable), so local
 * behaviour predicts AWS and a long poll (at most MAX_FETCH_WAIT_MS) ends well inside it. A produce
 * retried after a timeout is made safe by its Idempotency-Key.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Allocate, BytePool, concatBytes } from '../../client/wire/bytes.ts';
import {
  LAMBDA_TIMEOUT_MS,
  MAX_EDGE_BODY_BYTES,
  MAX_LAMBDA_PAYLOAD_BYTES,
} from '../../client/wire/limits.ts';
import { StreamError } from '../core/errors.ts';
import { bodyTooLarge, errorResponse, invalidRequest, methodNotAllowed } from './errors.ts';
import type { HttpHandler, HttpRequest, HttpResponse } from './types.ts';

export interface HttpServerOptions {
  handler: HttpHandler;
  host?: string;
  /** 0 picks a free port; the chosen one is in `url`. */
  port?: number;
  /** Largest request body read; default MAX_EDGE_BODY_BYTES (API Gateway's 10 MB). */
  maxBodyBytes?: number;
  /** Time to receive a whole request, headers and body; default 30 s. */
  requestTimeoutMs?: number;
  /** Time the handler may take; default LAMBDA_TIMEOUT_MS (29 s), above the longest long poll. */
  handlerTimeoutMs?: number;
  /** How long `close()` waits for in-flight requests before cutting connections; default 30 s. */
  drainTimeoutMs?: number;
  /** Sees errors that escaped the handler (they are answered with a generic 500). */
  onError?: (error: unknown) => void;
  /**
   * Renders errors the server answers itself, before the handler (an oversized body), in the dialect
   * of the path (the router's `renderErrorFor`: Confluent's shape under /schema-registry).
   */
  renderError?: (path: string, error: unknown) => HttpResponse;
  /** Told of every answered request once its response is written (metrics, the request log). */
  onAnswered?: (answered: AnsweredRequest) => void;
}

export interface AnsweredRequest {
  method: string;
  /** Without the query string, still percent-encoded. */
  path: string;
  status: number;
  /** From the request's arrival to its response written. */
  durationMs: number;
  /** Body bytes read (0 for a refused body) and sent. */
  bytesIn: number;
  bytesOut: number;
  response: HttpResponse;
}

export interface RunningHttpServer {
  url: string;
  /** Stops accepting, lets in-flight requests finish (bounded by drainTimeoutMs), then resolves. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Bytes still read (and dropped) after refusing a body, so the 413 is not lost to a TCP reset. */
const LINGER_BYTES = 64 * 1024;
const LINGER_MS = 1_000;

export type BodyOutcome = { kind: 'body'; body: Uint8Array } | { kind: 'too-large' } | { kind: 'aborted' };

function declaredLength(request: IncomingMessage): number | undefined {
  const raw = request.headers['content-length'];
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/**
 * Reads a request's body into an array from `allocate` (with a declared length) or joins its chunks
 * (chunked), refusing it past `maxBytes`. The bench's store-only server receives bodies with it too.
 */
export function readBody(
  request: IncomingMessage,
  maxBytes: number,
  allocate: Allocate,
): Promise<BodyOutcome> {
  const declared = declaredLength(request);
  if (declared !== undefined && declared > maxBytes) return Promise.resolve({ kind: 'too-large' });
  return new Promise((resolve) => {
    // With a declared length the body is received straight into its final array, taken when the
    // first byte arrives (headers alone reserve nothing); without one (chunked), chunks are kept and
    // joined at the end.
    let into: Uint8Array | undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const settle = (outcome: BodyOutcome): void => {
      if (settled) return;
      settled = true;
      request.off('data', onData);
      resolve(outcome);
    };
    const refuse = (): void => {
      // Drop what was held: the request is refused and its bytes are worthless.
      chunks.length = 0;
      request.pause();
      settle({ kind: 'too-large' });
    };
    const onData = (chunk: Buffer): void => {
      if (declared !== undefined) {
        into ??= allocate(declared);
        // More than the declared length: node's parser does not allow it; kept as a guard.
        if (received + chunk.byteLength > into.byteLength) {
          refuse();
          return;
        }
        into.set(chunk, received);
        received += chunk.byteLength;
        return;
      }
      received += chunk.byteLength;
      if (received > maxBytes) refuse();
      else chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => {
      if (declared === undefined) settle({ kind: 'body', body: concatBytes(chunks, received) });
      else if (received === declared) settle({ kind: 'body', body: into ?? new Uint8Array(0) });
      else settle({ kind: 'aborted' }); // ended short of its declared length
    });
    request.once('error', () => settle({ kind: 'aborted' }));
    request.once('close', () => settle({ kind: 'aborted' }));
  });
}

function toHttpRequest(request: IncomingMessage, body: Uint8Array): HttpRequest {
  const url = request.url ?? '/';
  const queryAt = url.indexOf('?');
  // headersDistinct, not headers: node keeps only the first of some repeated headers (User-Agent,
  // Authorization, Content-Type, …) where API Gateway carries them all, and the event bound counts them.
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(request.headersDistinct)) {
    if (values !== undefined) headers[name] = values.join(', ');
  }
  return {
    method: request.method ?? 'GET',
    // Raw, still percent-encoded: the router splits before it decodes (see types.ts).
    path: queryAt === -1 ? url : url.slice(0, queryAt),
    query: new URLSearchParams(queryAt === -1 ? '' : url.slice(queryAt + 1)),
    rawQuery: queryAt === -1 ? '' : url.slice(queryAt + 1),
    headers,
    body,
  };
}

/** Writes the response; its body's byte count, or undefined when it could not be written. */
function writeResponse(
  response: ServerResponse,
  result: HttpResponse,
  closeConnection: boolean,
): number | undefined {
  if (response.headersSent || response.destroyed) return undefined;
  const body = typeof result.body === 'string' ? Buffer.from(result.body, 'utf8') : result.body;
  for (const [name, value] of Object.entries(result.headers)) response.setHeader(name, value);
  response.setHeader('content-length', body.byteLength);
  if (closeConnection) response.setHeader('connection', 'close');
  response.statusCode = result.status;
  response.end(body);
  return body.byteLength;
}

/**
 * Refuses an oversized body: answer, then close. Reading a little more and closing our side first
 * (instead of destroying at once) keeps the kernel from resetting the connection while unread bytes
 * sit in its buffer, which could make the client lose the 413 it was sent.
 */
function refuseBody(
  request: IncomingMessage,
  response: ServerResponse,
  refusal: HttpResponse,
): number | undefined {
  const written = writeResponse(response, refusal, true);
  const socket = request.socket;
  let lingered = 0;
  const drop = (chunk: Buffer): void => {
    lingered += chunk.byteLength;
    if (lingered > LINGER_BYTES) socket.destroy();
  };
  request.on('data', drop);
  request.resume();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
  return written;
}

/** The path of a request target, without its query. */
function pathOf(target: string | undefined): string {
  return (target ?? '/').split('?')[0] ?? '/';
}

/**
 * Writes a whole response on a socket node has taken away from the HTTP layer, then closes it; its
 * body's byte count, or undefined when it could not be written.
 */
function writeRaw(socket: Duplex, result: HttpResponse): number | undefined {
  if (!socket.writable) {
    socket.destroy();
    return undefined;
  }
  const body = typeof result.body === 'string' ? Buffer.from(result.body, 'utf8') : Buffer.from(result.body);
  const headers = { ...result.headers, 'content-length': String(body.byteLength), connection: 'close' };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const status = `HTTP/1.1 ${result.status} ${STATUS_CODES[result.status] ?? ''}\r\n`;
  socket.end(Buffer.concat([Buffer.from(`${status}${head}\r\n`), body]));
  return body.byteLength;
}

function withTimeout(promise: Promise<HttpResponse>, ms: number): Promise<HttpResponse> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HttpResponse>((resolve) => {
    timer = setTimeout(
      () =>
        resolve(
          errorResponse(
            new StreamError('UNAVAILABLE', `the request did not complete within ${ms} ms; retry`),
          ),
        ),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const maxBodyBytes = options.maxBodyBytes ?? MAX_EDGE_BODY_BYTES;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const handlerTimeoutMs = options.handlerTimeoutMs ?? LAMBDA_TIMEOUT_MS;
  const drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const onError =
    options.onError ??
    ((error: unknown) => console.error('streambed: unhandled error in HTTP handler', error));
  const render = options.renderError ?? ((_path: string, error: unknown) => errorResponse(error));
  const tooLarge = (request: IncomingMessage) => render(pathOf(request.url), bodyTooLarge(maxBodyBytes));
  // Request bodies, reused from request to request (see BytePool): a body's buffer goes back only once
  // the handler has settled — a handler past its timeout may still be reading it — and the response
  // has been written. Bodies over Lambda's bound are refused by the router: not worth keeping.
  const bodies = new BytePool(4, Math.min(maxBodyBytes, MAX_LAMBDA_PAYLOAD_BYTES));
  let inFlight = 0;
  let closing = false;
  let onDrained: (() => void) | undefined;

  const answered = (
    request: IncomingMessage,
    started: number,
    bytesIn: number,
    result: HttpResponse,
    bytesOut: number | undefined,
  ): void => {
    if (options.onAnswered === undefined || bytesOut === undefined) return;
    options.onAnswered({
      method: request.method ?? 'GET',
      path: pathOf(request.url),
      status: result.status,
      durationMs: performance.now() - started,
      bytesIn,
      bytesOut,
      response: result,
    });
  };

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    inFlight += 1;
    try {
      const outcome = await readBody(request, maxBodyBytes, bodies.acquire);
      if (outcome.kind === 'aborted') return;
      if (outcome.kind === 'too-large') {
        const refusal = tooLarge(request);
        answered(request, started, 0, refusal, refuseBody(request, response, refusal));
        return;
      }
      let result: HttpResponse;
      try {
        const handled = options.handler(toHttpRequest(request, outcome.body));
        const written = response.closed
          ? Promise.resolve()
          : new Promise((resolve) => response.once('close', resolve));
        void Promise.allSettled([handled, written]).then(() => bodies.release([outcome.body]));
        const answer = await withTimeout(handled, handlerTimeoutMs);
        result = answer;
        // A handler that answers after its timeout was answered for: its pooled body is never sent.
        void handled.then(
          (late) => {
            if (late !== answer) late.release?.();
          },
          () => undefined,
        );
      } catch (error) {
        // The router never throws; anything else that does is answered without its internals.
        onError(error);
        result = errorResponse(error);
      }
      let sent: number | undefined;
      try {
        sent = writeResponse(response, result, closing);
      } catch (error) {
        // An answer node cannot write (a header value it refuses) is answered as an internal error,
        // never left hanging; its pooled body was never sent and goes back now.
        onError(error);
        result.release?.();
        result = errorResponse(error);
        for (const name of response.getHeaderNames()) response.removeHeader(name);
        sent = writeResponse(response, result, closing);
      }
      // A pooled body goes back once the socket is done with it ('close' follows 'finish', or the end).
      if (result.release !== undefined) {
        if (sent === undefined || response.closed) result.release();
        else response.once('close', result.release);
      }
      answered(request, started, outcome.body.byteLength, result, sent);
    } finally {
      inFlight -= 1;
      if (inFlight === 0) onDrained?.();
    }
  }

  const server = createServer(
    {
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(requestTimeoutMs, 60_000),
      // How often node checks the two timeouts above; the default (30 s) would make short ones lax.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(requestTimeoutMs / 4))),
    },
    (request, response) => {
      void serve(request, response);
    },
  );
  // `Expect: 100-continue`: refuse an oversized body before the client sends it.
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    const declared = declaredLength(request);
    if (declared !== undefined && declared > maxBodyBytes) {
      const refusal = tooLarge(request);
      answered(request, performance.now(), 0, refusal, writeResponse(response, refusal, true));
      return;
    }
    response.writeContinue();
    void serve(request, response);
  });
  // Requests node itself refuses never reach the handler; they still get the documented error shape.
  // They are answered requests all the same: the request log and the metrics count them.
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const refusal = render(pathOf(request.url), invalidRequest('Expect: only 100-continue is supported'));
    answered(request, performance.now(), 0, refusal, writeResponse(response, refusal, true));
  });
  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    const path = pathOf(request.url);
    const refusal = render(path, methodNotAllowed('CONNECT', path, ['GET', 'POST', 'PATCH', 'DELETE']));
    answered(request, performance.now(), 0, refusal, writeRaw(socket, refusal));
  });
  server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => {
    const message =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? 'request headers are too large'
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 'the request did not arrive in time'
          : 'malformed HTTP request';
    // The request line, when node got that far, tells whose dialect the answer is in.
    const target = error.rawPacket?.subarray(0, 2048).toString('latin1').split('\r\n')[0]?.split(' ')[1];
    writeRaw(socket, render(pathOf(target), invalidRequest(message)));
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    close: async () => {
      closing = true;
      const stopped = new Promise<void>((resolve, reject) =>
        server.close((error) => (error === undefined ? resolve() : reject(error))),
      );
      // Keep-alive connections with nothing in flight would hold close() open for their idle timeout.
      server.closeIdleConnections();
      if (inFlight > 0) {
        const drained = new Promise<void>((resolve) => {
          onDrained = resolve;
        });
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, drainTimeoutMs);
        });
        await Promise.race([drained, deadline]);
        clearTimeout(timer);
      }
      // Responses in flight were sent with `Connection: close`; whatever is still open is cut.
      server.closeAllConnections();
      await stopped;
    },
  };
}

/**
 * `Authorization: Bearer <token>` check for the local server. Both sides are hashed to equal-length
 * digests before `timingSafeEqual`, so neither the content nor the length of the token leaks through
 * response timing.
 */
export function bearerTokenAuth(token: string): (request: HttpRequest) => boolean {
  if (token.length === 0) throw new Error('bearerTokenAuth: the token must not be empty');
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  const expected = digest(token);
  return (request) => {
    const match = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '');
    if (match?.[1] === undefined) return false;
    return timingSafeEqual(digest(match[1]), expected);
  };
}
