/**
 * The URL target against real local HTTP servers: what it sends, how it reads each kind of answer,
 * and the outbound rules (DESIGN §12) that keep a subscription from reaching private destinations.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamError } from '../../lambdas/core/errors.ts';
import type { Delivery } from '../../lambdas/subscriptions/target.ts';
import {
  createUrlTarget,
  type UrlTarget,
  validateTargetUrl,
} from '../../lambdas/subscriptions/url-target.ts';
import { freePort } from '../support/free-port.ts';
import { serveHttp } from '../support/local-http.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const delivery: Delivery = {
  subscription: 'orders-to-hook',
  idempotencyKey: 'orders-to-hook/0/15',
  body: '{"eventSource":"SelfManagedKafka","bootstrapServers":"","records":{}}',
};

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = await serveHttp(handler);
  cleanups.push(server.close);
  return server;
}

function target(
  url: string,
  options: Parameters<typeof createUrlTarget>[1] = { allowPrivate: true },
): UrlTarget {
  const created = createUrlTarget(url, options);
  cleanups.push(() => created.close());
  return created;
}

/** A TCP server that counts connections and never answers. */
async function silentTcpServer(): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server: Server = createTcpServer((socket) => {
    connections += 1;
    cleanups.push(() => {
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    connections: () => connections,
  };
}

function expectInvalid(url: string, allowPrivate: boolean, words: RegExp): void {
  let caught: unknown;
  try {
    validateTargetUrl(url, { allowPrivate });
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(StreamError);
  expect((caught as StreamError).code).toBe('INVALID_REQUEST');
  expect((caught as StreamError).message).toMatch(/^target\.url /);
  expect((caught as StreamError).message).toMatch(words);
}

describe('URL target: delivery', () => {
  it('passes a JSON 2xx body through as the response (batchItemFailures included)', async () => {
    // Prepare
    const answer = { batchItemFailures: [{ itemIdentifier: '17' }] };
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
    // Act
    const result = await target(`${server.url}/hook`).deliver(delivery);
    // Assess
    expect(result).toEqual({ ok: true, response: answer });
  });

  it('reads a JSON body whatever its content type, and a non-JSON 2xx body as null', async () => {
    const bodies = ['{"done":true}', 'accepted', ''];
    const server = await serve((_req, res) => {
      res.writeHead(bodies.length === 1 ? 204 : 200, { 'content-type': 'text/plain' }).end(bodies.shift());
    });
    const hook = target(`${server.url}/`);
    expect(await hook.deliver(delivery)).toEqual({ ok: true, response: { done: true } });
    expect(await hook.deliver(delivery)).toEqual({ ok: true, response: null });
    expect(await hook.deliver(delivery)).toEqual({ ok: true, response: null });
  });

  it('POSTs the event with the subscription, idempotency key, content type and user agent', async () => {
    const seen: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string }[] = [];
    const server = await serve((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.end();
      });
    });
    await target(`${server.url}/hooks/orders?team=a`).deliver(delivery);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/hooks/orders?team=a',
      body: delivery.body,
      headers: {
        'content-type': 'application/json',
        'streambed-subscription': 'orders-to-hook',
        'idempotency-key': 'orders-to-hook/0/15',
        'user-agent': 'streambed-subscriptions',
      },
    });
  });

  it('reuses one kept-alive connection across deliveries', async () => {
    const server = await serve((_req, res) => res.end('{}'));
    const hook = target(`${server.url}/`);
    for (let i = 0; i < 3; i++) expect((await hook.deliver(delivery)).ok).toBe(true);
    expect(server.connections()).toBe(1);
  });

  it('fails a non-2xx with its status, the target and a one-line excerpt of the body', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(500).end(`boom:\n  database\tdown ${'x'.repeat(400)}`);
    });
    const result = await target(`${server.url}/hook?secret=1`).deliver(delivery);
    expect(result.ok).toBe(false);
    const error = (result as { error: string }).error;
    expect(error).toMatch(new RegExp(`^HTTP 500 from ${server.url}/hook: boom: database down x+…$`));
    expect(error).not.toContain('secret');
    expect(error.length).toBeLessThan(300);
  });

  it('does not follow a redirect: a 3xx fails and the location is never requested', async () => {
    let redirectedTo = 0;
    const elsewhere = await serve((_req, res) => {
      redirectedTo += 1;
      res.end('{}');
    });
    const server = await serve((_req, res) => {
      res.writeHead(302, { location: `${elsewhere.url}/` }).end();
    });
    const result = await target(`${server.url}/hook`).deliver(delivery);
    expect(result).toEqual({
      ok: false,
      error: `HTTP 302 from ${server.url}/hook: redirects are not followed`,
    });
    expect(server.requests()).toBe(1);
    expect(redirectedTo).toBe(0);
  });

  it('fails a response body larger than the event limit and destroys the connection', async () => {
    // Streamed without a content length, so the bound is enforced while reading.
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const write = (left: number): void => {
        if (left === 0 || res.destroyed) {
          res.end();
          return;
        }
        if (res.write(chunk)) write(left - 1);
        else res.once('drain', () => write(left - 1));
      };
      write(7);
    });
    const result = await target(`${server.url}/`).deliver(delivery);
    expect(result).toEqual({ ok: false, error: `response from ${server.url}/ exceeds 6291456 bytes` });
  });

  it('fails a response that declares a length past the limit without reading it', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': 6_291_457 });
      res.write('{');
    });
    const result = await target(`${server.url}/`).deliver(delivery);
    expect(result).toEqual({ ok: false, error: `response from ${server.url}/ exceeds 6291456 bytes` });
  });

  it('times out a target that never answers', async () => {
    const silent = await silentTcpServer();
    const result = await target(`http://127.0.0.1:${silent.port}/`, {
      allowPrivate: true,
      timeoutMs: 100,
    }).deliver(delivery);
    expect(result).toEqual({ ok: false, error: `http://127.0.0.1:${silent.port}/ timed out after 100 ms` });
  });

  it('stops when the signal aborts', async () => {
    const silent = await silentTcpServer();
    const controller = new AbortController();
    const pending = target(`http://127.0.0.1:${silent.port}/`).deliver(delivery, controller.signal);
    controller.abort();
    expect(await pending).toEqual({
      ok: false,
      error: `delivery to http://127.0.0.1:${silent.port}/ aborted`,
    });
  });

  it('fails at once, sending nothing, when the signal is already aborted', async () => {
    const server = await serve((_req, res) => res.end('{}'));
    const result = await target(`${server.url}/`).deliver(delivery, AbortSignal.abort());
    expect(result).toEqual({ ok: false, error: `delivery to ${server.url}/ aborted` });
    expect(server.connections()).toBe(0);
  });

  it('fails rather than throws on a header value Node refuses', async () => {
    const server = await serve((_req, res) => res.end('{}'));
    const result = await target(`${server.url}/`).deliver({ ...delivery, subscription: 'bad\nname' });
    expect(result).toMatchObject({ ok: false, error: expect.stringMatching(/could not be made/) });
    expect(server.requests()).toBe(0);
  });

  it('names the connection error code and the target when nothing listens', async () => {
    const port = await freePort();
    const result = await target(`http://127.0.0.1:${port}/hook`).deliver(delivery);
    expect(result).toEqual({
      ok: false,
      error: `connection to http://127.0.0.1:${port}/hook failed: ECONNREFUSED`,
    });
  });
});

