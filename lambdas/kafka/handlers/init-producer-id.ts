/**
 * InitProducerId: a producer id no other producer over this backend gets, at epoch 0, so idempotent
 * producers (the Java client's default) can number their batches. Transactional ids are refused:
 * Streambed has no transactions.
 */
import { KafkaError } from '../errors.ts';
import { handler } from '../handler.ts';
import { InitProducerId } from '../protocol/messages.ts';

export const initProducerId = handler(InitProducerId, async (request, context, { connection }) => {
  if (request.transactionalId !== null) {
    context.log.warn('kafka: refused a transactional producer: transactions are not supported', {
      client: connection.clientId,
      transactionalId: request.transactionalId,
    });
    return {
      throttleTimeMs: 0,
      errorCode: KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      producerId: -1,
      producerEpoch: -1,
    };
  }
  const { producerId, producerEpoch } = await context.services.log.initProducerId();
  return { throttleTimeMs: 0, errorCode: KafkaError.NONE, producerId, producerEpoch };
});
