/**
 * The one compare-and-set retry loop. Every read-modify-write of a versioned item goes through it:
 * read, compute, write conditioned on the version read; on a conflict, back off with jitter and start
 * over from a fresh read. Only conflicts are retried here — transport faults were already retried by
 * the adapter's SDK, and retriers are never stacked.
 */
import type { Clock } from '../ports/clock.ts';
import { ConditionFailedError, StreamError } from './errors.ts';

export interface CasOptions {
  clock: Clock;
  /** Attempts before giving up with a retriable CONFLICT. */
  maxAttempts?: number;
  /** What is being updated, for the error message. */
  what: string;
}

const BASE_DELAY_MS = 2;
const MAX_DELAY_MS = 100;

/**
 * Runs `attempt(n)` until it returns without a ConditionFailedError. `attempt` must re-read what it
 * depends on at the start of every call.
 */
export async function retryOnConflict<T>(
  options: CasOptions,
  attempt: (n: number) => Promise<T>,
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 25;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
      if (n + 1 >= maxAttempts) {
        throw new StreamError('CONFLICT', `too much contention updating ${options.what}; retry`, {
          cause: error,
        });
      }
      // Full jitter: concurrent writers spread out instead of colliding again in lockstep.
      await options.clock.sleep(Math.random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** n));
    }
  }
}
