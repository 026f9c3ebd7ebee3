/**
 * Idempotent producers (Kafka's producer id, epoch and sequence numbers), kept in the partition's
 * idempotency window (recentKeys, partition-state.ts) — no other state, so it stays bounded.
 *
 * A batch of an idempotent producer carries (producerId, producerEpoch, baseSequence); with its record
 * count that makes a *run*. Each commit of a run adds two window entries (key hash → 80-bit payload):
 *   batch entry     H(topicId, pid, epoch, baseSequence, recordCount) → baseOffset, recordCount
 *   producer entry  H(topicId, pid)  → epoch × 2^32 + next sequence (in the baseOffset field), 0
 * The producer entry stands for the producer's state: an older one for the same pid is removed when a
 * new one is appended, so a producer holds one entry however many batches it sends.
 *
 * Admission of a run against a partition's state, in this order:
 * 1. its batch entry is in the window: a retry of a committed run — answered with its ORIGINAL base
 *    offset, nothing written (also how an ambiguous commit failure is resolved);
 * 2. the producer is in the window with a higher epoch: refused, reason INVALID_PRODUCER_EPOCH;
 * 3. same epoch and baseSequence is not the next sequence, or a newer epoch not starting at sequence
 *    0: refused, reason OUT_OF_ORDER_SEQUENCE;
 * 4. otherwise committed. A producer no longer in the window (RECENT_KEYS commits of this partition
 *    came since its last one) is unknown again: its run is accepted whatever its sequence, as Kafka
 *    accepts an unknown producer after its state expired; a retry of a run whose batch entry has left
 *    the window is then written again (at-least-once beyond the window, as for Idempotency-Key).
 * Refusals are StreamError INVALID_REQUEST with `details.reason` (IdempotenceRefusal below), stable
 * for the Kafka listener to answer with the Kafka error of that name.
 *
 * Producer ids come from one counter item (`kafka / producer-ids`) advanced by compare-and-set, so
 * every server over one backend hands out distinct ids; a new id starts at epoch 0.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../ports/clock.ts';
import type { MetaStore } from '../ports/meta-store.ts';
import { retryOnConflict } from './cas.ts';
import type { Admission } from './commit.ts';
import { StreamError } from './errors.ts';
import { PRODUCER_IDS_KEY } from './layout.ts';
import type { ProducerIdentity } from './log-types.ts';
import {
  appendRecentKey,
  findRecentKey,
  KEY_HASH_BYTES,
  type PartitionMeta,
  removeRecentKey,
} from './partition-state.ts';

/** `details.reason` of a refused idempotent run; named after the Kafka error a Kafka client expects. */
export type IdempotenceRefusal = 'OUT_OF_ORDER_SEQUENCE' | 'INVALID_PRODUCER_EPOCH';

/** A run of records from one idempotent producer to one partition. */
export interface ProducerRun {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

const TWO_POW_32 = 2 ** 32;
/** Kafka's sequence numbers are int32 and wrap from 2^31 − 1 to 0. */
const SEQUENCE_LIMIT = 2 ** 31;

const hash = (...parts: (string | number)[]): Uint8Array =>
  createHash('sha256').update(parts.join('\u0000')).digest().subarray(0, KEY_HASH_BYTES);

/** The sequence a producer's next run must start at after `run`. */
export const nextSequence = (run: ProducerRun): number =>
  (run.baseSequence + run.recordCount) % SEQUENCE_LIMIT;

/** The error of a refused run (see the module comment). */
export function idempotenceError(reason: IdempotenceRefusal, message: string, run: ProducerRun): StreamError {
  return new StreamError('INVALID_REQUEST', message, {
    details: {
      reason,
      producerId: run.producerId,
      producerEpoch: run.producerEpoch,
      baseSequence: run.baseSequence,
    },
  });
}

/** What the window says about `run` on `partition` of the topic `topicId`, in `state` (module comment). */
export function admitRun(
  where: { topicId: string; name: string; partition: number },
  state: PartitionMeta,
  run: ProducerRun,
): Admission {
  const batchHash = hash(
    where.topicId,
    'batch',
    run.producerId,
    run.producerEpoch,
    run.baseSequence,
    run.recordCount,
  );
  const done = findRecentKey(state.recentKeys, batchHash);
  if (done !== undefined) return { committed: done.baseOffset };
  const producerHash = hash(where.topicId, 'producer', run.producerId);
  const known = findRecentKey(state.recentKeys, producerHash);
  const label = `${where.name}/${where.partition}: producer ${run.producerId}`;
  if (known !== undefined) {
    const epoch = Math.floor(known.baseOffset / TWO_POW_32);
    const expected = known.baseOffset % TWO_POW_32;
    if (run.producerEpoch < epoch) {
      throw idempotenceError(
        'INVALID_PRODUCER_EPOCH',
        `${label} epoch ${run.producerEpoch} is older than its epoch ${epoch} this partition has seen`,
        run,
      );
    }
    if (run.producerEpoch === epoch && run.baseSequence !== expected) {
      throw idempotenceError(
        'OUT_OF_ORDER_SEQUENCE',
        `${label} epoch ${epoch} sent sequence ${run.baseSequence}; the next expected is ${expected}`,
        run,
      );
    }
    if (run.producerEpoch > epoch && run.baseSequence !== 0) {
      throw idempotenceError(
        'OUT_OF_ORDER_SEQUENCE',
        `${label} began epoch ${run.producerEpoch} at sequence ${run.baseSequence}; a new epoch starts at 0`,
        run,
      );
    }
  }
  const producerState = { baseOffset: run.producerEpoch * TWO_POW_32 + nextSequence(run), recordCount: 0 };
  return {
    recentKeys: (baseOffset) =>
      appendRecentKey(
        appendRecentKey(removeRecentKey(state.recentKeys, producerHash), batchHash, {
          baseOffset,
          recordCount: run.recordCount,
        }),
        producerHash,
        producerState,
      ),
  };
}

/** Kafka's InitProducerId for a non-transactional producer: a fresh id, unique over the backend. */
export function createProducerIds({ meta, clock }: { meta: MetaStore; clock: Clock }) {
  return async function initProducerId(): Promise<ProducerIdentity> {
    return retryOnConflict({ clock, what: 'the producer id counter' }, async () => {
      const counter = await meta.get(PRODUCER_IDS_KEY, { consistent: true });
      const producerId = (counter?.nextId as number | undefined) ?? 0;
      await meta.transact([
        {
          type: 'put',
          item: { ...PRODUCER_IDS_KEY, nextId: producerId + 1 },
          expect: counter?.v ?? 'absent',
        },
      ]);
      return { producerId, producerEpoch: 0 };
    });
  };
}
