/**
 * Request bodies of DESIGN §8 for topics and records: zod schemas, one readable error message per bad
 * body, and conversion into the core's shapes (ProduceRecord, …).
 *
 * Rules that are decisions, not just DESIGN text:
 * - Objects are strict at every level: an unknown field (a typo such as `valueBas64`) is a 400, never
 *   silently dropped.
 * - `key`: a string (stored as its UTF-8 bytes, so it hashes like a Kafka StringSerializer key), or
 *   absent. Any other type, `null` included, is a 400 (DESIGN §8); a fetched record with a null key
 *   is produced again by leaving `key` out.
 * - `value`: a string is stored as its UTF-8 bytes; `null` or absent is a null value (a Kafka
 *   tombstone, which compaction-style consumers read as a delete); any other JSON value (number,
 *   boolean, object, array) is stored as its compact JSON text (`JSON.stringify`), so `1.0` is stored
 *   as `1` — send a string or `valueBase64` when the exact bytes matter.
 * - `key`/`keyBase64` and `value`/`valueBase64` are mutually exclusive (presence counts, even null).
 * - Base64 is standard base64 with padding, canonical (the unused bits of the last character are 0):
 *   anything else — URL-safe alphabet, whitespace, missing padding — is a 400 naming the record.
 * - Strings must be well-formed Unicode: a lone surrogate (`"\ud800"`) has no UTF-8 form and would be
 *   silently replaced by U+FFFD, so it is a 400 instead.
 * - `headers`: an object of string (or null) values; Kafka header keys are strings, values bytes.
 */

import { Buffer } from 'node:buffer';
import * as z from 'zod';
import type { ProduceRecord } from '../../client/wire/binary.ts';
import {
  DEFAULT_FETCH_MAX_BYTES,
  MAX_FETCH_MAX_BYTES,
  MAX_FETCH_WAIT_MS,
  MAX_PARTITIONS,
  MAX_RECORDS_PER_REQUEST,
} from '../../client/wire/limits.ts';
import { type ApiErrorCode, StreamError } from '../core/errors.ts';
import { COMPATIBILITY_LEVELS } from '../core/schemas.ts';
import {
  MAX_BATCH_SIZE,
  MAX_BATCHING_WINDOW_MS,
  MAX_RETRY_ATTEMPTS,
  MAX_TARGET_URL_CHARS,
} from '../subscriptions/subscriptions.ts';
import { HTTP_STATUS_BY_CODE } from './errors.ts';

const utf8Encoder = new TextEncoder();

/** Decodes standard, padded, canonical base64; undefined when `text` is anything else. */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  // Buffer's decoder is lenient (skips unknown characters, accepts URL-safe letters and missing
  // padding). Re-encoding the result gives the one canonical spelling of those bytes: equality proves
  // the input was exactly that spelling.
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A lone surrogate code unit: in a `u` regex, paired surrogates count as one non-surrogate code point. */
const LONE_SURROGATE = /\p{Cs}/u;

const NOT_WELL_FORMED = 'must be well-formed Unicode (it holds a lone surrogate)';

function text(typeMessage: string) {
  return z.string({ error: typeMessage }).refine((s) => !LONE_SURROGATE.test(s), NOT_WELL_FORMED);
}

const base64Bytes = z
  .string({ error: 'must be a base64 string' })
  .transform((encoded, ctx) => {
    const bytes = decodeBase64Strict(encoded);
    if (bytes === undefined) {
      ctx.addIssue({ code: 'custom', message: 'invalid base64 (standard alphabet, padded, no whitespace)' });
      return z.NEVER;
    }
    return bytes;
  })
  .meta({ contentEncoding: 'base64', description: 'Bytes as standard, padded base64.' });

const nonNegativeInt = z.int({ error: 'must be an integer' }).min(0, 'must not be negative');

/**
 * A JSON object used as a map (headers, topic config). Written by hand rather than with `z.record`
 * because that copies entries into a plain object, where a key named `__proto__` would vanish into
 * the prototype; here every key stays an own property of a null-prototype object.
 */
