import { expect } from 'vitest';
import { StreambedError } from '../../client/errors.ts';
import { StreamError } from '../../lambdas/core/errors.ts';

/** Awaits a call that must fail with an error of `kind`, and returns that error for more assertions. */
async function failureOf<E>(kind: new (...args: never[]) => E, promise: Promise<unknown>): Promise<E> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(kind);
    return error as E;
  }
  throw new Error('expected the call to fail');
}

/** Awaits a call that must fail with a StreamError (the server's), and returns it. */
export const failure = (promise: Promise<unknown>): Promise<StreamError> => failureOf(StreamError, promise);

/** Awaits an SDK call that must fail with a StreambedError, and returns it. */
export const sdkFailure = (promise: Promise<unknown>): Promise<StreambedError> =>
  failureOf(StreambedError, promise);
