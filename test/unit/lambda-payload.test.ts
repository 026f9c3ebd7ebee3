/**
 * The sizes the router, the local server and the Lambda adapter bound requests and responses by
 * (lambdas/http/lambda-payload.ts), checked against what JSON.stringify makes of real API Gateway
 * events (test/handlers/events) and of real Lambda results (apigw.ts), and the limits derived from them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeProduceBody, PRODUCE_CONTENT_TYPE } from '../../client/wire/binary.ts';
import {
  LAMBDA_EVENT_RESERVE_BYTES,
  LAMBDA_RESPONSE_RESERVE_BYTES,
  MAX_BATCH_BYTES,
  MAX_FETCH_MAX_BYTES,
  MAX_LAMBDA_PAYLOAD_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_PRODUCE_BODY_BYTES,
  MAX_RECORDS_PER_REQUEST,
  REQUEST_HEADROOM_BYTES,
} from '../../client/wire/limits.ts';
import { encodeRecordBatch } from '../../client/wire/record-batch.ts';
import { type ApiGatewayEvent, fromApiGatewayEvent, toApiGatewayResult } from '../../lambdas/http/apigw.ts';
import {
  base64Length,
  isTextBody,
  jsonStringContentBytes,
  lambdaEventSize,
  lambdaResponseBytes,
  oversizedEvent,
  oversizedResponseBytes,
  utf8JsonStringContentBytes,
} from '../../lambdas/http/lambda-payload.ts';
import { fetchPageBody } from '../../lambdas/http/records-json.ts';
import type { HttpResponse } from '../../lambdas/http/types.ts';

const bytesOf = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

/** Strings rich in what JSON escapes: quotes, backslashes, controls, non-ASCII, lone surrogates. */
const nastyChar = fc.oneof(
  fc.constantFrom('"', '\\', '\n', '\t', '\u0001', '\u001f', '\u007f', 'é', '€', '\u2028', '😀'),
  fc.constantFrom('\ud800', '\udfff', '\udbff', '\udc00'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
const nastyString = fc.oneof(
  fc.string({ unit: nastyChar, maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ maxLength: 60 }),
);

const EVENTS_DIR = new URL('../handlers/events/', import.meta.url);
const events: [string, ApiGatewayEvent][] = readdirSync(EVENTS_DIR)
  .filter((name) => name.endsWith('.json'))
  .map((name) => [name, JSON.parse(readFileSync(new URL(name, EVENTS_DIR), 'utf8')) as ApiGatewayEvent]);

describe('jsonStringContentBytes', () => {
  it('is the UTF-8 size of what JSON.stringify writes between the quotes', () => {
    fc.assert(
      fc.property(nastyString, (text) => {
        expect(jsonStringContentBytes(text)).toBe(bytesOf(text) - 2);
      }),
      { numRuns: 2000 },
    );
  });

  it('counts a character escaped twice as a JSON body inside a Lambda result', () => {
    // `"` is 2 bytes of JSON and 4 of the document; \u0001 is 6 and then 7
    const inDocument = (char: string) =>
      jsonStringContentBytes(JSON.stringify(char)) - jsonStringContentBytes(JSON.stringify(''));
    expect(inDocument('"')).toBe(4);
    expect(inDocument('\u0001')).toBe(7);
    expect(inDocument('\n')).toBe(3);
    expect(inDocument('é')).toBe(2);
  });
});

describe('utf8JsonStringContentBytes', () => {
  it('is the size of the UTF-8 bytes as escaped text, without decoding them', () => {
    fc.assert(
      fc.property(nastyString, (text) => {
        const bytes = new TextEncoder().encode(text);
        // A lone surrogate has no UTF-8: the encoder wrote U+FFFD, and that is what the bytes hold.
        expect(utf8JsonStringContentBytes(bytes)).toBe(bytesOf(new TextDecoder().decode(bytes)) - 2);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('isTextBody', () => {
  it('takes text/*, application/json, xml and javascript as text, anything else as base64', () => {
    for (const type of [
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON',
      'text/plain',
      'text/csv;charset=latin1',
      'application/xml',
      'application/javascript',
    ]) {
      expect(isTextBody(type), type).toBe(true);
    }
    for (const type of [
      undefined,
      '',
      'application/octet-stream',
      'application/vnd.streambed.produce.v1',
      'application/vnd.schemaregistry.v1+json',
      'application/x-www-form-urlencoded',
      'application/problem+json',
      'multipart/form-data; boundary=x',
    ]) {
      expect(isTextBody(type), String(type)).toBe(false);
    }
  });

  it('gives base64 lengths padded to 4 characters', () => {
    expect([0, 1, 2, 3, 4, 6_291_456].map(base64Length)).toEqual([0, 4, 4, 4, 8, 8_388_608]);
  });
});

describe('lambdaEventSize', () => {
  it.each(events)('bounds the real event %s from above, within the reserve', (_name, event) => {
    const actual = bytesOf(event);
    const request = fromApiGatewayEvent(event);
    const measured = lambdaEventSize(request, event.pathParameters as Record<string, string>);
    expect(measured.bytes).toBeGreaterThanOrEqual(actual);
    // The slack: the reserve, and the multi-value copies of headers and query (payload format 1.0's).
    const copies = bytesOf({
      multiValueHeaders: Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [name, [value]]),
      ),
      multiValueQueryStringParameters: Object.fromEntries(
        [...new Set(request.query.keys())].map((name) => [name, request.query.getAll(name)]),
      ),
    });
    expect(measured.bytes - actual).toBeLessThanOrEqual(LAMBDA_EVENT_RESERVE_BYTES + copies);
    expect(measured.base64).toBe(!isTextBody(fromApiGatewayEvent(event).headers['content-type']));
  });

  it('measures a text body exactly as the event escapes it', () => {
    const [, template] = events.find(([name]) => name === 'produce-json.json') as [string, ApiGatewayEvent];
    const withBody = (body: string): ApiGatewayEvent => ({ ...template, body, isBase64Encoded: false });
    const empty = lambdaEventSize(fromApiGatewayEvent(withBody(''))).bytes;
    fc.assert(
      fc.property(nastyString, (text) => {
        const event = withBody(text);
        const growth = lambdaEventSize(fromApiGatewayEvent(event)).bytes - empty;
        // The adapter reads the body as UTF-8 (a lone surrogate arrives as U+FFFD), as Lambda would.
        const delivered = new TextDecoder().decode(new TextEncoder().encode(text));
        expect(growth).toBe(bytesOf({ ...event, body: delivered }) - bytesOf(withBody('')));
      }),
      { numRuns: 500 },
    );
  });

  it('measures a binary body by its base64', () => {
    const [, template] = events.find(([name]) => name === 'produce-binary.json') as [string, ApiGatewayEvent];
    const withBody = (bytes: Uint8Array): ApiGatewayEvent => ({
      ...template,
      body: Buffer.from(bytes).toString('base64'),
      isBase64Encoded: true,
    });
    const empty = lambdaEventSize(fromApiGatewayEvent(withBody(new Uint8Array(0)))).bytes;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const event = withBody(bytes);
        const growth = lambdaEventSize(fromApiGatewayEvent(event)).bytes - empty;
        expect(growth).toBe(bytesOf(event) - bytesOf(withBody(new Uint8Array(0))));
      }),
    );
  });
});

describe('oversizedEvent', () => {
  const [, template] = events.find(([name]) => name === 'produce-json.json') as [string, ApiGatewayEvent];
  const body = fc.oneof(
    nastyString.map((text) => new TextEncoder().encode(text)),
    // Mostly what grows in the event: control characters (6 bytes each, 2 for \n) and quotes.
    fc
      .string({ unit: fc.constantFrom('\u0000', '\u001f', '\n', ' ', '"', 'a'), maxLength: 40 })
      .map((text) => new TextEncoder().encode(text)),
    fc.uint8Array({ maxLength: 200 }),
    fc.array(fc.record({ value: nastyString }), { maxLength: 4 }).map((records) => {
      // Bodies at any offset of their buffer, as the local server's pooled buffers hold them.
      const text = new TextEncoder().encode(JSON.stringify({ records }));
      const buffer = new Uint8Array(text.byteLength + 3);
      buffer.set(text, 3);
      return buffer.subarray(3);
    }),
  );

  it('reports an event over the limit exactly as lambdaEventSize measures it, and nothing for one within it', () => {
    fc.assert(
      fc.property(
        body,
        fc.constantFrom('application/json', 'text/plain', PRODUCE_CONTENT_TYPE),
        fc.integer({ min: -8, max: 8 }),
        fc.boolean(),
        (bytes, type, delta, nearBound) => {
          const request = fromApiGatewayEvent({ ...template, body: '', isBase64Encoded: false });
          const sent = { ...request, headers: { ...request.headers, 'content-type': type }, body: bytes };
          const exact = lambdaEventSize(sent, { topic: 'orders' });
          // Limits around the exact size and around the bound that settles a request unmeasured: the
          // event without its body, plus twice the body's bytes.
          const shell =
            exact.bytes - (exact.base64 ? base64Length(bytes.byteLength) : utf8JsonStringContentBytes(bytes));
          const limit = (nearBound ? shell + 2 * bytes.byteLength : exact.bytes) + delta;
          expect(oversizedEvent(sent, { topic: 'orders' }, limit)).toEqual(
            exact.bytes > limit ? exact : undefined,
          );
        },
      ),
      { numRuns: 2000 },
    );
  });
  it('sees every control character wherever it sits, and measures its body exactly', () => {
    const request = fromApiGatewayEvent({ ...template, body: '', isBase64Encoded: false });
    for (let code = 0; code < 0x20; code++) {
      for (let at = 0; at < 8; at++) {
        // One control character among letters, the body at each alignment of its buffer.
        const buffer = new Uint8Array(at + 16).fill(0x61);
        buffer[at + (code % 16)] = code;
        const sent = { ...request, body: buffer.subarray(at) };
        const exact = lambdaEventSize(sent);
        expect(oversizedEvent(sent, undefined, exact.bytes - 1)).toEqual(exact);
        expect(oversizedEvent(sent, undefined, exact.bytes)).toBeUndefined();
      }
    }
  });
});

const textArb = fc.oneof(
  nastyString,
  fc
    .array(fc.record({ value: nastyString, n: fc.integer() }), { maxLength: 5 })
    .map((v) => JSON.stringify(v)),
);

/**
 * Responses as the router makes them: text (JSON or not), as a string or as its UTF-8 bytes
 * (`textBytes`, a JSON fetch page), or bytes, with arbitrary header values.
 */
const responseArb: fc.Arbitrary<HttpResponse> = fc
  .record({
    status: fc.constantFrom(200, 201, 204, 400, 413, 500),
    headers: fc.dictionary(fc.stringMatching(/^[a-z][a-z-]{0,12}$/), nastyString, { maxKeys: 4 }),
    body: fc.oneof(textArb, fc.uint8Array({ maxLength: 100 })),
  })
  .chain((response) =>
    typeof response.body === 'string'
      ? fc.constantFrom(response, {
          ...response,
          body: new TextEncoder().encode(response.body),
          textBytes: true,
        })
      : fc.constant(response),
  );

describe('lambdaResponseBytes', () => {
  it('is the size of the result document toApiGatewayResult returns', () => {
    fc.assert(
      fc.property(responseArb, (response) => {
        expect(lambdaResponseBytes(response)).toBe(bytesOf(toApiGatewayResult(response)));
      }),
      { numRuns: 1000 },
    );
  });

  it('reports a size over the limit exactly, and nothing for one within it', () => {
    fc.assert(
      fc.property(responseArb, fc.nat({ max: 400 }), (response, limit) => {
        const exact = lambdaResponseBytes(response);
        expect(oversizedResponseBytes(response, limit)).toBe(exact > limit ? exact : undefined);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('oversizedResponseBytes with a measured body', () => {
  it('trusts a bound within the limit, and measures exactly when the bound is over it', () => {
    const response: HttpResponse = { status: 200, headers: {}, body: '"'.repeat(100) };
    const exact = lambdaResponseBytes(response);
    // The bound is the route's word: one within the limit settles the response unmeasured.
    expect(oversizedResponseBytes({ ...response, bodyDocumentBytesAtMost: 0 }, exact - 1)).toBeUndefined();
    expect(oversizedResponseBytes({ ...response, bodyDocumentBytesAtMost: 200 }, exact - 1)).toBe(exact);
    expect(oversizedResponseBytes({ ...response, bodyDocumentBytesAtMost: 200 }, exact)).toBeUndefined();
  });
});

describe('fetchPageBody', () => {
  const record = (offset: number, value: string) => ({
    offset,
    timestamp: 1_700_000_000_000,
    key: null,
    value: new TextEncoder().encode(value),
    headers: [],
  });
  const result = (values: string[]) => ({
    records: values.map((value, i) => record(i, value)),
    nextOffset: values.length,
    highWatermark: values.length,
    logStartOffset: 0,
  });

  it('writes what JSON.stringify writes for the page, and the records fill the budget exactly', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: nastyChar, maxLength: 30 }), { minLength: 1, maxLength: 8 }),
        (values) => {
          const page = result(values.map((value) => value.replace(/[\ud800-\udfff]/g, 'x')));
          const full = fetchPageBody(page, 'utf8', Number.MAX_SAFE_INTEGER, 't/0');
          const parsed = JSON.parse(full) as { records: unknown[]; nextOffset: number };
          expect(full).toBe(JSON.stringify(parsed));
          // The records' share of the document: the document of the page minus that of an empty page.
          const recordBytes = (body: string, nextOffset: number) =>
            jsonStringContentBytes(body) -
            jsonStringContentBytes(JSON.stringify({ ...page, records: [], nextOffset }));
          const budget = recordBytes(full, page.nextOffset);
          expect(fetchPageBody(page, 'utf8', budget, 't/0')).toBe(full);
          if (values.length > 1) {
            const cut = JSON.parse(fetchPageBody(page, 'utf8', budget - 1, 't/0')) as typeof parsed;
            expect(cut.records).toHaveLength(values.length - 1);
            expect(cut.nextOffset).toBe(values.length - 1);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('returns a first record that does not fit as text as base64, and refuses one that fits neither way', () => {
    const page = result(['\u0001'.repeat(100)]);
    // As text: 100 × `\u0001`, 700 bytes of the document; as base64, 227 bytes.
    const asBase64 = JSON.parse(fetchPageBody(page, 'utf8', 300, 't/0'));
    expect(asBase64.records[0]).toMatchObject({
      offset: 0,
      valueBase64: Buffer.alloc(100, 1).toString('base64'),
    });
    expect(asBase64.nextOffset).toBe(1);
    expect(() => fetchPageBody(page, 'utf8', 200, 't/0')).toThrow(
      expect.objectContaining({
        code: 'RECORD_TOO_LARGE',
        message: expect.stringContaining('record 0 of t/0'),
      }),
    );
  });
});

describe('limits', () => {
  it('keeps a fetch response frame and its headers within the response reserve', () => {
    // The largest frame: offsets at 2^53 - 1 and an echoed X-Request-Id of 128 characters to escape
    const max = Number.MAX_SAFE_INTEGER;
    const frame: HttpResponse = {
      status: 200,
      headers: {
        'content-type': 'application/vnd.streambed.batches.v1',
        'streambed-next-offset': String(max),
        'streambed-high-watermark': String(max),
        'streambed-log-start-offset': String(max),
        'x-request-id': '"\\'.repeat(64),
      },
      body: JSON.stringify({ records: [], nextOffset: max, highWatermark: max, logStartOffset: max }),
    };
    expect(lambdaResponseBytes(frame)).toBeLessThanOrEqual(LAMBDA_RESPONSE_RESERVE_BYTES);
    expect(lambdaResponseBytes({ ...frame, body: new Uint8Array(0) })).toBeLessThanOrEqual(
      LAMBDA_RESPONSE_RESERVE_BYTES,
    );
  });

  it('lets a whole batch of MAX_BATCH_BYTES, and any page of max_bytes, travel as base64', () => {
    expect(base64Length(MAX_BATCH_BYTES) + LAMBDA_RESPONSE_RESERVE_BYTES).toBeLessThanOrEqual(
      MAX_LAMBDA_PAYLOAD_BYTES,
    );
    expect(MAX_FETCH_MAX_BYTES).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    // A record of max.message.bytes fits a JSON response as base64, with 1 KiB for its frame.
    expect(base64Length(MAX_MESSAGE_BYTES) + 1024 + LAMBDA_RESPONSE_RESERVE_BYTES).toBeLessThanOrEqual(
      MAX_LAMBDA_PAYLOAD_BYTES,
    );
  });

  it('fits a produce body of MAX_PRODUCE_BODY_BYTES in an event, and its records in one batch', () => {
    expect(
      base64Length(MAX_PRODUCE_BODY_BYTES) + REQUEST_HEADROOM_BYTES + LAMBDA_EVENT_RESERVE_BYTES,
    ).toBeLessThanOrEqual(MAX_LAMBDA_PAYLOAD_BYTES);
    // The worst case for the batch: the most records, timestamps as far apart as they go (8-byte
    // varlong deltas), one value large enough for 4-byte varint lengths, all for one partition.
    const count = MAX_RECORDS_PER_REQUEST;
    const framing = encodeProduceBody(
      Array.from({ length: count }, () => ({ key: null, value: new Uint8Array(0), headers: [] })),
    ).byteLength;
    const records = Array.from({ length: count }, (_, i) => ({
      key: null,
      value: new Uint8Array(i === 0 ? MAX_PRODUCE_BODY_BYTES - framing : 0),
      headers: [],
      timestamp: i % 2 === 0 ? 0 : Number.MAX_SAFE_INTEGER,
    }));
    expect(encodeProduceBody(records).byteLength).toBe(MAX_PRODUCE_BODY_BYTES);
    expect(encodeRecordBatch(records).byteLength).toBeLessThanOrEqual(MAX_BATCH_BYTES);
  });
});
