/**
 * The deliverer function (DESIGN §12, AWS): delivers one partition of one subscription until it is
 * caught up (subscriptions/deliverer.ts). Woken by the dispatcher (a commit, a subscription change),
 * by the janitor's sweep, or by itself when a backlog outlasts one invocation — always asynchronously.
 *
 * Event: `{"subscription": "<name>", "partition": <n>}`. A bad event is logged and dropped (returns
 * without error: Lambda's async retries could not make it good).
 *
 * Each run stops (releasing the lease, position saved) at a deadline kept back from the function's
 * timeout by the longest target call plus 30 s (`STREAMBED_TARGET_TIMEOUT_MS`, set by the construct
 * from the target functions' timeouts; a URL target's 30 s by default), and then re-invokes itself with
 * the same event, so a long backlog carries on at once rather than at the next sweep. A call begun
 * just before the deadline therefore ends, and is committed, before the deliverer is cut off; and the
 * lease, renewed before every call, outlives the longest call by two minutes, so a partition whose
 * deliverer died mid-call is not taken while that call may still run (one call per partition at a
 * time, always).
 *
 * The owner on leases is one random id per container, so a re-invocation landing in the same
 * container retakes its own lease at once, even one a crashed run left behind.
 *
 * Contract with the CDK construct (lib/):
 * - The stack's Node.js runtime, 512 MB, timeout 15 minutes (lib/streambed.ts DELIVER_TIMEOUT), target
 *   functions' timeouts at most 13 minutes, `STREAMBED_TARGET_TIMEOUT_MS` the longest of them. Invoked
 *   only asynchronously.
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
import {
  DEFAULT_DELIVERY_LEASE_MS,
  type DelivererDeps,
  deliverPartition,
} from '../subscriptions/deliverer.ts';
import { parseWake } from '../subscriptions/dispatch.ts';
import { createTelemetry } from './http-handler.ts';

/** The longest target call, in milliseconds, set by the construct (default: a URL target's 30 s). */
export const TARGET_TIMEOUT_ENV = 'STREAMBED_TARGET_TIMEOUT_MS';
const DEFAULT_TARGET_TIMEOUT_MS = 30_000;
/** Kept back before the timeout beyond the longest target call: the commit after it, and slack. */
const AFTER_CALL_MS = 30_000;

/** The longest target call this deployment makes (env, validated; the default when unset or bad). */
export function targetTimeoutMs(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const value = Number(env[TARGET_TIMEOUT_ENV]);
  return Number.isSafeInteger(value) && value > 0 ? value : DEFAULT_TARGET_TIMEOUT_MS;
}

/** This container's identity on leases. */
const owner = `deliver-${randomUUID()}`;
const { logger, metrics } = createTelemetry('deliver');
/** Per services (one per container; tests swap them): the targets and their connections live here. */
const depsOf = new WeakMap<Services, DelivererDeps>();

/**
 * Time kept back before the function's timeout: the longest target call plus the commit after it, so
 * a call begun just before the deadline ends, and is committed, before the deliverer is cut off.
 */
export function deliveryMargin(targetMs: number, remainingMs: number): number {
  const wanted = targetMs + AFTER_CALL_MS;
  // Without a minute left to deliver in (a deliverer configured shorter than the construct's), half
  // the time: a call may then be cut off, and is delivered again after the lease, which outlives it.
  return wanted <= remainingMs - 60_000 ? wanted : remainingMs / 2;
}

/**
 * The lease outlives the longest call with room to spare (renewed before every call), so a partition
 * whose deliverer died mid-call is not taken while that call may still run.
 */
export const deliveryLeaseMs = (targetMs: number): number =>
  Math.max(DEFAULT_DELIVERY_LEASE_MS, targetMs + 2 * 60_000);

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
    const target = targetTimeoutMs();
    const outcome = await deliverPartition(
      deps,
      { owner, leaseMs: deliveryLeaseMs(target) },
      wake.subscription,
      wake.partition,
      { deadline: started + remaining - deliveryMargin(target, remaining) },
    );
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
