import { describe, expect, it } from 'vitest';
import { COMMIT_ATTEMPT_MS } from '../../lambdas/core/produce.ts';
import {
  CONNECTION_TIMEOUT_MS,
  DYNAMO_MAX_ATTEMPTS,
  DYNAMO_REQUEST_TIMEOUT_MS,
} from '../../lambdas/runtime/aws-backend.ts';

describe('AWS call bounds', () => {
  it('a DynamoDB commit, with every SDK retry and the longest backoff between them, ends inside one commit attempt', () => {
    // The SDK's standard retry strategy waits at most ~1 s between the first tries (exponential from
    // 100 ms with full jitter); count a generous 2 s per gap.
    const longestCall =
      DYNAMO_MAX_ATTEMPTS * (CONNECTION_TIMEOUT_MS + DYNAMO_REQUEST_TIMEOUT_MS) +
      (DYNAMO_MAX_ATTEMPTS - 1) * 2_000;
    expect(longestCall).toBeLessThan(COMMIT_ATTEMPT_MS);
  });
});
