/**
 * The janitor (DESIGN §7): retention, compaction of small objects, garbage collection of objects, and
 * clean-up of deleted topics. It runs on a schedule, anywhere; a per-partition lease keeps two janitors
 * off the same partition, and every change is a compare-and-set, so a janitor that dies at any point
 * leaves nothing inconsistent and the next one simply carries on.
 *
 * Invariants:
 * - Retention only moves logStartOffset forward, never past the high watermark, and deletes exactly
 *   the index entries below it, in the transaction that moves it.
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
 *   Readers racing a deletion re-read the index once (fetch.ts), so grace protects the slow ones only.
 */
import type { Clock } from '../ports/clock.ts';
import { type Item, type MetaStore, queryAll, type TransactOp } from '../ports/meta-store.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import {
  encodeBatchDirectory,
  type IndexAttributes,
  type IndexEntry,
  readIndexEntry,
} from './batch-index.ts';
import { retryOnConflict } from './cas.ts';
import { ConditionFailedError, StreamError } from './errors.ts';
import {
  batchSk,
  DATA_PREFIX,
  DELETED_TOPICS_PK,
  FIRST_BATCH_SK,
  isOlderObject,
  isSharedObject,
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
import { type PartitionMeta, partitionAttributes, readPartitionMeta } from './partition-state.ts';
import { COMMIT_WINDOW_MS } from './produce.ts';
import { readBatchHeader, splitBatches } from './record-batch.ts';
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
  /** True when the deadline stopped the run before it covered everything. */
  incomplete: boolean;
}

