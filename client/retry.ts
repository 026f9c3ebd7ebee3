/** Backoff for retriable errors: exponential with full jitter, capped. The SDK's one retry policy. */
import { StreambedError } from './errors.ts';

export interface RetryOptions {
  /** Attempts after the first. Default 5. */
  retries?: number;
  /** First backoff ceiling. Default 100 ms. */
  initialRetryTimeMs?: number;
  /** Largest backoff. Default 5 s. */
  maxRetryTimeMs?: number;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `attempt` until it succeeds, it fails with a non-retriable error, or the retries run out. */
export async function withRetries<T>(options: RetryOptions, attempt: () => Promise<T>): Promise<T> {
  const retries = options.retries ?? 5;
  const initial = options.initialRetryTimeMs ?? 100;
  const max = options.maxRetryTimeMs ?? 5_000;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      const retriable = error instanceof StreambedError && error.retriable;
      if (!retriable || n >= retries) throw error;
      await sleep(Math.random() * Math.min(max, initial * 2 ** n));
    }
  }
}