describe('URL target: validation', () => {
  it('accepts https anywhere and http to loopback, and describes the URL without its query', () => {
    expect(validateTargetUrl('https://hooks.example.com/in', { allowPrivate: false }).href).toBe(
      'https://hooks.example.com/in',
    );
    for (const url of [
      'http://127.0.0.1:9000/',
      'http://localhost:9000/',
      'http://[::1]:9000/',
      'http://127.8.0.1/',
    ]) {
      expect(() => validateTargetUrl(url, { allowPrivate: true })).not.toThrow();
    }
    expect(target('https://hooks.example.com/in?token=abc').description).toBe('https://hooks.example.com/in');
  });

  it('refuses other schemes, http off loopback, credentials, fragments and garbage', () => {
    expectInvalid('ftp://hooks.example.com/', true, /https.*ftp:/);
    expectInvalid('http://hooks.example.com/', true, /https unless the host is loopback/);
    expectInvalid('http://10.0.0.1/', true, /https unless the host is loopback/);
    expectInvalid('https://user:pass@hooks.example.com/', true, /credentials/);
    expectInvalid('https://user@hooks.example.com/', true, /credentials/);
    expectInvalid('https://hooks.example.com/#part', true, /fragment/);
    expectInvalid('not a url', true, /absolute http\(s\) URL, got "not a url"/);
    expectInvalid('', true, /absolute/);
  });

  it('with allowPrivate false, refuses private, loopback, link-local, unspecified and CGNAT literals', () => {
    const refused: [string, RegExp][] = [
      ['http://127.0.0.1/', /127\.0\.0\.1 is a loopback/],
      ['http://localhost/', /localhost is a loopback/],
      ['https://[::1]/', /loopback/],
      ['https://10.1.2.3/', /private/],
      ['https://172.16.0.1/', /private/],
      ['https://172.31.255.255/', /private/],
      ['https://192.168.1.1/', /private/],
      ['https://[fd00::1]/', /private/],
      ['https://169.254.169.254/latest/meta-data/', /link-local/],
      ['https://[fe80::1]/', /link-local/],
      ['https://0.0.0.0/', /unspecified/],
      ['https://[::]/', /unspecified/],
      ['https://100.64.0.1/', /CGNAT/],
      ['https://[::ffff:10.0.0.1]/', /private/],
      ['https://[::ffff:169.254.169.254]/', /link-local/],
      ['https://2130706433/', /loopback/],
    ];
    for (const [url, words] of refused) expectInvalid(url, false, words);
    for (const url of [
      'https://172.32.0.1/',
      'https://100.128.0.1/',
      'https://8.8.8.8/',
      'https://[2001:db8::1]/',
    ]) {
      expect(() => validateTargetUrl(url, { allowPrivate: false })).not.toThrow();
    }
  });

  it('createUrlTarget refuses what validation refuses', () => {
    expect(() => createUrlTarget('https://169.254.169.254/', { allowPrivate: false })).toThrow(/link-local/);
  });
});

