import { afterEach, describe, expect, it, vi } from 'vitest';
import { LAMBDA_TIMEOUT_MS, MAX_FETCH_WAIT_MS } from '../../client/wire/limits.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import type { LogService, TopicService } from '../../lambdas/core/log-types.ts';
import { bearerTokenAuth, type RunningHttpServer, startHttpServer } from '../../lambdas/http/node-server.ts';
import { createRouter } from '../../lambdas/http/router.ts';
import type { HttpHandler, HttpRequest, HttpResponse } from '../../lambdas/http/types.ts';
import { writtenRequest as rawRequest } from '../support/raw-http.ts';

const running: RunningHttpServer[] = [];

afterEach(async () => {
  // A test that fails with fake timers on must not leave close() waiting on them.
  vi.useRealTimers();
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function serve(
  handler: HttpHandler,
  options: { maxBodyBytes?: number; handlerTimeoutMs?: number; onError?: (error: unknown) => void } = {},
) {
  const server = await startHttpServer({ handler, port: 0, ...options });
  running.push(server);
  return server;
}

const notUsed = (): never => {
  throw new Error('not used by this test');
};

/** Only listTopics answers; the rest must never be reached by these tests. */
const topics: TopicService = {
  listTopics: async () => ['orders'],
  createTopic: notUsed,
  describeTopic: notUsed,
  alterTopic: notUsed,
  deleteTopic: notUsed,
};

function logFailingWith(error: unknown): LogService {
  return {
    produce: async () => {
      throw error;
    },
    fetch: notUsed,
    fetchBatches: notUsed,
    offsets: notUsed,
    deleteRecords: notUsed,
    appendBatches: notUsed,
    initProducerId: notUsed,
  };
}

interface ApiError {
  code: string;
  message: string;
  retriable: boolean;
}

async function errorOf(response: Response): Promise<ApiError> {
  return ((await response.json()) as { error: ApiError }).error;
}

describe('startHttpServer', () => {
  it('round-trips a request and a response', async () => {
    // Prepare
    let seen: HttpRequest | undefined;
    const server = await serve(async (request) => {
      seen = request;
      return {
        status: 207,
        headers: { 'x-answer': '42', 'content-type': 'application/octet-stream' },
        body: new Uint8Array([1, 2, 255]),
      };
    });

    // Act
    const response = await fetch(`${server.url}/v1/topics/a%2Fb/records?offset=3&encoding=utf8`, {
      method: 'POST',
      headers: { 'X-Custom': 'Yes', 'content-type': 'application/json' },
      body: '{"records":[]}',
    });
    const body = new Uint8Array(await response.arrayBuffer());

    // Assess
    expect(response.status).toBe(207);
    expect(response.headers.get('x-answer')).toBe('42');
    expect(body).toEqual(new Uint8Array([1, 2, 255]));
    expect(seen?.method).toBe('POST');
    expect(seen?.path).toBe('/v1/topics/a%2Fb/records');
    expect(Object.fromEntries(seen?.query ?? [])).toEqual({ offset: '3', encoding: 'utf8' });
    expect(seen?.headers['x-custom']).toBe('Yes');
    expect(new TextDecoder().decode(seen?.body)).toBe('{"records":[]}');
  });

  it('answers 500 when the handler returns a header node cannot send, and keeps serving', async () => {
    // Prepare: a header value with a line break, which node:http refuses to write.
    const errors: unknown[] = [];
    let released = 0;
    const server = await serve(
      async (request): Promise<HttpResponse> =>
        request.path === '/bad'
          ? {
              status: 200,
              headers: { 'x-broken': 'a\nb' },
              body: new Uint8Array(8),
              release: () => {
                released += 1;
              },
            }
          : { status: 200, headers: {}, body: 'fine' },
      { onError: (error) => errors.push(error) },
    );

    // Act
    const bad = await fetch(`${server.url}/bad`);
    const after = await fetch(`${server.url}/good`);

    // Assess: the documented error shape, nothing of the handler's answer, the pooled body given back.
    expect(bad.status).toBe(500);
    expect(bad.headers.get('x-broken')).toBeNull();
    expect(await bad.json()).toEqual({
      error: { code: 'INTERNAL', message: 'internal error', retriable: false },
    });
    expect(errors).toHaveLength(1);
    expect(released).toBe(1);
    expect(after.status).toBe(200);
    expect(await after.text()).toBe('fine');
  });

  it('serves the router end to end', async () => {
    // Prepare
    const server = await serve(createRouter({ topics, log: logFailingWith(new Error('unused')) }));

    // Act
    const response = await fetch(`${server.url}/v1/topics`);

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ topics: ['orders'] });
  });

  it('refuses a declared oversized body with 413 before reading it, and closes the connection', async () => {
    // Prepare
    let handlerCalls = 0;
    const server = await serve(
      async () => {
        handlerCalls += 1;
        return { status: 200, headers: {}, body: '' };
      },
      { maxBodyBytes: 1000 },
    );

    // Act: declare 50 MB, send 10 bytes, never finish.
    const response = await rawRequest(
      server.url,
      { method: 'POST', path: '/v1/topics/t/records', headers: { 'content-length': String(50_000_000) } },
      (request) => request.write('0123456789'),
    );

    // Assess
    expect(response.status).toBe(413);
    expect(response.headers.connection).toBe('close');
    expect(JSON.parse(response.body).error).toMatchObject({ code: 'RECORD_TOO_LARGE', retriable: false });
    await response.closed;
    expect(handlerCalls).toBe(0);
  });

  it('refuses a chunked body the moment it crosses the cap, without waiting for its end', async () => {
    // Prepare
    let handlerCalls = 0;
    const server = await serve(
      async () => {
        handlerCalls += 1;
        return { status: 200, headers: {}, body: '' };
      },
      { maxBodyBytes: 1000 },
    );

    // Act: 4 KB in chunked encoding (no Content-Length), and the request is never ended.
    const response = await rawRequest(
      server.url,
      { method: 'POST', path: '/v1/topics/t/records', headers: { 'transfer-encoding': 'chunked' } },
      (request) => {
        request.write(Buffer.alloc(2048, 1));
        request.write(Buffer.alloc(2048, 2));
      },
    );

    // Assess
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body).error.code).toBe('RECORD_TOO_LARGE');
    await response.closed;
    expect(handlerCalls).toBe(0);
  });

  it('accepts a body exactly at the cap', async () => {
    // Prepare
    const server = await serve(
      async (request) => ({ status: 200, headers: {}, body: String(request.body.length) }),
      {
        maxBodyBytes: 1000,
      },
    );

    // Act
    const response = await fetch(server.url, { method: 'POST', body: new Uint8Array(1000) });

    // Assess
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('1000');
  });

  it("gives a handler the deployed functions' 29 s by default, then answers 503 UNAVAILABLE", async () => {
    // Prepare: only the server's own timers are faked; sockets run for real.
    expect(MAX_FETCH_WAIT_MS).toBeLessThan(LAMBDA_TIMEOUT_MS);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let reached: () => void = () => {};
      const handlerReached = new Promise<void>((resolve) => {
        reached = resolve;
      });
      const server = await startHttpServer({
        port: 0,
        drainTimeoutMs: 100,
        handler: () => {
          reached();
          return new Promise(() => {});
        },
      });
      running.push(server);
      const answered = rawRequest(server.url, { method: 'GET', path: '/v1/topics' }, (request) =>
        request.end(),
      );
      await handlerReached;

      // Act: Lambda's timeout passes (API Gateway's 30 s would not have yet)
      await vi.advanceTimersByTimeAsync(LAMBDA_TIMEOUT_MS);

      // Assess
      const response = await answered;
      expect(response.status).toBe(503);
      expect(JSON.parse(response.body).error).toMatchObject({ code: 'UNAVAILABLE', retriable: true });
      expect(JSON.parse(response.body).error.message).toContain(`${LAMBDA_TIMEOUT_MS} ms`);
    } finally {
      vi.useRealTimers();
    }
  }, 10_000);

  it('answers 503 UNAVAILABLE, retriable, when the handler outlives its timeout', async () => {
    // Prepare
    const server = await serve(() => new Promise(() => {}), { handlerTimeoutMs: 50 });

    // Act
    const response = await fetch(`${server.url}/v1/topics`);

    // Assess
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await errorOf(response)).toMatchObject({ code: 'UNAVAILABLE', retriable: true });
  });

  it('drains: close() lets an in-flight request finish', async () => {
    // Prepare
    let release: () => void = () => {};
    let started: () => void = () => {};
    const handlerStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const server = await startHttpServer({
      port: 0,
      handler: async () => {
        started();
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return { status: 200, headers: {}, body: 'done' };
      },
    });
    const inFlight = fetch(server.url);
    await handlerStarted;

    // Act
    const closing = server.close();
    release();
    const response = await inFlight;
    await closing;

    // Assess
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('done');
    await expect(fetch(server.url)).rejects.toThrow();
  });
});

