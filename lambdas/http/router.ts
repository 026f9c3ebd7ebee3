/**
 * The HTTP API (DESIGN §8), shared by the Lambda handlers and the local server. Each route is a short
 * pipeline — parse and validate at the edge, one service call, shape the response — and every error,
 * thrown anywhere, leaves through the one translation in errors.ts.
 *
 * Decisions (also stated where they are enforced):
 * - Unknown route → 404 `INVALID_REQUEST`; known path with another method → 405 `INVALID_REQUEST` with
 *   `Allow`; wrong Content-Type → 415 `INVALID_REQUEST` (errors.ts explains why no new code).
 * - A request whose Lambda event would exceed Lambda's bound (its body base64-encoded or JSON-escaped
 *   as API Gateway sends it, lambda-payload.ts) → 413 `RECORD_TOO_LARGE`, checked before the body is
 *   parsed; a response whose Lambda document would exceed it → 500 `INTERNAL` (a route's bug: fetch
 *   budgets its pages). Locally and on AWS alike, so the local server never carries more than Lambda.
 * - Auth (when configured) runs for every request except `GET /v1/health`, before 404/405, so that an
 *   anonymous caller learns nothing about which routes exist.
 * - Unknown query parameters are a 400: a misspelt `max_byte=` must not silently mean the default.
 * - Repeated query parameters are a 400: which one wins would be a guess.
 * - Everything under `/schema-registry` that no route table answers gets 404 in the Confluent error
 *   shape `{"error_code":404,"message":...}`: Confluent clients probe optional routes and fall back on
 *   404, and read `error_code`.
 *
 * Extension point: `routeTables` (groups, schema registry) are tried before the built-in ones. A table
 * owns the paths under its `prefix` for 404/405 answers and may render errors in its own dialect.
 */

import { Buffer, isAscii } from 'node:buffer';
import * as z from 'zod';
import {
  acceptsBatches,
  BATCHES_CONTENT_TYPE,
  batchesHeaders,
  decodeProduceBody,
  HIGH_WATERMARK_HEADER,
  LOG_START_OFFSET_HEADER,
  NEXT_OFFSET_HEADER,
  PRODUCE_CONTENT_TYPE,
  splitProduceBatches,
} from '../../client/wire/binary.ts';
import { BytePool } from '../../client/wire/bytes.ts';
import {
  DEFAULT_FETCH_MAX_BYTES,
  LAMBDA_RESPONSE_RESERVE_BYTES,
  MAX_FETCH_MAX_BYTES,
  MAX_FETCH_WAIT_MS,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_LAMBDA_PAYLOAD_BYTES,
} from '../../client/wire/limits.ts';
import { StreamError } from '../core/errors.ts';
import type { LogService, ProduceResult, TopicDescription, TopicService } from '../core/log-types.ts';
import { batchesProduceRuns } from '../core/produce.ts';
import {
  describeError,
  errorResponse,
  eventTooLarge,
  HttpError,
  invalidRequest,
  JSON_CONTENT_TYPE,
  jsonResponse,
  methodNotAllowed,
  routeNotFound,
  unsupportedMediaType,
} from './errors.ts';
import { base64Length, oversizedEvent, oversizedResponseBytes } from './lambda-payload.ts';
import { type ErrorBodyDoc, type RouteDoc, STORE_ERRORS, WRITE_ERRORS } from './openapi.ts';
import { offsetRunsJson, offsetsJson, readPlainProduceBody } from './produce-json.ts';
import { fetchPage, parseRecordEncoding } from './records-json.ts';
import {
  alterTopicSchema,
  createTopicSchema,
  deleteRecordsResponseSchema,
  deleteRecordsSchema,
  fetchQuerySchema,
  fetchResponseSchema,
  healthResponseSchema,
  offsetsQuerySchema,
  offsetsResponseSchema,
  parseAlterTopicBody,
  parseCreateTopicBody,
  parseDeleteRecordsBody,
  parseProduceBody,
  produceBodySchema,
  produceResponseSchema,
  topicDetailsResponseSchema,
  topicListResponseSchema,
  topicResponseSchema,
} from './schemas.ts';
import { TextArena } from './text-arena.ts';
import type { HttpHandler, HttpRequest, HttpResponse } from './types.ts';

