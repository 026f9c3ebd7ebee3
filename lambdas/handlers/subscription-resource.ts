/**
 * The custom resource handler behind the CDK construct's `addSubscription`, run by the CDK Provider
 * framework (which answers CloudFormation): Create, Update and Delete of one subscription
 * (subscriptions/subscription-resource.ts). A thrown error fails the stack operation with its message.
 *
 * Environment: `STREAMBED_TABLE`, `STREAMBED_BUCKET` (as every Streambed function),
 * `STREAMBED_SUBSCRIPTION_FUNCTIONS` (the functions addSubscription granted, so the service accepts
 * them as targets) and `STREAMBED_ALLOW_PRIVATE_URLS` when the construct allows private URL targets.
 */
import type { CdkCustomResourceEvent, CdkCustomResourceResponse, Context } from 'aws-lambda';
import { getServices } from '../runtime/lambda-root.ts';
import {
  createSubscriptionResource,
  type SubscriptionResourceEvent,
} from '../subscriptions/subscription-resource.ts';
import { createTelemetry } from './http-handler.ts';

const { logger } = createTelemetry('subscription-resource');

export async function handler(
  event: CdkCustomResourceEvent,
  context: Context,
): Promise<CdkCustomResourceResponse> {
  logger.addContext(context);
  const { subscriptions, topics } = await getServices();
  const onEvent = createSubscriptionResource({ subscriptions, topics });
  try {
    const response = await onEvent(event as unknown as SubscriptionResourceEvent);
    logger.info('subscription resource', { requestType: event.RequestType, ...response });
    return response;
  } catch (error) {
    logger.error('subscription resource failed', { requestType: event.RequestType, error: error as Error });
    throw error;
  }
}
