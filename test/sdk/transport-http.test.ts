/**
 * The transport's default path, node:http / node:https with a keep-alive agent, against small local
 * servers: sockets reused and never holding the process open, the errors of a request without an
 * answer, redirects refused, and a caller's `fetch` still taking precedence.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StreambedError } from '../../client/errors.ts';
import { type AnsweredCall, Transport } from '../../client/transport.ts';
import { freePort } from '../support/free-port.ts';
import { runProcess } from '../support/run-process.ts';

interface Seen {
  connections: number;
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }[];
}

const servers: (Server | HttpsServer)[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server answering `handler`, counting connections and recording requests. */
async function serve(
  handler: (request: IncomingMessage, response: ServerResponse) => void = (_, response) =>
    response.end('{"ok":true}'),
  server: Server | HttpsServer = createServer(),
): Promise<{ url: string; seen: Seen }> {
  const seen: Seen = { connections: 0, requests: [] };
  server.keepAliveTimeout = 60_000;
  server.on('connection', () => {
    seen.connections++;
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      seen.requests.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks),
      });
      handler(request, response);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const scheme = 'setSecureContext' in server ? 'https' : 'http';
  return { url: `${scheme}://127.0.0.1:${port}`, seen };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable('the request succeeded'),
    (error: unknown) => error as StreambedError,
  );

