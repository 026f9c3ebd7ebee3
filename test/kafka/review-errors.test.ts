/** Streambed's errors as Kafka codes: a retriable failure must reach a Kafka client as a retriable code. */
import { describe, expect, it } from 'vitest';
import { StreamError } from '../../lambdas/core/errors.ts';
import { KafkaError, toKafkaError } from '../../lambdas/kafka/errors.ts';

describe('toKafkaError', () => {
  it('answers contention that outlasted its retries (CONFLICT, retriable) with a retriable code and its message', () => {
    // What commit.ts throws when a hot partition's compare-and-set keeps losing: nothing was written.
    const contention = new StreamError('CONFLICT', 'too much contention updating orders/0; retry');
    expect(contention.retriable).toBe(true);
    expect(toKafkaError(contention)).toEqual({
      errorCode: KafkaError.REQUEST_TIMED_OUT,
      errorMessage: 'too much contention updating orders/0; retry',
    });
  });
});
