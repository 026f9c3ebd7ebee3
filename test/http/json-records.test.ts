/**
 * What the JSON produce and fetch forms make of records, pinned byte for byte (DESIGN §8): the fetch
 * page's text for representative records, and agreement with the reference renderings — a page is
 * `JSON.stringify` of `toJsonRecord` objects, cut where the reference measure of each record's text
 * fills the budget; a produce body converts exactly as its zod schema parses it, and a bad one gets the
 * schema's message.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BATCHES_CONTENT_TYPE, type ProduceRecord } from '../../client/wire/binary.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import type { FetchedRecord, FetchResult } from '../../lambdas/core/log-types.ts';
import { jsonStringContentBytes } from '../../lambdas/http/lambda-payload.ts';
import {
  fetchPage,
  fetchPageBody,
  type RecordEncoding,
  toJsonRecord,
} from '../../lambdas/http/records-json.ts';
import {
  parseProduceBody,
  parseWith,
  produceBodySchema,
  toProduceRecord,
} from '../../lambdas/http/schemas.ts';
import { TextArena } from '../../lambdas/http/text-arena.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function page(records: FetchedRecord[], extra: Partial<FetchResult> = {}): FetchResult {
  const last = records.at(-1);
  return {
    records,
    nextOffset: last === undefined ? 0 : last.offset + 1,
    highWatermark: last === undefined ? 0 : last.offset + 1,
    logStartOffset: 0,
    ...extra,
  };
}

/** The page as built from record objects: the reference for fetchPageBody. */
function referencePage(result: FetchResult, encoding: RecordEncoding, budget: number): string {
  const parts: string[] = [];
  let used = 0;
  let nextOffset = result.nextOffset;
  for (const record of result.records) {
    let text = JSON.stringify(toJsonRecord(record, encoding));
    let bytes = jsonStringContentBytes(text) + (parts.length > 0 ? 1 : 0);
    if (used + bytes > budget) {
      if (parts.length > 0) {
        nextOffset = record.offset;
        break;
      }
      if (encoding === 'utf8') {
        text = JSON.stringify(toJsonRecord(record, 'base64'));
        bytes = jsonStringContentBytes(text);
      }
      if (bytes > budget) return 'too large';
    }
    parts.push(text);
    used += bytes;
  }
  return JSON.stringify({
    records: parts.map((part) => JSON.parse(part)),
    nextOffset,
    highWatermark: result.highWatermark,
    logStartOffset: result.logStartOffset,
  }).replace(/"records":\[.*\],"nextOffset"/s, () => `"records":[${parts.join(',')}],"nextOffset"`);
}

