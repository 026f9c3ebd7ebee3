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

/** Largest produce request body, in bytes (JSON or binary). */
export const MAX_REQUEST_BODY_BYTES = 4_500_000;
/** Most records in one produce request. */
export const MAX_RECORDS_PER_REQUEST = 10_000;
/** Default and largest `max_bytes` of a fetch: base64 in JSON grows bytes by 4/3, still under 6 MB. */
export const DEFAULT_FETCH_MAX_BYTES = 1024 * 1024;
export const MAX_FETCH_MAX_BYTES = 3 * 1024 * 1024;
/** Largest `max_wait_ms` of a long poll. */
export const MAX_FETCH_WAIT_MS = 20_000;
/** Most partitions a topic may have (describe reads them all; leases rebalance them all). */
export const MAX_PARTITIONS = 256;
/** Default `max.message.bytes`: the largest record, as in Kafka (1 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
/** Longest Idempotency-Key accepted. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 128;
