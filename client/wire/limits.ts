/**
 * Request and response limits, shaped by API Gateway and Lambda (DESIGN §11) and applied everywhere —
 * locally too — so that what works on a laptop works on AWS.
 *
 * What the platform enforces:
 * - API Gateway HTTP API takes request bodies up to 10 MB and waits 30 s for its integration.
 * - Lambda carries at most MAX_LAMBDA_PAYLOAD_BYTES each way, measured on the JSON documents it moves:
 *   the request event (the body in it base64-encoded or JSON-escaped, lambdas/http/lambda-payload.ts)
 *   and the result document (whose `body` is the response text as a JSON string, so the escaping of
 *   a JSON response counts twice). The functions stop after LAMBDA_TIMEOUT_MS.
 *
 * What follows from it: the router measures every request's event and every response's document
 * exactly, a record batch is never larger than one response can carry (MAX_BATCH_BYTES), and the SDK
 * builds produce bodies that always fit (MAX_PRODUCE_BODY_BYTES). They live with the wire codecs
 * because the SDK applies them as the server does.
 */

/** Lambda's bound on a synchronous invocation's request event and response document, in bytes. */
export const MAX_LAMBDA_PAYLOAD_BYTES = 6_291_456;
/**
 * API Gateway HTTP API's request body quota (10 MB). The local server refuses a larger body before
 * reading it; anything above MAX_LAMBDA_PAYLOAD_BYTES is refused by the router's event bound anyway.
 */
export const MAX_EDGE_BODY_BYTES = 10 * 1024 * 1024;
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
/** The HTTP functions' timeout in the stack (lib/streambed.ts), inside API Gateway's 30 s. */
export const LAMBDA_TIMEOUT_MS = 29_000;

/**
 * The largest record batch: its base64 fits one response document alone, so a binary fetch can always
 * return the batch holding its offset. Produce refuses a request whose records for one partition would
 * encode to more (413); compaction copies batches byte for byte and so never makes one larger.
 */
export const MAX_BATCH_BYTES = Math.floor((MAX_LAMBDA_PAYLOAD_BYTES - LAMBDA_RESPONSE_RESERVE_BYTES) / 4) * 3;
/** Most records in one produce request. */
export const MAX_RECORDS_PER_REQUEST = 10_000;
/**
 * Bytes a record may take in a record batch beyond its bytes in a binary produce body (the batch's
 * varints against the body's int32s: at most 3 more per record), and a batch's header.
 */
const BATCH_GROWTH_PER_RECORD = 3;
const RECORD_BATCH_HEADER_BYTES = 61;
/**
 * Path, query and headers a client may send with a produce body (SigV4 with a session token fits
 * several times over).
 */
export const REQUEST_HEADROOM_BYTES = 16 * 1024;
/**
 * The largest binary produce body a client should build (the SDK's batching limit): its base64 fits a
 * Lambda event with REQUEST_HEADROOM_BYTES of path, query and headers, and however its records split
 * over partitions, no batch is over MAX_BATCH_BYTES.
 */
export const MAX_PRODUCE_BODY_BYTES = Math.min(
  Math.floor((MAX_LAMBDA_PAYLOAD_BYTES - LAMBDA_EVENT_RESERVE_BYTES - REQUEST_HEADROOM_BYTES) / 4) * 3,
  MAX_BATCH_BYTES - RECORD_BATCH_HEADER_BYTES - BATCH_GROWTH_PER_RECORD * MAX_RECORDS_PER_REQUEST,
);
/** Default and largest `max_bytes` of a fetch (batch bytes); the response is measured as well. */
export const DEFAULT_FETCH_MAX_BYTES = 1024 * 1024;
export const MAX_FETCH_MAX_BYTES = 3 * 1024 * 1024;
/** Largest `max_wait_ms` of a long poll: it ends well inside LAMBDA_TIMEOUT_MS. */
export const MAX_FETCH_WAIT_MS = 20_000;
/** Most partitions a topic may have (describe reads them all; leases rebalance them all). */
export const MAX_PARTITIONS = 256;
/** Default `max.message.bytes`: the largest record, as in Kafka (1 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
/**
 * What a record's header keys may take, counted as their UTF-8 bytes plus 8 per header (the binary
 * produce form's two lengths). Header keys stay text in every JSON form — even a record sent back as
 * base64 keeps its header names as JSON object keys, where a control character costs up to 7 bytes of
 * the response document — so they are bounded on their own; values are bounded by max.message.bytes.
 */
export const MAX_HEADER_KEY_BYTES = 4096;
/** A binary produce body's count (4) and one record's fixed fields (partition, timestamp, three lengths). */
const SINGLE_RECORD_BODY_BYTES = 4 + 24;
/**
 * The largest `max.message.bytes` a topic may set: such a record, with header keys up to
 * MAX_HEADER_KEY_BYTES, still goes alone in a produce body the SDK sends (MAX_PRODUCE_BODY_BYTES), fits
 * a batch of its own, and a JSON fetch response as base64 with its header keys escaped twice.
 */
export const MAX_MESSAGE_BYTES = Math.min(
  MAX_BATCH_BYTES - 1024,
  MAX_PRODUCE_BODY_BYTES - SINGLE_RECORD_BODY_BYTES - MAX_HEADER_KEY_BYTES,
);
/** Longest Idempotency-Key accepted. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 128;