describe('Transport over node:http', () => {
  it('sends two sequential requests on one kept-alive connection', async () => {
    const { url, seen } = await serve();
    const transport = new Transport({ url });
    await transport.json('GET', '/v1/topics');
    await transport.json('GET', '/v1/topics');
    expect(seen.requests).toHaveLength(2);
    expect(seen.connections).toBe(1);
  });

  it('sends a binary body and headers as given, and reads the answer back whole', async () => {
    const answer = Buffer.alloc(300_000, 7);
    const { url, seen } = await serve((_, response) => {
      response.setHeader('streambed-next-offset', '42');
      response.end(answer);
    });
    const calls: AnsweredCall[] = [];
    const transport = new Transport({ url, token: 'secret', onResponse: (call) => calls.push(call) });
    const body = new Uint8Array([1, 2, 3, 4]);
    const response = await transport.raw('POST', '/v1/topics/t/records', {
      body,
      contentType: 'application/vnd.test',
      query: { a: 1 },
    });
    expect(Buffer.from(response.bytes).equals(answer)).toBe(true);
    expect(response.headers.get('Streambed-Next-Offset')).toBe('42');
    expect(response.headers.get('absent')).toBeNull();
    expect(seen.requests[0]).toMatchObject({ method: 'POST', url: '/v1/topics/t/records?a=1' });
    expect(seen.requests[0]?.headers).toMatchObject({
      authorization: 'Bearer secret',
      'content-type': 'application/vnd.test',
      'content-length': '4',
    });
    expect([...(seen.requests[0]?.body ?? [])]).toEqual([1, 2, 3, 4]);
    expect(calls).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/v1/topics/t/records',
        status: 200,
        requestBytes: 4,
        responseBytes: 300_000,
      }),
    ]);
  });

  it('signs with SigV4 the request it sends', async () => {
    const { url, seen } = await serve();
    const transport = new Transport({
      url,
      aws: { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } },
    });
    await transport.json('POST', '/v1/topics', { json: { name: 't' } });
    const headers = seen.requests[0]?.headers ?? {};
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api/,
    );
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(seen.requests[0]?.body.toString()).toBe('{"name":"t"}');
  });

  it('maps an error answer to the server code, as with fetch', async () => {
    const { url } = await serve((_, response) => {
      response.statusCode = 404;
      response.end('{"error":{"code":"TOPIC_NOT_FOUND","message":"topic t not found","retriable":false}}');
    });
    const error = await failure(new Transport({ url }).json('GET', '/v1/topics/t'));
    expect(error).toMatchObject({ code: 'TOPIC_NOT_FOUND', message: 'topic t not found', status: 404 });
  });

  it('does not follow a redirect: it fails naming where it pointed', async () => {
    const { url, seen } = await serve((_, response) => {
      response.writeHead(301, { location: 'http://elsewhere.test/v1/topics' }).end();
    });
    const error = await failure(new Transport({ url }).json('GET', '/v1/topics'));
    expect(error).toMatchObject({
      code: 'INVALID_REQUEST',
      retriable: false,
      status: 301,
      message:
        "HTTP 301: redirected to http://elsewhere.test/v1/topics; the SDK does not follow redirects: use the API's own URL",
    });
    expect(seen.requests).toHaveLength(1);
  });

  it('says the connection was refused, naming the URL', async () => {
    const port = await freePort();
    const error = await failure(new Transport({ url: `http://127.0.0.1:${port}` }).json('GET', '/v1/topics'));
    expect(error).toMatchObject({
      code: 'UNAVAILABLE',
      retriable: true,
      message: `cannot reach http://127.0.0.1:${port}: connection refused — is the server running? (\`npm start\`)`,
    });
  });

  it('says the host was not found', async () => {
    const error = await failure(new Transport({ url: 'http://streambed.invalid' }).json('GET', '/v1/topics'));
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retriable: true });
    expect(error.message).toMatch(
      /^cannot reach http:\/\/streambed\.invalid: host not found \((ENOTFOUND|EAI_AGAIN)\)$/,
    );
  });

  it('says the connection was closed when the server drops it without an answer', async () => {
    const { url } = await serve((request) => request.socket.destroy());
    const error = await failure(new Transport({ url }).json('GET', '/v1/topics'));
    expect(error).toMatchObject({
      code: 'UNAVAILABLE',
      retriable: true,
      message: `no response from ${url}: the connection was closed (ECONNRESET)`,
    });
  });

  it('times out a request the server never answers', async () => {
    const { url } = await serve(() => {});
    const error = await failure(new Transport({ url, timeoutMs: 100 }).json('GET', '/v1/topics'));
    expect(error).toMatchObject({
      code: 'UNAVAILABLE',
      retriable: true,
      message: `no response from ${url}: timed out`,
    });
  });

  it('times out an answer whose body never ends', async () => {
    const { url } = await serve((_, response) => response.write('{"partial":'));
    const error = await failure(new Transport({ url, timeoutMs: 100 }).json('GET', '/v1/topics'));
    expect(error).toMatchObject({ code: 'UNAVAILABLE', message: `no response from ${url}: timed out` });
  });

  it('times out an answer whose body never ends with a fetch option too, as UNAVAILABLE', async () => {
    const { url } = await serve((_, response) => response.write('{"partial":'));
    const transport = new Transport({ url, timeoutMs: 100, fetch: globalThis.fetch });
    const error = await failure(transport.json('GET', '/v1/topics'));
    expect(error).toMatchObject({ code: 'UNAVAILABLE', message: `no response from ${url}: timed out` });
  });

  it('rejects a self-signed https server by default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streambed-tls-'));
    try {
      execFileSync(
        'openssl',
        [
          ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
          ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1'],
          ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
        ],
        { stdio: 'ignore' },
      );
      const tls = createHttpsServer({
        key: readFileSync(join(dir, 'key.pem')),
        cert: readFileSync(join(dir, 'cert.pem')),
      });
      const { url, seen } = await serve(undefined, tls);
      expect(url).toMatch(/^https:/);
      const error = await failure(new Transport({ url }).json('GET', '/v1/topics'));
      expect(error).toMatchObject({
        code: 'UNAVAILABLE',
        retriable: true,
        message: `no response from ${url}: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)`,
      });
      expect(seen.requests).toHaveLength(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses a fetch option instead, exactly as given', async () => {
    const { url, seen } = await serve();
    const sent: string[] = [];
    const transport = new Transport({
      url,
      fetch: async (input, init) => {
        sent.push(`${init?.method} ${String(input)}`);
        return new Response('{"topics":[]}', { status: 200 });
      },
    });
    expect(await transport.json('GET', '/v1/topics')).toEqual({ topics: [] });
    expect(sent).toEqual([`GET ${url}/v1/topics`]);
    expect(seen.connections).toBe(0);
  });

  it('keeps no socket holding the process open once the work is done', async () => {
    // The server keeps idle connections for a minute: a socket the client kept referenced would hold
    // the child's event loop open, and show among its active resources.
    const { url, seen } = await serve();
    const script = `
      import { Transport } from './client/transport.ts';
      const transport = new Transport({ url: ${JSON.stringify(url)} });
      await transport.json('GET', '/v1/topics');
      await transport.json('GET', '/v1/topics');
      await new Promise((resolve) => setImmediate(resolve));
      console.log(JSON.stringify(process.getActiveResourcesInfo()));
    `;
    const run = await runProcess(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).not.toContain('TCPSocketWrap');
    expect(seen).toMatchObject({ connections: 1 });
    expect(seen.requests).toHaveLength(2);
  }, 30_000);
});
