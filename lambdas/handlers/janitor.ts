/**
 * The janitor function, invoked by an EventBridge schedule: retention, compaction, garbage collection
 * and deleted-topic clean-up (DESIGN §7). Each run works partitions until shortly before its timeout;
 * the next run carries on (partitions are visited from a random place each time).
 */
import type { Context } from 'aws-lambda';
import { getServices } from '../runtime/lambda-root.ts';
import { createTelemetry } from './http-handler.ts';

/** Time kept back for the last partition's work and the final log line: a fifth, at most 30 s. */
const safetyMargin = (remainingMs: number) => Math.min(30_000, remainingMs / 5);

const { logger, metrics } = createTelemetry('janitor');

export async function handler(_event: unknown, context: Context): Promise<void> {
  logger.addContext(context);
  const started = Date.now();
  try {
    const { janitor } = await getServices();
    const remaining = context.getRemainingTimeInMillis();
    const report = await janitor.runOnce(started + remaining - safetyMargin(remaining));
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