function flatObject<T>(
  typeMessage: string,
  accepts: (value: unknown) => value is T,
  valueMessage: string,
  /** The JSON Schema of a value, for the API document (the transform hides it from zod). */
  valueSchema: object,
) {
  const schema = z.unknown().transform((input, ctx) => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      ctx.addIssue({ code: 'custom', message: typeMessage });
      return z.NEVER;
    }
    const out: Record<string, T> = Object.create(null);
    for (const [name, value] of Object.entries(input)) {
      if (LONE_SURROGATE.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: NOT_WELL_FORMED });
      else if (!accepts(value)) ctx.addIssue({ code: 'custom', path: [name], message: valueMessage });
      else if (typeof value === 'string' && LONE_SURROGATE.test(value)) {
        ctx.addIssue({ code: 'custom', path: [name], message: NOT_WELL_FORMED });
      } else out[name] = value;
    }
    return out;
  });
  return schema.meta({ type: 'object', additionalProperties: valueSchema });
}

/** Kafka topic configs are flat name → scalar; which names and values are allowed is topics.ts' call. */
const topicConfig = flatObject(
  'must be an object of string or number values',
  (value): value is string | number => typeof value === 'string' || typeof value === 'number',
  'must be a string or a number',
  { type: ['string', 'number'] },
);

const headerValues = flatObject(
  'must be an object of string values',
  (value): value is string | null => typeof value === 'string' || value === null,
  'must be a string or null (send bytes with the binary produce form)',
  { type: ['string', 'null'] },
);

const partitionCount = z
  .int({ error: 'must be an integer' })
  .min(1, 'must be at least 1')
  .max(MAX_PARTITIONS, `must be at most ${MAX_PARTITIONS}`);

export const createTopicSchema = z.strictObject(
  {
    name: z.string({ error: 'must be a string' }),
    partitions: partitionCount,
    config: topicConfig.optional(),
  },
  { error: 'must be a JSON object' },
);

export const alterTopicSchema = z
  .strictObject(
    {
      config: topicConfig.optional(),
      partitions: partitionCount.optional(),
    },
    { error: 'must be a JSON object' },
  )
  .refine((change) => change.config !== undefined || change.partitions !== undefined, {
    message: 'nothing to change: give config and/or partitions',
  });

export const produceRecordSchema = z
  .strictObject(
    {
      key: text('must be a string (send bytes as keyBase64)').optional(),
      keyBase64: base64Bytes.optional(),
      // Any JSON value; how it becomes bytes is decided in toProduceRecord.
      value: z.unknown().optional(),
      valueBase64: base64Bytes.optional(),
      headers: headerValues.optional(),
      partition: nonNegativeInt.optional(),
      timestamp: nonNegativeInt.optional(),
    },
    { error: 'must be a JSON object' },
  )
  .superRefine((record, ctx) => {
    if (record.key !== undefined && record.keyBase64 !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['keyBase64'],
        message: 'give either key or keyBase64, not both',
      });
    }
    if (record.value !== undefined && record.valueBase64 !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['valueBase64'],
        message: 'give either value or valueBase64, not both',
      });
    }
    if (typeof record.value === 'string' && LONE_SURROGATE.test(record.value)) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: NOT_WELL_FORMED });
    }
  });

export const produceBodySchema = z.strictObject(
  {
    records: z
      .array(produceRecordSchema, { error: 'must be an array of records' })
      .min(1, 'must hold at least one record')
      .max(MAX_RECORDS_PER_REQUEST, `must hold at most ${MAX_RECORDS_PER_REQUEST} records per request`),
  },
  { error: 'must be a JSON object' },
);

