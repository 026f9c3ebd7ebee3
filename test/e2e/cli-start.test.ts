/**
 * `streambed start` as users run it: on the embedded backend it stops cleanly on SIGTERM; with
 * `--backend aws` it runs on DynamoDB + S3 through the standard AWS environment (here the emulators,
 * through the SDK's per-service endpoint variables), creating the table and bucket.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type ServerProcess, startCliServer, stopCliServer } from '../support/cli-server.ts';

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
});
