/**
 * Kafka's error codes (the protocol's numbering) and the one translation from Streambed's errors.
 * Handlers answer per-topic or per-partition errors with these codes; a client decides from each
 * code, as Kafka defines it, whether to retry.
 */
import { StreamError } from '../core/errors.ts';

export const KafkaError = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  REQUEST_TIMED_OUT: 7,
  MESSAGE_TOO_LARGE: 10,
  OFFSET_METADATA_TOO_LARGE: 12,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  INVALID_REQUIRED_ACKS: 21,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  TOPIC_AUTHORIZATION_FAILED: 29,
  CLUSTER_AUTHORIZATION_FAILED: 31,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_SASL_MECHANISM: 33,
  ILLEGAL_SASL_STATE: 34,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  INVALID_REQUEST: 42,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  POLICY_VIOLATION: 44,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  SASL_AUTHENTICATION_FAILED: 58,
  UNKNOWN_PRODUCER_ID: 59,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  MEMBER_ID_REQUIRED: 79,
  GROUP_MAX_SIZE_REACHED: 81,
  FENCED_INSTANCE_ID: 82,
  GROUP_SUBSCRIBED_TO_TOPIC: 86,
  INVALID_RECORD: 87,
  THROTTLING_QUOTA_EXCEEDED: 89,
  UNKNOWN_TOPIC_ID: 100,
} as const;

export type KafkaErrorName = keyof typeof KafkaError;

/** A failure the handler answers with one Kafka code and message (the caller's entry, not the server's). */
export interface KafkaFailure {
  errorCode: number;
  errorMessage: string;
}

/** Core's refusal reasons (details.reason) whose Kafka error has another name. */
const REASONS: Partial<Record<string, KafkaErrorName>> = {
  OUT_OF_ORDER_SEQUENCE: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  TRANSACTIONS_UNSUPPORTED: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  UNSUPPORTED_COMPRESSION: 'UNSUPPORTED_COMPRESSION_TYPE',
};

/**
 * Streambed's error for one topic or partition, as the Kafka code that means the same to a client.
 * Anything but a StreamError is the server's own failure: rethrown, so the listener logs it and closes
 * the connection (the client retries elsewhere), and nothing of it reaches the client.
 */
export function toKafkaError(error: unknown): KafkaFailure {
  if (!(error instanceof StreamError)) throw error;
  const given = (error.details as { reason?: string } | undefined)?.reason;
  const reason = given === undefined ? undefined : (REASONS[given] ?? given);
  if (reason !== undefined && reason in KafkaError) {
    return { errorCode: KafkaError[reason as KafkaErrorName], errorMessage: error.message };
  }
  const byCode: Partial<Record<string, number>> = {
    INVALID_REQUEST: KafkaError.INVALID_REQUEST,
    UNAUTHORIZED: KafkaError.TOPIC_AUTHORIZATION_FAILED,
    TOPIC_NOT_FOUND: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
    PARTITION_NOT_FOUND: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
    OFFSET_OUT_OF_RANGE: KafkaError.OFFSET_OUT_OF_RANGE,
    RECORD_TOO_LARGE: KafkaError.MESSAGE_TOO_LARGE,
    TOPIC_ALREADY_EXISTS: KafkaError.TOPIC_ALREADY_EXISTS,
    THROTTLED: KafkaError.THROTTLING_QUOTA_EXCEEDED,
    UNAVAILABLE: KafkaError.REQUEST_TIMED_OUT,
    CORRUPT_DATA: KafkaError.CORRUPT_MESSAGE,
  };
  const code = byCode[error.code];
  // Contention that outlasted its retries (CONFLICT) and the like: nothing was written, so the client
  // is told to retry, as REQUEST_TIMED_OUT does, not given up on as UNKNOWN_SERVER_ERROR would.
  if (code === undefined && error.retriable)
    return { errorCode: KafkaError.REQUEST_TIMED_OUT, errorMessage: error.message };
  if (code === undefined)
    return { errorCode: KafkaError.UNKNOWN_SERVER_ERROR, errorMessage: 'internal error' };
  return { errorCode: code, errorMessage: error.message };
}
