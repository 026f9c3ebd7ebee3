/**
 * Domain error → HTTP, in one place (DESIGN §8). Everything the router answers with an error status goes
 * through `describeError`, so the status table, the body shape and the "never leak internals" rule
 * cannot drift between routes.
 *
 * Body: `{"error": {"code", "message", "retriable", ...details}}`. `details` of a StreamError are
 * facts meant for the client (errors.ts says so) and are spread inside the error object, e.g. the valid
 * range `logStartOffset` / `highWatermark` of an OFFSET_OUT_OF_RANGE, or the committed `offsets` of a
 * partially failed produce. They never override `code`, `message` or `retriable`.
 *
 * Statuses that are not in the DESIGN table but that HTTP itself demands (404 for an unknown route,
 * 405 for a wrong method, 415 for a wrong content type) keep the closed list of codes: they carry
 * `INVALID_REQUEST`, because the request is what is wrong, and the SDK maps codes — not statuses — to
 * error classes. A separate `NOT_FOUND` code is deliberately not used: inside the server NOT_FOUND
 * means "a storage key is missing", which must surface as a 500, never as a 404.
 */

import {
  type ApiErrorCode,
  ConditionFailedError,
  type ErrorCode,
  fromWireError,
  StreamError,
} from '../core/errors.ts';
import type { HttpResponse } from './types.ts';

export const JSON_CONTENT_TYPE = 'application/json';

/** The one table error code → HTTP status (DESIGN §8). */
export const HTTP_STATUS_BY_CODE: Readonly<Record<ApiErrorCode, number>> = {
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  TOPIC_NOT_FOUND: 404,
  PARTITION_NOT_FOUND: 404,
  OFFSET_OUT_OF_RANGE: 416,
  RECORD_TOO_LARGE: 413,
  TOPIC_ALREADY_EXISTS: 409,
  SUBSCRIPTION_NOT_FOUND: 404,
  SUBSCRIPTION_ALREADY_EXISTS: 409,
  LEASE_LOST: 409,
  CONFLICT: 409,
  THROTTLED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

const API_CODES: ReadonlySet<string> = new Set(Object.keys(HTTP_STATUS_BY_CODE));

function isApiErrorCode(code: ErrorCode): code is ApiErrorCode {
  return API_CODES.has(code);
}

/** Retry-After when the error does not say better; one second is what a client backs off at least. */
const DEFAULT_RETRY_AFTER_SECONDS = 1;

/**
 * An error whose HTTP status is not the table's status for its code (404/405/415 raised by the router
 * itself), or that needs extra response headers such as `Allow`.
 */
export class HttpError extends StreamError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: ApiErrorCode,
    message: string,
    options: { headers?: Record<string, string>; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options.details === undefined ? {} : { details: options.details });
    this.name = 'HttpError';
    this.status = status;
    this.headers = options.headers ?? {};
  }
}

export function invalidRequest(message: string): StreamError {
  return new StreamError('INVALID_REQUEST', message);
}

