/**
 * The janitor function, invoked by an EventBridge schedule: retention, compaction, garbage collection
 * and deleted-topic clean-up (DESIGN §7). Each run works partitions until shortly before its timeout;
 * the next run carries on (partitions are visited from a random place each time).
 *
 * When the stack has subscriptions (`STREAMBED_DELIVER_FUNCTION` set: the deliverer's name or ARN), each
 * run first sweeps them (subscriptions/sweep.ts): every partition behind and unleased gets its
 * deliverer woken by an asynchronous invoke, which needs `lambda:InvokeFunction` on the deliverer. A
 * sweep failure is reported like the janitor's own and never keeps the janitor from its work.
 */
import type { Context } from 'aws-lambda';
import { DELIVER_FUNCTION_ENV, getSubscriptionRuntime, invokeAsync } from '../runtime/aws-subscriptions.ts';
import { getServices } from '../runtime/lambda-root.ts';
import type { Services } from '../runtime/services.ts';
import { sweepSubscriptions } from '../subscriptions/sweep.ts';
import { createTelemetry } from './http-handler.ts';

/** Time kept back for the last partition's work and the final log line: a fifth, at most 30 s. */
const safetyMargin = (remainingMs: number) => Math.min(30_000, remainingMs / 5);

const { logger, metrics } = createTelemetry('janitor');

export async function handler(_event: unknown, context: Context): Promise<void> {
  logger.addContext(context);
  const started = Date.now();
  try {
    const services = await getServices();
    const remaining = context.getRemainingTimeInMillis();
    await sweep(services);
    const report = await services.janitor.runOnce(started + remaining - safetyMargin(remaining));
    // A failed partition or step is skipped and reported; the pass went on and the next one retries it.
    if (report.failures > 0) logger.warn('janitor run had failures', { ...report });
    else logger.info('janitor run', { ...report, latencyMs: Date.now() - started });
    metrics.addMetric('JanitorErrors', 'Count', report.failures);
    metrics.addMetric('CompactedBatches', 'Count', report.compactedBatches);
    metrics.addMetric('RetainedBatches', 'Count', report.retainedBatches);
    metrics.addMetric('DeletedObjects', 'Count', report.deletedObjects);
  } catch (error) {
    logger.error('janitor run failed', error as Error);
    metrics.addMetric('JanitorErrors', 'Count', 1);
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
    metrics.addMetric('JanitorErrors', 'Count', report.errors.length);
    metrics.addMetric('SweptPartitions', 'Count', report.woken);
  } catch (error) {
    logger.error('subscription sweep failed', error as Error);
    metrics.addMetric('JanitorErrors', 'Count', 1);
  }
}