/** `{"partitions":[{"partition","offset"}]}`: Kafka's DeleteRecords for one topic; offset -1 = the high watermark. */
export const deleteRecordsSchema = z.strictObject(
  {
    partitions: z
      .array(
        z.strictObject(
          {
            partition: nonNegativeInt,
            offset: z
              .int({ error: 'must be an integer' })
              .min(-1, 'must be a non-negative integer or -1 (the high watermark)'),
          },
          { error: 'must be a JSON object' },
        ),
        { error: 'must be an array of {partition, offset}' },
      )
      .min(1, 'must hold at least one partition')
      .max(MAX_PARTITIONS, `must hold at most ${MAX_PARTITIONS} partitions`),
  },
  { error: 'must be a JSON object' },
);

export type CreateTopicBody = z.infer<typeof createTopicSchema>;
export type AlterTopicBody = z.infer<typeof alterTopicSchema>;
export type ProduceRecordBody = z.infer<typeof produceRecordSchema>;

/** `records[3].keyBase64`, `config["retention.ms"]`; the root is `body`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (
      typeof segment === 'string' &&
      /^[A-Za-z_$][\w$]*$/.test(segment) &&
      segment.length <= MAX_ECHOED_NAME
    ) {
      out += out === '' ? segment : `.${segment}`;
    } else out += `[${echoName(String(segment))}]`;
  }
  return out === '' ? 'body' : out;
}

/** Client-chosen names are echoed cut short, so an error never grows with the request that caused it. */
const MAX_ECHOED_NAME = 60;
/** Unknown field names listed in one message, at most. */
const MAX_ECHOED_NAMES = 5;

function echoName(name: string): string {
  return JSON.stringify(name.length > MAX_ECHOED_NAME ? `${name.slice(0, MAX_ECHOED_NAME)}…` : name);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const listed = issue.keys.slice(0, MAX_ECHOED_NAMES).map(echoName).join(', ');
    const more =
      issue.keys.length > MAX_ECHOED_NAMES ? ` and ${issue.keys.length - MAX_ECHOED_NAMES} more` : '';
    return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${listed}${more}`;
  }
  // Parsed with reportInput, and JSON has no `undefined`: an undefined input is a missing field.
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${where}: is required`;
  return `${where}: ${issue.message}`;
}

/** At most this many problems are listed: enough to fix a body in one go, short enough to read. */
const MAX_LISTED_ISSUES = 5;

/** One message naming every (first few) bad field, e.g. `records[3].keyBase64: invalid base64`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const listed = issues.slice(0, MAX_LISTED_ISSUES).map(describeIssue);
  const more = issues.length - listed.length;
  return more > 0 ? `${listed.join('; ')}; and ${more} more` : listed.join('; ');
}

/** Parses `input` with `schema` or throws INVALID_REQUEST carrying the readable message. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw new StreamError('INVALID_REQUEST', describeIssues(result.error.issues));
  return result.data;
}

function jsonValueBytes(value: unknown, index: number, encodeText: EncodeText): Uint8Array | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return encodeText(value);
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    // JSON.stringify recurses: a value nested deeper than the stack allows cannot be stored as text.
    throw new StreamError('INVALID_REQUEST', `records[${index}].value: nests too deeply`);
  }
  return utf8Encoder.encode(json);
}

/** How a string becomes its UTF-8 bytes (TextEncoder's, or a TextArena's). */
export type EncodeText = (text: string) => Uint8Array;

const encodeUtf8: EncodeText = (text) => utf8Encoder.encode(text);

export function toProduceRecord(
  record: ProduceRecordBody,
  index: number,
  encodeText: EncodeText = encodeUtf8,
): ProduceRecord {
  const key = record.keyBase64 ?? (record.key === undefined ? null : encodeText(record.key));
  const value = record.valueBase64 ?? jsonValueBytes(record.value, index, encodeText);
  const headers = Object.entries(record.headers ?? {}).map(([name, headerValue]) => ({
    key: name,
    value: headerValue === null ? null : encodeText(headerValue),
  }));
  const out: ProduceRecord = { key, value, headers };
  if (record.partition !== undefined) out.partition = record.partition;
  if (record.timestamp !== undefined) out.timestamp = record.timestamp;
  return out;
}

