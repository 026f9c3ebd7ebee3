/**
 * Subscriptions end to end, as a user runs them: the local server (`streambed start`) delivering to a
 * webhook, and to a function served by `streambed handler serve`; a kill -9 of the server in the middle
 * of delivery loses nothing.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCliProcess, startCliServer } from '../support/cli-server.ts';
import { freePort } from '../support/free-port.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWebhook, type Webhook } from '../support/webhook.ts';

const children: ChildProcess[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const close of closers.splice(0)) await close();
});

async function call(url: string, path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

async function server(dataDir: string, port: number) {
  const started = await startCliServer([
    '--port',
    String(port),
    '--data-dir',
    dataDir,
    '--janitor-interval-ms',
    '0',
  ]);
  children.push(started.child);
  return started;
}

/** Produces `count` records round-robin over `partitions`, in requests of 100; values `v<i>`. */
async function produce(
  url: string,
  topic: string,
  count: number,
  partitions: number,
  value = (i: number) => `v${i}`,
) {
  for (let i = 0; i < count; i += 100) {
    const records = Array.from({ length: Math.min(100, count - i) }, (_, j) => ({
      value: value(i + j),
      partition: (i + j) % partitions,
    }));
    expect((await call(url, `/v1/topics/${topic}/records`, { records })).status).toBe(200);
  }
}

/** Each partition's deliveries, in arrival order, never skip past an offset not delivered yet. */
function expectNoGaps(
  batches: { partition: number; offsets: number[] }[],
  partitions: number,
  perPartition: number,
) {
  for (let p = 0; p < partitions; p++) {
    let next = 0;
    for (const batch of batches.filter((b) => b.partition === p)) {
      expect(batch.offsets[0], `partition ${p} skipped ahead`).toBeLessThanOrEqual(next);
      expect(batch.offsets).toEqual(batch.offsets.map((_, i) => (batch.offsets[0] as number) + i));
      next = Math.max(next, (batch.offsets.at(-1) as number) + 1);
    }
    expect(next).toBe(perPartition);
  }
}

async function lagOf(url: string, name: string): Promise<number> {
  const described = await call(url, `/v1/subscriptions/${name}`);
  return (described.body.partitions as { lag: number }[]).reduce((n, p) => n + p.lag, 0);
}

describe('subscriptions end to end', () => {
  it('delivers 5,000 records over 4 partitions in order to a webhook, and loses nothing to a kill -9 mid-delivery', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'streambed-subscriptions-'));
    const port = await freePort();
    const hook: Webhook = await startWebhook();
    closers.push(() => hook.close());
    // A slow webhook keeps delivery in flight when the server dies.
    hook.reply = () => new Promise((resolve) => setTimeout(() => resolve({ status: 200 }), 5));
    let live = await server(dataDir, port);
    expect((await call(live.url, '/v1/topics', { name: 'orders', partitions: 4 })).status).toBe(201);
    const created = await call(live.url, '/v1/subscriptions', {
      name: 'to-hook',
      topic: 'orders',
      target: { url: `${hook.url}/orders` },
      startingPosition: 'earliest',
      batchSize: 50,
    });
    expect(created.status).toBe(201);
    await produce(live.url, 'orders', 5_000, 4);
    await waitFor(() => hook.received.length >= 10, 30_000, 'delivery under way');
    live.child.kill('SIGKILL');
    await new Promise((resolve) => live.child.once('exit', resolve));
    const beforeRestart = hook.received.length;
    live = await server(dataDir, port);
    await waitFor(async () => (await lagOf(live.url, 'to-hook')) === 0, 60_000, 'lag 0 after the restart');
    expect(hook.received.length).toBeGreaterThan(beforeRestart);
    expectNoGaps(hook.received, 4, 1_250);
    for (const batch of hook.received) {
      expect(batch.values).toEqual(batch.offsets.map((o) => `v${o * 4 + batch.partition}`));
      expect(batch.idempotencyKey).toBe(`to-hook/${batch.partition}/${batch.offsets[0]}`);
    }
  });

  it('delivers 5,000 records to a handler served by `streambed handler serve`, resuming a partial failure at the failed offset, and pauses and resumes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streambed-handler-'));
    const file = join(dir, 'calls.jsonl');
    writeFileSync(file, '');
    const handlerPort = await freePort();
    const host = await startCliProcess(
      ['handler', 'serve', 'test/subscriptions/fixtures/recorder.ts#handler', '--port', String(handlerPort)],
      { RECORDER_FILE: file },
    );
    children.push(host.child);
    const live = await server(join(dir, 'data'), await freePort());
    expect((await call(live.url, '/v1/topics', { name: 'events', partitions: 4 })).status).toBe(201);
    expect(
      (
        await call(live.url, '/v1/subscriptions', {
          name: 'to-fn',
          topic: 'events',
          target: { url: host.url },
          startingPosition: 'earliest',
          batchSize: 200,
        })
      ).status,
    ).toBe(201);
    // Record 2,001 (partition 1, offset 500) fails once.
    await produce(live.url, 'events', 5_000, 4, (i) => (i === 2_001 ? 'fail-once' : `v${i}`));
    await waitFor(async () => (await lagOf(live.url, 'to-fn')) === 0, 60_000, 'lag 0');
    const calls = () =>
      readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { partition: number; offsets: number[]; failedAt: number | null });
    const delivered = calls();
    expectNoGaps(delivered, 4, 1_250);
    const failedCall = delivered.findIndex((c) => c.failedAt !== null);
    expect(delivered[failedCall]?.failedAt).toBe(500);
    const retry = delivered.slice(failedCall + 1).find((c) => c.partition === 1);
    expect(retry?.offsets[0]).toBe(500);

    // Paused: produced records wait; resumed: they arrive.
    expect((await call(live.url, '/v1/subscriptions/to-fn', { enabled: false }, 'PATCH')).status).toBe(200);
    const before = calls().length;
    await produce(live.url, 'events', 4, 4, (i) => `late${i}`);
    expect(await lagOf(live.url, 'to-fn')).toBe(4);
    expect(calls().length).toBe(before);
    expect((await call(live.url, '/v1/subscriptions/to-fn', { enabled: true }, 'PATCH')).status).toBe(200);
    await waitFor(async () => (await lagOf(live.url, 'to-fn')) === 0, 30_000, 'delivery after resume');
    expect(calls().length).toBeGreaterThan(before);
  });
});
