/**
 * `streambed start` as users run it: on the embedded backend it stops cleanly on SIGTERM; with
 * `--backend aws` it runs on DynamoDB + S3 through the standard AWS environment (here the emulators,
 * through the SDK's per-service endpoint variables), creating the table and bucket.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { parseStartArgs } from '../../lambdas/runtime/server-commands.ts';
import { type ServerProcess, startCliServer, stopCliServer } from '../support/cli-server.ts';
import { waitFor } from '../support/wait-for.ts';

const servers: ServerProcess[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await stopCliServer(server);
});

async function json(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { ...init, headers: { 'content-type': 'application/json' } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function roundTrip(url: string): Promise<void> {
  expect(
    (await json(`${url}/v1/topics`, { method: 'POST', body: JSON.stringify({ name: 'cli', partitions: 1 }) }))
      .status,
  ).toBe(201);
  const produced = await json(`${url}/v1/topics/cli/records`, {
    method: 'POST',
    body: JSON.stringify({ records: [{ value: 'hello' }, { value: 'world' }] }),
  });
  expect(produced.body.offsets).toEqual([
    { partition: 0, offset: 0 },
    { partition: 0, offset: 1 },
  ]);
  const fetched = await json(`${url}/v1/topics/cli/partitions/0/records?offset=0`);
  expect((fetched.body.records as { value: string }[]).map((r) => r.value)).toEqual(['hello', 'world']);
}

describe('streambed start', () => {
  it('serves the API in memory and exits 0 on SIGTERM', async () => {
    const server = await startCliServer(['--memory', '--port', '0']);
    await roundTrip(server.url);
    expect(await stopCliServer(server)).toBe(0);
  });

  it('stops cleanly on a SIGTERM sent as soon as it says it listens', async () => {
    // Its handler is in place before the start-up block is written (without, one stop in six or so
    // came before it, and the process died of the signal: exit code null).
    for (let i = 0; i < 3; i++) {
      const server = await startCliServer(['--memory', '--port', '0']);
      expect(await stopCliServer(server)).toBe(0);
    }
  });

  it("says at --log-level debug how it set V8's heap growing", async () => {
    const server = await startCliServer(['--memory', '--port', '0', '--log-level', 'debug']);
    expect(server.output()).toContain('  heap     --heap-growing-percent=200\n');
    expect(await stopCliServer(server)).toBe(0);
  });

  it('runs on DynamoDB + S3 with --backend aws, creating the table and bucket', async () => {
    const suffix = randomUUID().slice(0, 8);
    const server = await startCliServer(['--backend', 'aws', '--port', '0'], {
      AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
      AWS_ENDPOINT_URL_S3: inject('s3Endpoint'),
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      STREAMBED_TABLE: `cli-${suffix}`,
      STREAMBED_BUCKET: `cli-${suffix}`,
    });
    servers.push(server);
    await roundTrip(server.url);
  });

  it('refuses to listen beyond loopback without a token', async () => {
    await expect(startCliServer(['--memory', '--host', '0.0.0.0', '--port', '0'])).rejects.toThrow(
      /without a token/,
    );
  });

  it('names every listener at startup and logs a line per request at --log-level info', async () => {
    // Prepare
    const server = await startCliServer(['--memory', '--port', '0', '--log-level', 'info']);
    servers.push(server);

    // Act
    const metrics = await fetch(`${server.url}/metrics`);
    await fetch(`${server.url}/v1/topics/missing`);
    await waitFor(() => server.output().includes('/v1/topics/missing'), 10_000, 'the request line');

    // Assess
    expect(metrics.status).toBe(200);
    const startupLine = `metrics  ${server.url}/metrics`;
    await waitFor(() => server.output().includes(startupLine), 10_000, 'the startup lines');
    const line = server
      .output()
      .split('\n')
      .find((l) => l.includes('/v1/topics/missing'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      level: 'info',
      message: 'request',
      method: 'GET',
      path: '/v1/topics/missing',
      route: '/v1/topics/{topic}',
      status: 404,
      code: 'TOPIC_NOT_FOUND',
      ms: expect.any(Number),
      bytesIn: 0,
      bytesOut: expect.any(Number),
    });
  });
});

describe('streambed start output', () => {
  it('writes the start-up block at once, so a reader never sees the first line without the listeners', async () => {
    // Prepare: the first chunk of stdout that holds the first line.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'lambdas/runtime/cli.ts', 'start', '--memory', '--port', '0', '--kafka-port', '0'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      // Act
      const first = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('listening on')) resolve(chunk.toString());
        });
        child.once('exit', (code) => reject(new Error(`streambed start exited (${code})`)));
      });

      // Assess: the listeners and the log line came in the same chunk as the first line.
      expect(first).toMatch(/^streambed listening on http:\/\/127\.0\.0\.1:\d+ \(memory\)\n/);
      expect(first).toMatch(/\n {2}kafka +kafka:\/\/127\.0\.0\.1:\d+\n/);
      expect(first).toMatch(/\n {2}metrics +http:\/\/127\.0\.0\.1:\d+\/metrics\n/);
      expect(first).toMatch(/\n {2}log +warn on stderr .*\n$/);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

describe('streambed start --log-level', () => {
  it('is warn by default, STREAMBED_LOG_LEVEL otherwise, and the flag wins', () => {
    // Act + Assess
    expect(parseStartArgs([], {}).logLevel).toBe('warn');
    expect(parseStartArgs([], { STREAMBED_LOG_LEVEL: 'info' }).logLevel).toBe('info');
    expect(parseStartArgs(['--log-level', 'error'], { STREAMBED_LOG_LEVEL: 'info' }).logLevel).toBe('error');
  });

  it('refuses an unknown level, naming the flag and the levels', () => {
    // Act + Assess
    expect(() => parseStartArgs(['--log-level', 'loud'], {})).toThrow(
      '--log-level must be one of debug, info, warn, error, silent, got "loud"',
    );
  });
});