export interface RouteContext {
  request: HttpRequest;
  /** Path parameters, percent-decoded. */
  params: Readonly<Record<string, string>>;
}

export interface Route {
  method: string;
  /** Literal segments and `{name}` parameters, e.g. `/v1/topics/{topic}`; a parameter is never empty. */
  path: string;
  /** Answered without auth (health only, in the built-in tables). */
  public?: boolean;
  /** The route's entry in the API document (openapi.ts): required, so no route goes undocumented. */
  doc: RouteDoc;
  handle(context: RouteContext): Promise<HttpResponse>;
}

export interface RouteTable {
  /** The table owns `prefix` and every path below it: unmatched ones are its 404s and 405s. */
  prefix: string;
  routes: readonly Route[];
  /** Renders any error of a request this table owns; default: the Streambed `{"error":{...}}` body. */
  renderError?: (error: unknown) => HttpResponse;
  /** What `renderError` writes, for the API document; default: the Streambed error envelope. */
  errorBody?: ErrorBodyDoc;
}

export interface RouterOptions {
  topics: TopicService;
  log: LogService;
  /** When given, every request but health must pass it, else 401 UNAUTHORIZED. */
  auth?: (request: HttpRequest) => boolean | Promise<boolean>;
  /** Extra tables (groups, schema registry), tried before the built-in ones. */
  routeTables?: readonly RouteTable[];
  /**
   * Lambda's bound on a request event and a response document, each way; default
   * MAX_LAMBDA_PAYLOAD_BYTES (tests lower it).
   */
  maxPayloadBytes?: number;
  /** Sees every error that was hidden from the client behind a 500; default: console.error. */
  onInternalError?: (error: unknown, request: HttpRequest) => void;
}

