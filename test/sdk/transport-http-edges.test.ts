/**
 * The node:http path of the transport at its edges: a base path and query, empty bodies, a body in
 * many chunks, an IPv6 host (signed too), repeated and non-ASCII headers, a kept-alive socket the
 * server drops, an answer slower than the agent's idle timeout, and a request HTTP cannot carry.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Consumer } from '../../client/consumer.ts';
import type { StreambedError } from '../../client/errors.ts';
import { Producer } from '../../client/producer.ts';
import { Transport } from '../../client/transport.ts';
import { decodeProduceBody } from '../../client/wire/binary.ts';

const servers: Server[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server answering `handler` once each request's body is read; its base URL. */
async function serve(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
  host = '127.0.0.1',
): Promise<string> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => handler(request, response));
  });
  server.keepAliveTimeout = 60_000;
  servers.push(server);
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable('the request succeeded'),
    (error: unknown) => error as StreambedError,
  );

describe('Transport over node:http, at the edges', () => {
  it('keeps the base URL path and encodes the query', async () => {
    const urls: string[] = [];
    const url = await serve((request, response) => {
      urls.push(request.url ?? '');
      response.end('{}');
    });
    const transport = new Transport({ url: `${url}/prefix/stage` });
    await transport.json('GET', '/v1/topics/a%2Fb/partitions/0/records', {
      query: { offset: 5, x: 'a b&c' },
    });
    expect(urls).toEqual(['/prefix/stage/v1/topics/a%2Fb/partitions/0/records?offset=5&x=a+b%26c']);
  });

  it('reads a 204 and a HEAD answer as empty, and reuses the socket after them', async () => {
    const url = await serve((request, response) => {
      response.statusCode = request.method === 'HEAD' ? 200 : 204;
      if (request.method === 'HEAD') response.setHeader('content-length', '10');
      response.end();
    });
    const transport = new Transport({ url });
    expect(await transport.json('DELETE', '/v1/topics/t')).toBeUndefined();
    expect((await transport.raw('HEAD', '/v1/topics/t')).bytes.byteLength).toBe(0);
    expect(await transport.json('DELETE', '/v1/topics/t')).toBeUndefined();
  });

  it('reads a body sent one byte at a time', async () => {
    const url = await serve((_, response) => {
      let i = 0;
      const next = () => {
        if (i === 200) return response.end();
        response.write(Buffer.from([i++]));
        setImmediate(next);
      };
      next();
    });
    const response = await new Transport({ url }).raw('GET', '/x');
    expect([...response.bytes]).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('sends the Host of an IPv6 literal, signed with SigV4 too', async () => {
    const url = await serve((request, response) => response.end(JSON.stringify(request.headers.host)), '::1');
    const host = new URL(url).host;
    expect(await new Transport({ url }).json('GET', '/v1/health')).toBe(host);
    const signed = new Transport({
      url,
      aws: { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } },
    });
    expect(await signed.json('GET', '/v1/health')).toBe(host);
  });

  it('joins repeated headers and reads non-ASCII ones as fetch does', async () => {
    const url = await serve((_, response) => {
      response.setHeader('x-repeated', ['1', '2']);
      response.setHeader('x-latin1', Buffer.from('é', 'utf8').toString('latin1'));
      response.end('{}');
    });
    const ours = await new Transport({ url }).raw('GET', '/x');
    const theirs = await new Transport({ url, fetch }).raw('GET', '/x');
    expect(ours.headers.get('x-repeated')).toBe('1, 2');
    expect(ours.headers.get('x-latin1')).toBe(theirs.headers.get('x-latin1'));
  });

  it('fails a request on a kept-alive socket the server drops as retriable, then recovers', async () => {
    let requests = 0;
    const url = await serve((request, response) => {
      if (++requests === 2) request.socket.destroy();
      else response.end('{}');
    });
    const transport = new Transport({ url });
    await transport.json('GET', '/x');
    expect(await failure(transport.json('GET', '/x'))).toMatchObject({
      code: 'UNAVAILABLE',
      retriable: true,
    });
    expect(await transport.json('GET', '/x')).toEqual({});
  });

  it('waits for an answer slower than the idle timeout of kept sockets (a long poll)', async () => {
    const url = await serve((_, response) => setTimeout(() => response.end('{"late":true}'), 4_500));
    expect(await new Transport({ url }).json('GET', '/x')).toEqual({ late: true });
  }, 15_000);

  it('refuses a header HTTP cannot carry without sending it, and leaves no timer behind', async () => {
    // Before, node:http threw as the request was built: the error read as a retriable UNAVAILABLE,
    // and the exchange's timer stayed armed, then threw a ReferenceError outside any request.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const transport = new Transport({ url: 'http://127.0.0.1:9', token: 'secret\n' });
    const error = await failure(transport.json('GET', '/v1/topics'));
    expect(error).toMatchObject({ code: 'INVALID_REQUEST', retriable: false });
    expect(error.message).toContain('authorization');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses a timeout a timer cannot hold, instead of timing every request out at once', async () => {
    // Before, a timeoutMs past 2^31 - 1 ms (as a way to say "no timeout") overflowed Node's timer,
    // which then fired after 1 ms: every request failed as timed out, and the answer was never read.
    const url = await serve((_, response) => response.end('{}'));
    for (const timeoutMs of [2 ** 31, Number.POSITIVE_INFINITY, 0, -1, 1.5]) {
      expect(() => new Transport({ url, timeoutMs }), String(timeoutMs)).toThrow(
        expect.objectContaining({
          code: 'INVALID_REQUEST',
          message: expect.stringContaining(`timeoutMs ${timeoutMs}`),
        }),
      );
    }
    expect(await new Transport({ url, timeoutMs: 2 ** 31 - 1 }).json('GET', '/x')).toEqual({});
  });

  it('retries a produce dropped on a kept-alive socket with the same key and the same bytes', async () => {
    const produces: { key: string | undefined; body: Buffer }[] = [];
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (request.method === 'GET') return response.end('{"partitions":[{"partition":0}]}');
        const key = request.headers['idempotency-key'] as string | undefined;
        produces.push({ key, body: Buffer.concat(chunks) });
        // The first produce arrives on the socket the metadata request left open: drop it unanswered.
        if (produces.length === 1) return request.socket.destroy();
        response.end('{"offsets":[{"partition":0,"offset":0}]}');
      });
    });
    server.keepAliveTimeout = 60_000;
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const transport = new Transport({ url: `http://127.0.0.1:${port}` });
    await transport.json('GET', '/v1/topics/t');
    const producer = new Producer<string>(transport, { lingerMs: 0, retry: { initialRetryTimeMs: 1 } });
    const [sent] = await producer.send({ topic: 't', messages: [{ value: 'v'.repeat(100_000) }] });
    expect(sent).toMatchObject({ partition: 0, offset: 0 });
    expect(produces).toHaveLength(2);
    expect(produces[1]?.key).toBe(produces[0]?.key);
    expect(produces[0]?.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(produces[1]?.body.equals(produces[0]?.body as Buffer)).toBe(true);
    expect(decodeProduceBody(produces[1]?.body as Buffer)[0]?.value?.byteLength).toBe(100_000);
  });

  it('refuses a consumer whose long poll outlasts the client timeout', () => {
    // Before, every fetch that found nothing held the request for maxWaitTimeInMs, past timeoutMs:
    // each one failed as timed out (UNAVAILABLE) and was retried, and an idle consumer only erred.
    const transport = new Transport({ url: 'http://127.0.0.1:9', timeoutMs: 10_000 });
    for (const options of [{ maxWaitTimeInMs: 10_000 }, { maxWaitMs: 20_000 }]) {
      expect(() => new Consumer(transport, { groupId: 'g', ...options })).toThrow(
        expect.objectContaining({
          code: 'INVALID_REQUEST',
          message: expect.stringMatching(
            /maxWaitTimeInMs \d+ must be lower than the client's timeoutMs 10000/,
          ),
        }),
      );
    }
    expect(() => new Consumer(transport, { groupId: 'g', maxWaitTimeInMs: 9_000 })).not.toThrow();
    expect(
      () =>
        new Consumer(new Transport({ url: 'http://127.0.0.1:9' }), { groupId: 'g', maxWaitTimeInMs: 20_000 }),
    ).not.toThrow();
  });

  it('refuses a URL holding a user name or password rather than send them as Basic credentials', () => {
    // Before, node:http turned them into an Authorization: Basic header, sent in the clear over http
    // (fetch refused such a URL when the request was made).
    const error = (() => {
      try {
        new Transport({ url: 'http://admin:hunter2@127.0.0.1:9/prefix' });
      } catch (thrown) {
        return thrown as StreambedError;
      }
      return expect.unreachable('the URL was taken');
    })();
    expect(error).toMatchObject({ code: 'INVALID_REQUEST', retriable: false });
    expect(error.message).toContain('http://127.0.0.1:9/prefix/ holds a user name or password');
    expect(error.message).not.toContain('hunter2');
  });
});
