/**
 * HTTP to a Streambed API: the local server (optionally with a bearer token) or a deployed stack
 * (SigV4). Global fetch, JSON or binary bodies; an error response becomes a StreambedError carrying
 * the server's stable code and `retriable`. No retries here: the producer and consumer retry, once.
 */
import { StreambedError } from './errors.ts';
import type { RequestEventPayload } from './instrumentation.ts';
import { type RetryOptions, withRetries } from './retry.ts';
import { type RequestSigner, type SigV4Options, sigV4Signer } from './sigv4.ts';

export interface TransportOptions {
  /** Base URL, e.g. http://127.0.0.1:8080 or the deployed API's URL. */
  url: string;
  /** Bearer token for a local server started with --token. */
  token?: string;
  /** Sign requests with SigV4 for an IAM-authorized deployment. */
  aws?: SigV4Options;
  /** Per-request timeout; default 35 s (longer than the longest long poll). */
  timeoutMs?: number;
  /**
   * The fetch implementation; default the global one (tests and proxies may wrap it). A request body
   * is valid until the call settles (the producer reuses its buffer): a wrapper keeping it must copy.
   */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  body?: Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
  accept?: string;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  bytes: Uint8Array;
}

export type RequestListener = (request: RequestEventPayload) => void;

export class Transport {
  private readonly base: URL;
  private readonly signer: RequestSigner | undefined;
  /** Shared by every view of this transport, so correlation ids are unique per client. */
  private readonly requests = { count: 0 };
  private onRequest: RequestListener | undefined;

  constructor(private readonly options: TransportOptions) {
    this.base = baseUrl(options.url);
    this.signer = options.aws ? sigV4Signer(options.aws) : undefined;
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
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(url, {
        method,
        headers: signed,
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 35_000),
      });
    } catch (error) {
      // No answer: the request may or may not have been applied. Retrying is safe only with an
      // idempotency key, which the producer always sends.
      throw new StreambedError('UNAVAILABLE', unreachable(url.origin, error), {
        retriable: true,
        cause: error,
      });
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    this.onRequest?.({
      broker: url.host,
      apiName: apiName(method, path),
      method,
      path: url.pathname,
      status: response.status,
      correlationId: this.requests.count++,
      size: body?.byteLength ?? 0,
      createdAt,
      sentAt,
      pendingDuration: 0,
      duration: Date.now() - sentAt,
    });
    if (response.status >= 400) throw toError(response.status, bytes);
    return { status: response.status, headers: response.headers, bytes };
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

/** Why fetch got no answer, from the system error under fetch's own "fetch failed". */
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

function toError(status: number, bytes: Uint8Array): StreambedError {
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
