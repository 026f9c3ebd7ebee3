/**
 * The local server measures the request Node parsed; Node drops repeated `user-agent` lines that API
 * Gateway puts into the event.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_LAMBDA_PAYLOAD_BYTES } from '../../client/wire/limits.ts';
import { lambdaEventSize } from '../../lambdas/http/lambda-payload.ts';
import { type RunningHttpServer, startHttpServer } from '../../lambdas/http/node-server.ts';
import type { HttpRequest } from '../../lambdas/http/types.ts';
import { type ClientRequest, eventBytes, httpApiEvent, realRouter, restApiEvent } from './support.ts';

const running: RunningHttpServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

/** Sends `head` and `body` on a raw socket; resolves with the status code. */
function send(url: string, head: string, body: Uint8Array): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(head);
      socket.write(body);
    });
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (match) {
        resolve(Number(match[1]));
        socket.destroy();
      }
    });
    socket.on('error', reject);
  });
}

describe('local server: repeated headers', () => {
  it('refuses (413) a request whose second User-Agent line makes its Lambda event too large', async () => {
    // Prepare: User-Agent `a` then 9,000 bytes (inside API Gateway's 10 KB of headers); a body fills
    // the event as the router measures it
    const { router, services } = await realRouter();
    await services.topics.createTopic('orders', 1);
    let seen: HttpRequest | undefined;
    const server = await startHttpServer({
      port: 0,
      handler: async (request) => {
        seen = request;
        return router(request);
      },
    });
    running.push(server);
    const { host } = new URL(server.url);
    const long = 'x'.repeat(9000);
    const path = '/v1/topics/orders/partitions/0/records';
    const predicted = (length: number): HttpRequest => ({
      method: 'GET',
      path,
      query: new URLSearchParams('offset=0'),
      headers: {
        host,
        'content-type': 'application/octet-stream',
        'user-agent': 'a',
        'content-length': String(length),
      },
      body: new Uint8Array(length),
    });
    const params = { topic: 'orders', partition: '0' };
    const spare = MAX_LAMBDA_PAYLOAD_BYTES - lambdaEventSize(predicted(0), params).bytes - 64;
    const length = Math.floor(spare / 4) * 3;
    const body = new Uint8Array(length);
    const head =
      `GET ${path}?offset=0 HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/octet-stream\r\n` +
      `User-Agent: a\r\nUser-Agent: ${long}\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;

    // Act
    const status = await send(server.url, head, body);

    // Assess: the router sees both lines, as the events API Gateway builds carry them
    expect(seen?.headers['user-agent']).toBe(`a, ${long}`);
    const client: ClientRequest = {
      method: 'GET',
      rawPath: path,
      rawQuery: 'offset=0',
      headers: { ...(seen as HttpRequest).headers },
      body,
      resource: '/v1/topics/{topic}/partitions/{partition}/records',
      pathParameters: params,
    };
    const rest = restApiEvent(client);
    rest.headers['user-agent'] = long;
    rest.multiValueHeaders['user-agent'] = ['a', long];
    expect(eventBytes(rest)).toBeGreaterThan(MAX_LAMBDA_PAYLOAD_BYTES);
    expect(eventBytes(httpApiEvent(client))).toBeGreaterThan(MAX_LAMBDA_PAYLOAD_BYTES);
    expect(status).toBe(413);
  });
});
