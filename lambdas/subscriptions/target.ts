/**
 * Where a subscription delivers (DESIGN §12): a URL (everywhere) or a Lambda function (the deployed
 * stack). The deliverer hands a target one serialized event at a time and acts on the result; a
 * target never retries by itself (the deliverer owns backoff, attempts and dead letters) and never
 * throws for the target's own failures (a refused connection, a timeout, a 5xx, a function error):
 * those are `{ ok: false }`.
 */

export interface Delivery {
  /** The subscription's name (a URL target sends it as `Streambed-Subscription`). */
  subscription: string;
  /** The same batch → the same key; any other batch → another key (`idempotencyKeyOf`). */
  idempotencyKey: string;
  /** The event (kafka-event.ts), serialized once by the deliverer: JSON text. */
  body: string;
}

export type DeliveryResult =
  /** The target took the batch. `response`: the function's return value or the URL's parsed JSON body (null if none or not JSON). */
  | { ok: true; response: unknown }
  /**
   * The target failed: `error` says how, in one line, for status and dead-letter headers. `reached:
   * false` when the batch never reached the target's code (Lambda throttled the invoke, or Lambda
   * itself failed): retried with backoff like any failure, but not counted as an attempt, as Lambda's
   * event source mappings do not count throttles and service errors against maxRetryAttempts.
   */
  | { ok: false; error: string; reached?: boolean };

export interface Target {
  /** What the status shows: the URL (without credentials or query) or the function's name. */
  readonly description: string;
  deliver(delivery: Delivery, signal?: AbortSignal): Promise<DeliveryResult>;
  /** Releases what the target keeps open (a URL target's kept-alive connections). */
  close?(): void;
}

/** Most targets a process keeps by default (URL targets hold kept-alive connections). */
export const MAX_KEPT_TARGETS = 64;

/** Targets kept by a key (the stored target), so kept-alive connections are reused across runs. */
export interface TargetCache {
  /** The target kept under `key`, made by `make` the first time. */
  get(key: string, make: () => Target): Target;
  /** Closes every kept target and forgets them. */
  close(): void;
}

/**
 * A cache of at most `max` targets. Past that it closes them all and starts over: subscriptions'
 * targets rarely change, so a full cache means churn, and dropping everything bounds the open
 * connections without tracking use.
 */
export function createTargetCache(max: number = MAX_KEPT_TARGETS): TargetCache {
  const targets = new Map<string, Target>();
  const close = () => {
    for (const target of targets.values()) target.close?.();
    targets.clear();
  };
  return {
    get(key, make) {
      let target = targets.get(key);
      if (target === undefined) {
        if (targets.size >= max) close();
        target = make();
        targets.set(key, target);
      }
      return target;
    },
    close,
  };
}

/** The largest event a target is sent: Lambda's synchronous invocation payload limit (6 MB). */
export const MAX_EVENT_BYTES = 6_291_456;