/** A swap must land within this long after its object was written; GC waits at least as long. */
export const COMPACTION_WINDOW_MS = 60_000;
/** One transaction: the partition item, the entry that becomes the run's, and the rest deleted. */
const MAX_RUN_ENTRIES = 98;

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

  /** Retention by time and size: drops the oldest entries, moving logStartOffset in the same step. */
  async function retain(topic: TopicDescription, partition: number): Promise<number> {
    const retentionMs = topic.config['retention.ms'];
    const retentionBytes = topic.config['retention.bytes'];
    if (retentionMs < 0 && retentionBytes < 0) return 0;
    let removedTotal = 0;
    for (;;) {
      const removed = await retryOnConflict(
        { clock, what: `retention of ${topic.name}/${partition}` },
        async () => {
          const { item, state } = await readState(topic.topicId, partition);
          if (item === undefined) return 0;
          const entries = await readIndex(topic.topicId, partition);
          const cutoff = clock.now() - retentionMs;
          let bytes = state.bytes;
          const doomed: IndexEntry[] = [];
          for (const [i, entry] of entries.entries()) {
            if (doomed.length === MAX_RUN_ENTRIES) break;
            const expired = retentionMs >= 0 && entry.maxTimestamp < cutoff;
            // Size retention never removes the newest entry: a partition keeps its latest data.
            const oversized = retentionBytes >= 0 && bytes > retentionBytes && i < entries.length - 1;
            if (!expired && !oversized) break;
            doomed.push(entry);
            bytes -= entry.byteLength;
          }
          const last = doomed.at(-1);
          if (last === undefined) return 0;
          const remaining = entries.slice(doomed.length);
          const next: PartitionMeta = {
            ...state,
            logStartOffset: Math.min(
              state.highWatermark,
              Math.max(state.logStartOffset, last.baseOffset + last.recordCount),
            ),
            bytes: Math.max(0, bytes),
            batches: state.batches - doomed.length,
            oldestSharedObject: oldestShared(remaining),
          };
          await meta.transact([
            {
              type: 'put',
              item: { ...partitionKey(topic.topicId, partition), ...partitionAttributes(next) },
              expect: item.v,
            },
            ...doomed.map((entry): TransactOp => ({ type: 'delete', key: entry.item, expect: entry.item.v })),
          ]);
          return doomed.length;
        },
      );
      removedTotal += removed;
      if (removed < MAX_RUN_ENTRIES) return removedTotal;
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
    try {
      await retryOnConflict(
        { clock, what: `compaction of ${topic.name}/${partition}`, maxAttempts: 10 },
        async () => {
          if (clock.now() - written > COMPACTION_WINDOW_MS) {
            throw new StreamError('UNAVAILABLE', 'compaction swap ran out of time; the object is left to GC');
          }
          const { item, state } = await readState(topic.topicId, partition);
          if (item === undefined) throw new ConditionFailedError([0]);
          const entries = await readIndex(topic.topicId, partition);
          const ids = new Set(run.map((entry) => entry.item.sk));
          // The partition's oldest shared object once the run points at the new object instead.
          const after = entries.filter((entry) => !ids.has(entry.item.sk));
          const next: PartitionMeta = {
            ...state,
            batches: state.batches - (run.length - 1),
            oldestSharedObject: oldestShared(after),
          };
          const { item: firstItem } = first;
          await meta.transact([
            {
              type: 'put',
              item: { ...partitionKey(topic.topicId, partition), ...partitionAttributes(next) },
              expect: item.v,
            },
            {
              type: 'put',
              item: { pk: firstItem.pk, sk: batchSk(first.baseOffset), ...covered },
              expect: firstItem.v,
            },
            ...run
              .slice(1)
              .map((entry): TransactOp => ({ type: 'delete', key: entry.item, expect: entry.item.v })),
          ]);
        },
      );
      return true;
    } catch (error) {
      // The old entries changed (retention took them, another janitor compacted them): the new object
      // is unreferenced and GC removes it after the window. Nothing else to undo.
      if (error instanceof StreamError && (error.code === 'CONFLICT' || error.code === 'UNAVAILABLE'))
        return false;
      throw error;
    }
  }

  /** Deletes this partition's owned objects that its index no longer points at. */
  async function collectOwned(
    topicId: string,
    partition: number,
    entries: readonly IndexEntry[],
  ): Promise<number> {
    const referenced = new Set(entries.map((entry) => entry.objectKey));
    const horizon = clock.now() - COMPACTION_WINDOW_MS - graceMs;
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
        if (await compactRun(topic, partition, run)) {
          report.compactedRuns++;
          report.compactedBatches += run.length;
        }
      }
      report.deletedObjects += await collectOwned(
        topic.topicId,
        partition,
        await readIndex(topic.topicId, partition),
      );
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
   * Shared objects: delete those older than every live partition's oldest shared object, and older
   * than the commit window plus grace (a commit in flight can still land until then).
   */
  async function collectShared(live: readonly TopicDescription[]): Promise<number> {
    let oldest: string | undefined;
    for (const topic of live) {
      for (let first = 0; first < topic.partitions; first += 100) {
        const keys = Array.from({ length: Math.min(100, topic.partitions - first) }, (_, i) =>
          partitionKey(topic.topicId, first + i),
        );
        for (const item of await meta.batchGet(keys, { consistent: true })) {
          const candidate = readPartitionMeta(item).oldestSharedObject;
          if (candidate !== undefined && (oldest === undefined || isOlderObject(candidate, oldest)))
            oldest = candidate;
        }
      }
    }
    const horizon = clock.now() - COMMIT_WINDOW_MS - graceMs;
    return deleteListed(
      DATA_PREFIX,
      (key) => objectKeyTime(key) < horizon && (oldest === undefined || isOlderObject(key, oldest)),
    );
  }

  /** One pass over everything, stopping early at `deadline` (epoch ms); the next pass carries on. */
  async function runOnce(deadline = Number.POSITIVE_INFINITY): Promise<JanitorReport> {
    const report: JanitorReport = {
      partitions: 0,
      skipped: 0,
      retainedBatches: 0,
      compactedRuns: 0,
      compactedBatches: 0,
      deletedObjects: 0,
      deletedTopics: 0,
      incomplete: false,
    };
    const live: TopicDescription[] = [];
    for (const name of await topics.listTopics()) {
      try {
        live.push(await topics.requireTopic(name));
      } catch (error) {
        if (!(error instanceof StreamError) || error.code !== 'TOPIC_NOT_FOUND') throw error;
      }
    }
    // Partitions in a random rotation, so runs cut short by the deadline still cover everything over time.
    const work = live.flatMap((topic) =>
      Array.from({ length: topic.partitions }, (_, partition) => ({ topic, partition })),
    );
    const start = work.length === 0 ? 0 : Math.floor(Math.random() * work.length);
    for (let k = 0; k < work.length; k++) {
      if (clock.now() >= deadline) {
        report.incomplete = true;
        return report;
      }
      const { topic, partition } = work[(start + k) % work.length] as {
        topic: TopicDescription;
        partition: number;
      };
      await workPartition(topic, partition, report);
      report.partitions++;
    }
    const tombstones = await meta.query(DELETED_TOPICS_PK, { consistent: true, limit: 100 });
    for (const tombstone of tombstones.items) {
      if (clock.now() >= deadline) {
        report.incomplete = true;
        return report;
      }
      report.deletedObjects += await cleanDeletedTopic(tombstone);
      report.deletedTopics++;
    }
    if (clock.now() < deadline) report.deletedObjects += await collectShared(live);
    return report;
  }

  return { runOnce };
}

export type Janitor = ReturnType<typeof createJanitor>;
