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
 * It sets V8's heap growing as `streambed start` does (lambdas/runtime/heap-tuning.ts).
 *
 * The server also opens its Kafka listener (DESIGN §13) on a free port, for the Kafka client scenario.
 *
 * The bare HTTP baseline is not here: it runs in a process of its own (bench/bare-server.ts), so that it
 * does not share this process's event loop, heap and RSS sampler.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CountingMetaStore, CountingObjectStore } from '../lambdas/adapters/counting-stores.ts';
import { type Backend, createEmbeddedBackend, createServices } from '../lambdas/runtime/backends.ts';
import { tuneServerHeap } from '../lambdas/runtime/heap-tuning.ts';
import { startLocalServer } from '../lambdas/runtime/local-server.ts';
import { answerCalls, sendToParent } from './child-link.ts';
import { cpuDifference, ownCpu } from './cpu.ts';
import { collectGarbage } from './gc.ts';
import { MeteredMetaStore } from './metered-meta-store.ts';
import { kernelPeakRss } from './peak-rss.ts';
import { cpuProfiler } from './profiler.ts';
import { coreLayers } from './scenarios/core-layers.ts';
import type { ServerCall, ServerConfig, ServerReady, StorageCounts } from './server-protocol.ts';
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
  // Loaded only here: a server on the embedded backend does not carry the AWS SDK's clients.
  const { dynamoOn, s3On } = await import('../test/support/aws-targets.ts');
  const meta = await dynamoOn({ endpoint: config.aws.dynamoEndpoint, credentials });
  const objects = await s3On({ endpoint: config.aws.s3Endpoint, credentials });
  return { meta, objects, close: async () => {} };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;
  // As `streambed start` does: the server measured is the one users run.
  tuneServerHeap();
  const root = mkdtempSync(join(tmpdir(), 'streambed-bench-server-'));
  const inner = await openStorage(config, root);
  const objects = new CountingObjectStore(inner.objects);
  const counted = new CountingMetaStore(inner.meta);
  const metered = new MeteredMetaStore(counted);
  const server = await startLocalServer({
    port: 0,
    storage: { meta: metered, objects, close: () => inner.close() },
    // A free port: only the Kafka scenario speaks to it. The listener's registration, renewed in the
    // background, and its coordinator leases go to the same storage uncounted: a renewal falling into
    // a phase is not that phase's work.
    kafka: { port: 0, bookkeeping: inner.meta },
  });
  const kafka = server.listeners.find((listener) => listener.name === 'kafka');
  if (kafka === undefined) throw new Error('the local server opened no Kafka listener');
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
  let cpuAt = ownCpu();
  let loopAt = performance.eventLoopUtilization();
  const answer = async (call: ServerCall): Promise<unknown> => {
    switch (call.op) {
      case 'begin':
        if (call.collect === true) collectGarbage();
        objects.reset();
        counted.reset();
        metered.reset();
        cpuAt = ownCpu();
        loopAt = performance.eventLoopUtilization();
        return null;
      case 'end': {
        const { transactSizes, ...meta } = counted.counts;
        const counts: StorageCounts = {
          objects: { ...objects.counts },
          meta: { ...meta, opsPerTransaction: [...transactSizes] },
          units: metered.reset(),
          cpu: cpuDifference(cpuAt, ownCpu()),
          loopBusy: performance.eventLoopUtilization(loopAt).utilization,
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
            sendToParent({ kind: 'progress', message: `  building ${topic}: ${i + 1}/${batches} batches` });
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

  answerCalls(answer);
  // The bench process went away (finished or crashed): stop, clean up, exit.
  process.on('disconnect', () => {
    clearInterval(sampler);
    server
      .close()
      .finally(() => rmSync(root, { recursive: true, force: true }))
      .finally(() => process.exit(0));
  });
  sendToParent<ServerReady>({
    kind: 'ready',
    url: server.url,
    kafkaBroker: kafka.url.replace('kafka://', ''),
    rssMb: process.memoryUsage().rss / MiB,
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench server failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
