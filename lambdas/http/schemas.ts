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
import { StreamError } from '../core/errors.ts';
import { MAX_PARTITIONS, MAX_RECORDS_PER_REQUEST } from '../core/limits.ts';
import type { ProduceRecord } from '../core/log-types.ts';

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

const base64Bytes = z.string({ error: 'must be a base64 string' }).transform((encoded, ctx) => {
  const bytes = decodeBase64Strict(encoded);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: 'invalid base64 (standard alphabet, padded, no whitespace)' });
    return z.NEVER;
  }
  return bytes;
});

const nonNegativeInt = z.int({ error: 'must be an integer' }).min(0, 'must not be negative');

/**
 * A JSON object used as a map (headers, topic config). Written by hand rather than with `z.record`
 * because that copies entries into a plain object, where a key named `__proto__` would vanish into
 * the prototype; here every key stays an own property of a null-prototype object.
 */
function flatObject<T>(typeMessage: string, accepts: (value: unknown) => value is T, valueMessage: string) {
  return z.unknown().transform((input, ctx) => {
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
}

/** Kafka topic configs are flat name → scalar; which names and values are allowed is topics.ts' call. */
const topicConfig = flatObject(
  'must be an object of string or number values',
  (value): value is string | number => typeof value === 'string' || typeof value === 'number',
  'must be a string or a number',
);

const headerValues = flatObject(
  'must be an object of string values',
  (value): value is string | null => typeof value === 'string' || value === null,
  'must be a string or null (send bytes with the binary produce form)',
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

function jsonValueBytes(value: unknown, index: number): Uint8Array | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return utf8Encoder.encode(value);
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    // JSON.stringify recurses: a value nested deeper than the stack allows cannot be stored as text.
    throw new StreamError('INVALID_REQUEST', `records[${index}].value: nests too deeply`);
  }
  return utf8Encoder.encode(json);
}

export function toProduceRecord(record: ProduceRecordBody, index: number): ProduceRecord {
  const key = record.keyBase64 ?? (record.key === undefined ? null : utf8Encoder.encode(record.key));
  const value = record.valueBase64 ?? jsonValueBytes(record.value, index);
  const headers = Object.entries(record.headers ?? {}).map(([name, headerValue]) => ({
    key: name,
    value: headerValue === null ? null : utf8Encoder.encode(headerValue),
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

/** The records of a JSON produce body, converted to the core's shape, in request order. */
export function parseProduceBody(json: unknown): ProduceRecord[] {
  return parseWith(produceBodySchema, json).records.map(toProduceRecord);
}

/** The partitions and offsets of a delete-records body, in request order. */
export function parseDeleteRecordsBody(json: unknown): { partition: number; offset: number }[] {
  return parseWith(deleteRecordsSchema, json).partitions;
}