describe('error bodies', () => {
  it('never carry a stack trace, class name or message of an internal error', async () => {
    // Prepare
    const secret = new TypeError('ENOENT: /var/lib/streambed/meta.sqlite (table streambed-meta)');
    const server = await serve(
      createRouter({ topics, log: logFailingWith(secret), onInternalError: () => {} }),
    );
    const thrower = await serve(
      async () => {
        throw secret;
      },
      { onError: () => {} },
    );

    // Act
    const fromRouter = await fetch(`${server.url}/v1/topics/orders/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"records":[{"value":"x"}]}',
    });
    const routerText = await fromRouter.text();
    const fromHandler = await fetch(thrower.url);
    const handlerText = await fromHandler.text();

    // Assess
    for (const [response, text] of [
      [fromRouter, routerText],
      [fromHandler, handlerText],
    ] as const) {
      expect(response.status).toBe(500);
      expect(JSON.parse(text)).toEqual({
        error: { code: 'INTERNAL', message: 'internal error', retriable: false },
      });
      expect(text).not.toMatch(/TypeError|ENOENT|sqlite|streambed-meta|\bat\s|\.ts:\d+/);
    }
  });

  it('pass a client-facing StreamError message through unchanged', async () => {
    // Prepare
    const server = await serve(
      createRouter({ topics, log: logFailingWith(new StreamError('RECORD_TOO_LARGE', 'record 0 is 2 MB')) }),
    );

    // Act
    const response = await fetch(`${server.url}/v1/topics/orders/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"records":[{"value":"x"}]}',
    });

    // Assess
    expect(response.status).toBe(413);
    expect(await errorOf(response)).toEqual({
      code: 'RECORD_TOO_LARGE',
      message: 'record 0 is 2 MB',
      retriable: false,
    });
  });
});

