/**
 * HTTP to a Streambed API: the local server (optionally with a bearer token) or a deployed stack
 * (SigV4). node:http / node:https with a keep-alive agent (http-exchange.ts), or the caller's `fetch`;
 * JSON or binary bodies; an error response becomes a StreambedError carrying the server's stable code
 * and `retriable`. No retries here: the producer and consumer retry, once.
 */
import type { Agent } from 'node:http';
import { StreambedError } from './errors.ts';
import { exchange, headerGetter, keepAliveAgent, UnsendableRequest } from './http-exchange.ts';
import type { RequestEventPayload } from './instrumentation.ts';
import { type RetryOptions, withRetries } from './retry.ts';
import { type RequestSigner, type SigV4Options, sigV4Signer } from './sigv4.ts';

export interface TransportOptions {
  /** Base URL, e.g. http://127.0.0.1:8080 or the deployed API's URL (no user name or password in it). */
  url: string;
  /** Bearer token for a local server started with --token. */
  token?: string;
  /** Sign requests with SigV4 for an IAM-authorized deployment. */
  aws?: SigV4Options;
  /**
   * Per-request timeout, from sending until the whole answer is read; default 35 s (longer than the
   * longest long poll), at most 2^31 - 1 (what a timer holds). A request that times out fails with
   * UNAVAILABLE (retriable).
   */
  timeoutMs?: number;
  /**
   * A fetch implementation to send every request with (tests and proxies may wrap one); it is then
   * used as given, redirects included. Default: node:http or node:https with a keep-alive agent,
   * which moves 1 MiB bodies at a fraction of global fetch's CPU (docs/performance.md): idle sockets
   * never hold the process open, https verifies certificates as Node does, and redirects are not
   * followed (a 3xx answer fails with INVALID_REQUEST naming where it pointed). A request body is
   * valid until the call settles (the producer reuses its buffer): a wrapper keeping it must copy.
   */
  fetch?: typeof fetch;
  /**
   * Told of every request that got an answer (any status): bytes each way and latency, to meter
   * calls the way a gateway bills them. A listener that throws fails the request, so keep it simple.
   */
  onResponse?: (call: AnsweredCall) => void;
}

/** One request that got an answer, as `onResponse` sees it. */
export interface AnsweredCall {
  method: string;
  /** The URL's path, without the query. */
  path: string;
  status: number;
  /** Request body bytes. */
  requestBytes: number;
  /** Response body bytes. */
  responseBytes: number;
  /** From sending the request to its status and headers arriving, in ms (fractional). */
  latencyMs: number;
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  body?: Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
  accept?: string;
}

/** The response headers: `get` as WHATWG Headers has it (case-insensitive, null when absent). */
export interface ResponseHeaders {
  get(name: string): string | null;
}

export interface RawResponse {
  status: number;
  headers: ResponseHeaders;
  bytes: Uint8Array;
}

interface Answer extends RawResponse {
  /** performance.now() when the status and headers arrived. */
  answeredAt: number;
}

export type RequestListener = (request: RequestEventPayload) => void;

export class Transport {
  private readonly base: URL;
  private readonly signer: RequestSigner | undefined;
  /** Shared by every view of this transport, so correlation ids are unique per client. */
  private readonly requests = { count: 0 };
  private onRequest: RequestListener | undefined;
  /** Keeps sockets for reuse when no `fetch` is given; shared by every view of this transport. */
  private readonly agent: Agent | undefined;
  /** The per-request timeout in ms (TransportOptions.timeoutMs, or its default). */
  readonly timeoutMs: number;

  constructor(private readonly options: TransportOptions) {
    this.base = baseUrl(options.url);
    checkTimeout(options.timeoutMs);
    this.timeoutMs = options.timeoutMs ?? 35_000;
    this.signer = options.aws ? sigV4Signer(options.aws) : undefined;
    this.agent = options.fetch ? undefined : keepAliveAgent(this.base);
  }

  /**
   * This transport (same URL, credentials and options), telling `listener` of each request that got
   * an answer: the request events of the producer, consumer or admin that uses the view.
   */
  observed(listener: RequestListener): Transport {
    const view = Object.create(this) as Transport;
    view.onRequest = listener;
    return view;
  }

  /**
   * This transport, retrying each request that fails with a retriable error (UNAVAILABLE, THROTTLED,
   * a timeout) with backoff: the admin client's requests. The producer and consumer retry at their
   * own layer instead, so a request is never retried by two layers.
   */
  retrying(options: RetryOptions): Transport {
    const view = Object.create(this) as Transport;
    const once = this.raw;
    view.raw = (method, path, request) => withRetries(options, () => once.call(view, method, path, request));
    return view;
  }

