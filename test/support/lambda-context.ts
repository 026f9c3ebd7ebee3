/** A Lambda invocation context for handler tests: 29 s left, fixed ids, no-op callbacks. */
import type { Context } from 'aws-lambda';

export function lambdaContext(
  functionName = 'streambed-fn',
  awsRequestId = '8f5a3c1e-0000-4000-8000-000000000001',
): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2025/03/12/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => 29_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
