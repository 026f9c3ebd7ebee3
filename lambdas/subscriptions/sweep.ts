/**
 * The sweep (DESIGN §12): wakes the deliverer of every partition that is behind and that no deliverer
 * holds. Wake-ups from commits can be lost (a dispatcher's invoke that failed for good, a deliverer
 * that crashed holding its lease until it expired, a backlog stopped by a deliverer's deadline whose
 * re-invoke failed); the sweep is what makes delivery eventually happen anyway. On AWS the janitor's
 * schedule runs it; the local server runs it at startup.
 *
 * A partition is woken when its lag (high watermark − the subscription's position) is above zero and
 * its lease is free or expired. A held lease means a deliverer is at work and will re-check the high
 * watermark when it releases. A subscription that fails to describe (its topic was deleted) is
 * reported and the sweep goes on with the others.
 */
import type { SubscriptionService } from './subscriptions.ts';

export interface SweepReport {
  /** Pairs woken. */
  woken: number;
  errors: { subscription: string; partition?: number; message: string }[];
}

export async function sweepSubscriptions(
  services: { subscriptions: Pick<SubscriptionService, 'readAll' | 'describe'> },
  wake: (subscription: string, partition: number) => Promise<void>,
): Promise<SweepReport> {
  const report: SweepReport = { woken: 0, errors: [] };
  for (const subscription of await services.subscriptions.readAll()) {
    if (!subscription.enabled) continue;
    let partitions: Awaited<ReturnType<SubscriptionService['describe']>>['partitions'];
    try {
      ({ partitions } = await services.subscriptions.describe(subscription.name));
    } catch (error) {
      report.errors.push({ subscription: subscription.name, message: (error as Error).message });
      continue;
    }
    for (const status of partitions) {
      if (status.lag <= 0 || status.owner !== null) continue;
      try {
        await wake(subscription.name, status.partition);
        report.woken += 1;
      } catch (error) {
        report.errors.push({
          subscription: subscription.name,
          partition: status.partition,
          message: (error as Error).message,
        });
      }
    }
  }
  return report;
}
