/** The functions the default app builds, and the alarms they come with, for the infra tests. */
import { STREAMBED_CONCERNS, type StreambedConcern, SUBSCRIPTION_CONCERNS } from '../../lib/streambed.ts';

/** Every function of a stack without addSubscription: the concern table plus the subscription functions. */
export const FUNCTION_CONCERNS: readonly StreambedConcern[] = [
  ...STREAMBED_CONCERNS,
  SUBSCRIPTION_CONCERNS.deliver,
  SUBSCRIPTION_CONCERNS.dispatch,
];

/**
 * Per function: errors, duration (unless it works to a deadline), throttles (unless capped by reserved
 * concurrency); per scheduled function: not succeeding; API 5xx, table throttles and system errors,
 * account concurrency: 4.
 */
export function expectedAlarmCount(concerns: readonly StreambedConcern[] = FUNCTION_CONCERNS): number {
  const count = (predicate: (c: StreambedConcern) => boolean) => concerns.filter(predicate).length;
  return (
    3 * concerns.length -
    count((c) => c.reservedConcurrency !== undefined) -
    count((c) => c.worksToDeadline === true) +
    count((c) => c.schedule !== undefined) +
    4
  );
}
