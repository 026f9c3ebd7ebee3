/**
 * Produce: the client's record batches, stored as they came (CRC-checked; compressed ones stay
 * compressed), every partition of the request in ONE object, each partition committed on its own as
 * over HTTP. acks 0, 1 and -1 all mean "durable, then answered": there are no replicas to wait for,
 * and with acks=0 no answer is sent at all (a failure then closes the connection, as Kafka does, so
 * the client refreshes its metadata).
 *
 * An idempotent producer's batches (producer id, epoch, sequence) fall in the partition's idempotency
 * window: a retry is answered with the offsets of the first attempt. Transactions are not served.
 */
import { KafkaError, toKafkaError } from '../errors.ts';
import { handler } from '../handler.ts';
import { ProtocolError } from '../protocol/codec.ts';
import { Produce } from '../protocol/messages.ts';

const ACKS = new Set([0, 1, -1]);
/** Versions below 3 carry message formats v0/v1, which Streambed does not store (RecordBatch v2 only). */
const FIRST_RECORD_BATCH_VERSION = 3;

export const produce = handler(Produce, async (request, context, { version }) => {
  const refuse = (errorCode: number, errorMessage: string) => ({
    throttleTimeMs: 0,
    responses: request.topicData.map(({ name, partitionData }) => ({
      name,
      partitionResponses: partitionData.map(({ index }) => ({
        index,
        errorCode,
        baseOffset: -1,
        errorMessage,
      })),
    })),
  });
  if (request.transactionalId !== null) {
    return refuse(
      KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      'transactions are not supported by Streambed; use an idempotent producer without a transactional id',
    );
  }
  if (!ACKS.has(request.acks))
    return refuse(KafkaError.INVALID_REQUIRED_ACKS, `acks ${request.acks} is not 0, 1 or -1`);
  if (version < FIRST_RECORD_BATCH_VERSION) {
    return refuse(
      KafkaError.UNSUPPORTED_FOR_MESSAGE_FORMAT,
      'Produce v0-2 carry message formats Streambed does not store; use v3 or later',
    );
  }
  const { partitions: appended } = await context.services.log.appendBatches({
    partitions: request.topicData.flatMap(({ name, partitionData }) =>
      partitionData.map(({ index, records }) => ({
        topic: name,
        partition: index,
        batches: records ?? new Uint8Array(),
      })),
    ),
  });
  let i = 0;
  const responses = request.topicData.map(({ name, partitionData }) => ({
    name,
    partitionResponses: partitionData.map(({ index }) => {
      const result = appended[i++];
      if (result === undefined || result.error !== undefined) {
        const { errorCode, errorMessage } = toKafkaError(result?.error);
        return { index, errorCode, baseOffset: -1, errorMessage };
      }
      return {
        index,
        errorCode: KafkaError.NONE,
        baseOffset: result.baseOffset,
        logAppendTimeMs: -1,
        logStartOffset: result.logStartOffset,
      };
    }),
  }));
  if (request.acks === 0) {
    const failed = responses.some(({ partitionResponses }) =>
      partitionResponses.some((p) => p.errorCode !== KafkaError.NONE),
    );
    if (failed)
      throw new ProtocolError(
        'a Produce with acks=0 failed: closing the connection so the client refreshes its metadata',
      );
    return null;
  }
  return { throttleTimeMs: 0, responses };
});
