/**
 * The dispatcher function (DESIGN §12, AWS): reads the table's stream and wakes, with one
 * asynchronous invoke each, the deliverers of the (subscription, partition) pairs a batch announces
 * (subscriptions/dispatch.ts). It never waits on delivery, so a slow target never holds up the
 * stream. A wake that fails marks its records in `batchItemFailures`, and Lambda retries the batch
 * from the first of them.
 *
 * Contract with the CDK construct (lib/):
 * - The stack's Node.js runtime, 256-512 MB, timeout 1 minute (a batch's wake-ups are small async invokes,
 *   each try bounded to a few seconds, with the SDK's retries).
 * - The table streams `NEW_AND_OLD_IMAGES` (the dispatcher compares a partition's old and new
 *   highWatermark). Event source mapping on that stream: starting position LATEST,
 *   `reportBatchItemFailures: true` (FunctionResponseTypes ReportBatchItemFailures), a bounded
 *   `retryAttempts`, and filters so only partition items and subscription items invoke it:
 *     {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "part#"}]}, "sk": {"S": ["meta"]}}}}
 *     {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": {"pk": {"S": ["subscriptions"]}}}}
 * - Environment: `STREAMBED_TABLE`, `STREAMBED_BUCKET` (as every Streambed function),
 *   `STREAMBED_DELIVER_FUNCTION` (the deliverer's name or ARN).
 * - IAM: table read (subscriptions and topics), stream read (the event source mapping's), and
 *   `lambda:InvokeFunction` on the deliverer.
 */
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import {
  awsDispatchDeps,
  DELIVER_FUNCTION_ENV,
  getSubscriptionRuntime,
  requireEnv,
} from '../runtime/aws-subscriptions.ts';
import { getServices } from '../runtime/lambda-root.ts';
import type { Services } from '../runtime/services.ts';
import { type DispatchDeps, dispatch } from '../subscriptions/dispatch.ts';
import { createTelemetry } from './http-handler.ts';

const { logger, metrics } = createTelemetry('dispatch');
/** Per services (one per container): the topic cache lives here. */
const depsOf = new WeakMap<Services, DispatchDeps>();

export async function handler(event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> {
  logger.addContext(context);
  try {
    const services = await getServices();
    let deps = depsOf.get(services);
    if (deps === undefined) {
      const deliverFunction = requireEnv(DELIVER_FUNCTION_ENV);
      deps = awsDispatchDeps(services, getSubscriptionRuntime(), deliverFunction, (error, wake) =>
        logger.warn('wake-up failed; its records are retried', { ...wake, error: error as Error }),
      );
      depsOf.set(services, deps);
    }
    const response = await dispatch(event.Records, deps);
    logger.info('dispatched', { records: event.Records.length, failed: response.batchItemFailures.length });
    metrics.addMetric('DispatchFailures', 'Count', response.batchItemFailures.length);
    return response;
  } finally {
    metrics.publishStoredMetrics();
  }
}
