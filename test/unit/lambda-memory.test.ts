/**
 * The pure helpers of the Lambda memory bench (bench/scenarios/lambda-memory.ts): the heap limits of
 * Lambda's Node.js runtime, the maximal produce body and the API Gateway events the handlers get.
 */
import { describe, expect, it } from 'vitest';
import { httpApiEvent, lambdaHeapFlags, maximalProduceRecords } from '../../bench/scenarios/lambda-memory.ts';
import { decodeProduceBody, encodeProduceBody, PRODUCE_CONTENT_TYPE } from '../../client/wire/binary.ts';
import { MAX_PRODUCE_BODY_BYTES, MAX_RECORDS_PER_REQUEST } from '../../client/wire/limits.ts';
import { fromApiGatewayEvent } from '../../lambdas/http/apigw.ts';

describe('lambdaHeapFlags', () => {
  it('gives a tenth of the memory to new space (two semi-spaces) and the rest to old space', () => {
    expect(lambdaHeapFlags(512)).toEqual(['--max-semi-space-size=25', '--max-old-space-size=461']);
    expect(lambdaHeapFlags(1024)).toEqual(['--max-semi-space-size=51', '--max-old-space-size=922']);
  });
});

describe('maximalProduceRecords', () => {
  it('fills the largest accepted body exactly, with the most records a request may hold', () => {
    const body = encodeProduceBody(maximalProduceRecords());
    expect(body.byteLength).toBe(MAX_PRODUCE_BODY_BYTES);
    const records = decodeProduceBody(body);
    expect(records).toHaveLength(MAX_RECORDS_PER_REQUEST);
    const sizes = records.map((record) => record.value?.byteLength ?? -1);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(records[0]?.key).not.toBeNull();
    expect(records[0]?.headers).toHaveLength(1);
  });

  it('hits any size exactly, spreading the remainder over the first values', () => {
    const records = maximalProduceRecords(framingBytes(3) + 7, 3);
    expect(encodeProduceBody(records).byteLength).toBe(framingBytes(3) + 7);
    expect(records.map((record) => record.value?.byteLength)).toEqual([3, 2, 2]);
  });

  it('refuses a size the framing alone does not fit in', () => {
    expect(() => maximalProduceRecords(100, 10)).toThrow(RangeError);
  });
});

/** Body bytes of `count` records shaped like the maximal ones but with empty values: the framing. */
function framingBytes(count: number): number {
  const records = maximalProduceRecords(100_000, count);
  return encodeProduceBody(records.map((record) => ({ ...record, value: new Uint8Array(0) }))).byteLength;
}

describe('httpApiEvent', () => {
  it('delivers a binary body base64-encoded, as API Gateway does, and the adapter reads it back', () => {
    const bytes = new Uint8Array([0, 1, 2, 255, 254]);
    const event = httpApiEvent({
      method: 'POST',
      route: '/v1/topics/{topic}/records',
      pathParameters: { topic: 'a b' },
      headers: { 'content-type': PRODUCE_CONTENT_TYPE },
      body: bytes,
      requestId: 'r-1',
    });
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /v1/topics/{topic}/records',
      rawPath: '/v1/topics/a%20b/records',
      isBase64Encoded: true,
      body: Buffer.from(bytes).toString('base64'),
      pathParameters: { topic: 'a b' },
      requestContext: {
        requestId: 'r-1',
        stage: '$default',
        http: { method: 'POST', path: '/v1/topics/a b/records' },
      },
    });
    expect(event.headers['content-length']).toBe('5');
    const request = fromApiGatewayEvent(event);
    expect(request).toMatchObject({ method: 'POST', path: '/v1/topics/a%20b/records' });
    expect(request.headers['content-type']).toBe(PRODUCE_CONTENT_TYPE);
    expect([...request.body]).toEqual([...bytes]);
  });

  it('sends text as is and the query both raw and parsed, without a body when there is none', () => {
    const text = httpApiEvent({
      method: 'POST',
      route: '/v1/topics',
      body: '{"name":"é"}',
      requestId: 'r-2',
    });
    expect(text).toMatchObject({ isBase64Encoded: false, body: '{"name":"é"}' });
    expect(text.headers['content-length']).toBe('13');
    const get = httpApiEvent({
      method: 'GET',
      route: '/v1/topics/{topic}/partitions/{partition}/records',
      pathParameters: { topic: 't', partition: '0' },
      query: { offset: '10', max_bytes: '3145728' },
      requestId: 'r-3',
    });
    expect(get).toMatchObject({
      rawQueryString: 'offset=10&max_bytes=3145728',
      queryStringParameters: { offset: '10', max_bytes: '3145728' },
      isBase64Encoded: false,
    });
    expect(get.body).toBeUndefined();
    expect(get.headers['content-length']).toBeUndefined();
    expect(fromApiGatewayEvent(get).query.get('offset')).toBe('10');
  });

  it('refuses a route parameter without a value', () => {
    expect(() => httpApiEvent({ method: 'GET', route: '/v1/topics/{topic}', requestId: 'r' })).toThrow(
      /\{topic\}/,
    );
  });
});
