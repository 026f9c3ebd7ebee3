/**
 * The per-partition commit (DESIGN §4.3-4.6), shared by every way records are appended: produce.ts
 * (records encoded here) and append-batches.ts (record batches as a Kafka client sent them).
 *
 * One small transaction per partition: the partition item (highWatermark += the entry's offsets, CAS
 * on its version) and the new batch index entry (put if absent). What the idempotency window
 * (recentKeys) says is the caller's business, asked through `admit` on every state the commit reads:
 * it answers "already committed here, at this base offset" (write nothing) or the window to store
 * with this commit, or refuses (throws). After an ambiguous failure (a retriable error: the write may
 * have applied) the partition item is re-read and `admit` asked again: a commit that did apply is
 * found there, so a timeout never writes twice.
 */
import type { Clock } from '../ports/clock.ts';
import type { ItemKey, MetaStore } from '../ports/meta-store.ts';
import type { IndexAttributes } from './batch-index.ts';
import { retryOnConflict } from './cas.ts';
import { ConditionFailedError, StreamError } from './errors.ts';
import { batchKey, isOlderObject, partitionKey } from './layout.ts';
import type { TopicDescription } from './log-types.ts';
import { type PartitionMeta, partitionAttributes, readPartitionMeta } from './partition-state.ts';

/** How long after the time in its object's key a commit may still land (DESIGN §4.6). */
export const COMMIT_WINDOW_MS = 60_000;
/**
 * The longest one commit attempt may take from its start until it has landed or failed for good: the
 * AWS adapters' request timeouts and SDK retries end within it (runtime/aws-backend.ts). No attempt
 * starts later than this before the window closes.
 */
export const COMMIT_ATTEMPT_MS = 20_000;

/** What the idempotency window says about a commit, given the partition's current state. */
export type Admission =
  /** Already committed to this partition: its base offset. Nothing is written. */
  | { committed: number }
  /** Not committed yet: the window to store with the commit, given the base offset it gets. */
  | { recentKeys(baseOffset: number): Uint8Array };

export interface PartitionCommit {
  topic: TopicDescription;
  partition: number;
  /** The partition's state as last read; re-read on conflict. */
  state: PartitionMeta;
  /** The new index entry (its base offset is assigned here). */
  entry: IndexAttributes;
  /** Asked on every state read; may throw to refuse the commit (nothing is then written). */
  admit(state: PartitionMeta): Admission;
  /** No attempt starts after this (the object's key time + COMMIT_WINDOW_MS − COMMIT_ATTEMPT_MS). */
  deadline: number;
}

export interface Committed {
  baseOffset: number;
  /** The partition's log start offset as the commit (or the re-read that found it) saw it. */
  logStartOffset: number;
}

export interface CommitDeps {
  meta: MetaStore;
  clock: Clock;
}

/** The partition items of `keys`, in order (absent ones as never-written partitions). */
export async function readPartitionStates(
  meta: MetaStore,
  keys: readonly ItemKey[],
): Promise<PartitionMeta[]> {
  const out: PartitionMeta[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    const items = await meta.batchGet(keys.slice(i, i + 100), { consistent: true });
    out.push(...items.map(readPartitionMeta));
  }
  return out;
}

export async function commitPartition(
  { meta, clock }: CommitDeps,
  { topic, partition, state: first, entry, admit, deadline }: PartitionCommit,
): Promise<Committed> {
  const key = partitionKey(topic.topicId, partition);
  let state = first;
  const reread = async () => readPartitionMeta(await meta.get(key, { consistent: true }));
  return retryOnConflict({ clock, what: `${topic.name}/${partition}` }, async (attempt) => {
    if (attempt > 0) state = await reread();
    const admission = admit(state);
    if ('committed' in admission)
      return { baseOffset: admission.committed, logStartOffset: state.logStartOffset };
    if (clock.now() > deadline) {
      throw new StreamError('UNAVAILABLE', `commit to ${topic.name}/${partition} ran out of time; retry`);
    }
    const baseOffset = state.highWatermark;
    const next: PartitionMeta = {
      ...state,
      highWatermark: baseOffset + entry.recordCount,
      bytes: state.bytes + entry.byteLength,
      batches: state.batches + 1,
      recentKeys: admission.recentKeys(baseOffset),
      oldestSharedObject:
        state.oldestSharedObject === undefined || isOlderObject(entry.objectKey, state.oldestSharedObject)
          ? entry.objectKey
          : state.oldestSharedObject,
    };
    try {
      await meta.transact([
        { type: 'put', item: { ...key, ...partitionAttributes(next) }, expect: state.v ?? 'absent' },
        {
          type: 'put',
          item: { ...batchKey(topic.topicId, partition, baseOffset), ...entry },
          expect: 'absent',
        },
      ]);
      return { baseOffset, logStartOffset: next.logStartOffset };
    } catch (error) {
      if (error instanceof ConditionFailedError || !(error instanceof StreamError) || !error.retriable)
        throw error;
      // Ambiguous: the write may have applied before the failure. The partition item says which.
      state = await reread();
      let applied: Admission;
      try {
        applied = admit(state);
      } catch {
        throw error;
      }
      if ('committed' in applied)
        return { baseOffset: applied.committed, logStartOffset: state.logStartOffset };
      throw error;
    }
  });
}
