/**
 * The AWS side of subscriptions, built once per container for the functions that deliver or wake
 * deliverers (handlers/deliver.ts, dispatch.ts, janitor.ts): the Lambda clients, the deliverer's
 * dependencies on the container's services, and the asynchronous invoke that wakes a deliverer.
 *
 * Kept apart from lambda-root.ts so the HTTP functions' bundles never include the Lambda client.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { type Clock, systemClock } from '../ports/clock.ts';
import { type DelivererDeps, type DeliveryEvent, schemaIdsKnownTo } from '../subscriptions/deliverer.ts';
import { createTopicCache, type DispatchDeps, type Wake } from '../subscriptions/dispatch.ts';
import {
  createFunctionTarget,
  createTargetLambdaClient,
  type LambdaInvoker,
} from '../subscriptions/function-target.ts';
import type { StoredSubscription } from '../subscriptions/subscriptions.ts';
import { createTargetCache, type Target } from '../subscriptions/target.ts';
import { createUrlTarget } from '../subscriptions/url-target.ts';
import type { Services } from './services.ts';
import { allowPrivateUrls } from './target-policy.ts';

/** The deliverer function's name or ARN: set by the construct on the dispatcher and the janitor. */
export const DELIVER_FUNCTION_ENV = 'STREAMBED_DELIVER_FUNCTION';
/** Set by Lambda: the deliverer re-invokes itself under this name. */
export const FUNCTION_NAME_ENV = 'AWS_LAMBDA_FUNCTION_NAME';

type Env = Readonly<Record<string, string | undefined>>;

/** A wake-up is a small asynchronous invoke: a few seconds bound each try (DESIGN §11). */
const WAKE_CONNECTION_TIMEOUT_MS = 1_000;
const WAKE_REQUEST_TIMEOUT_MS = 5_000;

export interface SubscriptionRuntime {
  /** Synchronous invocations of function targets (one attempt, 15-minute timeout). */
  targets: LambdaInvoker;
  /** Asynchronous invocations that wake deliverers (the SDK's retries apply). */
  wakes: LambdaInvoker;
  allowPrivate: boolean;
}

let runtime: SubscriptionRuntime | undefined;
let injected: LambdaInvoker | undefined;

export function getSubscriptionRuntime(env: Env = process.env): SubscriptionRuntime {
  if (runtime === undefined) {
    runtime = {
      targets: injected ?? createTargetLambdaClient(),
      wakes:
        injected ??
        new LambdaClient({
          requestHandler: {
            connectionTimeout: WAKE_CONNECTION_TIMEOUT_MS,
            requestTimeout: WAKE_REQUEST_TIMEOUT_MS,
          },
        }),
      allowPrivate: allowPrivateUrls(env),
    };
  }
  return runtime;
}

/** Tests only: one fake client for every invoke (undefined: real clients again). */
export function setLambdaClientForTests(client: LambdaInvoker | undefined): void {
  injected = client;
  runtime = undefined;
}

/** The named variable, or an error saying the construct should have set it. */
export function requireEnv(name: string, env: Env = process.env): string {
  const value = env[name]?.trim() ?? '';
  if (value === '') {
    throw new Error(
      `Streambed Lambda misconfigured: environment variable ${name} not set (the Streambed CDK construct sets it)`,
    );
  }
  return value;
}

const encoder = new TextEncoder();

/** Wakes a deliverer: an asynchronous invoke (Lambda queues the event; nothing waits for delivery). */
export async function invokeAsync(client: LambdaInvoker, functionName: string, wake: Wake): Promise<void> {
  await client.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'Event',
      Payload: encoder.encode(JSON.stringify(wake)),
    }),
  );
}

/** The deliverer's dependencies on a container's services, with targets kept per container. */
export function awsDelivererDeps(
  services: Services,
  runtime: SubscriptionRuntime,
  options: { clock?: Clock; onEvent?: (event: DeliveryEvent) => void } = {},
): DelivererDeps {
  const targets = createTargetCache();
  const make = (subscription: StoredSubscription): Target => {
    const target = subscription.target;
    try {
      return 'url' in target
        ? createUrlTarget(target.url, { allowPrivate: runtime.allowPrivate })
        : createFunctionTarget(target.function, { client: runtime.targets });
    } catch (error) {
      // A stored URL this deployment refuses (its policy changed since): every delivery fails with
      // the reason, visibly in status and dead letters, instead of the run failing unreported.
      const reason = (error as Error).message;
      return { description: JSON.stringify(target), deliver: async () => ({ ok: false, error: reason }) };
    }
  };
  return {
    subscriptions: services.subscriptions,
    groups: services.groups,
    log: services.log,
    topics: services.topics,
    clock: options.clock ?? systemClock,
    targetFor: (subscription) => targets.get(JSON.stringify(subscription.target), () => make(subscription)),
    knownSchemaIds: schemaIdsKnownTo(services.schemas, systemClock),
    onEvent: options.onEvent,
  };
}

/** The dispatcher's dependencies: subscriptions and topics from the services, wakes by async invoke. */
export function awsDispatchDeps(
  services: Services,
  runtime: SubscriptionRuntime,
  deliverFunction: string,
  onError?: DispatchDeps['onError'],
): DispatchDeps {
  return {
    readSubscriptions: () => services.subscriptions.readAll(),
    topic: createTopicCache(services.topics, systemClock),
    wake: (wake) => invokeAsync(runtime.wakes, deliverFunction, wake),
    onError,
  };
}
