import { expect } from 'vitest';
import { StreamError } from '../../lambdas/core/errors.ts';

/** Awaits a call that must fail with a StreamError, and returns that error for more assertions. */
export async function failure(promise: Promise<unknown>): Promise<StreamError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StreamError);
    return error as StreamError;
  }
  throw new Error('expected the call to fail');
}
