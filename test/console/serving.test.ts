/**
 * `GET /console` on the local server (lambdas/runtime/console-assets.ts): the built files with their
 * content types and cache headers, nothing outside the build directory, no token needed for the files
 * while the API keeps asking for it. Over a fixture build directory, so these tests need no build.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleFileOf, DEFAULT_CONSOLE_DIR } from '../../lambdas/runtime/console-assets.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { rawRequest as raw } from '../support/raw-http.ts';

const INDEX =
  '<!doctype html><title>Streambed console</title><script src="/console/assets/index-Ab12.js"></script>';

let root: string;
let server: LocalServer;
let guarded: LocalServer;
let unbuilt: LocalServer;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'streambed-console-'));
  const dist = join(root, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), INDEX);
  writeFileSync(join(dist, 'assets', 'index-Ab12.js'), 'console.log("console")');
  writeFileSync(join(dist, 'assets', 'index-Cd34.css'), 'body{}');
  // What a traversal would reach: next to the build directory, and the repository's own files.
  writeFileSync(join(root, 'secret.txt'), 'not for the browser');
  mkdirSync(join(root, 'empty'));
  const common = { memory: true, port: 0, subscriptions: false, logLevel: 'silent' } as const;
  server = await startLocalServer({ ...common, consoleDir: dist });
  guarded = await startLocalServer({ ...common, consoleDir: dist, token: 'sesame' });
  unbuilt = await startLocalServer({ ...common, consoleDir: join(root, 'empty') });
});

afterAll(async () => {
  await Promise.all([server?.close(), guarded?.close(), unbuilt?.close()]);
  rmSync(root, { recursive: true, force: true });
});

describe('GET /console', () => {
  it.each(['/console', '/console/', '/console/index.html'])(
    'answers index.html at %s, not cached',
    async (path) => {
      const answer = await raw(server.url, 'GET', path);
      expect(answer.status).toBe(200);
      expect(answer.body).toBe(INDEX);
      expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(answer.headers['cache-control']).toBe('no-cache');
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(answer.headers['content-security-policy']).toContain("default-src 'self'");
    },
  );

  it('answers hashed assets with their content type, cached as immutable', async () => {
    const js = await raw(server.url, 'GET', '/console/assets/index-Ab12.js');
    expect(js).toMatchObject({ status: 200, body: 'console.log("console")' });
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const css = await raw(server.url, 'GET', '/console/assets/index-Cd34.css');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('answers HEAD with the headers and no body', async () => {
    const answer = await raw(server.url, 'HEAD', '/console/assets/index-Ab12.js');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-length']).toBe(String('console.log("console")'.length));
    expect(answer.body).toBe('');
  });

  it.each([
    '/console/assets/index-Zz99.js',
    '/console/assets/missing.css',
    '/console/nothing-here',
    '/console/assets',
    '/console/assets/',
    '/console/assets/index-Ab12.js/more',
  ])('answers 404 INVALID_REQUEST for %s', async (path) => {
    const answer = await raw(server.url, 'GET', path);
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body).error.code).toBe('INVALID_REQUEST');
  });

  it.each([
    '/console/../secret.txt',
    '/console/assets/../../secret.txt',
    '/console/..%2Fsecret.txt',
    '/console/%2e%2e/secret.txt',
    '/console/assets/..%2F..%2Fsecret.txt',
    '/console/assets/%2E%2E%2F%2E%2E%2Fsecret.txt',
    '/console/..',
    '/console/.hidden.js',
    '/console/assets/..\\..\\secret.txt',
    '/console/../../package.json',
    '/console//etc/passwd',
  ])('refuses a path out of the build directory: %s', async (path) => {
    const answer = await raw(server.url, 'GET', path);
    expect(answer.status).toBe(404);
    expect(answer.body).not.toContain('not for the browser');
    expect(answer.body).not.toContain('"name": "streambed"');
  });

  it('names only files the build can make', () => {
    expect(consoleFileOf('/console')).toBe('index.html');
    expect(consoleFileOf('/console/assets/index-Ab12.js')).toBe('assets/index-Ab12.js');
    expect(consoleFileOf('/console/../x.js')).toBeUndefined();
    expect(consoleFileOf('/console/assets/.x.js')).toBeUndefined();
    expect(consoleFileOf('/console/other/x.js')).toBeUndefined();
    expect(consoleFileOf('/console/assets/x.exe')).toBeUndefined();
  });

  it('answers 405 to other methods, with Allow', async () => {
    const answer = await raw(server.url, 'POST', '/console');
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET, HEAD');
  });

  it('serves the files without the token, while the API and /metrics still want it', async () => {
    expect((await raw(guarded.url, 'GET', '/console')).status).toBe(200);
    expect((await raw(guarded.url, 'GET', '/console/assets/index-Ab12.js')).status).toBe(200);
    expect((await raw(guarded.url, 'GET', '/v1/topics')).status).toBe(401);
    expect((await raw(guarded.url, 'GET', '/metrics')).status).toBe(401);
    const authorized = await raw(guarded.url, 'GET', '/v1/topics', { authorization: 'Bearer sesame' });
    expect(authorized).toMatchObject({ status: 200, body: '{"topics":[]}' });
  });

  it('leaves the API as it was: /consoles and /v1 paths are the router’s', async () => {
    expect((await raw(server.url, 'GET', '/consoles')).status).toBe(404);
    expect((await raw(server.url, 'GET', '/v1/topics')).body).toBe('{"topics":[]}');
  });

  it('counts the console in /metrics under one route, not as unmatched paths', async () => {
    await raw(server.url, 'GET', '/console/assets/index-Ab12.js');
    await raw(server.url, 'GET', '/console/assets/nope.js');
    const metrics = (await raw(server.url, 'GET', '/metrics')).body;
    expect(metrics).toMatch(/streambed_requests_total\{[^}]*route="\/console"[^}]*status="200"/);
    expect(metrics).toMatch(/streambed_requests_total\{[^}]*route="\/console"[^}]*status="404"/);
  });

  it('says how to build a console that was never built', async () => {
    const answer = await raw(unbuilt.url, 'GET', '/console');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body).error.message).toContain('npm run build:console');
    expect((await raw(unbuilt.url, 'GET', '/console/assets/index-Ab12.js')).status).toBe(404);
  });

  it('reads the build from console/dist by default', () => {
    expect(DEFAULT_CONSOLE_DIR.replaceAll('\\', '/')).toMatch(/\/console\/dist\/$/);
  });
});
