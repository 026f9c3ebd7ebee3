/**
 * The Lambda handlers on REST API (payload format 1.0) Lambda proxy events, the events the stack's
 * `rest` flavor sends (fixtures in ./events/rest-*.json, shaped as API Gateway REST APIs send them:
 * header names as the client wrote them, multi-value maps, the path without the stage and still
 * percent-encoded, binary bodies base64-encoded when their content type is a binary media type).
 * Real router and services on the memory adapters; the response shape is the one both flavors take.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BATCHES_CONTENT_TYPE } from '../../client/wire/binary.ts';
import { decodeRecordBatch } from '../../client/wire/record-batch.ts';
import { handler as admin } from '../../lambdas/handlers/admin.ts';
import { handler as fetchHandler } from '../../lambdas/handlers/fetch.ts';
import type { HttpLambda } from '../../lambdas/handlers/http-handler.ts';
import { handler as produce } from '../../lambdas/handlers/produce.ts';
import {
  type ApiGatewayResult,
  fromApiGatewayEvent,
  type RestApiEvent,
  routeKeyOf,
} from '../../lambdas/http/apigw.ts';
import { setBackendForTests } from '../../lambdas/runtime/lambda-root.ts';
import { lambdaContext } from '../support/lambda-context.ts';
import { memoryBackend } from '../support/memory-backend.ts';

function restEvent(name: string): RestApiEvent {
  return JSON.parse(readFileSync(new URL(`./events/${name}.json`, import.meta.url), 'utf8')) as RestApiEvent;
}

const context = lambdaContext();

const invoke = (handler: HttpLambda, name: string): Promise<ApiGatewayResult> =>
  handler(restEvent(name), context);

function jsonBody(result: ApiGatewayResult): unknown {
  expect(result.isBase64Encoded ?? false).toBe(false);
  return JSON.parse(result.body ?? '');
}

beforeEach(() => {
  setBackendForTests(memoryBackend());
  // Powertools writes a log line and an EMF document per invocation; handlers.test.ts reads them.
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});

afterEach(() => {
  vi.restoreAllMocks();
  setBackendForTests(undefined);
});

describe('fromApiGatewayEvent on a REST API event', () => {
  it('reads the method, the still-encoded path without the stage, and lower-cased headers', () => {
    // Act
    const request = fromApiGatewayEvent(restEvent('rest-describe-encoded-slash'));

    // Assess
    expect(request.method).toBe('GET');
    expect(request.path).toBe('/v1/topics/orders%2Feu');
    expect(request.headers.host).toBe('a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com');
    expect(request.headers.Host).toBeUndefined();
    expect(request.body.byteLength).toBe(0);
  });

  it('keeps every repetition of a query parameter and of a header', () => {
    // Prepare: REST APIs list repeated values in the multi-value maps; the single-value maps keep the last.
    const event = restEvent('rest-fetch-repeated-offset');
    event.multiValueHeaders = { ...event.multiValueHeaders, 'X-Trace': ['a', 'b'], 'x-trace': ['c'] };
    event.headers = { ...event.headers, 'X-Trace': 'b', 'x-trace': 'c' };

    // Act
    const request = fromApiGatewayEvent(event);

    // Assess
    expect(request.query.getAll('offset')).toEqual(['0', '5']);
    expect(request.headers['x-trace']).toBe('a, b, c');
  });

  it('takes query values as API Gateway decoded them, and falls back on the single-value maps', () => {
    // Prepare: `?q=a%2Bb&r=a+b` arrives decoded ("a+b" and "a b"), and without multi-value maps.
    const event = restEvent('rest-health');
    event.multiValueQueryStringParameters = null;
    event.queryStringParameters = { q: 'a+b', r: 'a b' };
    event.multiValueHeaders = undefined as unknown as RestApiEvent['multiValueHeaders'];

    // Act
    const request = fromApiGatewayEvent(event);

    // Assess
    expect(request.query.get('q')).toBe('a+b');
    expect(request.query.get('r')).toBe('a b');
    expect(request.headers['user-agent']).toBe('streambed-sdk/0.1.0 node/22.14.0');
  });

  it('names the route as METHOD /resource', () => {
    expect(routeKeyOf(restEvent('rest-fetch-binary'))).toBe(
      'GET /v1/topics/{topic}/partitions/{partition}/records',
    );
  });
});

describe('handlers on REST API events', () => {
  it('answers the health route', async () => {
    const result = await invoke(admin, 'rest-health');
    expect(result.statusCode).toBe(200);
    expect(jsonBody(result)).toEqual({ status: 'ok' });
  });

  it('keeps an encoded %2F inside the topic segment', async () => {
    // The decoded path /v1/topics/orders/eu would be "no route"; the encoded one names a bad topic.
    const result = await invoke(admin, 'rest-describe-encoded-slash');
    expect(result.statusCode).toBe(400);
    expect(jsonBody(result)).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
    expect(JSON.stringify(jsonBody(result))).toContain('orders/eu');
  });

  it('creates a topic, produces the binary form and fetches record batches back base64-encoded', async () => {
    // Prepare
    expect((await invoke(admin, 'rest-create-topic')).statusCode).toBe(201);

    // Act
    const produced = await invoke(produce, 'rest-produce-binary');
    const fetched = await invoke(fetchHandler, 'rest-fetch-binary');

    // Assess
    expect(produced.statusCode).toBe(200);
    expect(jsonBody(produced)).toEqual({
      offsets: [
        { partition: 1, offset: 0 },
        { partition: 1, offset: 1 },
      ],
    });
    expect(fetched.statusCode).toBe(200);
    expect(fetched.isBase64Encoded).toBe(true);
    expect(fetched.headers).toMatchObject({
      'content-type': BATCHES_CONTENT_TYPE,
      'streambed-next-offset': '2',
    });
    const batch = decodeRecordBatch(Buffer.from(fetched.body ?? '', 'base64'));
    expect(batch.records.map((r) => r.offset)).toEqual([0, 1]);
  });

  it('refuses a repeated query parameter with 400, as it does on an HTTP API', async () => {
    expect((await invoke(admin, 'rest-create-topic')).statusCode).toBe(201);
    const result = await invoke(fetchHandler, 'rest-fetch-repeated-offset');
    expect(result.statusCode).toBe(400);
    expect(jsonBody(result)).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
  });
});
