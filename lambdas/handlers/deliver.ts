/**
 * The deliverer function (DESIGN §12, AWS): delivers one partition of one subscription until it is
 * caught up (subscriptions/deliverer.ts). Woken by the dispatcher (a commit, a subscription change),
 * by the janitor's sweep, or by itself when a backlog outlasts one invocation — always asynchronously.
 *
 * Event: `{"subscription": "<name>", "partition": <n>}`. A bad event is logged and dropped (returns
 * without error: Lambda's async retries could not make it good).
 *
 * Each run stops (releasing the lease, position saved) at a deadline kept DELIVERY_MARGIN_MS before
 * the function's timeout, and then re-invokes itself with the same event, so a long backlog carries
 * on at once rather than at the next sweep. The margin covers one invocation of a target begun just
 * before the deadline: a URL target gives up after 30 s; a function target's timeout is the target's
 * own and unknown here, so 60 s is assumed — a target function that can run longer may be cut off
 * when the deliverer times out, and its batch is delivered again once the lease expires (at least
 * once, never lost). With less time than twice the margin, half the remaining time is kept instead.
 *
 * The owner on leases is one random id per container, so a re-invocation landing in the same
 * container retakes its own lease at once, even one a crashed run left behind.
 *
 * Contract with the CDK construct (lib/):
 * - The stack's Node.js runtime, 512 MB, timeout 5 minutes (lib/streambed.ts DELIVER_TIMEOUT: a run is
 *   one slice of a backlog, and one re-invocation per four minutes of delivery costs next to nothing,
 *   while a shorter run bounds how long old code outlives a deploy). Invoked only asynchronously.
 * - Environment: `STREAMBED_TABLE`, `STREAMBED_BUCKET` (as every Streambed function);
 *   `STREAMBED_ALLOW_PRIVATE_URLS` = `true` only when the construct's prop allows private, loopback
 *   and link-local URL targets (anything else refuses them, at creation and at every connection).
 *   Lambda sets `AWS_LAMBDA_FUNCTION_NAME`, under which the deliverer re-invokes itself.
 * - IAM: table read and write (leases, positions, dead-letter commits); bucket read and write (it
 *   fetches records, and copying failed records to a dead-letter topic produces, which puts an object);
 *   `lambda:InvokeFunction` on every function added with `addSubscription` (targets) and on itself.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import {
  awsDelivererDeps,
  FUNCTION_NAME_ENV,
  getSubscriptionRuntime,
  invokeAsync,
  requireEnv,
} from '../runtime/aws-subscriptions.ts';
import { getServices } from '../runtime/lambda-root.ts';
import type { Services } from '../runtime/services.ts';
import { type DelivererDeps, deliverPartition } from '../subscriptions/deliverer.ts';
import { parseWake } from '../subscriptions/dispatch.ts';
import { createTelemetry } from './http-handler.ts';

/** Kept back before the timeout for the invocation in flight at the deadline (see above). */
export const DELIVERY_MARGIN_MS = 60_000;

/** This container's identity on leases. */
const owner = `deliver-${randomUUID()}`;
const { logger, metrics } = createTelemetry('deliver');
/** Per services (one per container; tests swap them): the targets and their connections live here. */
const depsOf = new WeakMap<Services, DelivererDeps>();

export const deliveryMargin = (remainingMs: number): number => Math.min(DELIVERY_MARGIN_MS, remainingMs / 2);

export async function handler(event: unknown, context: Context): Promise<{ outcome: string } | undefined> {
  logger.addContext(context);
  const wake = parseWake(event);
  if (typeof wake === 'string') {
    logger.error('deliver event dropped', { reason: wake });
    return undefined;
  }
  const started = Date.now();
  const remaining = context.getRemainingTimeInMillis();
  try {
    const services = await getServices();
    const runtime = getSubscriptionRuntime();
    let deps = depsOf.get(services);
    if (deps === undefined) {
      deps = awsDelivererDeps(services, runtime, {
        onEvent: (e) => {
          if (e.type === 'delivered') metrics.addMetric('DeliveredRecords', 'Count', e.records);
          else if (e.type === 'dead-lettered') metrics.addMetric('DeadLetteredRecords', 'Count', e.records);
          else logger.warn('delivery failed', { ...e });
        },
      });
      depsOf.set(services, deps);
    }
    const outcome = await deliverPartition(deps, { owner }, wake.subscription, wake.partition, {
      deadline: started + remaining - deliveryMargin(remaining),
    });
    logger.info('delivery run', { ...wake, outcome, latencyMs: Date.now() - started });
    // Out of time with records left: carry on in a fresh invocation.
    if (outcome === 'stopped') await invokeAsync(runtime.wakes, requireEnv(FUNCTION_NAME_ENV), wake);
    return { outcome };
  } catch (error) {
    logger.error('delivery run failed', { ...wake, error: error as Error });
    metrics.addMetric('DeliveryErrors', 'Count', 1);
    throw error;
  } finally {
    metrics.publishStoredMetrics();
  }
}
