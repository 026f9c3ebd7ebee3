/**
 * The janitor (DESIGN §7): retention, compaction of small objects, garbage collection of objects, and
 * clean-up of deleted topics. It runs on a schedule, anywhere; a per-partition lease keeps two janitors
 * off the same partition, and every change is a compare-and-set, so a janitor that dies at any point
 * leaves nothing inconsistent and the next one simply carries on.
 *
 * Invariants:
 * - Retention only moves logStartOffset forward, never past the high watermark, and deletes exactly
 *   the index entries below it, in the transaction that moves it. Deleting records (delete-records.ts)
 *   moves it alone; retention's next step then deletes the entries wholly below it the same way.
 * - Compaction writes a new partition-owned object, then swaps a run of index entries for one entry
 *   covering the run, in one transaction conditioned on every old entry and the partition item.
 *   The new entry points at the same record batches, byte for byte, and carries their batch
 *   directory (batch-index.ts), so a fetch reads only around what it serves however big the entry.
 *   Compacted entries may be compacted again: the directory stays bounded whatever the batch count.
 * - An object is deleted only when no index entry points at it and none can later:
 *   - a partition-owned object (compacted/…) once its partition's index does not point at it and it
 *     is older than the compaction window plus a grace period (a swap lands within the window);
 *   - a shared object (data/…, what produce writes) once it is older than every live partition's
 *     `oldestSharedObject` and older than the commit window plus a grace period (a commit lands within
 *     the window, DESIGN §4.6). Orphans (uploads that never committed) go the same way.
 *   Both decisions fix their horizon first and read the index or the partitions after it: whatever
 *   lands later points at an object no older than its window before it lands.
 *   Readers racing a deletion re-read the index once (fetch.ts), so grace protects the slow ones only.
 * - A pass is never all-or-nothing: a failed partition is reported and skipped, GC and deleted-topic
 *   clean-up get their share of every pass, and cursors (`janitor / progress`) carry the next pass on.
 */

import { readBatchHeader, splitBatches } from '../../client/wire/record-batch.ts';
import type { Clock } from '../ports/clock.ts';
import { type Item, type ItemInput, type MetaStore, queryAll, type TransactOp } from '../ports/meta-store.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import {
  encodeBatchDirectory,
  type IndexAttributes,
  type IndexEntry,
  readIndexEntry,
} from './batch-index.ts';
import { retryOnConflict } from './cas.ts';
import { ConditionFailedError, fromWireError, StreamError } from './errors.ts';
import {
  batchSk,
  DATA_PREFIX,
  DELETED_TOPICS_PK,
  dataObjectFloor,
  FIRST_BATCH_SK,
  isOlderObject,
  isSharedObject,
  JANITOR_LAST_RUN_KEY,
  JANITOR_PROGRESS_KEY,
  janitorLeaseKey,
  LAST_BATCH_SK,
  newPartitionObjectKey,
  objectKeyTime,
  partitionKey,
  partitionObjectPrefix,
  partitionPk,
  topicObjectPrefix,
} from './layout.ts';
import type { TopicDescription } from './log-types.ts';
import { encodeObject } from './object-format.ts';
import {
  advancedLogStart,
  type PartitionMeta,
  partitionAttributes,
  readPartitionMeta,
} from './partition-state.ts';
import { COMMIT_ATTEMPT_MS, COMMIT_WINDOW_MS } from './produce.ts';
import type { TopicServiceImpl } from './topics.ts';

export interface JanitorOptions {
  /** Who this janitor is (lease owner); unique per process. */
  owner: string;
  /** How long a partition lease lasts without renewal. Default 60 s. */
  leaseMs?: number;
  /** Entries are compacted once their data is this old. Default 5 s. */
  compactAfterMs?: number;
  /** Bytes a compacted object aims at. Default 8 MiB. */
  compactTargetBytes?: number;
  /** Extra time objects are kept after they could go, for slow readers. Default 60 s. */
  graceMs?: number;
}

