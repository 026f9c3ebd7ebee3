/**
 * Request limits, shaped by AWS Lambda and API Gateway (DESIGN §5) and applied everywhere — locally
 * too — so that what works on a laptop works on AWS.
 *
 * A synchronous Lambda invocation carries at most 6 MB each way, and API Gateway base64-encodes binary
 * bodies (x4/3): 4.5 MB of raw body stays inside that. HTTP APIs time out at 30 s, so long polls stop
 * well before.
 */

/**
 * Lambda's bound on a synchronous invocation's request event and response document, in bytes: JSON
 * documents, a body in them base64-encoded or JSON-escaped (lambdas/http/lambda-payload.ts).
 */
export const MAX_LAMBDA_PAYLOAD_BYTES = 6_291_456;
/**
 * Bytes of a request event that the router cannot measure, reserved on top of what it can (the body
 * as API Gateway encodes it, path, query and headers): `requestContext` with the caller's IAM identity,
 * `routeKey`, `pathParameters`, `stageVariables` and the headers API Gateway adds (`x-forwarded-*`,
 * `x-amzn-trace-id`). Real events hold about 1.2 KB of these (test/handlers/events).
 */
export const LAMBDA_EVENT_RESERVE_BYTES = 4096;
/**
 * Bytes of a response document outside its body's payload: `statusCode`, the headers (with an echoed
 * `X-Request-Id`), `isBase64Encoded`, and the frame of a fetch body (`nextOffset`, `highWatermark`,
 * `logStartOffset`). A fetch fills at most MAX_LAMBDA_PAYLOAD_BYTES minus this with records.
 */
export const LAMBDA_RESPONSE_RESERVE_BYTES = 2048;
/**
 * The largest record batch: its base64 fits one response document alone, so a binary fetch can always
 * return the batch holding its offset. Produce refuses a request whose records for one partition would
 * encode to more (413); compaction copies batches byte for byte and so never makes one larger.
 */
export const MAX_BATCH_BYTES = Math.floor((MAX_LAMBDA_PAYLOAD_BYTES - LAMBDA_RESPONSE_RESERVE_BYTES) / 4) * 3;

/** Largest produce request body, in bytes (JSON or binary). */
export const MAX_REQUEST_BODY_BYTES = 4_500_000;
/** Most records in one produce request. */
export const MAX_RECORDS_PER_REQUEST = 10_000;
/** Default and largest `max_bytes` of a fetch (batch bytes); the response is measured as well. */
export const DEFAULT_FETCH_MAX_BYTES = 1024 * 1024;
export const MAX_FETCH_MAX_BYTES = 3 * 1024 * 1024;
/** Largest `max_wait_ms` of a long poll. */
export const MAX_FETCH_WAIT_MS = 20_000;
/** Most partitions a topic may have (describe reads them all; leases rebalance them all). */
export const MAX_PARTITIONS = 256;
/** Default `max.message.bytes`: the largest record, as in Kafka (1 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
/**
 * The largest `max.message.bytes` a topic may set: such a record still fits a batch of its own, and a
 * JSON fetch response as base64 with 1 KiB for its offsets, timestamp and header names.
 */
export const MAX_MESSAGE_BYTES = MAX_BATCH_BYTES - 1024;
/** Longest Idempotency-Key accepted. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 128;