export function parseCreateTopicBody(json: unknown): CreateTopicBody {
  return parseWith(createTopicSchema, json);
}

export function parseAlterTopicBody(json: unknown): AlterTopicBody {
  return parseWith(alterTopicSchema, json);
}

/**
 * The records of a JSON produce body, converted to the core's shape, in request order; strings become
 * bytes through `encodeText` (default: a new array each).
 */
export function parseProduceBody(json: unknown, encodeText: EncodeText = encodeUtf8): ProduceRecord[] {
  // The schema walks every record through zod, which costs more than the rest of a produce; a body
  // the plain check below accepts is one the schema accepts, read the same. Any other body, valid or
  // not, is the schema's to read and to explain.
  const records = plainProduceRecords(json) ?? parseWith(produceBodySchema, json).records;
  return records.map((record, i) => toProduceRecord(record, i, encodeText));
}

const PRODUCE_RECORD_FIELDS: ReadonlySet<string> = new Set([
  'key',
  'keyBase64',
  'value',
  'valueBase64',
  'headers',
  'partition',
  'timestamp',
]);

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasOnlyFields(object: Record<string, unknown>, fields: ReadonlySet<string>): boolean {
  for (const name of Object.keys(object)) if (!fields.has(name)) return false;
  return true;
}

const isWellFormedText = (value: unknown): value is string =>
  typeof value === 'string' && !LONE_SURROGATE.test(value);

const isOptionalNonNegativeInt = (value: unknown): boolean =>
  value === undefined || (Number.isSafeInteger(value) && (value as number) >= 0);

function plainHeaders(value: unknown): boolean {
  if (value === undefined) return true;
  if (!isJsonObject(value)) return false;
  for (const [name, headerValue] of Object.entries(value)) {
    if (LONE_SURROGATE.test(name) || (headerValue !== null && !isWellFormedText(headerValue))) return false;
  }
  return true;
}

/** The record as produceRecordSchema reads it, when it is plainly valid; else undefined. */
function plainProduceRecord(input: unknown): ProduceRecordBody | undefined {
  if (!isJsonObject(input) || !hasOnlyFields(input, PRODUCE_RECORD_FIELDS)) return undefined;
  const { key, keyBase64, value, valueBase64, headers, partition, timestamp } = input;
  if (key !== undefined && (keyBase64 !== undefined || !isWellFormedText(key))) return undefined;
  if (
    value !== undefined &&
    (valueBase64 !== undefined || (typeof value === 'string' && LONE_SURROGATE.test(value)))
  ) {
    return undefined;
  }
  if (
    !plainHeaders(headers) ||
    !isOptionalNonNegativeInt(partition) ||
    !isOptionalNonNegativeInt(timestamp)
  ) {
    return undefined;
  }
  const keyBytes = typeof keyBase64 === 'string' ? decodeBase64Strict(keyBase64) : undefined;
  const valueBytes = typeof valueBase64 === 'string' ? decodeBase64Strict(valueBase64) : undefined;
  if (
    (keyBase64 !== undefined && keyBytes === undefined) ||
    (valueBase64 !== undefined && valueBytes === undefined)
  ) {
    return undefined;
  }
  const out: ProduceRecordBody = {};
  if (key !== undefined) out.key = key as string;
  if (keyBytes !== undefined) out.keyBase64 = keyBytes;
  if (value !== undefined) out.value = value;
  if (valueBytes !== undefined) out.valueBase64 = valueBytes;
  if (headers !== undefined) out.headers = headers as Record<string, string | null>;
  if (partition !== undefined) out.partition = partition as number;
  if (timestamp !== undefined) out.timestamp = timestamp as number;
  return out;
}

/** The records of a produce body as produceBodySchema reads them, when it is plainly valid. */
function plainProduceRecords(json: unknown): ProduceRecordBody[] | undefined {
  if (!isJsonObject(json) || !hasOnlyFields(json, PRODUCE_BODY_FIELDS)) return undefined;
  const { records } = json;
  if (!Array.isArray(records) || records.length < 1 || records.length > MAX_RECORDS_PER_REQUEST) {
    return undefined;
  }
  const out: ProduceRecordBody[] = [];
  for (const input of records) {
    const record = plainProduceRecord(input);
    if (record === undefined) return undefined;
    out.push(record);
  }
  return out;
}

