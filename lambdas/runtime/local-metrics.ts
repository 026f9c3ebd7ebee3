/**
 * The local server's `GET /metrics` (DESIGN §14): Prometheus text format from prom-client, on a
 * registry of its own per server, so several servers in one process (tests) never share counts.
 *
 * Request metrics are counted as requests are answered, by route template (`/v1/topics/{topic}`, never
 * the raw path: one series per route, not per topic) and status. High watermarks and lag are read from
 * the services at scrape time (lag-snapshot.ts, bounded); scrapes that overlap share one read.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JanitorReport } from '../core/janitor.ts';
import { type LagLimits, readLagSnapshot } from './lag-snapshot.ts';
import { METRIC, METRIC_HELP, type MetricName } from './metric-names.ts';
import type { Services } from './services.ts';

/** Seconds; from a cached metadata read to a long poll's end. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Route label of a request no route matched: unknown paths must not each become a series. */
export const UNMATCHED_ROUTE = 'unmatched';

export interface RequestObservation {
  method: string;
  /** Route template, or UNMATCHED_ROUTE. */
  route: string;
  status: number;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
}

export interface LocalMetrics {
  observeRequest(observation: RequestObservation): void;
  observeJanitorRun(report: Pick<JanitorReport, 'deletedObjects' | 'failures'>): void;
  /** The exposition, with high watermarks and lag read now. */
  scrape(): Promise<string>;
  readonly contentType: string;
}

const help = (name: MetricName) => ({ name, help: METRIC_HELP[name] });

export function createLocalMetrics(
  services: Pick<Services, 'topics' | 'groups' | 'subscriptions'>,
  limits?: LagLimits,
): LocalMetrics {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({
    ...help(METRIC.requests),
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const duration = new Histogram({
    ...help(METRIC.requestDuration),
    labelNames: ['method', 'route'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const bytesIn = new Counter({ ...help(METRIC.bytesIn), labelNames: ['method', 'route'], registers });
  const bytesOut = new Counter({ ...help(METRIC.bytesOut), labelNames: ['method', 'route'], registers });
  const highWatermark = new Gauge({
    ...help(METRIC.highWatermark),
    labelNames: ['topic', 'partition'],
    registers,
  });
  const groupLag = new Gauge({
    ...help(METRIC.groupLag),
    labelNames: ['group', 'topic', 'partition'],
    registers,
  });
  const subscriptionLag = new Gauge({
    ...help(METRIC.subscriptionLag),
    labelNames: ['subscription', 'topic', 'partition'],
    registers,
  });
  const janitorRuns = new Counter({ ...help(METRIC.janitorRuns), registers });
  const janitorDeleted = new Counter({ ...help(METRIC.janitorDeletedObjects), registers });
  const janitorErrors = new Counter({ ...help(METRIC.janitorErrors), registers });

  async function collect(): Promise<string> {
    const snapshot = await readLagSnapshot(services, limits);
    // Reset first: a deleted topic, group or subscription must drop out, not keep its last value.
    highWatermark.reset();
    groupLag.reset();
    subscriptionLag.reset();
    for (const p of snapshot.partitions) {
      highWatermark.set({ topic: p.topic, partition: p.partition }, p.highWatermark);
    }
    for (const g of snapshot.groups) {
      groupLag.set({ group: g.group, topic: g.topic, partition: g.partition }, g.lag);
    }
    for (const s of snapshot.subscriptions) {
      subscriptionLag.set({ subscription: s.subscription, topic: s.topic, partition: s.partition }, s.lag);
    }
    return registry.metrics();
  }

  let inFlight: Promise<string> | undefined;
  return {
    contentType: registry.contentType,
    observeRequest(o) {
      const labels = { method: o.method, route: o.route };
      requests.inc({ ...labels, status: o.status });
      duration.observe(labels, o.durationMs / 1000);
      bytesIn.inc(labels, o.bytesIn);
      bytesOut.inc(labels, o.bytesOut);
    },
    observeJanitorRun(report) {
      janitorRuns.inc();
      janitorDeleted.inc(report.deletedObjects);
      janitorErrors.inc(report.failures);
    },
    scrape() {
      inFlight ??= collect().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}