// ---------------------------------------------------------------------------------------------------
// Edge helpers, exported for extension tables so their parsing rules match the built-in routes.

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The media type of a Content-Type, lower-cased, and whether its charset (if any) is UTF-8. */
function mediaType(contentType: string | undefined): { type: string; utf8: boolean } | undefined {
  if (contentType === undefined) return undefined;
  const [type = '', ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  const charset = parameters.find((parameter) => parameter.startsWith('charset='));
  const charsetValue = charset?.slice('charset='.length).replace(/^"(.*)"$/, '$1');
  return { type, utf8: charsetValue === undefined || charsetValue === 'utf-8' || charsetValue === 'utf8' };
}

/** 415 unless the request's Content-Type is one of `accepted` (JSON with a UTF-8 charset at most). */
export function requireContentType(request: HttpRequest, accepted: readonly string[]): string {
  const received = request.headers['content-type'];
  const parsed = mediaType(received);
  if (parsed === undefined || !accepted.includes(parsed.type) || !parsed.utf8) {
    throw unsupportedMediaType(received, accepted);
  }
  return parsed.type;
}

/** Parses an `application/json` body (415 otherwise); malformed JSON or non-UTF-8 bytes are a 400. */
export function readJsonBody(request: HttpRequest): unknown {
  requireContentType(request, [JSON_CONTENT_TYPE]);
  return parseJsonBytes(request.body);
}

function parseJsonBytes(body: Uint8Array): unknown {
  if (body.byteLength === 0) throw invalidRequest('request body is empty; send a JSON object');
  let text: string;
  try {
    // ASCII (most bodies) is the same text in both decodings, and Buffer's is several times faster.
    text = isAscii(body)
      ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('ascii')
      : strictUtf8.decode(body);
  } catch {
    throw invalidRequest('request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    // V8's message gives the position; it quotes at most a short excerpt of the client's own input.
    const detail = error instanceof SyntaxError ? `: ${error.message.slice(0, 200)}` : '';
    throw invalidRequest(`malformed JSON body${detail}`);
  }
}

/** Reads the query, rejecting unknown and repeated parameters (400). */
export function readQuery(request: HttpRequest, allowed: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const [name, value] of request.query) {
    if (!allowed.includes(name)) {
      const known = allowed.length === 0 ? 'this route takes none' : `known: ${allowed.join(', ')}`;
      throw invalidRequest(`unknown query parameter ${JSON.stringify(name.slice(0, 60))} (${known})`);
    }
    if (values.has(name)) throw invalidRequest(`query parameter ${name} is given more than once`);
    values.set(name, value);
  }
  return values;
}

const DIGITS = /^\d+$/;

/**
 * A non-negative decimal integer (no sign, no exponent, no fraction), at most `max`. Offsets travel
 * as JS numbers end to end, so anything past 2^53−1 is rejected rather than rounded.
 */
export function parseNonNegativeInt(name: string, raw: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!DIGITS.test(raw)) {
    throw invalidRequest(`${name}: must be a non-negative integer, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  const value = Number(raw);
  if (value > max) throw invalidRequest(`${name}: must be at most ${max}, got ${raw.slice(0, 40)}`);
  return value;
}

/** Kafka partitions are int32. */
const MAX_PARTITION_ID = 2 ** 31 - 1;

/** Idempotency keys are echoed into logs and hashed: visible ASCII only, no spaces. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]+$/;

function readIdempotencyKey(request: HttpRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw invalidRequest(`Idempotency-Key: must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw invalidRequest('Idempotency-Key: must be 1 or more visible ASCII characters (no spaces)');
  }
  return key;
}

/** A request id the client chose is echoed so it can match responses with its own logs. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

// ---------------------------------------------------------------------------------------------------
// The built-in routes.

/** A produce's answer: each record's partition and offset, in request order (produce-json.ts). */
/** A produce's answer (produce-json.ts offsetRunsJson), JSON text written as bytes. */
function offsetsResponse(answer: { body: Uint8Array; documentBytes: number }): HttpResponse {
  return {
    status: 200,
    headers: { 'content-type': JSON_CONTENT_TYPE },
    body: answer.body,
    textBytes: true,
    bodyDocumentBytesAtMost: answer.documentBytes,
  };
}

function topicBody(topic: TopicDescription): { name: string; partitions: number; config: unknown } {
  // The created/altered resource in the shape of the request that makes it (`partitions` is a count).
  return { name: topic.name, partitions: topic.partitions, config: topic.config };
}

function topicLocation(name: string): string {
  return `/v1/topics/${encodeURIComponent(name)}`;
}

function partitionParam(params: Readonly<Record<string, string>>): number {
  return parseNonNegativeInt('partition', params.partition ?? '', MAX_PARTITION_ID);
}

function param(params: Readonly<Record<string, string>>, name: string): string {
  const value = params[name];
  // Route patterns guarantee presence; this guards a pattern/handler mismatch in this file.
  if (value === undefined) throw new Error(`route parameter ${name} missing`);
  return value;
}

/**
 * Reused fetch read buffers kept: a few fetches in flight of up to 2 MiB (the default max_bytes is 1 MiB);
 * larger reads get fresh buffers, so what the pool holds stays small next to the server's RSS.
 */
const FETCH_BUFFERS = 4;
const FETCH_BUFFER_BYTES = 2 * 1024 * 1024;

/** The built-in `/v1` routes: health, topics, produce and fetch. */
export function v1Routes(topics: TopicService, log: LogService, maxPayloadBytes: number): Route[] {
  // What a fetch response may fill with records or batches: the rest of the document is reserved.
  const responseBudget = maxPayloadBytes - LAMBDA_RESPONSE_RESERVE_BYTES;
  // Binary fetches read objects into these and give them back once the response is sent (types.ts).
  const fetchBuffers = new BytePool(FETCH_BUFFERS, FETCH_BUFFER_BYTES);
  // JSON fetch pages are written into these, given back the same way.
  const pageBuffers = new BytePool(FETCH_BUFFERS, FETCH_BUFFER_BYTES);
  // The strings of JSON produce bodies, as bytes (text-arena.ts).
  const produceTexts = new BytePool(FETCH_BUFFERS, FETCH_BUFFER_BYTES);
  return [
    {
      method: 'GET',
      path: '/v1/health',
      public: true,
      doc: {
        operationId: 'health',
        summary: 'Whether the API answers (no credentials needed)',
        responses: {
          200: { description: 'The API answers.', content: { [JSON_CONTENT_TYPE]: healthResponseSchema } },
        },
        errors: [],
      },
      handle: async () => jsonResponse(200, { status: 'ok' }),
    },
    {
      method: 'POST',
      path: '/v1/topics',
      doc: {
        operationId: 'createTopic',
        summary: 'Create a topic',
        body: { [JSON_CONTENT_TYPE]: createTopicSchema },
        responses: {
          201: {
            description: 'The topic, created.',
            headers: { Location: 'The topic’s URL path.' },
            content: { [JSON_CONTENT_TYPE]: topicResponseSchema },
          },
        },
        errors: [400, 409, 415, ...WRITE_ERRORS],
      },
      handle: async ({ request }) => {
        readQuery(request, []);
        const body = parseCreateTopicBody(readJsonBody(request));
        const topic = await topics.createTopic(body.name, body.partitions, body.config);
        return jsonResponse(201, topicBody(topic), { location: topicLocation(topic.name) });
      },
    },
    {
      method: 'GET',
      path: '/v1/topics',
      doc: {
        operationId: 'listTopics',
        summary: 'List topic names',
        responses: {
          200: {
            description: 'Every topic’s name.',
            content: { [JSON_CONTENT_TYPE]: topicListResponseSchema },
          },
        },
        errors: [400, ...STORE_ERRORS],
      },
      handle: async ({ request }) => {
        readQuery(request, []);
        return jsonResponse(200, { topics: await topics.listTopics() });
      },
    },
    {
      method: 'GET',
      path: '/v1/topics/{topic}',
      doc: {
        operationId: 'describeTopic',
        summary: 'Describe a topic: its configuration and each partition’s offsets and size',
        responses: {
          200: { description: 'The topic.', content: { [JSON_CONTENT_TYPE]: topicDetailsResponseSchema } },
        },
        errors: [400, 404, ...STORE_ERRORS],
      },
      handle: async ({ request, params }) => {
        readQuery(request, []);
        const details = await topics.describeTopic(param(params, 'topic'));
        return jsonResponse(200, {
          name: details.name,
          config: details.config,
          partitions: details.partitionStates.map((state) => ({
            partition: state.partition,
            logStartOffset: state.logStartOffset,
            highWatermark: state.highWatermark,
            batches: state.batches,
            bytes: state.bytes,
          })),
        });
      },
    },
    {
      method: 'PATCH',
      path: '/v1/topics/{topic}',
      doc: {
        operationId: 'alterTopic',
        summary: 'Change a topic’s configuration and/or raise its partition count',
        body: { [JSON_CONTENT_TYPE]: alterTopicSchema },
        responses: {
          200: { description: 'The topic, changed.', content: { [JSON_CONTENT_TYPE]: topicResponseSchema } },
        },
        errors: [400, 404, 415, ...WRITE_ERRORS],
      },
      handle: async ({ request, params }) => {
        readQuery(request, []);
        const change = parseAlterTopicBody(readJsonBody(request));
        return jsonResponse(200, topicBody(await topics.alterTopic(param(params, 'topic'), change)));
      },
    },
    {
      method: 'DELETE',
      path: '/v1/topics/{topic}',
      doc: {
        operationId: 'deleteTopic',
        summary: 'Delete a topic (its data is removed by the janitor)',
        responses: { 204: { description: 'The topic is deleted.' } },
        errors: [400, 404, ...WRITE_ERRORS],
      },
      handle: async ({ request, params }) => {
        readQuery(request, []);
        await topics.deleteTopic(param(params, 'topic'));
        return { status: 204, headers: {}, body: '' };
      },
    },
    {
      method: 'POST',
      path: '/v1/topics/{topic}/records',
      doc: {
        operationId: 'produce',
        summary: 'Append records to a topic',
        description:
          'Records go to their `partition`, else by key hash (as Kafka’s default partitioner), else to one partition per request. The same `Idempotency-Key` sent again with the same records answers the first attempt’s offsets instead of appending twice.',
        headers: {
          'Idempotency-Key': z
            .string()
            .min(1)
            .max(MAX_IDEMPOTENCY_KEY_LENGTH)
            .regex(IDEMPOTENCY_KEY)
            .optional()
            .describe('Makes a retry of this request safe: visible ASCII, no spaces.'),
        },
        body: {
          [JSON_CONTENT_TYPE]: produceBodySchema,
          [PRODUCE_CONTENT_TYPE]: {
            binary:
              'The compact binary form (client/wire/binary.ts): int32 record count, then per record int32 partition (-1: server chooses), int64 timestamp (-1: now), key and value as int32 length (-1: null) + bytes, int32 header count and headers as key length + UTF-8 key, value length (-1: null) + bytes; big-endian.',
          },
          [BATCHES_CONTENT_TYPE]: {
            binary:
              'Record batches as the SDK builds them (client/wire/binary.ts): per partition, at most once each, an int32 partition (big-endian) followed by one Kafka RecordBatch v2 (baseOffset 0, CreateTime, no producer id). The offsets answer the records in body order.',
          },
        },
        responses: {
          200: {
            description: 'Each record’s partition and offset, in request order.',
            content: { [JSON_CONTENT_TYPE]: produceResponseSchema },
          },
        },
        errors: [400, 404, 415, ...WRITE_ERRORS],
      },
      handle: async ({ request, params }) => {
        readQuery(request, []);
        const type = requireContentType(request, [
          JSON_CONTENT_TYPE,
          PRODUCE_CONTENT_TYPE,
          BATCHES_CONTENT_TYPE,
        ]);
        const idempotencyKey = readIdempotencyKey(request);
        const topic = param(params, 'topic');
        if (type === BATCHES_CONTENT_TYPE) {
          // Stored as they came, once checked (append-batches.ts): the server builds no batch.
          const frames = splitProduceBatches(request.body);
          const { partitions } = await log.appendBatches({
            partitions: frames.map(({ partition, batch }) => ({ topic, partition, batches: batch })),
            recordLimits: true,
            ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
          });
          return offsetsResponse(offsetRunsJson(batchesProduceRuns(topic, frames, partitions)));
        }
        // A JSON body is read from its bytes when it is plain (produce-json.ts), its values views into
        // it as the binary form's are; else parsed, its strings encoded into one array that goes back
        // once the produce has settled (the core copies record bytes into its batches).
        let texts: Uint8Array | undefined;
        let result: ProduceResult;
        try {
          let records =
            type === PRODUCE_CONTENT_TYPE
              ? decodeProduceBody(request.body)
              : readPlainProduceBody(request.body);
          if (records === undefined) {
            texts = produceTexts.acquire(request.body.byteLength);
            records = parseProduceBody(parseJsonBytes(request.body), new TextArena(texts).encode);
          }
          result = await log.produce({
            topic,
            records,
            ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
          });
        } finally {
          if (texts !== undefined) produceTexts.release([texts]);
        }
        return offsetsResponse(offsetsJson(result.offsets));
      },
    },
    {
      // Kafka's DeleteRecords: a POST, as a DELETE with a body is not reliably carried by proxies.
      method: 'POST',
      path: '/v1/topics/{topic}/records/delete',
      doc: {
        operationId: 'deleteRecords',
        summary: 'Move partitions’ log start forward: records below it are gone (Kafka’s DeleteRecords)',
        description:
          'Per partition an offset up to the high watermark, or -1 for the high watermark. An offset at or below the current log start changes nothing; the janitor frees the storage.',
        body: { [JSON_CONTENT_TYPE]: deleteRecordsSchema },
        responses: {
          200: {
            description: 'Each partition’s log start afterwards, in request order.',
            content: { [JSON_CONTENT_TYPE]: deleteRecordsResponseSchema },
          },
        },
        errors: [400, 404, 415, 416, ...WRITE_ERRORS],
      },
      handle: async ({ request, params }) => {
        readQuery(request, []);
        const partitions = parseDeleteRecordsBody(readJsonBody(request));
        const result = await log.deleteRecords({ topic: param(params, 'topic'), partitions });
        return jsonResponse(200, {
          partitions: result.partitions.map((p) => ({
            partition: p.partition,
            logStartOffset: p.logStartOffset,
          })),
        });
      },
    },
    {
      method: 'GET',
      path: '/v1/topics/{topic}/partitions/{partition}/records',
      doc: {
        operationId: 'fetch',
        summary: 'Read a page of records from a partition, from an offset',
        description: `Whole batches up to \`max_bytes\`, at least one record. With \`Accept: ${BATCHES_CONTENT_TYPE}\` the page comes as Kafka record batches (v2) instead, its offsets in headers.`,
        query: fetchQuerySchema,
        responses: {
          200: {
            description: 'A page of records and where the next page starts.',
            headers: {
              [NEXT_OFFSET_HEADER]: 'Binary form only: where the next page starts.',
              [HIGH_WATERMARK_HEADER]: 'Binary form only: the partition’s high watermark.',
              [LOG_START_OFFSET_HEADER]: 'Binary form only: the partition’s first offset.',
            },
            content: {
              [JSON_CONTENT_TYPE]: fetchResponseSchema,
              [BATCHES_CONTENT_TYPE]: {
                binary:
                  'Concatenated Kafka RecordBatch v2 bytes, base offsets set; the first batch may start below `offset` (drop the records before it).',
              },
            },
          },
        },
        errors: [400, 404, 413, 416, ...STORE_ERRORS],
      },
      handle: async ({ request, params }) => {
        const query = readQuery(request, ['offset', 'max_bytes', 'max_wait_ms', 'encoding']);
        const partition = partitionParam(params);
        const rawOffset = query.get('offset');
        if (rawOffset === undefined) throw invalidRequest('offset: query parameter is required');
        const offset = parseNonNegativeInt('offset', rawOffset);
        const rawMaxBytes = query.get('max_bytes');
        // Larger max_bytes are clamped, not refused: the limit is the server's business (Kafka does
        // the same with fetch.max.bytes). Zero could never return anything useful, so it is a 400.
        const maxBytes =
          rawMaxBytes === undefined
            ? DEFAULT_FETCH_MAX_BYTES
            : Math.min(
                parseNonNegativeInt('max_bytes', rawMaxBytes, Number.POSITIVE_INFINITY),
                MAX_FETCH_MAX_BYTES,
              );
        if (maxBytes < 1) throw invalidRequest('max_bytes: must be at least 1');
        const rawMaxWait = query.get('max_wait_ms');
        const maxWaitMs =
          rawMaxWait === undefined ? 0 : parseNonNegativeInt('max_wait_ms', rawMaxWait, MAX_FETCH_WAIT_MS);
        const encoding = parseRecordEncoding(query.get('encoding'));
        const topic = param(params, 'topic');
        const fetchRequest = { topic, partition, offset, maxBytes, maxWaitMs };

        if (acceptsBatches(request.headers.accept)) {
          // max_bytes (≤ 3 MiB, at most MAX_BATCH_BYTES) keeps a page of several batches inside the
          // response; a page of one batch is too, as produce writes none larger. Only a batch written
          // before batches were bounded can be refused here.
          const result = await log.fetchBatches(fetchRequest, { buffers: fetchBuffers });
          if (base64Length(result.batches.byteLength) > responseBudget) {
            result.release();
            throw new StreamError(
              'RECORD_TOO_LARGE',
              `the batch at offset ${offset} of ${topic}/${partition} is ${result.batches.byteLength} bytes, more than a binary fetch response carries once base64-encoded; fetch it in the JSON form`,
            );
          }
          return {
            status: 200,
            headers: batchesHeaders(result),
            body: result.batches,
            release: result.release,
          };
        }
        // The page holds whole batches up to max_bytes; how many of its records fit the response is
        // measured as they are rendered (records-json.ts).
        const result = await log.fetch(fetchRequest);
        const page = fetchPage(
          result,
          encoding,
          responseBudget,
          `${topic}/${partition}`,
          pageBuffers.acquire,
        );
        return {
          status: 200,
          headers: { 'content-type': JSON_CONTENT_TYPE },
          body: page.body,
          textBytes: true,
          bodyDocumentBytesAtMost: page.documentBytesAtMost,
          release: () => pageBuffers.release(page.taken),
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/topics/{topic}/partitions/{partition}/offsets',
      doc: {
        operationId: 'offsets',
        summary: 'A partition’s first offset and high watermark, and the offset of a timestamp',
        query: offsetsQuerySchema,
        responses: {
          200: { description: 'The offsets.', content: { [JSON_CONTENT_TYPE]: offsetsResponseSchema } },
        },
        errors: [400, 404, ...STORE_ERRORS],
      },
      handle: async ({ request, params }) => {
        const query = readQuery(request, ['timestamp']);
        const partition = partitionParam(params);
        const rawTimestamp = query.get('timestamp');
        const timestamp =
          rawTimestamp === undefined ? undefined : parseNonNegativeInt('timestamp', rawTimestamp);
        const result = await log.offsets(param(params, 'topic'), partition, timestamp);
        return jsonResponse(200, {
          logStartOffset: result.logStartOffset,
          highWatermark: result.highWatermark,
          ...(result.offset === undefined ? {} : { offset: result.offset }),
        });
      },
    },
  ];
}

/** The Confluent Schema Registry error shape, for paths under /schema-registry nobody answers. */
function confluentErrorResponse(error: unknown): HttpResponse {
  const described = describeError(error);
  const message = described.status === 404 ? 'HTTP 404 Not Found' : described.message;
  return {
    status: described.status,
    headers: { ...described.headers, 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ error_code: described.status, message }),
  };
}

// ---------------------------------------------------------------------------------------------------
// Matching and dispatch.

interface CompiledRoute {
  route: Route;
  /** A literal segment, or `{ param }` for a parameter. */
  segments: readonly (string | { param: string })[];
}

interface CompiledTable {
  table: RouteTable;
  routes: readonly CompiledRoute[];
}

function compile(table: RouteTable): CompiledTable {
  return {
    table,
    routes: table.routes.map((route) => ({
      route,
      segments: route.path
        .split('/')
        .slice(1)
        .map((segment) => {
          const match = /^\{(\w+)\}$/.exec(segment);
          return match?.[1] === undefined ? segment : { param: match[1] };
        }),
    })),
  };
}

function matchSegments(
  compiled: CompiledRoute,
  segments: readonly string[],
): Record<string, string> | undefined {
  if (compiled.segments.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i += 1) {
    const pattern = compiled.segments[i];
    const actual = segments[i] ?? '';
    if (typeof pattern === 'string') {
      if (pattern !== actual) return undefined;
    } else if (pattern === undefined || actual === '') {
      return undefined;
    } else params[pattern.param] = actual;
  }
  return params;
}

function owns(prefix: string, path: string): boolean {
  return path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

type Resolution =
  | { kind: 'route'; route: Route; params: Record<string, string>; table: CompiledTable }
  | { kind: 'error'; error: StreamError; table: CompiledTable | undefined };

function resolve(tables: readonly CompiledTable[], method: string, rawPath: string): Resolution {
  const owner = tables.find((compiled) => owns(compiled.table.prefix, rawPath));
  if (!rawPath.startsWith('/')) return { kind: 'error', error: routeNotFound(method, rawPath), table: owner };
  let segments: string[];
  try {
    // Split first, decode second: `%2F` stays inside its segment.
    segments = rawPath.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return { kind: 'error', error: invalidRequest('path holds malformed percent-encoding'), table: owner };
  }
  const allowed: string[] = [];
  for (const compiled of tables) {
    for (const candidate of compiled.routes) {
      const params = matchSegments(candidate, segments);
      if (params === undefined) continue;
      if (candidate.route.method === method)
        return { kind: 'route', route: candidate.route, params, table: compiled };
      if (!allowed.includes(candidate.route.method)) allowed.push(candidate.route.method);
    }
  }
  const error =
    allowed.length > 0 ? methodNotAllowed(method, rawPath, allowed) : routeNotFound(method, rawPath);
  return { kind: 'error', error, table: owner };
}

export function unauthorized(): HttpError {
  // Only the local server authenticates in the router (bearer token); on AWS, IAM is checked by API
  // Gateway before the Lambda runs. RFC 9110 asks a 401 to name the scheme.
  return new HttpError(401, 'UNAUTHORIZED', 'missing or invalid credentials', {
    headers: { 'www-authenticate': 'Bearer realm="streambed"' },
  });
}

/**
 * The router, how it renders an error for a path it was not asked to handle (see node-server), and
 * the routes it answers, in the order it tries them, and which route template
 * (`/v1/topics/{topic}`) a request matches, if any (the local server's metrics).
 */
export type Router = HttpHandler & {
  renderErrorFor(path: string, error: unknown): HttpResponse;
  routes: readonly { method: string; path: string }[];
  routeOf(method: string, path: string): string | undefined;
};

export function createRouter(options: RouterOptions): Router {
  const maxPayloadBytes = options.maxPayloadBytes ?? MAX_LAMBDA_PAYLOAD_BYTES;
  const onInternalError =
    options.onInternalError ??
    ((error: unknown, request: HttpRequest) => {
      console.error(`streambed: internal error on ${request.method} ${request.path}`, error);
    });
  const tables = [
    ...(options.routeTables ?? []),
    { prefix: '/v1', routes: v1Routes(options.topics, options.log, maxPayloadBytes) },
    { prefix: '/schema-registry', routes: [], renderError: confluentErrorResponse },
  ].map(compile);

  async function dispatch(request: HttpRequest, resolution: Resolution): Promise<HttpResponse> {
    const isPublic = resolution.kind === 'route' && resolution.route.public === true;
    if (!isPublic && options.auth !== undefined && !(await options.auth(request))) throw unauthorized();
    if (resolution.kind === 'error') throw resolution.error;
    // Checked before any parsing, for every route: a request Lambda could not take is never looked at.
    const event = oversizedEvent(request, resolution.params, maxPayloadBytes);
    if (event !== undefined) throw eventTooLarge(event.bytes, maxPayloadBytes, event.base64);
    return resolution.route.handle({ request, params: resolution.params });
  }

  const handler: HttpHandler = async (request) => {
    const method = request.method.toUpperCase();
    const resolution = resolve(tables, method, request.path);
    let response: HttpResponse;
    try {
      response = await dispatch(request, resolution);
    } catch (error) {
      if (describeError(error).internal) onInternalError(error, request);
      const render = resolution.table?.table.renderError ?? errorResponse;
      response = render(error);
    }
    const requestId = request.headers['x-request-id'];
    const echoed = (answer: HttpResponse): HttpResponse =>
      requestId !== undefined && REQUEST_ID.test(requestId)
        ? { ...answer, headers: { ...answer.headers, 'x-request-id': requestId } }
        : answer;
    response = echoed(response);
    const oversized = oversizedResponseBytes(response, maxPayloadBytes);
    if (oversized === undefined) return response;
    response.release?.();
    const error = new StreamError(
      'INTERNAL',
      `response of ${oversized} bytes as a Lambda result exceeds Lambda's ${maxPayloadBytes}-byte limit`,
    );
    onInternalError(error, request);
    return echoed((resolution.table?.table.renderError ?? errorResponse)(error));
  };
  const renderErrorFor = (path: string, error: unknown): HttpResponse => {
    const owner = tables.find((compiled) => owns(compiled.table.prefix, path));
    return (owner?.table.renderError ?? errorResponse)(error);
  };
  const routes = tables.flatMap((compiled) =>
    compiled.routes.map(({ route }) => ({ method: route.method, path: route.path })),
  );
  const routeOf = (method: string, path: string): string | undefined => {
    const resolution = resolve(tables, method.toUpperCase(), path);
    return resolution.kind === 'route' ? resolution.route.path : undefined;
  };
  return Object.assign(handler, { renderErrorFor, routes, routeOf });
}