const PRODUCE_BODY_FIELDS: ReadonlySet<string> = new Set(['records']);

// ---------------------------------------------------------------------------------------------------
// Response bodies (DESIGN §8), for the API document (openapi.ts): each says exactly what its route
// writes, and the API document test checks real responses against them. Strict, so a field a route
// starts writing must be added here too.

const offset = z.int().min(0);
const timestamp = z.int().min(0);

/** The error body of every `/v1` route: `details` of the error are spread beside the three fields. */
export const errorEnvelopeSchema = z.strictObject({
  error: z.looseObject({
    code: z.enum(Object.keys(HTTP_STATUS_BY_CODE) as [ApiErrorCode, ...ApiErrorCode[]]),
    message: z.string(),
    retriable: z.boolean(),
  }),
});

export const healthResponseSchema = z.strictObject({ status: z.literal('ok') });

export const topicConfigSchema = z.strictObject({
  'retention.ms': z.int().min(-1),
  'retention.bytes': z.int().min(-1),
  'max.message.bytes': z.int().min(1),
  'cleanup.policy': z.literal('delete'),
  'message.timestamp.before.max.ms': z.int().min(0),
  'message.timestamp.after.max.ms': z.int().min(0),
});

/** A created or altered topic, in the shape of the request that makes it (`partitions` is a count). */
export const topicResponseSchema = z.strictObject({
  name: z.string(),
  partitions: z.int().min(1),
  config: topicConfigSchema,
});

export const topicListResponseSchema = z.strictObject({ topics: z.array(z.string()) });

export const topicDetailsResponseSchema = z.strictObject({
  name: z.string(),
  config: topicConfigSchema,
  partitions: z.array(
    z.strictObject({
      partition: z.int().min(0),
      logStartOffset: offset,
      highWatermark: offset,
      batches: z.int().min(0),
      bytes: z.int().min(0),
    }),
  ),
});

export const produceResponseSchema = z.strictObject({
  offsets: z
    .array(z.strictObject({ partition: z.int().min(0), offset }))
    .describe('One per record, in request order.'),
});

const textOrNull = z.string().nullable();

export const fetchedRecordSchema = z
  .strictObject({
    offset,
    timestamp,
    key: textOrNull.optional(),
    keyBase64: z.base64().optional(),
    value: textOrNull.optional(),
    valueBase64: z.base64().optional(),
    headers: z.record(z.string(), textOrNull),
    headersBase64: z.record(z.string(), z.base64()).optional(),
  })
  .describe(
    'Bytes are `key`/`value` text when `encoding=utf8` and they are valid UTF-8, else `keyBase64`/`valueBase64`; a null key or value is `null` under the plain name. Header values that are not text are in `headersBase64`.',
  );

export const fetchResponseSchema = z.strictObject({
  records: z.array(fetchedRecordSchema),
  nextOffset: offset,
  highWatermark: offset,
  logStartOffset: offset,
});

export const offsetsResponseSchema = z.strictObject({
  logStartOffset: offset,
  highWatermark: offset,
  offset: offset.optional().describe('The first offset whose timestamp is at or after `timestamp`.'),
});

// Query parameters, as the routes read them (router.ts parses them by hand: each is one decimal
// integer or a name, never repeated).

export const fetchQuerySchema = z.object({
  offset: offset.describe('The first offset wanted; the page starts at the batch holding it.'),
  max_bytes: z
    .int()
    .min(1)
    .optional()
    .describe(
      `Record batch bytes per page, at least 1; default ${DEFAULT_FETCH_MAX_BYTES}, larger values are clamped to ${MAX_FETCH_MAX_BYTES}.`,
    ),
  max_wait_ms: z
    .int()
    .min(0)
    .max(MAX_FETCH_WAIT_MS)
    .optional()
    .describe('How long to wait for records when none are at `offset` yet (long poll); default 0.'),
  encoding: z
    .enum(['utf8', 'base64'])
    .optional()
    .describe('`utf8` (default): text where the bytes are valid UTF-8; `base64`: always base64.'),
});

