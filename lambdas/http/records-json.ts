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

import { Buffer, isUtf8 } from 'node:buffer';
import { BATCHES_CONTENT_TYPE } from '../../client/wire/binary.ts';
import { type Allocate, uninitializedBytes } from '../../client/wire/bytes.ts';
import { StreamError } from '../core/errors.ts';
import type { FetchedRecord, FetchResult } from '../core/log-types.ts';
import { JsonEscapeScan } from './byte-scan.ts';
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

/**
 * A growing UTF-8 buffer a fetch page is written into: bytes copied as they are, ASCII and UTF-8 text
 * written in place. Its memory comes from `allocate` (a pool's, given back by whoever sends the page)
 * and grows to twice its size when a write would not fit.
 */
class JsonBytes {
  bytes: Buffer;
  at = 0;
  /** Every array taken from `allocate`, the last one current: all go back with the page. */
  readonly taken: Uint8Array[] = [];
  readonly scan = new JsonEscapeScan();

  constructor(
    private readonly allocate: Allocate,
    capacity: number,
  ) {
    this.bytes = this.take(capacity);
  }

  private take(size: number): Buffer {
    const array = this.allocate(size);
    this.taken.push(array);
    return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
  }

  private reserve(size: number): void {
    if (this.at + size <= this.bytes.byteLength) return;
    const grown = this.take(Math.max(2 * this.bytes.byteLength, this.at + size));
    grown.set(this.bytes.subarray(0, this.at));
    this.bytes = grown;
  }

  /** Text of code units below 0x80 (field names, numbers, base64). */
  ascii(text: string): void {
    this.reserve(text.length);
    // The short texts around each value are copied here (they are flat strings: constants and
    // numbers): cheaper than a call into native code.
    if (text.length > 64) this.at += this.bytes.write(text, this.at, 'latin1');
    else {
      const { bytes, at } = this;
      for (let i = 0; i < text.length; i++) bytes[at + i] = text.charCodeAt(i);
      this.at += text.length;
    }
  }

  utf8(text: string): void {
    this.reserve(Buffer.byteLength(text));
    this.at += this.bytes.write(text, this.at, 'utf8');
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.byteLength);
    this.bytes.set(bytes, this.at);
    this.at += bytes.byteLength;
  }
}

/** What a text adds to the Lambda response document beyond its UTF-8 bytes (its `"` and `\` again). */
const documentExtra = (text: string): number => jsonStringContentBytes(text) - Buffer.byteLength(text);

/** The texts around a field's value, written as constants (no string is built per record). */
const FIELD_TEXTS = {
  key: { null: '"key":null', text: '"key":"', json: '"key":', base64: '"keyBase64":"' },
  value: { null: '"value":null', text: '"value":"', json: '"value":', base64: '"valueBase64":"' },
};

/**
 * Writes `"name":…` for `render`'s field as JSON.stringify would: valid UTF-8 that needs no escape is
 * copied as it is, anything else goes through a string. What the field adds to the Lambda response
 * document beyond its bytes.
 */
function writeField(
  out: JsonBytes,
  name: 'key' | 'value',
  bytes: Uint8Array | null,
  encoding: RecordEncoding,
): number {
  const texts = FIELD_TEXTS[name];
  if (bytes === null) {
    out.ascii(texts.null);
    return 2;
  }
  if (encoding === 'utf8' && isUtf8(bytes)) {
    // A BOM stays (ignoreBOM): as bytes here, as U+FEFF in utf8OrUndefined's text.
    if (!out.scan.needsEscape(bytes)) {
      out.ascii(texts.text);
      out.raw(bytes);
      out.ascii('"');
      return 4;
    }
    const text = JSON.stringify(strictUtf8.decode(bytes));
    out.ascii(texts.json);
    out.utf8(text);
    return 2 + documentExtra(text);
  }
  out.ascii(texts.base64);
  out.ascii(toBase64(bytes));
  out.ascii('"');
  return 4;
}

