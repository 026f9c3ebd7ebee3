/**
 * Backoff, KafkaJS's way: the wait grows by `multiplier` per attempt up to `maxRetryTimeMs`, each one
 * jittered by ± `factor` of itself. The SDK's one retry policy: requests retry retriable errors with
 * it, and the consumer retries a failing `eachMessage`/`eachBatch` with it.
 */
import { StreambedError } from './errors.ts';

export interface RetryOptions {
  /** Attempts after the first. Default 5. */
  retries?: number;
  /** First backoff. Default 100 ms for requests, 300 ms for a consumer's handler. */
  initialRetryTimeMs?: number;
  /** Largest backoff. Default 5 s for requests, 30 s for a consumer's handler. */
  maxRetryTimeMs?: number;
  /** Growth of the backoff per attempt. Default 2. */
  multiplier?: number;
  /** Jitter: each wait is its backoff ± this fraction of it. Default 0.2. */
  factor?: number;
}

export interface RetryPolicy {
  /** Used for the options the caller left out. */
  defaults?: RetryOptions;
  /** Whether an error is worth another attempt. Default: a StreambedError that says it is retriable. */
  retriable?: (error: unknown) => boolean;
  /** Told of each failed attempt that will be retried (`attempt` counts from 1). */
  onRetry?: (error: unknown, attempt: number, waitMs: number) => void;
  /** Ends a wait early and gives up, throwing the last error. */
  signal?: AbortSignal;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

const isRetriable = (error: unknown) => error instanceof StreambedError && error.retriable;

/** Runs `attempt` until it succeeds, it fails with an error not worth retrying, or the retries run out. */
export async function withRetries<T>(
  options: RetryOptions,
  attempt: () => Promise<T>,
  policy: RetryPolicy = {},
): Promise<T> {
  const defaults = policy.defaults ?? {};
  const retries = options.retries ?? defaults.retries ?? 5;
  const initial = options.initialRetryTimeMs ?? defaults.initialRetryTimeMs ?? 100;
  const max = options.maxRetryTimeMs ?? defaults.maxRetryTimeMs ?? 5_000;
  const multiplier = options.multiplier ?? defaults.multiplier ?? 2;
  const factor = options.factor ?? defaults.factor ?? 0.2;
  const retriable = policy.retriable ?? isRetriable;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (!retriable(error) || n >= retries || policy.signal?.aborted) throw error;
      const backoff = Math.min(max, initial * multiplier ** n);
      const wait = Math.max(0, backoff * (1 + factor * (2 * Math.random() - 1)));
      policy.onRetry?.(error, n + 1, wait);
      await sleep(wait, policy.signal);
      if (policy.signal?.aborted) throw error;
    }
  }
}
