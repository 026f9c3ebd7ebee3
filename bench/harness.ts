/**
 * What every scenario runs on: storage wrapped in counters, the real HTTP server on port 0 in this
 * process, an HTTP client, the core services on the same (uncounted) storage for building logs fast,
 * a peak-RSS sampler and progress lines on stderr.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CountingMetaStore,
  CountingObjectStore,
  type MetaCounts,
  type ObjectCounts,
} from '../lambdas/adapters/counting-stores.ts';
import {
  type Backend,
  createEmbeddedBackend,
  createServices,
  type Services,
} from '../lambdas/runtime/backends.ts';
import { startLocalServer } from '../lambdas/runtime/local-server.ts';
import { type BenchClient, createBenchClient, type HttpCall } from './client.ts';
import { MeteredMetaStore, type RequestUnits } from './metered-meta-store.ts';
import type { BackendKind } from './plan.ts';
import { MiB } from './stats.ts';

/** Everything storage and HTTP saw during one phase. */
export interface PhaseCounts {
  objects: ObjectCounts;
  meta: Omit<MetaCounts, 'transactSizes'> & { opsPerTransaction: number[] };
  units: RequestUnits;
  calls: HttpCall[];
}

export interface Harness {
  url: string;
  client: BenchClient;
  /** Core services on the same storage, not counted: for building long logs without HTTP. */
  direct: Services;
  /** The storage under the counters (the same SQLite database and directory as the server's). */
  storage: Backend;
  /** A scratch directory for the raw filesystem baseline (on the same filesystem as the data). */
  scratchDir: string;
  backend: BackendKind;
  /** Starts counting from zero. */
  beginPhase(): void;
  /** What was counted since beginPhase. */
  endPhase(): PhaseCounts;
  peakRssMb(): number;
  /** Peak RSS sampled since the previous call (or the start), in MB; starts a new window. */
  windowPeakRssMb(): number;
  /** RSS when the harness was ready, before any scenario. */
  startRssMb: number;
  progress(message: string): void;
  close(): Promise<void>;
}

export async function startHarness(kind: BackendKind): Promise<Harness> {
  const started = performance.now();
  const root = mkdtempSync(join(tmpdir(), 'streambed-bench-'));
  const inner: Backend =
    kind === 'memory'
      ? createEmbeddedBackend({ memory: true })
      : createEmbeddedBackend({ dataDir: join(root, 'data') });
  const objects = new CountingObjectStore(inner.objects);
  const counted = new CountingMetaStore(inner.meta);
  const metered = new MeteredMetaStore(counted);
  const server = await startLocalServer({
    port: 0,
    storage: { meta: metered, objects, close: () => inner.close() },
  });
  const client = createBenchClient(server.url);
  const direct = createServices(inner);

  const startRss = process.memoryUsage().rss;
  let peakRss = startRss;
  let windowPeak = startRss;
  const sample = () => {
    const rss = process.memoryUsage().rss;
    peakRss = Math.max(peakRss, rss);
    windowPeak = Math.max(windowPeak, rss);
  };
  const sampler = setInterval(sample, 100);
  sampler.unref();

  return {
    url: server.url,
    client,
    direct,
    storage: inner,
    startRssMb: startRss / MiB,
    scratchDir: join(root, 'raw'),
    backend: kind,
    beginPhase() {
      objects.reset();
      counted.reset();
      metered.reset();
      client.calls.reset();
    },
    endPhase() {
      const { transactSizes, ...meta } = counted.counts;
      return {
        objects: { ...objects.counts },
        meta: { ...meta, opsPerTransaction: [...transactSizes] },
        units: metered.reset(),
        calls: client.calls.reset(),
      };
    },
    peakRssMb() {
      // maxRSS is the kernel's peak (KiB); the sampler catches the same on systems that lack it.
      const kernelPeak = process.resourceUsage().maxRSS * 1024;
      return Math.max(peakRss, kernelPeak) / MiB;
    },
    windowPeakRssMb() {
      sample();
      const peak = windowPeak;
      windowPeak = process.memoryUsage().rss;
      return peak / MiB;
    },
    progress(message) {
      const seconds = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
      process.stderr.write(`[bench ${seconds}s] ${message}\n`);
    },
    async close() {
      clearInterval(sampler);
      try {
        await server.close();
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
