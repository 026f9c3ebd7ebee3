/**
 * The API's answers as the console reads them: inferred from the zod schemas the server validates and
 * documents with (lambdas/http/schemas.ts), so a change of shape there fails the console's typecheck.
 * Type-only: no zod reaches the browser bundle.
 */
import type * as z from 'zod';
import type { resetSchema } from '../../lambdas/http/groups-routes.ts';
import type { janitorResponseSchema } from '../../lambdas/http/janitor-routes.ts';
import type {
  alterTopicSchema,
  changeSubscriptionSchema,
  fetchedRecordSchema,
  fetchResponseSchema,
  groupDetailsResponseSchema,
  groupListResponseSchema,
  offsetsResponseSchema,
  ProduceRecordBody,
  produceResponseSchema,
  resetResponseSchema,
  subscriptionDetailsResponseSchema,
  subscriptionListResponseSchema,
  subscriptionResponseSchema,
  topicDetailsResponseSchema,
  topicListResponseSchema,
  topicResponseSchema,
} from '../../lambdas/http/schemas.ts';

export type TopicList = z.infer<typeof topicListResponseSchema>;
export type TopicDetails = z.infer<typeof topicDetailsResponseSchema>;
export type TopicConfig = TopicDetails['config'];
export type CreatedTopic = z.infer<typeof topicResponseSchema>;
export type TopicChange = z.input<typeof alterTopicSchema>;
export type JanitorState = z.infer<typeof janitorResponseSchema>;
export type JanitorRun = NonNullable<JanitorState['lastRun']>;
export type { ProduceRecordBody };
export type ProduceResponse = z.infer<typeof produceResponseSchema>;
export type FetchResponse = z.infer<typeof fetchResponseSchema>;
export type FetchedRecord = z.infer<typeof fetchedRecordSchema>;
export type PartitionOffsets = z.infer<typeof offsetsResponseSchema>;
export type GroupList = z.infer<typeof groupListResponseSchema>;
export type GroupDetails = z.infer<typeof groupDetailsResponseSchema>;
export type OffsetReset = z.input<typeof resetSchema>;
export type ResetResponse = z.infer<typeof resetResponseSchema>;
export type SubscriptionConfig = z.infer<typeof subscriptionResponseSchema>;
export type SubscriptionChange = z.input<typeof changeSubscriptionSchema>;
export type SubscriptionList = z.infer<typeof subscriptionListResponseSchema>;
export type SubscriptionDetails = z.infer<typeof subscriptionDetailsResponseSchema>;

/** The error envelope every `/v1` route answers with (docs/api.md, "Errors"). */
export interface ApiErrorBody {
  error: { code: string; message: string; retriable: boolean } & Record<string, unknown>;
}
