/**
 * The janitor function, invoked by an EventBridge schedule: retention, compaction, garbage collection
 * and deleted-topic clean-up (DESIGN §7). Each run works partitions until shortly before its timeout;
 * the next run carries on (partitions are visited from a random place each time).
 *
 * When the stack has subscriptions (`STREAMBED_DELIVER_FUNCTION` set: the deliverer's name or ARN), each
 * run first sweeps them (subscriptions/sweep.ts): every partition behind and unleased gets its
 * deliverer woken by an asynchronous invoke, which needs `lambda:InvokeFunction` on the deliverer. A
 * sweep failure is reported like the janitor's own and never keeps the janitor from its work.
 *
 * Each run also emits the lag of every consumer group and subscription (summed over partitions, one
 * EMF document each, bounded by LAG_LIMITS) under the local server's metric names, so the stack's
 * dashboard shows lag without anything polling while nothing runs. Failing to read it is logged and
 * keeps nothing else from running.
 */
import type { Context } from 'aws-lambda';
import { DELIVER_FUNCTION_ENV, getSubscriptionRuntime, invokeAsync } from '../runtime/aws-subscriptions.ts';
import { type LagLimits, readLagSnapshot } from '../runtime/lag-snapshot.ts';
import { getServices } from '../runtime/lambda-root.ts';
import { METRIC } from '../runtime/metric-names.ts';
import type { Services } from '../runtime/services.ts';
import { sweepSubscriptions } from '../subscriptions/sweep.ts';
import { createTelemetry } from './http-handler.ts';

/** Time kept back for the last partition's work and the final log line: a fifth, at most 30 s. */
const safetyMargin = (remainingMs: number) => Math.min(30_000, remainingMs / 5);

const { logger, metrics } = createTelemetry('janitor');

/** Groups and subscriptions whose lag one run reports; high watermarks stay on the local server. */
const LAG_LIMITS: LagLimits = { maxTopics: 0, maxGroups: 100, maxSubscriptions: 100 };

export async function handler(_event: unknown, context: Context): Promise<void> {
  logger.addContext(context);
  const started = Date.now();
  try {
    const services = await getServices();
    const remaining = context.getRemainingTimeInMillis();
    await sweep(services);
    await emitLag(services);
    const report = await services.janitor.runOnce(started + remaining - safetyMargin(remaining));
    // A failed partition or step is skipped and reported; the pass went on and the next one retries it.
    if (report.failures > 0) logger.warn('janitor run had failures', { ...report });
    else logger.info('janitor run', { ...report, latencyMs: Date.now() - started });
    metrics.addMetric(METRIC.janitorRuns, 'Count', 1);
    metrics.addMetric(METRIC.janitorErrors, 'Count', report.failures);
    metrics.addMetric(METRIC.janitorDeletedObjects, 'Count', report.deletedObjects);
    metrics.addMetric('CompactedBatches', 'Count', report.compactedBatches);
    metrics.addMetric('RetainedBatches', 'Count', report.retainedBatches);
  } catch (error) {
    logger.error('janitor run failed', error as Error);
    metrics.addMetric(METRIC.janitorRuns, 'Count', 1);
    metrics.addMetric(METRIC.janitorErrors, 'Count', 1);
    throw error;
  } finally {
    metrics.publishStoredMetrics();
  }
}

/** Wakes the deliverers of partitions left behind; counts and logs its failures, never throws. */
async function sweep(services: Services): Promise<void> {
  const deliverFunction = process.env[DELIVER_FUNCTION_ENV]?.trim() ?? '';
  if (deliverFunction === '') return;
  try {
    const { wakes } = getSubscriptionRuntime();
    const report = await sweepSubscriptions(services, (subscription, partition) =>
      invokeAsync(wakes, deliverFunction, { subscription, partition }),
    );
    if (report.errors.length > 0) logger.warn('subscription sweep had failures', { ...report });
    else if (report.woken > 0) logger.info('subscription sweep', { woken: report.woken });
    metrics.addMetric(METRIC.janitorErrors, 'Count', report.errors.length);
    metrics.addMetric('SweptPartitions', 'Count', report.woken);
  } catch (error) {
    logger.error('subscription sweep failed', error as Error);
    metrics.addMetric(METRIC.janitorErrors, 'Count', 1);
  }
}

/** One EMF document per group and per subscription: its lag summed over its partitions. */
async function emitLag(services: Services): Promise<void> {
  try {
    const snapshot = await readLagSnapshot(services, LAG_LIMITS);
    const sum = (into: Map<string, number>, name: string, lag: number) =>
      into.set(name, (into.get(name) ?? 0) + lag);
    const groups = new Map<string, number>();
    const subscriptions = new Map<string, number>();
    for (const g of snapshot.groups) sum(groups, g.group, g.lag);
    for (const s of snapshot.subscriptions) sum(subscriptions, s.subscription, s.lag);
    for (const [group, lag] of groups) {
      metrics.singleMetric().addDimension('group', group).addMetric(METRIC.groupLag, 'Count', lag);
    }
    for (const [subscription, lag] of subscriptions) {
      metrics
        .singleMetric()
        .addDimension('subscription', subscription)
        .addMetric(METRIC.subscriptionLag, 'Count', lag);
    }
  } catch (error) {
    logger.warn('reading lag failed', error as Error);
  }
}