export interface JanitorReport {
  partitions: number;
  /** Partitions another janitor was working on. */
  skipped: number;
  retainedBatches: number;
  compactedRuns: number;
  compactedBatches: number;
  deletedObjects: number;
  deletedTopics: number;
  /** Partitions or steps that failed (each reported and skipped; the pass went on). */
  failures: number;
  /** The first few failures: where, the error code, and whether a later pass can be expected to succeed. */
  errors: { where: string; code: string; retriable: boolean; message: string }[];
  /** True when the deadline or a failure stopped the pass before it covered everything. */
  incomplete: boolean;
}

/** What is kept of a completed pass (`janitor / last-run`), for `GET /v1/janitor` and the console. */
export interface JanitorLastRun {
  /** When the pass started and finished, epoch ms. */
  startedAt: number;
  finishedAt: number;
  /** Partitions worked, and skipped because another janitor held them. */
  partitions: number;
  skipped: number;
  retainedBatches: number;
  compactedBatches: number;
  deletedObjects: number;
  deletedTopics: number;
  /** Partitions or steps that failed (see the janitor's log for which). */
  failures: number;
  /** The deadline or a failure stopped the pass before it covered everything; the next carries on. */
  incomplete: boolean;
}

/** A swap must land within this long after its object was written; GC waits at least as long. */
export const COMPACTION_WINDOW_MS = 60_000;
/** Share of a pass's time for partition work; deleted topics and GC get the rest. */
const PARTITION_SHARE = 2 / 3;
/** How often a long pass saves where it is. */
const PROGRESS_SAVE_MS = 30_000;
const MAX_REPORTED_ERRORS = 5;

/** Where the janitor's passes left off. */
interface Progress {
  v: number | undefined;
  /** The last partition worked, as partitionCursor() spells it. */
  partitionCursor: string | undefined;
  /** The last data object key GC listed; undefined: start from the beginning. */
  gcCursor: string | undefined;
}

/** Partitions in a fixed order: by topic name, then partition number. */
const partitionCursor = (topic: string, partition: number) =>
  `${topic}\u0000${String(partition).padStart(5, '0')}`;

/** One transaction: the partition item, the entry that becomes the run's, and the rest deleted. */
const MAX_RUN_ENTRIES = 98;

/** An index entry a janitor step was conditioned on changed: the step is void, nothing was written. */
class EntriesChanged extends Error {}

/** The older of two object keys (either may be missing). */
const older = (a: string | undefined, b: string | undefined): string | undefined =>
  a === undefined ? b : b === undefined || isOlderObject(a, b) ? a : b;

/** The oldest shared object the entries point at (what GC must keep), if any. */
function oldestShared(entries: readonly IndexEntry[]): string | undefined {
  let oldest: string | undefined;
  for (const entry of entries) {
    if (isSharedObject(entry.objectKey) && (oldest === undefined || isOlderObject(entry.objectKey, oldest))) {
      oldest = entry.objectKey;
    }
  }
  return oldest;
}

export interface JanitorDeps {
  meta: MetaStore;
  objects: ObjectStore;
  clock: Clock;
  topics: Pick<TopicServiceImpl, 'listTopics' | 'requireTopic'>;
}