  /** A request whose 2xx body is returned raw; error responses throw StreambedError. */
  async raw(method: string, path: string, request: RequestOptions = {}): Promise<RawResponse> {
    const createdAt = Date.now();
    const url = new URL(path.replace(/^\//, ''), this.base);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const body =
      request.json !== undefined ? new TextEncoder().encode(JSON.stringify(request.json)) : request.body;
    const headers: Record<string, string> = { ...request.headers };
    if (body !== undefined)
      headers['content-type'] =
        request.json !== undefined ? 'application/json' : (request.contentType ?? 'application/octet-stream');
    if (request.accept) headers.accept = request.accept;
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const signed = this.signer ? await this.signer({ method, url, headers, body }) : headers;
    const sentAt = Date.now();
    const started = performance.now();
    const timeoutMs = this.timeoutMs;
    let answer: Answer;
    try {
      answer = this.agent
        ? await agentExchange(url, method, signed, body, timeoutMs, this.agent)
        : await fetchExchange(this.options.fetch ?? fetch, url, method, signed, body, timeoutMs);
    } catch (error) {
      if (error instanceof UnsendableRequest) {
        throw new StreambedError('INVALID_REQUEST', `request to ${url.origin} not sent: ${error.message}`, {
          cause: error,
        });
      }
      // No answer: the request may or may not have been applied. Retrying is safe only with an
      // idempotency key, which the producer always sends.
      throw new StreambedError('UNAVAILABLE', unreachable(url.origin, error), {
        retriable: true,
        cause: error,
      });
    }
    const { status, headers: responseHeaders, bytes } = answer;
    this.options.onResponse?.({
      method,
      path: url.pathname,
      status,
      requestBytes: body?.byteLength ?? 0,
      responseBytes: bytes.byteLength,
      latencyMs: answer.answeredAt - started,
    });
    this.onRequest?.({
      broker: url.host,
      apiName: apiName(method, path),
      method,
      path: url.pathname,
      status,
      correlationId: this.requests.count++,
      size: body?.byteLength ?? 0,
      createdAt,
      sentAt,
      pendingDuration: 0,
      duration: Date.now() - sentAt,
    });
    // A 3xx is an error too: redirects are not followed (see TransportOptions.fetch).
    if (status >= 300) throw toError(status, bytes, responseHeaders);
    return { status, headers: responseHeaders, bytes };
  }

  /**
   * KafkaJS's `connect()` here: checks that the API answers `GET /v1/health`. A failure names the URL
   * and why (nothing listening, a timeout, or an answer that is not Streambed's).
   */
  async health(): Promise<void> {
    const url = new URL('v1/health', this.base).href;
    try {
      await this.raw('GET', '/v1/health');
    } catch (error) {
      // With no answer the message already names the origin and the cause.
      if (!(error instanceof StreambedError) || error.status === undefined) throw error;
      throw new StreambedError(error.code, `${url} answered ${error.message}`, {
        retriable: error.retriable,
        status: error.status,
        details: error.details,
        cause: error,
      });
    }
  }

  /** A request answered with JSON (or nothing, for 204). */
  async json<T>(method: string, path: string, request: RequestOptions = {}): Promise<T> {
    const { bytes } = await this.raw(method, path, request);
    return (bytes.byteLength === 0 ? undefined : JSON.parse(new TextDecoder().decode(bytes))) as T;
  }
}

/** A request sent with node:http / node:https through the transport's keep-alive agent. */
async function agentExchange(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Uint8Array | undefined,
  timeoutMs: number,
  agent: Agent,
): Promise<Answer> {
  const answer = await exchange(url, { method, headers, body, timeoutMs, agent });
  return { ...answer, headers: headerGetter(answer.headers) };
}

/**
 * A request sent with a fetch implementation; the timeout covers reading the body too. A binary body
 * is read once, into the ArrayBuffer the answer hands on.
 */
async function fetchExchange(
  send: typeof fetch,
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Uint8Array | undefined,
  timeoutMs: number,
): Promise<Answer> {
  const response = await send(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
  const answeredAt = performance.now();
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, bytes, answeredAt };
}

/**
 * Why a request got no answer: the system error (node:http's own, or the one under fetch's "fetch
 * failed"), or the timeout.
 */
function unreachable(origin: string, error: unknown): string {
  let cause: unknown = error;
  while (cause instanceof Error && !('code' in cause) && cause.cause !== undefined) cause = cause.cause;
  const code = cause instanceof Error && 'code' in cause ? String(cause.code) : undefined;
  // AbortSignal.timeout ends a request with a TimeoutError.
  if (error instanceof Error && error.name === 'TimeoutError') return `no response from ${origin}: timed out`;
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot reach ${origin}: connection refused — is the server running? (\`npm start\`)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot reach ${origin}: host not found (${code})`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `no response from ${origin}: the connection was closed (${code})`;
    default: {
      const detail = cause instanceof Error && cause !== error ? `: ${cause.message}` : '';
      return `no response from ${origin}: ${(error as Error).message}${detail}${code ? ` (${code})` : ''}`;
    }
  }
}

function toError(status: number, bytes: Uint8Array, headers: ResponseHeaders): StreambedError {
  if (status < 400) {
    const location = headers.get('location');
    return new StreambedError(
      'INVALID_REQUEST',
      `HTTP ${status}: redirected${location ? ` to ${location}` : ''}; the SDK does not follow redirects: use the API's own URL`,
      { status },
    );
  }
  let parsed: {
    error?: { code?: string; message?: string; retriable?: boolean } & Record<string, unknown>;
    message?: unknown;
  } = {};
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    // Not a Streambed error body (a proxy or gateway answered): judge by the status alone.
  }
  const error = parsed.error;
  if (error?.code && typeof error.message === 'string') {
    const { code, message, retriable, ...details } = error;
    return new StreambedError(code, message, { retriable: retriable === true, status, details });
  }
  // API Gateway answers some requests itself, as {"message": …}: a body too large for Lambda (413),
  // a signature or policy that refused the caller (403), throttling (429).
  const gatewayMessage = typeof parsed.message === 'string' ? `: ${parsed.message.slice(0, 300)}` : '';
  const retriable = status === 429 || status >= 500;
  const code =
    status === 429
      ? 'THROTTLED'
      : status === 401 || status === 403
        ? 'UNAUTHORIZED'
        : status === 413
          ? 'RECORD_TOO_LARGE'
          : status >= 500
            ? 'UNAVAILABLE'
            : 'INVALID_REQUEST';
  return new StreambedError(code, `HTTP ${status}${gatewayMessage}`, { retriable, status });
}

/** The longest delay a Node timer holds; past it the timer fires at once (TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

function checkTimeout(timeoutMs: number | undefined): void {
  if (
    timeoutMs === undefined ||
    (Number.isSafeInteger(timeoutMs) && timeoutMs >= 1 && timeoutMs <= MAX_TIMER_MS)
  )
    return;
  throw new StreambedError(
    'INVALID_REQUEST',
    `timeoutMs ${timeoutMs} is not a whole number of milliseconds from 1 to ${MAX_TIMER_MS} (about 24.8 days)`,
  );
}

/**
 * The API's base URL; anything but an http(s) URL is refused, naming the value and where it came from
 * (`name`: the option, the flag or the environment variable).
 */
export function baseUrl(url: string, name = 'url'): URL {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url.endsWith('/') ? url : `${url}/`);
  } catch {
    // Not a URL at all; the error below says so.
  }
  // `localhost:8080` parses, as a URL of scheme `localhost:`: only http and https are the API.
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new StreambedError(
      'INVALID_REQUEST',
      `${name} ${url} is not a URL: use http://host:port (or https://host)`,
    );
  }
  // node:http would send them as an Authorization: Basic header (in the clear over http); Streambed
  // takes a bearer token or SigV4 instead. The message leaves them out.
  if (parsed.username !== '' || parsed.password !== '') {
    throw new StreambedError(
      'INVALID_REQUEST',
      `${name} ${parsed.protocol}//${parsed.host}${parsed.pathname} holds a user name or password: leave them out (use a token, or SigV4 for a deployed stack)`,
    );
  }
  return parsed;
}

