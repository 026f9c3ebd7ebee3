/**
 * The bench's client process (bench/client-process.ts): it sends produce requests the way the headline
 * produce does and reads a partition the way the headline fetch does, sends the bare POSTs and GETs
 * they are compared with, and reports its own CPU, not the bench process's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBareHttp } from '../../bench/baselines.ts';
import { createBenchClient } from '../../bench/client.ts';
import { type ClientProcess, startClientProcess } from '../../bench/client-process.ts';
import { cpuMs } from '../../bench/cpu.ts';
import { produceBody } from '../../bench/scenarios/produce.ts';
import { KiB } from '../../bench/stats.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';

describe('the client process', () => {
  let server: LocalServer;
  let reader: ClientProcess;
  const topic = 'reader-test';
  const requests = 5;
  const perRequest = 40;
  const scratch = mkdtempSync(join(tmpdir(), 'client-process-test-'));

  beforeAll(async () => {
    server = await startLocalServer({ port: 0, memory: true });
    const client = createBenchClient({ url: server.url });
    await client.createTopic(topic, 1);
    const body = produceBody(KiB, perRequest, 0);
    for (let i = 0; i < requests; i++) await client.produce(topic, body);
    reader = await startClientProcess(server.url);
  }, 60_000);

  afterAll(async () => {
    await reader?.close();
    await server?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('sends produce requests, a partition per lane, with its own CPU', async () => {
    const admin = createBenchClient({ url: server.url });
    await admin.createTopic('produce-pass', 2);
    const pass = await reader.produce({
      topic: 'produce-pass',
      concurrency: 2,
      requests: 6,
      recordBytes: KiB,
      recordsPerRequest: 10,
      collect: true,
    });
    expect(pass.latencies).toHaveLength(6);
    expect(pass.seconds).toBeGreaterThan(0);
    expect(pass.cpu.userMs + pass.cpu.systemMs).toBeGreaterThan(0);
    // Every record landed, each lane on its own partition, a request's records as one batch.
    const marks = await Promise.all(
      [0, 1].map(async (partition) => {
        const fetched = await admin.fetchBatches('produce-pass', partition, 0, { maxBytes: KiB });
        return fetched.highWatermark;
      }),
    );
    expect(marks[0]).toBeGreaterThan(0);
    expect(marks[1]).toBeGreaterThan(0);
    expect((marks[0] ?? 0) + (marks[1] ?? 0)).toBe(60);
    expect((marks[0] ?? 0) % 10).toBe(0);
  });

  it('refuses a second pass while one is under way, and runs the next one after', async () => {
    const request = {
      topic,
      partition: 0,
      highWatermark: requests * perRequest,
      maxBytes: KiB,
      collect: false,
    };
    const [first, second] = await Promise.allSettled([
      reader.read(request),
      reader.produce({
        topic,
        concurrency: 1,
        requests: 1,
        recordBytes: KiB,
        recordsPerRequest: 1,
        collect: false,
      }),
    ]);
    expect(first.status).toBe('fulfilled');
    expect(second.status === 'rejected' && String(second.reason)).toMatch(/one pass at a time/);
    expect((await reader.read(request)).fetches).toBeGreaterThanOrEqual(1);
  });

  it('reads the partition to its high watermark, a fetch per call, with its own CPU', async () => {
    const pass = await reader.read({
      topic,
      partition: 0,
      highWatermark: requests * perRequest,
      maxBytes: 2 * perRequest * KiB,
      collect: true,
    });
    expect(pass.fetches).toBeGreaterThanOrEqual(3);
    expect(pass.latencies).toHaveLength(pass.fetches);
    expect(pass.calls).toHaveLength(pass.fetches);
    const delivered = pass.calls.reduce((sum, call) => sum + call.responseBytes, 0);
    expect(delivered).toBeGreaterThan(requests * perRequest * KiB);
    expect(pass.seconds).toBeGreaterThan(0);
    expect(pass.cpu.userMs + pass.cpu.systemMs).toBeGreaterThan(0);
  });

  it('fails a read that cannot finish with the server’s error, naming the client process', async () => {
    await expect(
      reader.read({ topic: 'no-such-topic', partition: 0, highWatermark: 1, maxBytes: KiB, collect: false }),
    ).rejects.toThrow(/client process: .*no-such-topic/s);
    // It reads on afterwards.
    const pass = await reader.read({
      topic,
      partition: 0,
      highWatermark: perRequest,
      maxBytes: KiB,
      collect: false,
    });
    expect(pass.fetches).toBeGreaterThanOrEqual(1);
  });

  it('sends the bare POSTs and GETs of the given sizes through either client', async () => {
    const bare = await startBareHttp(join(scratch, 'bare'), { fsync: false });
    try {
      for (const client of ['sdk', 'fetch'] as const) {
        const atPost = await bare.cpu();
        const posted = await reader.barePost(bare.url, {
          recordBytes: KiB,
          recordsPerRequest: 64,
          requests: 4,
          concurrency: 2,
          client,
          collect: true,
        });
        expect(posted.seconds).toBeGreaterThan(0);
        const afterPost = await bare.cpu();
        expect(cpuMs(afterPost)).toBeGreaterThan(cpuMs(atPost));
        if (process.platform === 'linux') {
          // The main thread received the bodies: its share grew, and stays within the process's.
          expect(afterPost.mainThreadMs).toBeGreaterThan(atPost.mainThreadMs as number);
          expect(afterPost.mainThreadMs).toBeLessThanOrEqual(cpuMs(afterPost) + 1);
        }
        const serverAt = await bare.cpu();
        const pass = await reader.bareGet(bare.url, [KiB, 64 * KiB, 3 * KiB], {
          concurrency: 2,
          client,
          collect: true,
        });
        const serverNow = await bare.cpu();
        expect(pass.seconds).toBeGreaterThan(0);
        expect(pass.cpu.userMs + pass.cpu.systemMs).toBeGreaterThan(0);
        expect(cpuMs(serverNow)).toBeGreaterThan(cpuMs(serverAt));
      }
    } finally {
      await bare.close();
    }
  });

  it('profiles itself between start and stop: the reading runs there', async () => {
    await reader.profiler.start();
    // The whole partition twenty times, a fetch per batch: samples enough on a busy machine.
    for (let pass = 0; pass < 20; pass++)
      await reader.read({
        topic,
        partition: 0,
        highWatermark: requests * perRequest,
        maxBytes: KiB,
        collect: false,
      });
    const profile = await reader.profiler.stop();
    // A profile holds the frames it sampled: the fetch loop (bench/client-process.ts) and the bench client's
    // fetchBatches under it ran in the profiled process.
    const sampled = profile.nodes.map((node) => node.callFrame.url);
    expect(sampled).toContainEqual(expect.stringMatching(/bench\/client(-process)?\.ts$/));
  });
});
