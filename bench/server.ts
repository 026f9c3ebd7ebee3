/**
 * The bench's server process: the real local server (lambdas/runtime/local-server.ts) on port 0 over
 * storage wrapped in counters, in a process of its own, so that its memory is measured alone and the
 * client does not compete with it inside one event loop.
 *
 * The bench process (bench/harness.ts) forks this file and talks to it over the IPC channel: it resets
 * and reads the counters around each phase, samples this process's RSS, and asks it for the work that
 * must run next to the storage — building long logs through the core log service (no HTTP) and timing
 * the core layers of one request (bench/scenarios/layers.ts).
 *
 * The server also opens its Kafka listener (DESIGN §13) on a free port, for the Kafka client scenario.
 *
 * Beside it, on a second port, runs the bare HTTP baseline: node:http receiving a body into a reused array
 * and answering a few bytes, or answering N bytes held in memory, and nothing else. Measured the same
 * way from the same client, it is the ceiling HTTP itself sets on this machine, so the report can tell
 * what Streambed costs from what the transport costs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BytePool } from '../client/wire/bytes.ts';
import { CountingMetaStore, CountingObjectStore } from '../lambdas/adapters/counting-stores.ts';
import { type Backend, createEmbeddedBackend, createServices } from '../lambdas/runtime/backends.ts';
import { startLocalServer } from '../lambdas/runtime/local-server.ts';
import { dynamoOn, s3On } from '../test/support/aws-targets.ts';
import { MeteredMetaStore } from './metered-meta-store.ts';
import { kernelPeakRss } from './peak-rss.ts';
import { cpuProfiler } from './profiler.ts';
import { coreLayers } from './scenarios/core-layers.ts';
import type { ServerCall, ServerConfig, ServerMessage, StorageCounts } from './server-protocol.ts';
import { MiB } from './stats.ts';

async function openStorage(config: ServerConfig, root: string): Promise<Backend> {
  if (config.backend === 'memory') return createEmbeddedBackend({ memory: true });
  if (config.backend === 'embedded')
    return createEmbeddedBackend({ dataDir: join(root, 'data'), durability: config.durability });
  const credentials = config.aws?.credentials ?? {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test',
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
  };
  if (config.aws === undefined) throw new Error('the aws backend needs emulator endpoints');
  const meta = await dynamoOn({ endpoint: config.aws.dynamoEndpoint, credentials });
  const objects = await s3On({ endpoint: config.aws.s3Endpoint, credentials });
  return { meta, objects, close: async () => {} };
}

/** Largest GET the bare baseline answers: above the largest fetch (max_bytes 3 MiB). */
const BARE_MAX_BYTES = 8 * MiB;

async function startBareHttp(): Promise<{ server: Server; url: string }> {
  const held = randomBytes(BARE_MAX_BYTES);
  // Bodies are received into reused buffers, as the local server receives them (node-server.ts).
  const bodies = new BytePool(4, BARE_MAX_BYTES);
  const server = createServer((request, response) => {
    if (request.method === 'POST') {
      const body = bodies.acquire(Number(request.headers['content-length'] ?? 0));
      let at = 0;
      request.on('data', (chunk: Buffer) => {
        body.set(chunk, at);
        at += chunk.byteLength;
      });
      request.on('end', () => {
        const answer = `{"received":${at}}`;
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
        response.end(answer);
        bodies.release([body]);
      });
      return;
    }
    const bytes = Math.min(
      BARE_MAX_BYTES,
      Number(new URL(request.url ?? '/', 'http://x').searchParams.get('bytes')),
    );
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes });
    response.end(held.subarray(0, bytes));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;
  const root = mkdtempSync(join(tmpdir(), 'streambed-bench-server-'));
  const inner = await openStorage(config, root);
  const objects = new CountingObjectStore(inner.objects);
  const counted = new CountingMetaStore(inner.meta);
  const metered = new MeteredMetaStore(counted);
  const server = await startLocalServer({
    port: 0,
    storage: { meta: metered, objects, close: () => inner.close() },
    // A free port: only the Kafka scenario speaks to it.
    kafka: { port: 0 },
  });
  const kafka = server.listeners.find((listener) => listener.name === 'kafka');
  if (kafka === undefined) throw new Error('the local server opened no Kafka listener');
  const bare = await startBareHttp();
  // The same storage without counters, for building logs and timing core layers.
  const direct = createServices(inner);

  let peak = process.memoryUsage().rss;
  let windowPeak = peak;
  const sample = () => {
    const rss = process.memoryUsage().rss;
    peak = Math.max(peak, rss);
    windowPeak = Math.max(windowPeak, rss);
  };
  const sampler = setInterval(sample, 50);
  sampler.unref();

  const profiler = cpuProfiler();
  const send = (message: ServerMessage) => process.send?.(message);
  const answer = async (call: ServerCall): Promise<unknown> => {
    switch (call.op) {
      case 'begin':
        objects.reset();
        counted.reset();
        metered.reset();
        return null;
      case 'end': {
        const { transactSizes, ...meta } = counted.counts;
        const counts: StorageCounts = {
          objects: { ...objects.counts },
          meta: { ...meta, opsPerTransaction: [...transactSizes] },
          units: metered.reset(),
        };
        return counts;
      }
      case 'memory': {
        sample();
        const window = windowPeak;
        windowPeak = process.memoryUsage().rss;
        // The kernel's own peak of this process (not maxRSS: a forked child inherits its parent's).
        return {
          peakMb: Math.max(peak, kernelPeakRss().bytes) / MiB,
          windowPeakMb: window / MiB,
          usage: process.memoryUsage(),
        };
      }
      case 'buildLog': {
        const { topic, batches, valueBytes } = call;
        await direct.topics.createTopic(topic, 1);
        const value = new Uint8Array(valueBytes).fill(0x61);
        const start = performance.now();
        let reported = 0;
        for (let i = 0; i < batches; i++) {
          await direct.log.produce({ topic, records: [{ key: null, value, headers: [] }] });
          const tenth = Math.floor(((i + 1) * 10) / batches);
          if (tenth > reported && batches >= 10_000) {
            reported = tenth;
            send({ kind: 'progress', message: `  building ${topic}: ${i + 1}/${batches} batches` });
          }
        }
        return { batchesPerSec: batches / ((performance.now() - start) / 1000) };
      }
      case 'coreLayers':
        return coreLayers({ services: direct, objects: inner.objects }, call.args);
      case 'profileStart':
        return profiler.start(call.intervalUs).then(() => null);
      case 'profileStop':
        return profiler.stop();
    }
  };

  process.on('message', (raw) => {
    const { id, call } = raw as { id: number; call: ServerCall };
    answer(call).then(
      (result) => send({ kind: 'reply', id, result }),
      (error: unknown) =>
        send({
          kind: 'reply',
          id,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        }),
    );
  });
  // The bench process went away (finished or crashed): stop, clean up, exit.
  process.on('disconnect', () => {
    clearInterval(sampler);
    bare.server.close();
    server
      .close()
      .finally(() => rmSync(root, { recursive: true, force: true }))
      .finally(() => process.exit(0));
  });
  send({
    kind: 'ready',
    url: server.url,
    bareUrl: bare.url,
    kafkaBroker: kafka.url.replace('kafka://', ''),
    rssMb: process.memoryUsage().rss / MiB,
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench server failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
