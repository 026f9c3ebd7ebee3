/**
 * `streambed console` (lambdas/runtime/console-proxy.ts) against a recording upstream: what it forwards
 * and signs, what it keeps from the API and from the browser, its errors; and the parser of its flags.
 * The offline deployed stack checks the signatures themselves (test/stack/console-proxy.test.ts).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../client/cli/main.ts';
import { MAX_EDGE_BODY_BYTES } from '../../client/wire/limits.ts';
import { SIGNING_PROXY_META } from '../../lambdas/runtime/console-assets.ts';
import { type ConsoleProxy, startConsoleProxy, upstreamUrl } from '../../lambdas/runtime/console-proxy.ts';
import {
  DEFAULT_CONSOLE_PORT,
  parseConsoleArgs,
  SERVER_COMMANDS,
} from '../../lambdas/runtime/server-commands.ts';
import { freePort } from '../support/free-port.ts';
import { type LocalHttpServer, serveHttp } from '../support/local-http.ts';
import { rawRequest } from '../support/raw-http.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const INDEX = '<!doctype html><html><head><title>Streambed console</title></head><body></body></html>';
const CREDENTIALS = { accessKeyId: 'AKIDCONSOLETEST', secretAccessKey: 'console-test-secret-never-sent' };

let root: string;
let upstream: LocalHttpServer;
let seen: Seen[] = [];
let proxy: ConsoleProxy;
let proxyUrl: string;
let unbuilt: ConsoleProxy;
let nowhere: ConsoleProxy;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'streambed-console-proxy-'));
  mkdirSync(join(root, 'dist', 'assets'), { recursive: true });
  writeFileSync(join(root, 'dist', 'index.html'), INDEX);
  writeFileSync(join(root, 'dist', 'assets', 'index-Ab12.js'), 'console.log("console")');
  mkdirSync(join(root, 'empty'));
  // The API: records what reached it and answers with what the request asks for.
  upstream = await serveHttp((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      if (req.url?.includes('refuse')) {
        res.writeHead(403, {
          'content-type': 'application/json',
          'x-amzn-errortype': 'IncompleteSignatureException',
          'set-cookie': 'session=upstream',
        });
        res.end('{"message":"The request signature we calculated does not match"}');
        return;
      }
      res.writeHead(201, {
        'content-type': 'application/json',
        'streambed-next-offset': '7',
        'set-cookie': 'a=b',
      });
      res.end('{"created":true}');
    });
  });
  const common = { region: 'eu-west-1', credentials: CREDENTIALS, port: 0 };
  proxy = await startConsoleProxy({
    ...common,
    apiUrl: `${upstream.url}/prod/`,
    consoleDir: join(root, 'dist'),
  });
  proxyUrl = new URL(proxy.consoleUrl).origin;
  unbuilt = await startConsoleProxy({ ...common, apiUrl: upstream.url, consoleDir: join(root, 'empty') });
  nowhere = await startConsoleProxy({
    ...common,
    apiUrl: `http://127.0.0.1:${await freePort()}`,
    consoleDir: join(root, 'dist'),
  });
});

afterAll(async () => {
  await Promise.all([proxy?.close(), unbuilt?.close(), nowhere?.close(), upstream?.close()]);
  rmSync(root, { recursive: true, force: true });
});

const lastSeen = (): Seen => {
  const last = seen.at(-1);
  if (last === undefined) throw new Error('nothing reached the upstream');
  return last;
};

describe('streambed console: the console', () => {
  it('serves the page marked as signed by the proxy, with the console headers and no credentials', async () => {
    const page = await rawRequest(proxyUrl, 'GET', '/console');
    expect(page.status).toBe(200);
    expect(page.body).toContain(SIGNING_PROXY_META);
    expect(page.body.indexOf(SIGNING_PROXY_META)).toBeLessThan(page.body.indexOf('</head>'));
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(page.headers['cache-control']).toBe('no-cache');
    const js = await rawRequest(proxyUrl, 'GET', '/console/assets/index-Ab12.js');
    expect(js).toMatchObject({ status: 200, body: 'console.log("console")' });
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    for (const answer of [page, js]) {
      const everything = JSON.stringify(answer);
      expect(everything).not.toContain(CREDENTIALS.accessKeyId);
      expect(everything).not.toContain(CREDENTIALS.secretAccessKey);
    }
  });

  it('keeps the console path rules and says when the console is not built', async () => {
    expect((await rawRequest(proxyUrl, 'GET', '/console/../index.html')).status).toBe(404);
    expect((await rawRequest(proxyUrl, 'POST', '/console')).status).toBe(405);
    const answer = await rawRequest(new URL(unbuilt.consoleUrl).origin, 'GET', '/console');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body).error.message).toContain('npm run build:console');
  });
});

describe('streambed console: the API calls', () => {
  it('forwards method, path, query, body, Content-Type and Accept under the stage, signed', async () => {
    seen = [];
    const body = '{"name":"orders","partitions":3}';
    const answer = await rawRequest(
      proxyUrl,
      'POST',
      '/v1/topics/a%2Fb/records?offset=5&max_bytes=10',
      { 'content-type': 'application/json', accept: 'application/json' },
      body,
    );
    expect(answer.status).toBe(201);
    expect(answer.body).toBe('{"created":true}');
    const got = lastSeen();
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/prod/v1/topics/a%2Fb/records?offset=5&max_bytes=10');
    expect(got.body.toString()).toBe(body);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers.accept).toBe('application/json');
    expect(got.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDCONSOLETEST\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
    );
    expect(got.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(body).digest('hex'));
    expect(got.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
  });

  it("drops the browser's Authorization, cookies and hop-by-hop headers", async () => {
    seen = [];
    await rawRequest(proxyUrl, 'GET', '/v1/topics', {
      authorization: 'Bearer from-the-browser',
      cookie: 'session=browser',
      'proxy-authorization': 'Basic eDp5',
      'x-forwarded-for': '10.0.0.1',
      connection: 'keep-alive, x-custom',
      'x-custom': 'hop',
      te: 'trailers',
      'idempotency-key': 'not-asked-for',
    });
    const got = lastSeen();
    expect(got.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
    for (const name of [
      'cookie',
      'proxy-authorization',
      'x-forwarded-for',
      'x-custom',
      'te',
      'idempotency-key',
    ]) {
      expect(got.headers[name], name).toBeUndefined();
    }
    expect(JSON.stringify(got.headers)).not.toContain('from-the-browser');
    expect(got.body.byteLength).toBe(0);
  });

  it('forwards the schema registry prefix too', async () => {
    seen = [];
    expect((await rawRequest(proxyUrl, 'GET', '/schema-registry/subjects')).status).toBe(201);
    expect(lastSeen().url).toBe('/prod/schema-registry/subjects');
  });

  it("passes the API's answers through: status, body and headers, but no cookies", async () => {
    const answer = await rawRequest(proxyUrl, 'GET', '/v1/topics/refuse');
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body).message).toMatch(/signature/);
    expect(answer.headers['x-amzn-errortype']).toBe('IncompleteSignatureException');
    expect(answer.headers['set-cookie']).toBeUndefined();
    const ok = await rawRequest(proxyUrl, 'GET', '/v1/topics');
    expect(ok.headers['streambed-next-offset']).toBe('7');
    expect(ok.headers['set-cookie']).toBeUndefined();
  });

  it.each(['/', '/metrics', '/v1', '/v2/topics', '/schema-registryx', '/consoles', '/prod/v1/topics'])(
    'answers 404 to %s without calling the API',
    async (path) => {
      seen = [];
      const answer = await rawRequest(proxyUrl, 'GET', path);
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.body).error.code).toBe('INVALID_REQUEST');
      expect(seen).toEqual([]);
    },
  );

  it('refuses a body over API Gateway’s 10 MB with 413 before calling the API', async () => {
    seen = [];
    const answer = await rawRequest(
      proxyUrl,
      'POST',
      '/v1/topics/t/records',
      { 'content-type': 'application/json' },
      new Uint8Array(MAX_EDGE_BODY_BYTES + 1),
    );
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.code).toBe('RECORD_TOO_LARGE');
    expect(seen).toEqual([]);
  });

  it('answers 502 UNAVAILABLE in the API error shape when the API cannot be reached', async () => {
    const answer = await rawRequest(new URL(nowhere.consoleUrl).origin, 'GET', '/v1/topics');
    expect(answer.status).toBe(502);
    expect(answer.headers['content-type']).toBe('application/json');
    const { error } = JSON.parse(answer.body);
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/cannot reach the API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    expect(error.retriable).toBe(true);
  });

  it('puts the stage path of the ApiUrl in front of the request path', () => {
    const request = (path: string, query = '') => ({
      path,
      query: new URLSearchParams(query),
      rawQuery: query,
    });
    expect(
      upstreamUrl('https://x.execute-api.eu-west-1.amazonaws.com/prod/', request('/v1/topics')).href,
    ).toBe('https://x.execute-api.eu-west-1.amazonaws.com/prod/v1/topics');
    expect(
      upstreamUrl('https://x.execute-api.eu-west-1.amazonaws.com/', request('/v1/topics', 'a=1')).href,
    ).toBe('https://x.execute-api.eu-west-1.amazonaws.com/v1/topics?a=1');
  });
});

describe('streambed console flags', () => {
  const url = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod';

  it('listens on loopback at the default port, with the Region of the execute-api host', () => {
    expect(parseConsoleArgs(['--url', url], {})).toEqual({
      apiUrl: `${url}/`,
      region: 'eu-west-1',
      host: '127.0.0.1',
      port: DEFAULT_CONSOLE_PORT,
      exposed: false,
    });
  });

  it('takes --region first, then the host name, then AWS_REGION', () => {
    expect(
      parseConsoleArgs(['--url', url, '--region', 'us-east-2'], { AWS_REGION: 'ap-south-1' }).region,
    ).toBe('us-east-2');
    expect(parseConsoleArgs(['--url', url], { AWS_REGION: 'ap-south-1' }).region).toBe('eu-west-1');
    expect(parseConsoleArgs(['--url', 'https://api.example.com'], { AWS_REGION: 'ap-south-1' }).region).toBe(
      'ap-south-1',
    );
    expect(parseConsoleArgs(['--url', 'http://127.0.0.1:3000'], { AWS_REGION: 'us-east-1' }).apiUrl).toBe(
      'http://127.0.0.1:3000/',
    );
  });

  it('takes --port and --host, and says when the host is not loopback', () => {
    const parsed = parseConsoleArgs(['--url', url, '--port', '0', '--host', '0.0.0.0'], {});
    expect(parsed).toMatchObject({ port: 0, host: '0.0.0.0', exposed: true });
    expect(parseConsoleArgs(['--url', url, '--host', '::1'], {}).exposed).toBe(false);
    expect(parseConsoleArgs(['--url', url, '--host', 'localhost'], {}).exposed).toBe(false);
  });

  it.each([
    [[], /console needs --url <ApiUrl>/],
    [['--url', ''], /console needs --url <ApiUrl>/],
    [['--url', 'not a url'], /--url not a url is not a URL/],
    [['--url', 'ftp://example.com'], /is not a URL: use http/],
    [['--url', 'https://user:pw@api.example.com', '--region', 'eu-west-1'], /holds a user name or password/],
    [['--url', `${url}?stage=1`], /without a query or fragment/],
    [['--url', 'http://api.example.com', '--region', 'eu-west-1'], /plain http: use the API's https URL/],
    [
      ['--url', 'https://api.example.com'],
      /cannot tell the Region of https:\/\/api\.example\.com \(not an execute-api host name\): give --region or set AWS_REGION/,
    ],
    [['--url', url, '--region', 'Mars'], /--region must be an AWS Region such as eu-west-1, got "Mars"/],
    [['--url', url, '--port', 'eighty'], /--port must be a non-negative integer, got "eighty"/],
    [['--url', url, '--port', '70000'], /--port must be at most 65535, got 70000/],
    [['--url', url, '--host', 'a b'], /--host must be a host name or IP address, got "a b"/],
    [['--url', url, '--token', 't'], /Unknown option '--token'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseConsoleArgs(argv, {})).toThrow(message);
  });

  it('answers --help with its own usage, and a bad flag with the error and the usage', async () => {
    const run = async (argv: string[]) => {
      const out = new PassThrough();
      const err = new PassThrough();
      let text = '';
      for (const stream of [out, err]) stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
      const code = await runCli(argv, out, err, Readable.from([]), {}, SERVER_COMMANDS);
      return { code, text };
    };
    const help = await run(['console', '--help']);
    expect(help.code).toBe(0);
    expect(help.text).toMatch(/^usage: streambed console --url <ApiUrl> /);
    expect(help.text).toContain('execute-api:Invoke');
    expect(help.text).not.toContain('client options');
    const bad = await run(['console', '--url', url, '--port', 'x']);
    expect(bad).toEqual({ code: 1, text: 'streambed: --port must be a non-negative integer, got "x"\n' });
    const unknown = await run(['console', '--nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.text).toMatch(/^streambed: Unknown option '--nope'.*\nusage: streambed console --url/s);
  });
});
