/**
 * Fetched records → JSON (DESIGN §8, fetch response).
 *
 * One rule for keys, values and header values: bytes are rendered as text when the encoding allows it
 * and they are valid UTF-8, else as base64 under a `…Base64` name; null stays null under the plain name.
 *
 *   encoding=utf8 (default)  key → `key` (string) or `keyBase64`, same for value; header values → the
 *                            `headers` object, or `headersBase64` for values that are not valid UTF-8
 *   encoding=base64          key → `keyBase64`, value → `valueBase64`, every non-null header value →
 *                            `headersBase64`
 *   null key / value         `"key": null` / `"value": null` in both encodings
 *
 * `headers` is always present (possibly `{}`); `headersBase64` only when it holds something, so the
 * common all-text case reads exactly as DESIGN's `{"offset","timestamp","key","value","headers"}`.
 * Kafka allows a header key to repeat; a JSON object cannot, so the LAST value of a repeated key wins
 * (what Kafka's `Headers.lastHeader` returns). The binary fetch form keeps the full list.
 * Bytes are decoded with BOM kept (`ignoreBOM`): the string must re-encode to exactly the stored bytes.
 *
 * A page of records (`fetchPageBody`) fits one Lambda response document: records are added while the
 * bytes each adds to that document — its JSON text escaped once more inside the document's `body`
 * string, so a `"` of a value costs 4 — stay within the budget. The first record is always returned
 * (Kafka returns at least one): when its text does not fit, it is rendered as base64 instead.
 */

import { Buffer } from 'node:buffer';
import { BATCHES_CONTENT_TYPE } from '../../client/wire/binary.ts';
import { StreamError } from '../core/errors.ts';
import type { FetchedRecord, FetchResult } from '../core/log-types.ts';
import { jsonStringContentBytes } from './lambda-payload.ts';

export type RecordEncoding = 'utf8' | 'base64';

export const RECORD_ENCODINGS: readonly RecordEncoding[] = ['utf8', 'base64'];

/** The `encoding` query parameter; absent means utf8. */
export function parseRecordEncoding(raw: string | null | undefined): RecordEncoding {
  if (raw === null || raw === undefined) return 'utf8';
  if (raw === 'utf8' || raw === 'base64') return raw;
  throw new StreamError(
    'INVALID_REQUEST',
    `encoding: must be one of ${RECORD_ENCODINGS.join(', ')}, got ${JSON.stringify(raw.slice(0, 40))}`,
  );
}