/** Paths are user input: keep echoes of them short so a 1 MB path does not come back in the body. */
function shortPath(path: string): string {
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

export function routeNotFound(method: string, path: string): HttpError {
  return new HttpError(404, 'INVALID_REQUEST', `no route for ${method} ${shortPath(path)}`);
}

export function methodNotAllowed(method: string, path: string, allowed: readonly string[]): HttpError {
  return new HttpError(
    405,
    'INVALID_REQUEST',
    `method ${method} is not allowed on ${shortPath(path)}; allowed: ${allowed.join(', ')}`,
    { headers: { allow: allowed.join(', ') } },
  );
}

export function unsupportedMediaType(received: string | undefined, accepted: readonly string[]): HttpError {
  const what = received === undefined || received === '' ? 'no Content-Type' : `Content-Type ${received}`;
  return new HttpError(415, 'INVALID_REQUEST', `${what} is not accepted; send ${accepted.join(' or ')}`);
}

/**
 * A body over the request limit answers 413 with RECORD_TOO_LARGE: 413 is the status DESIGN gives
 * oversized payloads, RECORD_TOO_LARGE is the one code bound to 413, and its remedy is the client's
 * remedy here too — send fewer or smaller records (Kafka answers an oversized batch the same way,
 * MESSAGE_TOO_LARGE).
 */
export function bodyTooLarge(limitBytes: number): StreamError {
  return new StreamError(
    'RECORD_TOO_LARGE',
    `request body exceeds ${limitBytes} bytes; split the records over several requests`,
    { details: { maxRequestBytes: limitBytes } },
  );
}

/**
 * A request whose Lambda event would exceed Lambda's bound (lambda-payload.ts): the same 413, naming
 * the event's size with the body as API Gateway encodes it.
 */
export function eventTooLarge(eventBytes: number, maxEventBytes: number, base64: boolean): StreamError {
  const body = base64 ? 'the body base64-encoded' : 'the body JSON-escaped';
  return new StreamError(
    'RECORD_TOO_LARGE',
    `request takes ${eventBytes} bytes as a Lambda event (${body}, as API Gateway sends it), over Lambda's ${maxEventBytes}-byte limit; split the records over several requests`,
    { details: { eventBytes, maxEventBytes } },
  );
}

/** What a client is told about an error; internals already stripped. */
export interface DescribedError {
  status: number;
  code: ApiErrorCode;
  message: string;
  retriable: boolean;
  details: Record<string, unknown>;
  headers: Record<string, string>;
  /** True when the cause was hidden from the client (a 500): the caller should log the original. */
  internal: boolean;
}

const RESERVED_FIELDS = new Set(['code', 'message', 'retriable']);

function clientDetails(details: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (details === undefined) return out;
  for (const [name, value] of Object.entries(details)) {
    if (!RESERVED_FIELDS.has(name)) out[name] = value;
  }
  return out;
}

function retryAfterSeconds(details: Record<string, unknown>): number {
  const ms = details.retryAfterMs;
  if (typeof ms === 'number' && Number.isFinite(ms) && ms > 0) return Math.max(1, Math.ceil(ms / 1000));
  return DEFAULT_RETRY_AFTER_SECONDS;
}

/** The single translation of any thrown value into what the client may see. */
export function describeError(thrown: unknown): DescribedError {
  const error = fromWireError(thrown);
  if (!(error instanceof StreamError) || !isApiErrorCode(error.code) || error.code === 'INTERNAL') {
    // Storage codes (NOT_FOUND, INVALID_ARGUMENT, CORRUPT_DATA), core INTERNALs and foreign errors
    // carry messages written for operators (keys, table and bucket names, stack traces): none of it
    // crosses. The retriable flag is a fact, not an internal, so a StreamError keeps it.
    return {
      status: 500,
      code: 'INTERNAL',
      message: 'internal error',
      retriable: error instanceof StreamError ? error.retriable : false,
      details: {},
      headers: {},
      internal: true,
    };
  }
  const details = clientDetails(error.details);
  const status = error instanceof HttpError ? error.status : HTTP_STATUS_BY_CODE[error.code];
  const headers: Record<string, string> = error instanceof HttpError ? { ...error.headers } : {};
  if (status === 429 || status === 503) headers['retry-after'] = String(retryAfterSeconds(details));
  // A ConditionFailedError's message describes transaction ops of the metadata store: internal
  // wording with nothing the client can act on beyond "retry".
  const message =
    error instanceof ConditionFailedError ? 'concurrent update; retry the request' : error.message;
  return { status, code: error.code, message, retriable: error.retriable, details, headers, internal: false };
}

export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResponse {
  return { status, headers: { ...headers, 'content-type': JSON_CONTENT_TYPE }, body: JSON.stringify(body) };
}

export function errorBody(described: DescribedError): { error: Record<string, unknown> } {
  return {
    error: {
      code: described.code,
      message: described.message,
      retriable: described.retriable,
      ...described.details,
    },
  };
}

/** `{"error": {...}}` with the status and headers the error calls for. */
export function errorResponse(error: unknown): HttpResponse {
  const described = describeError(error);
  return jsonResponse(described.status, errorBody(described), described.headers);
}