describe('JSON fetch pages, byte for byte', () => {
  const records: FetchedRecord[] = [
    { offset: 0, timestamp: 1_700_000_000_000, key: utf8('k'), value: utf8('hello'), headers: [] },
    {
      offset: 1,
      timestamp: 1,
      key: null,
      value: utf8('{"a":[1,2]}'),
      headers: [{ key: 'trace', value: utf8('abc') }],
    },
    {
      offset: 2,
      timestamp: 2,
      key: new Uint8Array([0xff, 0x00]),
      value: null,
      headers: [
        { key: 'b', value: new Uint8Array([0xc3]) },
        { key: '2', value: null },
        { key: '__proto__', value: utf8('p') },
        { key: '1', value: utf8('one') },
        { key: 'b', value: utf8('last') },
      ],
    },
    {
      offset: 3,
      timestamp: 3,
      key: utf8('\ufeffbom'),
      value: utf8('q"b\\s\n\t\u0001\u007f\u2028é€😀'),
      headers: [{ key: 'bin', value: new Uint8Array([0x80]) }],
    },
    {
      offset: 9_007_199_254_740_991,
      timestamp: 0,
      key: new Uint8Array(0),
      value: new Uint8Array(0),
      headers: [],
    },
  ];

  it('renders text, JSON text, bytes, keys, headers and nulls as UTF-8 text where it can', () => {
    const body = fetchPageBody(page(records), 'utf8', Number.MAX_SAFE_INTEGER, 't/0');
    expect(body).toBe(
      '{"records":[' +
        '{"offset":0,"timestamp":1700000000000,"key":"k","value":"hello","headers":{}},' +
        '{"offset":1,"timestamp":1,"key":null,"value":"{\\"a\\":[1,2]}","headers":{"trace":"abc"}},' +
        '{"offset":2,"timestamp":2,"keyBase64":"/wA=","value":null,"headers":{"1":"one","2":null,"b":"last","__proto__":"p"}},' +
        '{"offset":3,"timestamp":3,"key":"\ufeffbom","value":"q\\"b\\\\s\\n\\t\\u0001\u007f\u2028é€😀","headers":{},"headersBase64":{"bin":"gA=="}},' +
        '{"offset":9007199254740991,"timestamp":0,"key":"","value":"","headers":{}}' +
        '],"nextOffset":9007199254740992,"highWatermark":9007199254740992,"logStartOffset":0}',
    );
  });

  it('renders every non-null key, value and header value as base64 with encoding=base64', () => {
    const body = fetchPageBody(page(records.slice(0, 3)), 'base64', Number.MAX_SAFE_INTEGER, 't/0');
    expect(body).toBe(
      '{"records":[' +
        '{"offset":0,"timestamp":1700000000000,"keyBase64":"aw==","valueBase64":"aGVsbG8=","headers":{}},' +
        '{"offset":1,"timestamp":1,"key":null,"valueBase64":"eyJhIjpbMSwyXX0=","headers":{},"headersBase64":{"trace":"YWJj"}},' +
        '{"offset":2,"timestamp":2,"keyBase64":"/wA=","value":null,"headers":{"2":null},"headersBase64":{"1":"b25l","b":"bGFzdA==","__proto__":"cA=="}}' +
        '],"nextOffset":3,"highWatermark":3,"logStartOffset":0}',
    );
  });

  it('writes offsets and timestamps as JSON.stringify does, up to the largest safe integer', () => {
    const numbers = [0, 9, 10, 99, 100, 2 ** 31, 2 ** 53 - 2, Number.MAX_SAFE_INTEGER];
    const records = numbers.map(
      (n, i): FetchedRecord => ({
        offset: n,
        timestamp: numbers.at(-1 - i) as number,
        key: null,
        value: null,
        headers: [],
      }),
    );
    const result = page(records);
    expect(fetchPageBody(result, 'utf8', Number.MAX_SAFE_INTEGER, 't/0')).toBe(
      referencePage(result, 'utf8', Number.MAX_SAFE_INTEGER),
    );
  });

  it('writes an empty page as JSON.stringify does', () => {
    const body = fetchPageBody(
      page([], { nextOffset: 5, highWatermark: 5, logStartOffset: 2 }),
      'utf8',
      100,
      't/0',
    );
    expect(body).toBe('{"records":[],"nextOffset":5,"highWatermark":5,"logStartOffset":2}');
  });

  const bytes = fc.oneof(
    fc.constant(null),
    fc.uint8Array({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 30 }).map(utf8),
    fc
      .string({
        unit: fc.constantFrom('"', '\\', '\n', '\t', '\u0001', '\u001f', '\u007f', 'é', '😀', '\ufeff', 'a'),
        maxLength: 30,
      })
      .map(utf8),
  );
  const header = fc.record({
    key: fc.oneof(fc.constantFrom('a', 'b', '1', '10', '__proto__', 'constructor', 'x"y'), fc.string()),
    value: bytes,
  });
  const recordList = fc
    .array(
      fc.record({
        timestamp: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        key: bytes,
        value: bytes,
        headers: fc.array(header, { maxLength: 4 }),
      }),
      { minLength: 1, maxLength: 6 },
    )
    .map((list) => list.map((record, i): FetchedRecord => ({ ...record, offset: 100 + i })));

  it('matches the reference built from record objects, whatever the records, encoding and budget', () => {
    fc.assert(
      fc.property(
        recordList,
        fc.constantFrom<RecordEncoding>('utf8', 'base64'),
        fc.nat({ max: 1500 }),
        (list, encoding, budget) => {
          const result = page(list);
          const expected = referencePage(result, encoding, budget);
          if (expected === 'too large') {
            expect(() => fetchPageBody(result, encoding, budget, 't/0')).toThrow(
              expect.objectContaining({
                code: 'RECORD_TOO_LARGE',
                message: expect.stringContaining(BATCHES_CONTENT_TYPE),
              }),
            );
          } else {
            const { body, documentBytesAtMost } = fetchPage(result, encoding, budget, 't/0');
            const text = new TextDecoder().decode(body);
            expect(text).toBe(expected);
            // What the router trusts instead of measuring the page again: the truth.
            expect(documentBytesAtMost).toBe(jsonStringContentBytes(text));
          }
          expect(fetchPageBody(result, encoding, Number.MAX_SAFE_INTEGER, 't/0')).toBe(
            referencePage(result, encoding, Number.MAX_SAFE_INTEGER),
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('matches the reference for longer keys and values that are views into one shared buffer', () => {
    // As fetched records are: views at any offset of the batch they were decoded from.
    const long = fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 8, maxLength: 300 }).map(utf8),
      fc
        .string({ unit: fc.constantFrom('a', 'b', '"', '\\', '\u0001', 'é', '\ufeff'), maxLength: 200 })
        .map(utf8),
      fc.uint8Array({ minLength: 8, maxLength: 200 }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.option(long), long, fc.nat({ max: 7 })), { minLength: 1, maxLength: 8 }),
        fc.constantFrom<RecordEncoding>('utf8', 'base64'),
        fc.nat({ max: 3000 }),
        (list, encoding, budget) => {
          const shared = new Uint8Array(
            list.reduce((sum, [k, v, gap]) => sum + (k?.length ?? 0) + v.length + 2 * gap, 0),
          );
          let at = 0;
          const view = (bytes: Uint8Array, gap: number): Uint8Array => {
            at += gap;
            shared.set(bytes, at);
            at += bytes.length;
            return shared.subarray(at - bytes.length, at);
          };
          const records = list.map(
            ([key, value, gap], i): FetchedRecord => ({
              offset: i,
              timestamp: i,
              key: key === null ? null : view(key, gap),
              value: view(value, gap),
              headers: [],
            }),
          );
          const result = page(records);
          const expected = referencePage(result, encoding, budget);
          if (expected === 'too large') {
            expect(() => fetchPageBody(result, encoding, budget, 't/0')).toThrow(
              expect.objectContaining({ code: 'RECORD_TOO_LARGE' }),
            );
          } else {
            expect(fetchPageBody(result, encoding, budget, 't/0')).toBe(expected);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('writes pages larger than the arrays it is given, growing into new ones', () => {
    const records = Array.from(
      { length: 50 },
      (_, i): FetchedRecord => ({
        offset: i,
        timestamp: i,
        key: null,
        value: utf8(`v"${i}`.repeat(40)),
        headers: [],
      }),
    );
    const sizes: number[] = [];
    const { body, taken } = fetchPage(page(records), 'utf8', Number.MAX_SAFE_INTEGER, 't/0', (size) => {
      sizes.push(size);
      return new Uint8Array(size);
    });
    expect(new TextDecoder().decode(body)).toBe(
      referencePage(page(records), 'utf8', Number.MAX_SAFE_INTEGER),
    );
    // Escaped values take more than the first estimate: the page grew, and every array is handed back.
    expect(sizes.length).toBeGreaterThan(1);
    expect(taken).toHaveLength(sizes.length);
  });
});

/** The schema's own reading of a body: its records, or its INVALID_REQUEST message. */
function referenceProduce(json: unknown): unknown {
  try {
    return parseWith(produceBodySchema, json).records.map((record, i) => toProduceRecord(record, i));
  } catch (error) {
    if (error instanceof StreamError) return { code: error.code, message: error.message };
    throw error;
  }
}

function produce(json: unknown): unknown {
  try {
    return parseProduceBody(json);
  } catch (error) {
    if (error instanceof StreamError) return { code: error.code, message: error.message };
    throw error;
  }
}

describe('JSON produce bodies', () => {
  const base64 = fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString('base64'));
  const anyValue = fc.oneof(
    fc.string(),
    fc.constantFrom('\ud800', 'a\udc00', '😀', 'ab$c', 'QR==', 'QQ', '_w==', 'YQ=='),
    base64,
    fc.integer(),
    fc.double(),
    fc.constantFrom(null, true, false, -1, 1.5, 2 ** 60, 0),
    fc.constant([]),
    fc.constant({}),
    fc.constant({ a: [1, 'x'] }),
  );
  const headers = fc.oneof(
    fc.dictionary(
      fc.oneof(fc.string(), fc.constantFrom('__proto__', '1', '\ud800')),
      fc.oneof(fc.string(), fc.constant(null)),
      {
        maxKeys: 3,
      },
    ),
    anyValue,
  );
  const common = {
    headers: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.constant(null)), { maxKeys: 3 }),
    partition: fc.nat(),
    timestamp: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  };
  const validRecord = fc.oneof(
    fc.record(
      {
        key: fc.string(),
        value: fc.oneof(fc.string(), fc.constant(null), fc.integer(), fc.constant({ a: [1, 'x'] })),
        ...common,
      },
      { requiredKeys: [] },
    ),
    fc.record({ keyBase64: base64, valueBase64: base64, ...common }, { requiredKeys: [] }),
  );
  const anyRecord = fc.oneof(
    validRecord,
    fc.record(
      {
        key: anyValue,
        keyBase64: anyValue,
        value: anyValue,
        valueBase64: anyValue,
        headers,
        partition: anyValue,
        timestamp: anyValue,
        vaule: anyValue,
      },
      { requiredKeys: [] },
    ),
    anyValue,
  );

  it('converts valid bodies exactly as the schema does', () => {
    fc.assert(
      fc.property(fc.array(validRecord, { minLength: 1, maxLength: 5 }), (records) => {
        const body = JSON.parse(JSON.stringify({ records }));
        const ours = produce(body);
        expect(ours).toEqual(referenceProduce(body));
        expect(Array.isArray(ours)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('answers any body, valid or not, as the schema does: the same records or the same message', () => {
    const body = fc.oneof(
      fc.record({ records: fc.array(anyRecord, { maxLength: 4 }) }),
      fc.record(
        { records: fc.array(anyRecord, { maxLength: 2 }), acks: anyValue },
        { requiredKeys: ['records'] },
      ),
      fc.record({ records: anyValue }),
      anyValue,
    );
    fc.assert(
      fc.property(body, (json) => {
        const parsed = JSON.parse(JSON.stringify(json));
        expect(produce(parsed)).toEqual(referenceProduce(parsed));
      }),
      { numRuns: 3000 },
    );
  });

  it("writes a body's strings into one array of the body's length, the bytes TextEncoder writes", () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 20 });
    const stringRecord = fc.record(
      {
        key: text,
        value: fc.oneof(text, fc.constant(null), fc.integer()),
        headers: fc.dictionary(text, fc.oneof(text, fc.constant(null)), { maxKeys: 3 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.array(stringRecord, { minLength: 1, maxLength: 5 }),
        fc.constantFrom('raw', 'escaped', 'too small'),
        (records, form) => {
          let source = JSON.stringify({ records });
          // \uXXXX escapes: the most text for the fewest encoded bytes.
          if (form === 'escaped')
            source = source.replace(
              /[\u0080-\uffff]/g,
              (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
            );
          const bodyBytes = new TextEncoder().encode(source).byteLength;
          const arena = new Uint8Array(form === 'too small' ? Math.floor(bodyBytes / 4) : bodyBytes);
          const ours = parseProduceBody(JSON.parse(source), new TextArena(arena).encode);
          expect(ours).toEqual(referenceProduce(JSON.parse(source)));
          if (form === 'too small') return;
          // Every string landed in the one array: the body's length holds them all.
          records.forEach((record, i) => {
            const out = ours[i] as ProduceRecord;
            if (record.key !== undefined) expect(out.key?.buffer).toBe(arena.buffer);
            if (typeof record.value === 'string') expect(out.value?.buffer).toBe(arena.buffer);
            for (const header of out.headers)
              if (header.value !== null) expect(header.value.buffer).toBe(arena.buffer);
          });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('answers bodies with JSON-only shapes (a __proto__ key, lone surrogates, many records) as the schema does', () => {
    const bodies = [
      '{"records":[{"__proto__":1}]}',
      '{"records":[{"headers":{"__proto__":"x","1":"one","0":null}}]}',
      '{"records":[{"key":"\\ud800"}]}',
      '{"records":[{"value":"a\\udc00"}]}',
      '{"records":[{"headers":{"\\udc00":"x"}}]}',
      '{"records":[{"headers":{"a":"\\ud800"}}]}',
      '{"records":[{"value":{"deep":"\\ud800"}}]}',
      '{"records":[{"key":"a","keyBase64":"YQ==","value":1,"valueBase64":"YQ=="}]}',
      '{"records":[{"partition":1e300},{"timestamp":-0},{"partition":0.0}]}',
      '{"records":[{"timestamp":-0,"partition":-0},{"partition":0.0,"timestamp":5e0}]}',
      JSON.stringify({ records: Array.from({ length: 10_001 }, () => ({})) }),
      JSON.stringify({ records: Array.from({ length: 10_000 }, (_, i) => ({ value: `${i}` })) }),
    ];
    for (const text of bodies) {
      const json = JSON.parse(text);
      expect(produce(json), text.slice(0, 80)).toEqual(referenceProduce(json));
    }
  });
});