export interface JsonRecord {
  offset: number;
  timestamp: number;
  key?: string | null;
  keyBase64?: string;
  value?: string | null;
  valueBase64?: string;
  headers: Record<string, string | null>;
  headersBase64?: Record<string, string>;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as text, or undefined when they are not valid UTF-8. */
export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

type Rendered = { text: string | null } | { base64: string };

function render(bytes: Uint8Array | null, encoding: RecordEncoding): Rendered {
  if (bytes === null) return { text: null };
  if (encoding === 'utf8') {
    const decoded = utf8OrUndefined(bytes);
    if (decoded !== undefined) return { text: decoded };
  }
  return { base64: toBase64(bytes) };
}

export function toJsonRecord(record: FetchedRecord, encoding: RecordEncoding): JsonRecord {
  // Null-prototype objects: a header named `__proto__` must be an ordinary key, not a prototype swap.
  const headers: Record<string, string | null> = Object.create(null);
  const key = render(record.key, encoding);
  const value = render(record.value, encoding);
  // Field order as in DESIGN §8 (offset, timestamp, key, value, headers): easier to read in a terminal.
  const out: JsonRecord = {
    offset: record.offset,
    timestamp: record.timestamp,
    ...('text' in key ? { key: key.text } : { keyBase64: key.base64 }),
    ...('text' in value ? { value: value.text } : { valueBase64: value.base64 }),
    headers,
  };

  const lastByKey = new Map<string, Uint8Array | null>();
  for (const header of record.headers) lastByKey.set(header.key, header.value);
  const headersBase64: Record<string, string> = Object.create(null);
  let anyBase64 = false;
  for (const [name, bytes] of lastByKey) {
    const rendered = render(bytes, encoding);
    if ('text' in rendered) headers[name] = rendered.text;
    else {
      headersBase64[name] = rendered.base64;
      anyBase64 = true;
    }
  }
  if (anyBase64) out.headersBase64 = headersBase64;
  return out;
}

/** What JSON.stringify escapes in text decoded from UTF-8 (which holds no lone surrogate). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for.
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;

/** `JSON.stringify(text)` for text decoded from UTF-8; most values need no escape and skip it. */
function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/** `"name":"text"`, `"name":null` or `"nameBase64":"…"`: what JSON.stringify writes for `render`'s field. */
function fieldJson(name: string, bytes: Uint8Array | null, encoding: RecordEncoding): string {
  if (bytes === null) return `"${name}":null`;
  if (encoding === 'utf8') {
    const decoded = utf8OrUndefined(bytes);
    if (decoded !== undefined) return `"${name}":${jsonString(decoded)}`;
  }
  return `"${name}Base64":"${toBase64(bytes)}"`;
}

/**
 * `JSON.stringify(toJsonRecord(record, encoding))`, written straight: no object per record, and each
 * text escaped once. Headers, rare and small, go through toJsonRecord's objects, which settle the
 * order of their keys as JSON.stringify does.
 */
export function jsonRecordText(record: FetchedRecord, encoding: RecordEncoding): string {
  const head = `{"offset":${record.offset},"timestamp":${record.timestamp},${fieldJson('key', record.key, encoding)},${fieldJson('value', record.value, encoding)}`;
  if (record.headers.length === 0) return `${head},"headers":{}}`;
  const { headers, headersBase64 } = toJsonRecord({ ...record, key: null, value: null }, encoding);
  const base64 = headersBase64 === undefined ? '' : `,"headersBase64":${JSON.stringify(headersBase64)}`;
  return `${head},"headers":${JSON.stringify(headers)}${base64}}`;
}

/**
 * The JSON body of a fetch page: the records of `result` from the first, while the bytes they add to
 * the Lambda response document (records and the commas between them) stay within `budgetBytes`, and
 * `nextOffset` at the first record left out. The first record is always there, as base64 when its text
 * does not fit; one that does not fit either way is a 413 naming the binary form, which carries any
 * batch (MAX_BATCH_BYTES).
 */
export function fetchPageBody(
  result: FetchResult,
  encoding: RecordEncoding,
  budgetBytes: number,
  where: string,
): string {
  return fetchPage(result, encoding, budgetBytes, where).body;
}

/** fetchPageBody's body, and at most the bytes it takes in the Lambda response document. */
export function fetchPage(
  result: FetchResult,
  encoding: RecordEncoding,
  budgetBytes: number,
  where: string,
): { body: string; documentBytesAtMost: number } {
  const parts: string[] = [];
  // What the records so far add to the document: at most `used`; exactly `used` once `exact`. A
  // record's text holds no control character and no lone surrogate (JSON.stringify escaped them), so
  // each of its characters takes at most twice its UTF-8 bytes there: a page whose records take at
  // most twice their UTF-8 bytes within the budget is settled without measuring each one exactly.
  let used = 0;
  let exact = false;
  let nextOffset = result.nextOffset;
  for (const record of result.records) {
    let text = jsonRecordText(record, encoding);
    const comma = parts.length > 0 ? 1 : 0;
    if (!exact) {
      const most = 2 * Buffer.byteLength(text) + comma;
      if (used + most <= budgetBytes) {
        parts.push(text);
        used += most;
        continue;
      }
      used = parts.reduce((sum, part, i) => sum + jsonStringContentBytes(part) + (i > 0 ? 1 : 0), 0);
      exact = true;
    }
    let bytes = jsonStringContentBytes(text) + comma;
    if (used + bytes > budgetBytes) {
      if (parts.length > 0) {
        nextOffset = record.offset;
        break;
      }
      if (encoding === 'utf8') {
        text = jsonRecordText(record, 'base64');
        bytes = jsonStringContentBytes(text);
      }
      if (bytes > budgetBytes) {
        throw new StreamError(
          'RECORD_TOO_LARGE',
          `record ${record.offset} of ${where} takes ${bytes} bytes of a JSON fetch response even as base64, over the ${budgetBytes} a response can carry; fetch it in the binary form (Accept: ${BATCHES_CONTENT_TYPE})`,
        );
      }
    }
    parts.push(text);
    used += bytes;
  }
  // What JSON.stringify writes for {records, nextOffset, highWatermark, logStartOffset}, built from the
  // records' texts already measured.
  const head = '{"records":[';
  const tail = `],"nextOffset":${nextOffset},"highWatermark":${result.highWatermark},"logStartOffset":${result.logStartOffset}}`;
  return {
    body: `${head}${parts.join(',')}${tail}`,
    documentBytesAtMost: jsonStringContentBytes(head) + used + jsonStringContentBytes(tail),
  };
}
