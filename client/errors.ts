/**
 * The SDK's error family: what the server answered, translated once. Every error says whether it is
 * `retriable`; the producer and consumer decide retries from that flag alone.
 */
/**
 * The stable codes the API answers with (docs/api.md, "Errors"). A caller branches on `code`, never on
 * the message or the HTTP status:
 * - INVALID_REQUEST (400): the request is wrong; its message names the field. Not worth retrying as is.
 * - UNAUTHORIZED (401): missing or refused credentials.
 * - TOPIC_NOT_FOUND, PARTITION_NOT_FOUND, SUBSCRIPTION_NOT_FOUND (404): the named thing does not exist.
 * - OFFSET_OUT_OF_RANGE (416): `details` holds the valid `logStartOffset` and `highWatermark`.
 * - RECORD_TOO_LARGE (413): a record or a request is over the limit.
 * - TOPIC_ALREADY_EXISTS, SUBSCRIPTION_ALREADY_EXISTS (409): a create of a name already in use.
 * - LEASE_LOST (409): a consumer group member no longer holds the partition (or the group).
 * - CONFLICT (409), THROTTLED (429), UNAVAILABLE (503): retriable.
 * - INTERNAL (500): the server failed; the message hides why.
 */
export const ERROR_CODES = [
  'INVALID_REQUEST',
  'UNAUTHORIZED',
  'TOPIC_NOT_FOUND',
  'PARTITION_NOT_FOUND',
  'SUBSCRIPTION_NOT_FOUND',
  'OFFSET_OUT_OF_RANGE',
  'RECORD_TOO_LARGE',
  'TOPIC_ALREADY_EXISTS',
  'SUBSCRIPTION_ALREADY_EXISTS',
  'LEASE_LOST',
  'CONFLICT',
  'THROTTLED',
  'UNAVAILABLE',
  'INTERNAL',
] as const;

export type StreambedErrorCode = (typeof ERROR_CODES)[number];

export class StreambedError extends Error {
  /** One of ERROR_CODES (a string, so that a code a newer server adds still fits). */
  readonly code: string;
  readonly retriable: boolean;
  /** HTTP status, when the error came from a response. */
  readonly status: number | undefined;
  /** Extra fields of the error body (e.g. the valid offset range, offsets that did commit). */
  readonly details: Record<string, unknown>;

  constructor(
    code: string,
    message: string,
    options: {
      retriable?: boolean;
      status?: number;
      details?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StreambedError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.status = options.status;
    this.details = options.details ?? {};
  }
}

/**
 * A StreambedError raised while reading one record, with the record's place put first in its message
 * (`orders/2 offset 17: …`); code, `retriable` and details are kept, and the original is the cause.
 * Any other error is returned as it is: it is the caller's own (a custom serde's), not ours to change.
 */
export function atRecord(
  error: unknown,
  where: { topic: string; partition: number; offset: number },
): unknown {
  if (!(error instanceof StreambedError)) return error;
  return new StreambedError(
    error.code,
    `${where.topic}/${where.partition} offset ${where.offset}: ${error.message}`,
    {
      retriable: error.retriable,
      status: error.status,
      details: error.details,
      cause: error,
    },
  );
}