export const offsetsQuerySchema = z.object({
  timestamp: timestamp
    .optional()
    .describe('Epoch ms: also answer the first offset whose record timestamp is at or after it.'),
});

// Consumer groups (groups-routes.ts).

const committedOffset = offset.nullable().describe('The group’s committed offset, or null when it has none.');

const assignmentSchema = z.strictObject({
  topic: z.string(),
  partition: z.int().min(0),
  epoch: z.int().min(0).describe('The lease’s fencing token: send it with each commit.'),
  committedOffset,
});

const topicPartitionSchema = z.strictObject({ topic: z.string(), partition: z.int().min(0) });

export const membershipResponseSchema = z.strictObject({
  assignments: z.array(assignmentSchema),
  revoked: z
    .array(topicPartitionSchema)
    .describe('Partitions given up or lost in this call: stop processing them.'),
});

export const joinResponseSchema = z.strictObject({
  memberId: z.string(),
  ...membershipResponseSchema.shape,
});

export const groupListResponseSchema = z.strictObject({ groups: z.array(z.string()) });

export const groupDetailsResponseSchema = z.strictObject({
  group: z.string(),
  members: z.array(
    z.strictObject({ memberId: z.string(), topics: z.array(z.string()), expiresAt: timestamp }),
  ),
  partitions: z.array(
    z.strictObject({
      topic: z.string(),
      partition: z.int().min(0),
      owner: z.string().nullable(),
      epoch: z.int().min(0),
      committedOffset,
      highWatermark: offset,
      lag: z.int().min(0).describe('`highWatermark − (committedOffset ?? logStartOffset)`.'),
    }),
  ),
});

export const commitResponseSchema = z.strictObject({ committed: z.int().min(0) });

export const resetResponseSchema = z.strictObject({
  partitions: z.array(z.strictObject({ ...topicPartitionSchema.shape, committedOffset: offset })),
});

// Subscriptions (subscription-routes.ts). The subscription service validates bodies itself (naming
// the field, with the same limits); these schemas describe what it accepts and answers.

const subscriptionTargetSchema = z.union([
  z.strictObject({
    url: z.string().min(1).max(MAX_TARGET_URL_CHARS).describe('A webhook: HTTPS off loopback.'),
  }),
  z.strictObject({
    function: z.string().min(1).max(170).describe('A Lambda function name or ARN the stack may invoke.'),
  }),
]);

const startingPositionSchema = z.union([z.enum(['earliest', 'latest']), z.strictObject({ timestamp })]);

const subscriptionSettings = {
  batchSize: z.int().min(1).max(MAX_BATCH_SIZE).describe('Records per invocation at most.'),
  maxBatchingWindowMs: z
    .int()
    .min(0)
    .max(MAX_BATCHING_WINDOW_MS)
    .describe('How long to gather records before invoking with fewer than batchSize.'),
  maxRetryAttempts: z
    .int()
    .min(0)
    .max(MAX_RETRY_ATTEMPTS)
    .nullable()
    .describe('Retries before records go to deadLetterTopic; null (default) retries forever.'),
  bisectBatchOnError: z.boolean(),
  deadLetterTopic: z.string().min(1).nullable(),
  enabled: z.boolean(),
};

const optionalSettings = {
  batchSize: subscriptionSettings.batchSize.optional(),
  maxBatchingWindowMs: subscriptionSettings.maxBatchingWindowMs.optional(),
  maxRetryAttempts: subscriptionSettings.maxRetryAttempts.optional(),
  bisectBatchOnError: subscriptionSettings.bisectBatchOnError.optional(),
  deadLetterTopic: subscriptionSettings.deadLetterTopic.optional(),
  enabled: subscriptionSettings.enabled.optional(),
};

