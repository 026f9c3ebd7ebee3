/**
 * The local server's observability (DESIGN §14): `GET /metrics` in Prometheus text format, read the
 * way Prometheus reads it, and the request log at `--log-level info`. Each test starts its own server
 * (memory backend) with its own registry, so counts never leak between tests.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import type { Backend } from '../../lambdas/runtime/backends.ts';
import { createLocalLogger, type LogLevel } from '../../lambdas/runtime/local-log.ts';
import {
  type LocalServer,
  type LocalServerOptions,
  startLocalServer,
} from '../../lambdas/runtime/local-server.ts';
import { METRIC } from '../../lambdas/runtime/metric-names.ts';
import { jsonCaller } from '../support/json-call.ts';
import { type ParsedFamily, parsePrometheus, sampleValue } from '../support/prometheus-text.ts';
import { waitFor } from '../support/wait-for.ts';

const servers: LocalServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

interface Started {
  server: LocalServer;
  call: ReturnType<typeof jsonCaller>;
  /** Parsed log lines, in order. */
  lines: Record<string, unknown>[];
  scrape(headers?: Record<string, string>): Promise<ParsedFamily[]>;
}

async function start(options: LocalServerOptions & { level?: LogLevel } = {}): Promise<Started> {
  const lines: Record<string, unknown>[] = [];
  const logger = createLocalLogger(options.level ?? 'warn', (line) => lines.push(JSON.parse(line)));
  const server = await startLocalServer({ memory: true, port: 0, subscriptions: false, logger, ...options });
  servers.push(server);
  const scrape = async (headers: Record<string, string> = {}) => {
    const response = await fetch(`${server.url}/metrics`, { headers });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheus(await response.text());
  };
  return { server, call: jsonCaller(() => server.url), lines, scrape };
}