export function createJanitor({ meta, objects, clock, topics }: JanitorDeps, options: JanitorOptions) {
  const leaseMs = options.leaseMs ?? 60_000;
  const compactAfterMs = options.compactAfterMs ?? 5_000;
  const targetBytes = options.compactTargetBytes ?? 8 * 1024 * 1024;
  const graceMs = options.graceMs ?? 60_000;
  // An entry at least this big is left where it is unless its object is shared.
  const smallBytes = Math.max(1, Math.floor(targetBytes / 4));

  async function readIndex(topicId: string, partition: number): Promise<IndexEntry[]> {
    const items = await queryAll(meta, partitionPk(topicId, partition), {
      from: FIRST_BATCH_SK,
      to: LAST_BATCH_SK,
      consistent: true,
    });
    return items.map(readIndexEntry);
  }

  async function readState(
    topicId: string,
    partition: number,
  ): Promise<{ item: Item | undefined; state: PartitionMeta }> {
    const item = await meta.get(partitionKey(topicId, partition), { consistent: true });
    return { item, state: readPartitionMeta(item) };
  }

  /**
   * Takes or renews the partition's janitor lease; false when another janitor holds it. The lease item
   * expires by TTL with the lease, so one left behind (a crash, a topic deleted meanwhile) goes away.
   */
  async function acquire(topicId: string, partition: number): Promise<boolean> {
    const key = janitorLeaseKey(topicId, partition);
    const now = clock.now();
    const lease = await meta.get(key, { consistent: true });
    const owner = lease?.owner as string | undefined;
    if (lease !== undefined && owner !== options.owner) return false;
    const epoch = ((lease?.epoch as number | undefined) ?? 0) + 1;
    try {
      await meta.transact([
        {
          type: 'put',
          item: { ...key, owner: options.owner, epoch, expiresAt: now + leaseMs },
          expect: lease?.v ?? 'absent',
        },
      ]);
      return true;
    } catch (error) {
      if (error instanceof ConditionFailedError) return false;
      throw error;
    }
  }

  async function release(topicId: string, partition: number): Promise<void> {
    const key = janitorLeaseKey(topicId, partition);
    const lease = await meta.get(key, { consistent: true });
    if (lease?.owner !== options.owner) return;
    await meta.transact([{ type: 'delete', key, expect: lease.v }]).catch((error) => {
      if (!(error instanceof ConditionFailedError)) throw error;
    });
  }

  /**
   * The time retention judges an entry by: its newest record's timestamp, but never later than its
   * data's append time plus the topic's message.timestamp.after.max.ms, so one record stamped far in
   * the future (accepted before the topic bounded timestamps) cannot hold the partition back forever.
   * The append time is the time in the entry's object key (for a compacted entry, the compaction's:
   * later than the records' own, so this errs on the side of keeping data).
   */
  function retentionTime(topic: TopicDescription, entry: IndexEntry): number {
    const bound = objectKeyTime(entry.objectKey) + topic.config['message.timestamp.after.max.ms'];
    return Math.min(entry.maxTimestamp, bound);
  }

  /**
   * The entries retention removes now, oldest first, at most one transaction's worth: those past
   * retention.ms or retention.bytes, and those wholly below a log start that deleted records
   * (delete-records.ts) moved on ahead of the index.
   */
  function expired(
    topic: TopicDescription,
    state: PartitionMeta,
    entries: readonly IndexEntry[],
  ): IndexEntry[] {
    const retentionMs = topic.config['retention.ms'];
    const retentionBytes = topic.config['retention.bytes'];
    const cutoff = clock.now() - retentionMs;
    let bytes = state.bytes;
    const doomed: IndexEntry[] = [];
    for (const [i, entry] of entries.entries()) {
      if (doomed.length === MAX_RUN_ENTRIES) break;
      const deleted = entry.baseOffset + entry.recordCount <= state.logStartOffset;
      const old = retentionMs >= 0 && retentionTime(topic, entry) < cutoff;
      // Size retention never removes the newest entry: a partition keeps its latest data.
      const oversized = retentionBytes >= 0 && bytes > retentionBytes && i < entries.length - 1;
      if (!deleted && !old && !oversized) break;
      doomed.push(entry);
      bytes -= entry.byteLength;
    }
    return doomed;
  }

  function retentionOn(topic: TopicDescription): boolean {
    return topic.config['retention.ms'] >= 0 || topic.config['retention.bytes'] >= 0;
  }

  /**
   * Whether the oldest index entry lies wholly below the log start (records were deleted): read from
   * the partition item and that one entry, so a topic without retention costs a pass two small reads
   * instead of its whole index.
   */
  async function deletedBelowStart(topicId: string, partition: number): Promise<boolean> {
    const { state } = await readState(topicId, partition);
    if (state.logStartOffset === 0) return false;
    const { items } = await meta.query(partitionPk(topicId, partition), {
      from: FIRST_BATCH_SK,
      to: LAST_BATCH_SK,
      consistent: true,
      limit: 1,
    });
    const first = items[0] === undefined ? undefined : readIndexEntry(items[0]);
    return first !== undefined && first.baseOffset + first.recordCount <= state.logStartOffset;
  }

  /**
   * Retention by time and size, and of deleted records: drops the oldest entries, moving
   * logStartOffset in the same step.
   * Producers keep committing to the partition meanwhile, so a step must not need the partition item
   * to stay still while the index is read: the index is read once, and each attempt only re-reads the
   * partition item and writes (see rewrite), like a producer's commit does.
   */
  async function retain(topic: TopicDescription, partition: number): Promise<number> {
    if (!retentionOn(topic) && !(await deletedBelowStart(topic.topicId, partition))) return 0;
    let removedTotal = 0;
    for (;;) {
      const { item, state } = await readState(topic.topicId, partition);
      if (item === undefined) return removedTotal;
      const readAt = clock.now();
      const entries = await readIndex(topic.topicId, partition);
      const doomed = expired(topic, state, entries);
      if (doomed.length === 0) return removedTotal;
      const last = doomed.at(-1) as IndexEntry;
      const applied = await rewrite(topic, partition, { seen: state, readAt, entries }, doomed, {
        logStartOffset: last.baseOffset + last.recordCount,
      });
      if (!applied) return removedTotal;
      removedTotal += doomed.length;
      if (doomed.length < MAX_RUN_ENTRIES) return removedTotal;
    }
  }

  /**
   * Removes `removed` (of `entries`, the index as read from `readAt` on, after the partition item was
   * read as `seen`) from the index and puts `replacement` (a compacted entry at the first removed
   * one's offset) in their place, with the partition item's counters, in one transaction conditioned
   * on every entry and the partition item.
   *
   * Commits that land meanwhile only append entries and bump the partition item, so a conflict on the
   * partition item alone is retried at once from a fresh read of that one item: the counters are moved
   * by the removed entries' share, and the oldest shared object is recomputed from the entries read,
   * bounded by the commit window for entries appended since (they point at objects no older than the
   * read minus the commit window). False when an entry itself changed (another janitor, a deleted
   * topic): the caller starts over, or leaves it for the next pass.
   */
  async function rewrite(
    topic: TopicDescription,
    partition: number,
    { seen, readAt, entries }: { seen: PartitionMeta; readAt: number; entries: readonly IndexEntry[] },
    removed: readonly IndexEntry[],
    change: { logStartOffset?: number; replacement?: IndexAttributes; deadline?: number },
  ): Promise<boolean> {
    const gone = new Set(removed.map((entry) => entry.item.sk));
    const kept = entries.filter((entry) => !gone.has(entry.item.sk));
    const first = removed[0] as IndexEntry;
    const removedBytes = removed.reduce((sum, entry) => sum + entry.byteLength, 0);
    const readEnd =
      entries.length === 0
        ? seen.highWatermark
        : (entries.at(-1) as IndexEntry).baseOffset + (entries.at(-1) as IndexEntry).recordCount;
    const key = partitionKey(topic.topicId, partition);
    try {
      await retryOnConflict(
        { clock, what: `janitor step on ${topic.name}/${partition}`, maxAttempts: 50 },
        async (attempt) => {
          if (change.deadline !== undefined && clock.now() > change.deadline)
            throw new StreamError(
              'UNAVAILABLE',
              `janitor step on ${topic.name}/${partition} ran out of time`,
            );
          const current = attempt === 0 ? seen : readPartitionMeta(await meta.get(key, { consistent: true }));
          if (current.v === undefined) throw new ConditionFailedError([0]);
          // Records deleted meanwhile (delete-records.ts) must not move into a compacted entry that also
          // holds live ones, where no retention step could drop them: the swap is void, and the next
          // pass drops them first.
          if (
            change.replacement !== undefined &&
            first.baseOffset + first.recordCount <= current.logStartOffset
          )
            throw new EntriesChanged();
          let oldest = oldestShared(kept);
          if (change.replacement !== undefined && isSharedObject(change.replacement.objectKey))
            oldest = older(oldest, change.replacement.objectKey);
          if (current.highWatermark > readEnd)
            oldest = older(oldest, dataObjectFloor(readAt - COMMIT_WINDOW_MS));
          const next: PartitionMeta = {
            ...current,
            logStartOffset: advancedLogStart(current, change.logStartOffset ?? 0),
            bytes: Math.max(0, current.bytes - removedBytes + (change.replacement?.byteLength ?? 0)),
            batches: current.batches - removed.length + (change.replacement === undefined ? 0 : 1),
            oldestSharedObject: oldest,
          };
          const replaced = change.replacement !== undefined;
          try {
            await meta.transact([
              { type: 'put', item: { ...key, ...partitionAttributes(next) }, expect: current.v },
              ...(replaced
                ? [
                    {
                      type: 'put' as const,
                      item: { pk: first.item.pk, sk: batchSk(first.baseOffset), ...change.replacement },
                      expect: first.item.v,
                    },
                  ]
                : []),
              ...removed
                .slice(replaced ? 1 : 0)
                .map((entry): TransactOp => ({ type: 'delete', key: entry.item, expect: entry.item.v })),
            ]);
          } catch (error) {
            // Only the partition item moved (a commit landed): worth another try at once.
            if (error instanceof ConditionFailedError && error.failedOps.some((op) => op > 0))
              throw new EntriesChanged();
            throw error;
          }
        },
      );
      return true;
    } catch (error) {
      if (error instanceof EntriesChanged) return false;
      throw error;
    }
  }

  /**
   * Runs of entries worth rewriting: old enough, and small, still in a shared object, or compacted
   * before entries carried a batch directory (rewritten once, alone if need be, so that fetch reads
   * them by range; a fetch reads such an entry whole).
   */
  function compactionRuns(entries: readonly IndexEntry[], now: number): IndexEntry[][] {
    const runs: IndexEntry[][] = [];
    let run: IndexEntry[] = [];
    let runBytes = 0;
    const rewrite = (entry: IndexEntry) => isSharedObject(entry.objectKey) || entry.directory === undefined;
    const close = () => {
      if (run.length >= 2 || run.some(rewrite)) runs.push(run);
      run = [];
      runBytes = 0;
    };
    for (const entry of entries) {
      const old = now - objectKeyTime(entry.objectKey) >= compactAfterMs;
      const candidate = old && (rewrite(entry) || entry.byteLength < smallBytes);
      if (!candidate) {
        close();
        continue;
      }
      if (run.length > 0 && (runBytes + entry.byteLength > targetBytes || run.length === MAX_RUN_ENTRIES))
        close();
      run.push(entry);
      runBytes += entry.byteLength;
    }
    close();
    return runs;
  }

  /** Rewrites one run into a partition-owned object and swaps its index entries for one. */
  async function compactRun(topic: TopicDescription, partition: number, run: IndexEntry[]): Promise<boolean> {
    // Read the run's bytes: one GET per stretch of neighbouring ranges in one object.
    const chunks: Uint8Array[] = [];
    let i = 0;
    while (i < run.length) {
      const first = run[i] as IndexEntry;
      let end = first.byteOffset + first.byteLength;
      let j = i + 1;
      while (j < run.length && run[j]?.objectKey === first.objectKey && run[j]?.byteOffset === end) {
        end += (run[j] as IndexEntry).byteLength;
        j++;
      }
      try {
        chunks.push(await objects.get(first.objectKey, { start: first.byteOffset, end }));
      } catch (error) {
        // The run changed under us (another janitor, retention): leave it for the next pass.
        if (error instanceof StreamError && error.code === 'NOT_FOUND') return false;
        throw error;
      }
      i = j;
    }
    const batches = chunks.flatMap((chunk) => [...splitBatches(chunk)]);
    const directory = encodeBatchDirectory(
      batches.map((batch) => ({
        offsets: readBatchHeader(batch).lastOffsetDelta + 1,
        bytes: batch.byteLength,
      })),
    );
    const written = clock.now();
    const objectKey = newPartitionObjectKey(topic.topicId, partition, written);
    const object = encodeObject(batches);
    await objects.put(objectKey, object.bytes);
    const first = run[0] as IndexEntry;
    const last = run.at(-1) as IndexEntry;
    const covered: IndexAttributes = {
      objectKey,
      byteOffset: object.positions[0]?.byteOffset ?? 0,
      byteLength: object.bytes.byteLength - (object.positions[0]?.byteOffset ?? 0),
      recordCount: last.baseOffset + last.recordCount - first.baseOffset,
      minTimestamp: Math.min(...run.map((entry) => entry.minTimestamp)),
      maxTimestamp: Math.max(...run.map((entry) => entry.maxTimestamp)),
      directory,
    };
    // The swap: the run's entries give way to one covering them, in the short re-read loop of rewrite.
    // It must land within the compaction window of the object's key time, which GC waits out.
    const { state } = await readState(topic.topicId, partition);
    if (state.v === undefined) return false;
    const readAt = clock.now();
    const entries = await readIndex(topic.topicId, partition);
    try {
      return await rewrite(topic, partition, { seen: state, readAt, entries }, run, {
        replacement: covered,
        deadline: written + COMPACTION_WINDOW_MS - COMMIT_ATTEMPT_MS,
      });
    } catch (error) {
      // Out of time or contention: the new object is unreferenced and GC removes it after the window.
      if (error instanceof StreamError && (error.code === 'CONFLICT' || error.code === 'UNAVAILABLE'))
        return false;
      throw error;
    }
  }

  /** Deletes this partition's owned objects that its index no longer points at. */
  async function collectOwned(topicId: string, partition: number): Promise<number> {
    // The horizon first, the index after it: a swap that lands later points at an object no older
    // than the compaction window before it lands, so nothing deleted here can become referenced.
    const horizon = clock.now() - COMPACTION_WINDOW_MS - graceMs;
    const referenced = new Set((await readIndex(topicId, partition)).map((entry) => entry.objectKey));
    return deleteListed(
      partitionObjectPrefix(topicId, partition),
      (key) => !referenced.has(key) && objectKeyTime(key) < horizon,
    );
  }

  async function deleteListed(prefix: string, doomed: (key: string) => boolean): Promise<number> {
    let deleted = 0;
    let startAfter: string | undefined;
    do {
      const page = await objects.list(prefix, { startAfter });
      const keys = page.objects.map((o) => o.key).filter(doomed);
      if (keys.length > 0) await objects.delete(keys);
      deleted += keys.length;
      startAfter = page.next;
    } while (startAfter !== undefined);
    return deleted;
  }

  async function workPartition(
    topic: TopicDescription,
    partition: number,
    report: JanitorReport,
  ): Promise<void> {
    if (!(await acquire(topic.topicId, partition))) {
      report.skipped++;
      return;
    }
    try {
      report.retainedBatches += await retain(topic, partition);
      const runs = compactionRuns(await readIndex(topic.topicId, partition), clock.now());
      for (const run of runs) {
        // Renewed before each step, so a long stretch of work never outlives the lease and a second
        // janitor never starts on the partition meanwhile (it would compact the same runs again).
        if (!(await acquire(topic.topicId, partition))) return;
        if (await compactRun(topic, partition, run)) {
          report.compactedRuns++;
          report.compactedBatches += run.length;
        }
      }
      if (!(await acquire(topic.topicId, partition))) return;
      report.deletedObjects += await collectOwned(topic.topicId, partition);
    } finally {
      await release(topic.topicId, partition);
    }
  }

  /**
   * Removes what a deleted topic left: every item of its partitions and its owned objects. The
   * tombstone stays until no janitor that started before the deletion can still be working on the
   * topic (its lease and compaction windows have passed); until then each run sweeps again.
   */
  async function cleanDeletedTopic(tombstone: Item): Promise<number> {
    const topicId = tombstone.sk;
    const partitions = tombstone.partitions as number;
    for (let partition = 0; partition < partitions; partition++) {
      for (;;) {
        const page = await meta.query(partitionPk(topicId, partition), { limit: 100, consistent: true });
        if (page.items.length === 0) break;
        await meta.transact(page.items.map((item): TransactOp => ({ type: 'delete', key: item })));
      }
    }
    const deleted = await deleteListed(topicObjectPrefix(topicId), () => true);
    const settled = (tombstone.deletedAt as number) + COMPACTION_WINDOW_MS + leaseMs + graceMs < clock.now();
    if (settled) {
      await meta.transact([{ type: 'delete', key: tombstone, expect: tombstone.v }]).catch((error) => {
        if (!(error instanceof ConditionFailedError)) throw error;
      });
    }
    return deleted;
  }

  /**
   * The oldest shared object any live partition may point at, read now: after the caller fixed its
   * horizon, so a partition created or written since is seen (never a topic list from earlier).
   */
  async function oldestSharedOfAll(): Promise<string | undefined> {
    let oldest: string | undefined;
    for (const topic of await liveTopics()) {
      for (let first = 0; first < topic.partitions; first += 100) {
        const keys = Array.from({ length: Math.min(100, topic.partitions - first) }, (_, i) =>
          partitionKey(topic.topicId, first + i),
        );
        for (const item of await meta.batchGet(keys, { consistent: true }))
          oldest = older(oldest, readPartitionMeta(item).oldestSharedObject);
      }
    }
    return oldest;
  }

  /**
   * Shared objects: delete those older than every live partition's oldest shared object, and older
   * than the commit window plus grace. The horizon is fixed first and the partitions are read after
   * it: a commit that lands later points at an object no older than the commit window before it lands
   * (produce.ts never attempts one later), so nothing this deletes can become referenced. Resumable:
   * the listing goes on from `progress.gcCursor` and stops at `until`.
   */
  async function collectShared(progress: Progress, report: JanitorReport, until: number): Promise<void> {
    const horizon = clock.now() - COMMIT_WINDOW_MS - graceMs;
    const oldest = await oldestSharedOfAll();
    let startAfter = progress.gcCursor;
    do {
      if (clock.now() >= until) {
        progress.gcCursor = startAfter;
        report.incomplete = true;
        return;
      }
      const page = await objects.list(DATA_PREFIX, { startAfter });
      const keys = page.objects
        .map((o) => o.key)
        .filter(
          (key) => objectKeyTime(key) < horizon && (oldest === undefined || isOlderObject(key, oldest)),
        );
      if (keys.length > 0) await objects.delete(keys);
      report.deletedObjects += keys.length;
      startAfter = page.next;
      progress.gcCursor = startAfter;
    } while (startAfter !== undefined);
  }

  async function liveTopics(): Promise<TopicDescription[]> {
    const live: TopicDescription[] = [];
    for (const name of await topics.listTopics()) {
      try {
        live.push(await topics.requireTopic(name));
      } catch (error) {
        if (!(error instanceof StreamError) || error.code !== 'TOPIC_NOT_FOUND') throw error;
      }
    }
    return live;
  }

  async function readProgress(): Promise<Progress> {
    const item = await meta.get(JANITOR_PROGRESS_KEY, { consistent: true });
    return {
      v: item?.v,
      partitionCursor: item?.partitionCursor as string | undefined,
      gcCursor: (item?.gcCursor as string | null | undefined) ?? undefined,
    };
  }

  /** Saves where this pass is; a janitor running alongside may have saved first, which is as good. */
  async function saveProgress(progress: Progress): Promise<void> {
    const item: ItemInput = { ...JANITOR_PROGRESS_KEY, gcCursor: progress.gcCursor ?? null };
    if (progress.partitionCursor !== undefined) item.partitionCursor = progress.partitionCursor;
    try {
      await meta.transact([{ type: 'put', item, expect: progress.v ?? 'absent' }]);
      progress.v = (progress.v ?? 0) + 1;
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
      progress.v = (await readProgress()).v;
    }
  }

  /** Runs one step; a failure is counted and reported, and the pass goes on with the next step. */
  async function isolated(report: JanitorReport, what: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (thrown) {
      report.failures++;
      report.incomplete = true;
      if (report.errors.length < MAX_REPORTED_ERRORS) {
        const error = fromWireError(thrown);
        const known = error instanceof StreamError;
        report.errors.push({
          where: what,
          code: known ? error.code : 'INTERNAL',
          retriable: known && error.retriable,
          message: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  /**
   * One pass, stopping at `deadline` (epoch ms); the next pass carries on where it stopped. Partitions
   * are worked in a fixed order from the saved cursor, for up to PARTITION_SHARE of the time; then
   * shared-object GC (from its own cursor) gets up to half of what is left, and deleted topics the rest. A partition's or a
   * step's failure (throttling, contention, an outage) is reported and skipped, never the whole pass:
   * garbage collection must not depend on every partition being workable.
   */
  async function runOnce(deadline = Number.POSITIVE_INFINITY): Promise<JanitorReport> {
    const report: JanitorReport = {
      partitions: 0,
      skipped: 0,
      retainedBatches: 0,
      compactedRuns: 0,
      compactedBatches: 0,
      deletedObjects: 0,
      deletedTopics: 0,
      failures: 0,
      errors: [],
      incomplete: false,
    };
    const started = clock.now();
    const partitionsUntil = Number.isFinite(deadline)
      ? started + (deadline - started) * PARTITION_SHARE
      : Number.POSITIVE_INFINITY;
    const progress = await readProgress();
    let saved = started;
    const live = await liveTopics();
    const work = live
      .flatMap((topic) => Array.from({ length: topic.partitions }, (_, partition) => ({ topic, partition })))
      .map((w) => ({ ...w, cursor: partitionCursor(w.topic.name, w.partition) }))
      .sort((a, b) => (a.cursor < b.cursor ? -1 : 1));
    const from = work.findIndex(
      (w) => progress.partitionCursor === undefined || w.cursor > progress.partitionCursor,
    );
    const start = Math.max(from, 0);
    for (let k = 0; k < work.length; k++) {
      if (clock.now() >= partitionsUntil) {
        report.incomplete = true;
        break;
      }
      const { topic, partition, cursor } = work[(start + k) % work.length] as (typeof work)[number];
      await isolated(report, `${topic.name}/${partition}`, () => workPartition(topic, partition, report));
      report.partitions++;
      progress.partitionCursor = cursor;
      if (clock.now() - saved >= PROGRESS_SAVE_MS) {
        await isolated(report, 'saving progress', () => saveProgress(progress));
        saved = clock.now();
      }
    }
    // Shared-object GC next, for up to half of what is left: its cursor carries it across passes.
    const gcUntil = Number.isFinite(deadline) ? (clock.now() + deadline) / 2 : deadline;
    await isolated(report, 'shared objects', () => collectShared(progress, report, gcUntil));
    await isolated(report, 'deleted topics', async () => {
      const tombstones = await meta.query(DELETED_TOPICS_PK, { consistent: true, limit: 100 });
      for (const tombstone of tombstones.items) {
        if (clock.now() >= deadline) {
          report.incomplete = true;
          return;
        }
        await isolated(report, `deleted topic ${tombstone.sk}`, async () => {
          report.deletedObjects += await cleanDeletedTopic(tombstone);
          report.deletedTopics++;
        });
      }
    });
    await isolated(report, 'saving progress', () => saveProgress(progress));
    await isolated(report, 'recording the pass', () => recordLastRun(report, started));
    return report;
  }

  /**
   * Keeps how this pass went, one item overwritten by every pass. A janitor finishing alongside may
   * write first; either record is a true last run, so a lost race is not retried.
   */
  async function recordLastRun(report: JanitorReport, startedAt: number): Promise<void> {
    const previous = await meta.get(JANITOR_LAST_RUN_KEY, { consistent: true });
    const run: JanitorLastRun = {
      startedAt,
      finishedAt: clock.now(),
      partitions: report.partitions,
      skipped: report.skipped,
      retainedBatches: report.retainedBatches,
      compactedBatches: report.compactedBatches,
      deletedObjects: report.deletedObjects,
      deletedTopics: report.deletedTopics,
      failures: report.failures,
      incomplete: report.incomplete,
    };
    try {
      await meta.transact([
        { type: 'put', item: { ...JANITOR_LAST_RUN_KEY, ...run }, expect: previous?.v ?? 'absent' },
      ]);
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }

  /** The last completed pass of any janitor on this store, or undefined before the first. */
  async function lastRun(): Promise<JanitorLastRun | undefined> {
    const item = await meta.get(JANITOR_LAST_RUN_KEY, { consistent: true });
    if (item === undefined) return undefined;
    const number = (name: keyof JanitorLastRun) => {
      const value = item[name];
      return typeof value === 'number' ? value : 0;
    };
    return {
      startedAt: number('startedAt'),
      finishedAt: number('finishedAt'),
      partitions: number('partitions'),
      skipped: number('skipped'),
      retainedBatches: number('retainedBatches'),
      compactedBatches: number('compactedBatches'),
      deletedObjects: number('deletedObjects'),
      deletedTopics: number('deletedTopics'),
      failures: number('failures'),
      incomplete: item.incomplete === true,
    };
  }

  return { runOnce, lastRun };
}

export type Janitor = ReturnType<typeof createJanitor>;
