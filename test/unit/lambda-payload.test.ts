/**
 * The sizes the router, the local server and the Lambda adapter bound requests and responses by
 * (lambdas/http/lambda-payload.ts), checked against what JSON.stringify makes of real API Gateway
 * events (test/handlers/events) and of real Lambda results (apigw.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LAMBDA_EVENT_RESERVE_BYTES } from '../../lambdas/core/limits.ts';
import { type ApiGatewayEvent, fromApiGatewayEvent, toApiGatewayResult } from '../../lambdas/http/apigw.ts';
import {
  base64Length,
  isTextBody,
  jsonStringContentBytes,
  lambdaEventSize,
  lambdaResponseBytes,
  oversizedResponseBytes,
  utf8JsonStringContentBytes,
} from '../../lambdas/http/lambda-payload.ts';
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
    const measured = lambdaEventSize(
      fromApiGatewayEvent(event),
      event.pathParameters as Record<string, string>,
    );
    expect(measured.bytes).toBeGreaterThanOrEqual(actual);
    expect(measured.bytes - actual).toBeLessThanOrEqual(LAMBDA_EVENT_RESERVE_BYTES);
    expect(measured.base64).toBe(!isTextBody(event.headers['content-type']));
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

/** Responses as the router makes them: text (JSON or not) or bytes, with arbitrary header values. */
const responseArb: fc.Arbitrary<HttpResponse> = fc.record({
  status: fc.constantFrom(200, 201, 204, 400, 413, 500),
  headers: fc.dictionary(fc.stringMatching(/^[a-z][a-z-]{0,12}$/), nastyString, { maxKeys: 4 }),
  body: fc.oneof(
    nastyString,
    fc
      .array(fc.record({ value: nastyString, n: fc.integer() }), { maxLength: 5 })
      .map((v) => JSON.stringify(v)),
    fc.uint8Array({ maxLength: 100 }),
  ),
});

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
