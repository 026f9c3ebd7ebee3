/** Requests the router accepts (not 413) whose real Lambda event is over MAX_LAMBDA_PAYLOAD_BYTES. */
import { describe, expect, it } from 'vitest';
import { MAX_LAMBDA_PAYLOAD_BYTES } from '../../client/wire/limits.ts';
import { lambdaEventSize } from '../../lambdas/http/lambda-payload.ts';
import {
  type ClientRequest,
  eventBytes,
  httpApiEvent,
  realRouter,
  restApiEvent,
  routerRequest,
} from './support.ts';

const FETCH = '/v1/topics/{topic}/partitions/{partition}/records';

/** The router's own measure of `request` (what it compares with the bound). */
function measured(request: ClientRequest): number {
  return lambdaEventSize(routerRequest(request), request.pathParameters).bytes;
}

describe('the router refuses every request whose Lambda event is over the bound', () => {
  it('a JSON produce body of invalid UTF-8 (U+FFFD in the event) is 413, not 400', async () => {
    // Prepare: 0xFF bytes, counted one for one, cost 3 each in the event (U+FFFD)
    const { router, services } = await realRouter();
    await services.topics.createTopic('orders', 1);
    const base: ClientRequest = {
      method: 'POST',
      rawPath: '/v1/topics/orders/records',
      rawQuery: '',
      headers: { 'content-type': 'application/json' },
      body: new Uint8Array(0),
      resource: '/v1/topics/{topic}/records',
      pathParameters: { topic: 'orders' },
    };
    const length = MAX_LAMBDA_PAYLOAD_BYTES - measured(base);
    const request = { ...base, body: new Uint8Array(length).fill(0xff) };
    expect(eventBytes(httpApiEvent(request))).toBeGreaterThan(MAX_LAMBDA_PAYLOAD_BYTES);
    expect(eventBytes(restApiEvent(request))).toBeGreaterThan(MAX_LAMBDA_PAYLOAD_BYTES);

    // Act
    const response = await router(routerRequest(request));

    // Assess
    expect(response.status).toBe(413);
  });

  it('a REST (1.0) fetch whose partition is percent-encoded digits (path carried encoded twice) is 413', async () => {
    // Prepare: partition `%30` x 3000 means partition 0 (a 9 KB request line, inside API Gateway's
    // 10 KB); an octet-stream body fills the rest
    const { router, services } = await realRouter();
    await services.topics.createTopic('orders', 1);
    const partition = '%30'.repeat(3000);
    const base: ClientRequest = {
      method: 'GET',
      rawPath: `/v1/topics/orders/partitions/${partition}/records`,
      rawQuery: 'offset=0',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(0),
      resource: FETCH,
      pathParameters: { topic: 'orders', partition: '0'.repeat(3000) },
    };
    const length = Math.floor((MAX_LAMBDA_PAYLOAD_BYTES - measured(base)) / 4) * 3;
    const request = { ...base, body: new Uint8Array(length) };

    // Act
    const response = await router(routerRequest(request));

    // Assess: built to fill what the router's measure allows, the request is either refused, or its
    // real event (the path carried encoded twice) fits
    if (response.status !== 413) {
      expect(eventBytes(restApiEvent(request))).toBeLessThanOrEqual(MAX_LAMBDA_PAYLOAD_BYTES);
    }
    expect(response.status === 413 || response.status === 200).toBe(true);
  });

  it('an HTTP API (2.0) fetch whose query is percent-encoded (rawQueryString measured re-encoded) is 413', async () => {
    // Prepare: offset `%30` x 6000 means offset 0; an octet-stream body fills the rest. The request
    // line (18 KB) is over HTTP API's 10 KB quota, so only the local server can receive it.
    const { router, services } = await realRouter();
    await services.topics.createTopic('orders', 1);
    const base: ClientRequest = {
      method: 'GET',
      rawPath: '/v1/topics/orders/partitions/0/records',
      rawQuery: `offset=${'%30'.repeat(6000)}`,
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(0),
      resource: FETCH,
      pathParameters: { topic: 'orders', partition: '0' },
    };
    const length = Math.floor((MAX_LAMBDA_PAYLOAD_BYTES - measured(base)) / 4) * 3;
    const request = { ...base, body: new Uint8Array(length) };

    // Act
    const response = await router(routerRequest(request));

    // Assess: refused, or its real event (the query as sent) fits
    if (response.status !== 413) {
      expect(eventBytes(httpApiEvent(request))).toBeLessThanOrEqual(MAX_LAMBDA_PAYLOAD_BYTES);
    }
    expect(response.status === 413 || response.status === 200).toBe(true);
  });
});