/**
 * Writes `JSON.stringify(toJsonRecord(record, encoding))`: no object per record, and each text escaped
 * once. Headers, rare and small, go through toJsonRecord's objects, which settle the order of their
 * keys as JSON.stringify does. What the record adds to the Lambda response document beyond its bytes:
 * JSON text holds no control character and no lone surrogate, so that is one byte per `"` and `\`.
 */
function writeRecord(out: JsonBytes, record: FetchedRecord, encoding: RecordEncoding): number {
  out.ascii('{"offset":');
  out.ascii(String(record.offset));
  out.ascii(',"timestamp":');
  out.ascii(String(record.timestamp));
  out.ascii(',');
  let extra = 4 + writeField(out, 'key', record.key, encoding);
  out.ascii(',');
  extra += writeField(out, 'value', record.value, encoding);
  if (record.headers.length === 0) {
    out.ascii(',"headers":{}}');
    return extra + 2;
  }
  const { headers, headersBase64 } = toJsonRecord({ ...record, key: null, value: null }, encoding);
  const text = `,"headers":${JSON.stringify(headers)}${headersBase64 === undefined ? '' : `,"headersBase64":${JSON.stringify(headersBase64)}`}}`;
  out.utf8(text);
  return extra + documentExtra(text);
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
  const { body } = fetchPage(result, encoding, budgetBytes, where);
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}

/** A fetch page's bytes to start with: its values and keys as they are, and room for the rest. */
function pageCapacity(result: FetchResult): number {
  let bytes = 128;
  for (const record of result.records) {
    bytes += 96 + (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
  }
  return bytes;
}

/**
 * fetchPageBody's body as UTF-8 bytes, and the bytes it takes in the Lambda response document (the
 * route's `bodyDocumentBytesAtMost`), exactly. The body is written into arrays from `allocate` (default
 * fresh ones); `taken` lists every one, for the caller to give back once the body is sent.
 */
export function fetchPage(
  result: FetchResult,
  encoding: RecordEncoding,
  budgetBytes: number,
  where: string,
  allocate: Allocate = uninitializedBytes,
): { body: Uint8Array; documentBytesAtMost: number; taken: readonly Uint8Array[] } {
  const out = new JsonBytes(allocate, pageCapacity(result));
  const head = '{"records":[';
  out.ascii(head);
  // What the records so far add to the document: each record's bytes and its `"` and `\` once more.
  let used = 0;
  let nextOffset = result.nextOffset;
  let count = 0;
  for (const record of result.records) {
    const comma = count > 0 ? 1 : 0;
    const start = out.at;
    if (comma === 1) out.ascii(',');
    let bytes = writeRecord(out, record, encoding) + out.at - start;
    if (used + bytes > budgetBytes) {
      out.at = start;
      if (count > 0) {
        nextOffset = record.offset;
        break;
      }
      if (encoding === 'utf8') bytes = writeRecord(out, record, 'base64') + out.at - start;
      if (bytes > budgetBytes) {
        throw new StreamError(
          'RECORD_TOO_LARGE',
          `record ${record.offset} of ${where} takes ${bytes} bytes of a JSON fetch response even as base64, over the ${budgetBytes} a response can carry; fetch it in the binary form (Accept: ${BATCHES_CONTENT_TYPE})`,
        );
      }
    }
    count++;
    used += bytes;
  }
  // What JSON.stringify writes for {records, nextOffset, highWatermark, logStartOffset}.
  const tail = `],"nextOffset":${nextOffset},"highWatermark":${result.highWatermark},"logStartOffset":${result.logStartOffset}}`;
  out.ascii(tail);
  return {
    body: out.bytes.subarray(0, out.at),
    documentBytesAtMost: jsonStringContentBytes(head) + used + jsonStringContentBytes(tail),
    taken: out.taken,
  };
}