export const createSubscriptionSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/),
  topic: z.string(),
  target: subscriptionTargetSchema,
  ...optionalSettings,
  startingPosition: startingPositionSchema.optional(),
});

export const changeSubscriptionSchema = z.strictObject(optionalSettings);

export const subscriptionResponseSchema = z.strictObject({
  name: z.string(),
  topic: z.string(),
  target: subscriptionTargetSchema,
  ...subscriptionSettings,
  startingPosition: startingPositionSchema,
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const subscriptionListResponseSchema = z.strictObject({
  subscriptions: z.array(subscriptionResponseSchema),
});

export const subscriptionDetailsResponseSchema = z.strictObject({
  ...subscriptionResponseSchema.shape,
  group: z.string().describe('The consumer group underneath: `subscription:<name>`.'),
  partitions: z.array(
    z.strictObject({
      partition: z.int().min(0),
      committedOffset,
      highWatermark: offset,
      lag: z.int().min(0),
      owner: z.string().nullable(),
      attempts: z.int().min(0),
      lastError: z.string().nullable(),
      lastErrorTime: timestamp.nullable(),
      lastDeliveryTime: timestamp.nullable(),
      deadLettered: z.int().min(0),
    }),
  ),
});

// The schema registry subset (schema-routes.ts), in Confluent's shapes. Request bodies are read
// loosely, as Confluent's clients send fields this subset has no use for.

export const registryErrorSchema = z.strictObject({
  error_code: z.int().describe('Confluent’s code; the HTTP status is its first three digits (40401 → 404).'),
  message: z.string(),
});

export const registrySchemaBodySchema = z.looseObject({
  schema: z.string().describe('The Avro schema, as JSON text.'),
  schemaType: z.literal('AVRO').optional(),
  references: z.array(z.unknown()).max(0).optional().describe('Not supported: empty or absent.'),
});

export const registryCompatibilityBodySchema = z.looseObject({
  compatibility: z.enum(COMPATIBILITY_LEVELS),
});

const schemaId = z.int().min(1);
const schemaVersion = z.int().min(1);

export const subjectVersionResponseSchema = z.strictObject({
  subject: z.string(),
  version: schemaVersion,
  id: schemaId,
  schema: z.string(),
});

export const registryResponses = {
  root: z.strictObject({}),
  types: z.array(z.literal('AVRO')),
  names: z.array(z.string()),
  versions: z.array(schemaVersion),
  version: schemaVersion,
  registered: z.strictObject({ id: schemaId }),
  schema: z.strictObject({ schema: z.string() }),
  /** The `/schema` routes answer a schema's own text, which is JSON (an Avro schema). */
  rawSchema: z.unknown().describe('The schema itself (Avro JSON), not wrapped in an object.'),
  subjectVersions: z.array(z.strictObject({ subject: z.string(), version: schemaVersion })),
  level: z.strictObject({ compatibilityLevel: z.enum(COMPATIBILITY_LEVELS) }),
  levelSet: z.strictObject({ compatibility: z.enum(COMPATIBILITY_LEVELS) }),
  compatibility: z.strictObject({
    is_compatible: z.boolean(),
    messages: z.array(z.string()).optional().describe('Why not, with `verbose=true`.'),
  }),
};

/** `GET /v1/openapi.json`: the document's top level; the rest is OpenAPI 3.1's own schema. */
export const openApiResponseSchema = z.looseObject({
  openapi: z.string().regex(/^3\.1\.\d+$/),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});

/** The partitions and offsets of a delete-records body, in request order. */
export function parseDeleteRecordsBody(json: unknown): { partition: number; offset: number }[] {
  return parseWith(deleteRecordsSchema, json).partitions;
}

/** The answer of a delete-records request: each partition's log start after it, in request order. */
export const deleteRecordsResponseSchema = z.strictObject({
  partitions: z.array(z.strictObject({ partition: z.int().min(0), logStartOffset: offset })),
});