/** The SDK's calls by their Kafka API names, so request metrics read as they do for KafkaJS. */
const API_NAMES: [method: string, path: RegExp, name: string][] = [
  ['POST', /^\/?v1\/topics\/[^/]+\/records$/, 'Produce'],
  ['GET', /^\/?v1\/topics\/[^/]+\/partitions\/\d+\/records$/, 'Fetch'],
  ['GET', /^\/?v1\/topics\/[^/]+\/partitions\/\d+\/offsets$/, 'ListOffsets'],
  ['GET', /^\/?v1\/topics(\/[^/]+)?$/, 'Metadata'],
  ['POST', /^\/?v1\/topics$/, 'CreateTopics'],
  ['DELETE', /^\/?v1\/topics\/[^/]+$/, 'DeleteTopics'],
  ['POST', /^\/?v1\/groups\/[^/]+\/members$/, 'JoinGroup'],
  ['POST', /^\/?v1\/groups\/[^/]+\/members\/[^/]+\/heartbeat$/, 'Heartbeat'],
  ['DELETE', /^\/?v1\/groups\/[^/]+\/members\/[^/]+$/, 'LeaveGroup'],
  ['POST', /^\/?v1\/groups\/[^/]+\/offsets$/, 'OffsetCommit'],
  ['GET', /^\/?v1\/groups$/, 'ListGroups'],
  ['GET', /^\/?v1\/groups\/[^/]+$/, 'DescribeGroups'],
  ['DELETE', /^\/?v1\/groups\/[^/]+$/, 'DeleteGroups'],
];

function apiName(method: string, path: string): string {
  const bare = path.split('?')[0] ?? path;
  for (const [m, pattern, name] of API_NAMES) if (m === method && pattern.test(bare)) return name;
  return `${method} ${bare.startsWith('/') ? bare : `/${bare}`}`;
}

/** Path segment encoding for topic and group names. */
export const segment = (value: string | number): string => encodeURIComponent(String(value));