describe('bearerTokenAuth', () => {
  async function authServer() {
    return serve(
      createRouter({ topics, log: logFailingWith(new Error('unused')), auth: bearerTokenAuth('s3cret') }),
    );
  }

  it('answers 401 without a token or with a wrong one', async () => {
    // Prepare
    const server = await authServer();

    // Act
    const none = await fetch(`${server.url}/v1/topics`);
    const wrong = await fetch(`${server.url}/v1/topics`, { headers: { authorization: 'Bearer s3cres' } });
    const longer = await fetch(`${server.url}/v1/topics`, { headers: { authorization: 'Bearer s3cret2' } });
    const basic = await fetch(`${server.url}/v1/topics`, { headers: { authorization: 'Basic czNjcmV0' } });

    // Assess
    for (const response of [none, wrong, longer, basic]) {
      expect(response.status).toBe(401);
      expect((await errorOf(response)).code).toBe('UNAUTHORIZED');
    }
  });

  it('answers 200 with the right token, whatever the case of the scheme', async () => {
    // Prepare
    const server = await authServer();

    // Act
    const response = await fetch(`${server.url}/v1/topics`, { headers: { authorization: 'bearer s3cret' } });

    // Assess
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ topics: ['orders'] });
  });

  it('leaves health open', async () => {
    // Prepare
    const server = await authServer();

    // Act
    const response = await fetch(`${server.url}/v1/health`);

    // Assess
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('refuses to be built with an empty token', () => {
    // Act + Assess
    expect(() => bearerTokenAuth('')).toThrow(/must not be empty/);
  });
});

describe('request bodies received into reused buffers', () => {
  const bodyOf = (fill: number) => new Uint8Array(256 * 1024).fill(fill);
  const sameBytes = (body: Uint8Array, fill: number) => body.every((byte) => byte === fill);

  it('gives each request its own bytes, concurrent or one after another', async () => {
    // Prepare: the handler answers whether its body is still all one byte after a pause
    const server = await serve(async (request) => {
      const fill = request.body[0] as number;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { status: 200, headers: {}, body: String(sameBytes(request.body, fill)) };
    });
    const post = (fill: number) =>
      fetch(`${server.url}/echo`, { method: 'POST', body: bodyOf(fill) }).then((r) => r.text());

    // Act
    const answers = [
      ...(await Promise.all([1, 2, 3, 4, 5, 6].map(post))),
      ...(await Promise.all([7, 8].map(post))),
      await post(9),
    ];

    // Assess
    expect(answers).toEqual(Array(9).fill('true'));
  });

  it('keeps a body away from later requests while its handler runs past its timeout', async () => {
    // Prepare: the first handler is answered 503 at 50 ms but goes on reading its body until 300 ms
    let late: boolean | undefined;
    const server = await serve(
      async (request) => {
        const fill = request.body[0] as number;
        if (fill === 1) {
          await new Promise((resolve) => setTimeout(resolve, 300));
          late = sameBytes(request.body, 1);
        }
        return { status: 200, headers: {}, body: 'ok' };
      },
      { handlerTimeoutMs: 50 },
    );
    const post = (fill: number) => fetch(`${server.url}/x`, { method: 'POST', body: bodyOf(fill) });

    // Act: while the first handler still holds its body, others arrive and are answered
    const first = await post(1);
    for (let fill = 2; fill < 8; fill++) expect((await post(fill)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 400));

    // Assess
    expect(first.status).toBe(503);
    expect(late).toBe(true);
  });
});
