/**
 * One error family for all of Streambed.
 *
 * Every error carries a stable `code` and says whether it is `retriable`: callers decide to retry from
 * that flag alone, never from messages or classes. Errors are translated once per boundary — adapters
 * turn SDK/driver failures into these, the HTTP layer turns these into status codes, the SDK turns
 * responses back into these. The wire codecs shared with the SDK (client/wire) throw their own
 * WireError; `fromWireError` turns it into one of these where the server reports errors.
 */

import { WireError } from '../../client/wire/errors.ts';

/** Codes that cross the HTTP API (DESIGN §8) — stable, documented, never renamed. */
export type ApiErrorCode =
  | 'INVALID_REQUEST'
  | 'UNAUTHORIZED'
  | 'TOPIC_NOT_FOUND'
  | 'PARTITION_NOT_FOUND'
  | 'OFFSET_OUT_OF_RANGE'
  | 'RECORD_TOO_LARGE'
  | 'TOPIC_ALREADY_EXISTS'
  | 'SUBSCRIPTION_NOT_FOUND'
  | 'SUBSCRIPTION_ALREADY_EXISTS'
  | 'LEASE_LOST'
  | 'CONFLICT'
  | 'THROTTLED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

/**
 * Codes raised inside the server only. They never reach a client as themselves: the HTTP layer
 * answers them with `INTERNAL`.
 * - NOT_FOUND: a storage key (object or item) does not exist.
 * - INVALID_ARGUMENT: a storage call broke the port contract (bad key, limits of DynamoDB exceeded).
 * - CORRUPT_DATA: stored bytes failed a checksum or could not be decoded.
 */
export type InternalErrorCode = 'NOT_FOUND' | 'INVALID_ARGUMENT' | 'CORRUPT_DATA';

export type ErrorCode = ApiErrorCode | InternalErrorCode;

const RETRIABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['CONFLICT', 'THROTTLED', 'UNAVAILABLE']);

export interface StreamErrorOptions {
  /** Defaults to whether the code is retriable by nature (CONFLICT, THROTTLED, UNAVAILABLE). */
  retriable?: boolean;
  cause?: unknown;
  /** Structured facts for the client (e.g. the valid offset range); must not hold internals. */
  details?: Record<string, unknown>;
}

export class StreamError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: StreamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StreamError';
    this.code = code;
    this.retriable = options.retriable ?? RETRIABLE.has(code);
    this.details = options.details;
  }

  toJSON(): { code: ErrorCode; message: string; retriable: boolean } {
    return { code: this.code, message: this.message, retriable: this.retriable };
  }
}

/**
 * A metadata transaction was cancelled because a condition did not hold (`reason: 'condition'`) or
 * because another transaction touched the same items at the same moment (`reason: 'contention'`).
 * Either way nothing was applied; re-read and retry. `failedOps` are indexes into the submitted ops.
 */
export class ConditionFailedError extends StreamError {
  readonly failedOps: readonly number[];
  readonly reason: 'condition' | 'contention';

  constructor(
    failedOps: readonly number[],
    reason: 'condition' | 'contention' = 'condition',
    cause?: unknown,
  ) {
    super(
      'CONFLICT',
      reason === 'condition'
        ? `transaction cancelled: condition failed on op ${failedOps.join(', ')}`
        : `transaction cancelled: concurrent update of op ${failedOps.join(', ')}`,
      { cause },
    );
    this.name = 'ConditionFailedError';
    this.failedOps = failedOps;
    this.reason = reason;
  }
}

/**
 * A codec's WireError as the StreamError it stands for (same code, message and details, the original
 * as cause); anything else unchanged. Applied where the server reports an error (the HTTP answer, the
 * janitor's report), so a broken produce body is a 400 like any other bad request.
 */
export function fromWireError(error: unknown): unknown {
  if (!(error instanceof WireError)) return error;
  return new StreamError(error.code, error.message, {
    cause: error,
    ...(error.details === undefined ? {} : { details: error.details }),
  });
}

export function isStreamError(error: unknown): error is StreamError {
  return error instanceof StreamError;
}