describe('URL target: the addresses actually connected to', () => {
  it('refuses a name that resolves to the instance metadata address', async () => {
    const hook = target('https://metadata.attacker.example/', {
      allowPrivate: false,
      resolve: async () => [{ address: '169.254.169.254', family: 4 }],
    });
    expect(await hook.deliver(delivery)).toEqual({
      ok: false,
      error:
        'https://metadata.attacker.example/: metadata.attacker.example resolves to 169.254.169.254, a link-local address, which this deployment does not allow',
    });
  });

  it('refuses an IPv4-mapped private address, and any answer holding one disallowed address', async () => {
    const mapped = target('https://mapped.example/', {
      allowPrivate: false,
      resolve: async () => [{ address: '::ffff:10.0.0.1', family: 6 }],
    });
    expect(await mapped.deliver(delivery)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/a private address/),
    });
    const mixed = target('https://mixed.example/', {
      allowPrivate: false,
      resolve: async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.1', family: 4 },
      ],
    });
    expect(await mixed.deliver(delivery)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/10\.0\.0\.1/),
    });
  });

  it('refuses before connecting: a rebinding name that resolves to loopback opens no connection', async () => {
    const listener = await silentTcpServer();
    const url = `https://rebind.example:${listener.port}/`;
    const resolve = async () => [{ address: '127.0.0.1', family: 4 }];
    const refused = await target(url, { allowPrivate: false, resolve }).deliver(delivery);
    expect(refused).toMatchObject({
      ok: false,
      error: expect.stringMatching(/resolves to 127\.0\.0\.1, a loopback/),
    });
    expect(listener.connections()).toBe(0);
    // Control: the same name with private destinations allowed does reach the listener.
    const allowed = await target(url, { allowPrivate: true, resolve, timeoutMs: 200 }).deliver(delivery);
    expect(allowed.ok).toBe(false);
    expect(listener.connections()).toBe(1);
  });

  it('names ENOTFOUND for a name with no address, and passes resolver errors through by code', async () => {
    const empty = target('https://nowhere.example/', { allowPrivate: false, resolve: async () => [] });
    expect(await empty.deliver(delivery)).toEqual({
      ok: false,
      error: 'connection to https://nowhere.example/ failed: ENOTFOUND',
    });
    const failing = target('https://flaky.example/', {
      allowPrivate: false,
      resolve: async () => {
        throw Object.assign(new Error('queryA ETIMEOUT flaky.example'), { code: 'ETIMEOUT' });
      },
    });
    expect(await failing.deliver(delivery)).toEqual({
      ok: false,
      error: 'connection to https://flaky.example/ failed: ETIMEOUT',
    });
  });

  it('keeps plain http on loopback even when a loopback name resolves elsewhere', async () => {
    const hook = target('http://localhost:9/', {
      allowPrivate: true,
      resolve: async () => [{ address: '203.0.113.7', family: 4 }],
    });
    expect(await hook.deliver(delivery)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/not loopback/),
    });
  });
});