/** Sends `text` on a connection of its own; what came back once the server closed it. */
function rawRequest(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

/** Storage whose every query fails with `disk on fire` (listing topics is one). */
function failingQueries(): Backend {
  const meta = new MemoryMetaStore();
  meta.query = async () => {
    throw new Error('disk on fire');
  };
  return { meta, objects: new MemoryObjectStore(), close: async () => {} };
}

describe('GET /metrics', () => {
  it('counts requests by route template and status, with bytes and a latency histogram', async () => {
    // Prepare
    const { call, scrape, server } = await start();
    const body = { records: [{ value: 'hello' }] };
    await call('POST', '/v1/topics', { name: 'orders', partitions: 1 });

    // Act
    await call('POST', '/v1/topics/orders/records', body);
    await call('POST', '/v1/topics/orders/records', body);
    await call('GET', '/v1/topics/missing');
    await call('GET', '/nowhere/at/all');
    const families = await scrape();

    // Assess
    const route = '/v1/topics/{topic}/records';
    expect(sampleValue(families, METRIC.requests, { method: 'POST', route, status: '200' })).toBe(2);
    expect(
      sampleValue(families, METRIC.requests, { method: 'GET', route: '/v1/topics/{topic}', status: '404' }),
    ).toBe(1);
    expect(sampleValue(families, METRIC.requests, { route: 'unmatched', status: '404' })).toBe(1);
    expect(sampleValue(families, METRIC.requests, { route: '/v1/topics', status: '201' })).toBe(1);
    expect(sampleValue(families, METRIC.bytesIn, { method: 'POST', route })).toBe(
      2 * Buffer.byteLength(JSON.stringify(body)),
    );
    expect(sampleValue(families, METRIC.bytesOut, { method: 'POST', route })).toBeGreaterThan(0);
    const histogram = families.find((f) => f.name === METRIC.requestDuration);
    expect(histogram?.type).toBe('HISTOGRAM');
    // The parser drops a histogram's labels, so its per-route count is read from the text itself.
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain(`${METRIC.requestDuration}_count{method="POST",route="${route}"} 2\n`);
    // No raw path becomes a label: one series per route, not per topic.
    expect(JSON.stringify(families)).not.toContain('/v1/topics/orders');
  });

  it('moves the high watermark after a produce and the group lag after a commit', async () => {
    // Prepare
    const { call, scrape } = await start();
    await call('POST', '/v1/topics', { name: 'orders', partitions: 2 });
    const joined = await call('POST', '/v1/groups/billing/members', { topics: ['orders'] });
    const memberId = joined.body.memberId as string;
    const assignment = (joined.body.assignments as { partition: number; epoch: number }[]).find(
      (a) => a.partition === 0,
    );
    const partition0 = { topic: 'orders', partition: '0' };
    const before = await scrape();

    // Act
    await call('POST', '/v1/topics/orders/records', {
      records: [0, 1, 2].map((i) => ({ value: `v${i}`, partition: 0 })),
    });
    const produced = await scrape();
    const committed = await call('POST', '/v1/groups/billing/offsets', {
      memberId,
      offsets: [{ topic: 'orders', partition: 0, offset: 2, epoch: assignment?.epoch }],
    });
    const afterCommit = await scrape();

    // Assess
    expect(sampleValue(before, METRIC.highWatermark, partition0)).toBe(0);
    expect(sampleValue(before, METRIC.groupLag, { group: 'billing', ...partition0 })).toBe(0);
    expect(sampleValue(produced, METRIC.highWatermark, partition0)).toBe(3);
    expect(sampleValue(produced, METRIC.highWatermark, { topic: 'orders', partition: '1' })).toBe(0);
    expect(sampleValue(produced, METRIC.groupLag, { group: 'billing', ...partition0 })).toBe(3);
    expect(committed.status).toBe(200);
    expect(sampleValue(afterCommit, METRIC.groupLag, { group: 'billing', ...partition0 })).toBe(1);
  });

  it('shows subscription lag, and drops the gauges of a deleted topic', async () => {
    // Prepare: subscriptions are not delivered (the runner is off), so their lag stays
    const { call, scrape } = await start();
    await call('POST', '/v1/topics', { name: 'orders', partitions: 1 });
    await call('POST', '/v1/subscriptions', {
      name: 'audit',
      topic: 'orders',
      target: { url: 'http://127.0.0.1:9/never' },
    });
    await call('POST', '/v1/topics/orders/records', { records: [{ value: 'a' }, { value: 'b' }] });

    // Act
    const withTopic = await scrape();
    await call('DELETE', '/v1/subscriptions/audit');
    await call('DELETE', '/v1/topics/orders');
    const withoutTopic = await scrape();

    // Assess
    const labels = { subscription: 'audit', topic: 'orders', partition: '0' };
    expect(sampleValue(withTopic, METRIC.subscriptionLag, labels)).toBe(2);
    expect(sampleValue(withoutTopic, METRIC.subscriptionLag, labels)).toBeUndefined();
    expect(sampleValue(withoutTopic, METRIC.highWatermark, { topic: 'orders' })).toBeUndefined();
  });

  it('counts janitor runs', async () => {
    // Prepare
    const { scrape } = await start({ janitorIntervalMs: 20 });
    let families: ParsedFamily[] = [];

    // Act
    await waitFor(
      async () => {
        families = await scrape();
        return (sampleValue(families, METRIC.janitorRuns) ?? 0) >= 2;
      },
      10_000,
      'two janitor runs',
    );

    // Assess
    expect(sampleValue(families, METRIC.janitorDeletedObjects)).toBe(0);
    expect(sampleValue(families, METRIC.janitorErrors)).toBe(0);
  });

  it('asks for the token when the server has one', async () => {
    // Prepare
    const { server, scrape } = await start({ token: 's3cret' });

    // Act
    const anonymous = await fetch(`${server.url}/metrics`);
    const wrong = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer nope' } });
    const families = await scrape({ authorization: 'Bearer s3cret' });

    // Assess
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="streambed"');
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    expect(wrong.status).toBe(401);
    expect(sampleValue(families, METRIC.requests, { route: '/metrics', status: '401' })).toBe(2);
  });

  it('answers another method on /metrics as the API answers an unknown route', async () => {
    // Prepare
    const { server } = await start();

    // Act
    const posted = await fetch(`${server.url}/metrics`, { method: 'POST' });

    // Assess
    expect(posted.status).toBe(404);
    expect(((await posted.json()) as { error: { code: string } }).error.code).toBe('INVALID_REQUEST');
  });

  it('answers 500 without internals and logs the cause when the metadata cannot be read', async () => {
    // Prepare
    const { server, lines } = await start({ storage: failingQueries() });

    // Act
    const response = await fetch(`${server.url}/metrics`);

    // Assess
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain('disk on fire');
    expect(lines).toContainEqual(expect.objectContaining({ level: 'error', error: 'disk on fire' }));
  });

  it('keeps the counts of two servers in one process apart', async () => {
    // Prepare
    const first = await start();
    const second = await start();

    // Act
    await first.call('GET', '/v1/health');
    await first.call('GET', '/v1/health');
    await second.call('GET', '/v1/health');

    // Assess
    const health = { route: '/v1/health', status: '200' };
    expect(sampleValue(await first.scrape(), METRIC.requests, health)).toBe(2);
    expect(sampleValue(await second.scrape(), METRIC.requests, health)).toBe(1);
  });
});

describe('the request log', () => {
  it('writes one line per request at info: method, path, route, status, ms and bytes', async () => {
    // Prepare
    const { call, lines } = await start({ level: 'info' });

    // Act
    await call('POST', '/v1/topics', { name: 'orders', partitions: 1 });
    await call('GET', '/v1/topics/orders/partitions/0/records?offset=0');
    await call('GET', '/v1/topics/missing');

    // Assess
    const requests = lines.filter((line) => line.message === 'request');
    expect(requests).toHaveLength(3);
    expect(requests[0]).toMatchObject({
      level: 'info',
      method: 'POST',
      path: '/v1/topics',
      route: '/v1/topics',
      status: 201,
      ms: expect.any(Number),
      bytesIn: Buffer.byteLength(JSON.stringify({ name: 'orders', partitions: 1 })),
      bytesOut: expect.any(Number),
    });
    // The query string is never logged.
    expect(requests[1]).toMatchObject({ path: '/v1/topics/orders/partitions/0/records', status: 200 });
    expect(requests[2]).toMatchObject({ status: 404, code: 'TOPIC_NOT_FOUND' });
  });

  it('writes a line for, and counts, requests node answers before the router: CONNECT, a bad Expect', async () => {
    // Prepare
    const { server, lines, scrape } = await start({ level: 'info' });

    // Act
    const connected = await rawRequest(server.url, 'CONNECT /v1/topics HTTP/1.1\r\nHost: x\r\n\r\n');
    const expected = await rawRequest(
      server.url,
      'GET /v1/topics HTTP/1.1\r\nHost: x\r\nExpect: later\r\nConnection: close\r\n\r\n',
    );

    // Assess
    expect(connected).toMatch(/^HTTP\/1\.1 405 /);
    expect(expected).toMatch(/^HTTP\/1\.1 400 /);
    const requests = lines.filter((line) => line.message === 'request');
    expect(requests).toEqual([
      expect.objectContaining({
        method: 'CONNECT',
        path: '/v1/topics',
        status: 405,
        code: 'INVALID_REQUEST',
      }),
      expect.objectContaining({ method: 'GET', path: '/v1/topics', status: 400, code: 'INVALID_REQUEST' }),
    ]);
    const families = await scrape();
    expect(sampleValue(families, METRIC.requests, { method: 'CONNECT', status: '405' })).toBe(1);
    expect(sampleValue(families, METRIC.requests, { method: 'GET', status: '400' })).toBe(1);
  });

  it('writes no request lines at the default level', async () => {
    // Prepare
    const { call, lines } = await start();

    // Act
    await call('GET', '/v1/health');
    await call('GET', '/v1/topics/missing');

    // Assess
    expect(lines).toEqual([]);
  });

  it('logs an internal error at error and its request at warn, hiding it from the client', async () => {
    // Prepare
    const { call, lines } = await start({ storage: failingQueries() });

    // Act
    const answered = await call('GET', '/v1/topics');

    // Assess
    expect(answered.status).toBe(500);
    expect(answered.body.error).toMatchObject({ code: 'INTERNAL', message: 'internal error' });
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'error', message: 'internal error', error: 'disk on fire' }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'warn', message: 'request', status: 500, code: 'INTERNAL' }),
    );
  });

  it('says at debug which CRC-32C implementation checks the batches', async () => {
    // Act
    const { lines } = await start({ level: 'debug' });

    // Assess: native here, where @node-rs/crc32 is installed (JavaScript where it is not)
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'debug', message: 'crc32c', implementation: 'native' }),
    );
  });
});
