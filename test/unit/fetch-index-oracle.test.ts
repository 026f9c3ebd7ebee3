/**
 * Fetch pages against an oracle where the index reads are hardest: compacted entries (a batch
 * directory each) mixed with produce entries, entries of very different sizes (the follow-up page's
 * size is estimated from the smallest seen), offsets at, inside and right after entries, log starts
 * moved by deleteRecords and retention; on the memory and the SQLite metadata stores.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readBatchHeader, splitBatches } from '../../client/wire/record-batch.ts';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { SqliteMetaStore } from '../../lambdas/adapters/sqlite-meta-store.ts';
import { readIndexEntry } from '../../lambdas/core/batch-index.ts';
import { createJanitor } from '../../lambdas/core/janitor.ts';
import { FIRST_BATCH_SK, LAST_BATCH_SK, partitionPk } from '../../lambdas/core/layout.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import type { MetaStore } from '../../lambdas/ports/meta-store.ts';
import { seededRandom } from '../chaos/faults.ts';
import { expectedPage, type StoredBatch, storedBatches } from '../support/fetch-oracle.ts';
import { logFixture, record } from '../support/log-fixture.ts';

interface Spec {
  records: number;
  valueBytes: number;
}

type Store = 'memory' | 'sqlite';

const opened: { dir: string; store: SqliteMetaStore }[] = [];
afterAll(async () => {
  for (const { dir, store } of opened.splice(0)) {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

function metaOf(store: Store, clock: ManualClock): MetaStore {
  if (store === 'memory') return new MemoryMetaStore(clock);
  const dir = mkdtempSync(join(tmpdir(), 'fetch-oracle-'));
  const sqlite = new SqliteMetaStore({ path: join(dir, 'meta.db'), clock });
  opened.push({ dir, store: sqlite });
  return sqlite;
}

/**
 * A one-partition topic produced in phases; after each phase (when asked) the clock moves on and a
 * janitor with that target compacts what is old. The oracle's batches are read before any compaction.
 */
async function build(store: Store, phases: readonly { batches: readonly Spec[]; compactTarget?: number }[]) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const fixture = logFixture({ clock, meta: metaOf(store, clock) });
  await fixture.topics.createTopic('t', 1, { 'retention.ms': -1 });
  const stored: StoredBatch[] = [];
  let compactedRuns = 0;
  for (const phase of phases) {
    const from = stored.at(-1)?.nextOffset ?? 0;
    for (const { records, valueBytes } of phase.batches) {
      const value = 'v'.repeat(valueBytes);
      await fixture.log.produce({
        topic: 't',
        records: Array.from({ length: records }, () => record(value, { partition: 0 })),
      });
    }
    const whole = await fixture.log.fetchBatches({
      topic: 't',
      partition: 0,
      offset: from,
      maxBytes: 64 << 20,
    });
    stored.push(...storedBatches(whole.batches));
    if (phase.compactTarget !== undefined) {
      clock.advance(10_000);
      const janitor = createJanitor(fixture, {
        owner: 'janitor-1',
        compactAfterMs: 5_000,
        graceMs: 1_000,
        compactTargetBytes: phase.compactTarget,
      });
      compactedRuns += (await janitor.runOnce()).compactedRuns;
    }
  }
  const topic = await fixture.topics.requireTopic('t');
  const index = async () =>
    (
      await fixture.meta.query(partitionPk(topic.topicId, 0), {
        from: FIRST_BATCH_SK,
        to: LAST_BATCH_SK,
      })
    ).items.map(readIndexEntry);
  return { ...fixture, clock, stored, compactedRuns, index };
}

type Built = Awaited<ReturnType<typeof build>>;

/** Budgets around the batches at `offset`: one byte, each cumulative sum and one byte either side. */
function budgetsAt(stored: readonly StoredBatch[], offset: number, extra: readonly number[]): number[] {
  const first = stored.findIndex((b) => b.baseOffset <= offset && offset < b.nextOffset);
  const out = new Set<number>([1, ...extra]);
  let sum = 0;
  for (const batch of stored.slice(first, first + 6)) {
    sum += batch.byteLength;
    out.add(sum - 1);
    out.add(sum);
    out.add(sum + 1);
  }
  return [...out].filter((n) => n >= 1);
}

async function expectOracle(w: Built, offsets: Iterable<number>, extra: readonly number[], json = false) {
  const failures: unknown[] = [];
  for (const offset of offsets) {
    for (const maxBytes of budgetsAt(w.stored, offset, extra)) {
      const page = await w.log.fetchBatches({ topic: 't', partition: 0, offset, maxBytes });
      const want = expectedPage(w.stored, offset, maxBytes);
      const got = [...splitBatches(page.batches)].map((b) => readBatchHeader(b).baseOffset);
      const actual = { offset, maxBytes, got, next: page.nextOffset };
      const expected = {
        offset,
        maxBytes,
        got: want.map((b) => b.baseOffset),
        next: want.at(-1)?.nextOffset,
      };
      if (JSON.stringify(actual) !== JSON.stringify(expected)) failures.push({ actual, expected });
      if (json) {
        const records = await w.log.fetch({ topic: 't', partition: 0, offset, maxBytes });
        const offsetsGot = records.records.map((r) => r.offset);
        const wantOffsets = Array.from(
          { length: (want.at(-1)?.nextOffset ?? 0) - offset },
          (_, i) => offset + i,
        );
        if (
          JSON.stringify(offsetsGot) !== JSON.stringify(wantOffsets) ||
          records.nextOffset !== expected.next
        )
          failures.push({ json: true, offset, maxBytes, offsetsGot, next: records.nextOffset });
      }
    }
  }
  expect(failures.slice(0, 5)).toEqual([]);
}

const allOffsets = (w: Built, from = 0) =>
  Array.from({ length: (w.stored.at(-1)?.nextOffset ?? 0) - from }, (_, i) => from + i);

/** Mixed sizes: tiny, large, runs of tiny after a large one and the other way round. */
function mixed(seed: number, n: number): Spec[] {
  const next = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const r = next();
    if (i % 17 === 5) return { records: 1, valueBytes: 30_000 };
    if (r < 0.6) return { records: 1 + Math.floor(next() * 3), valueBytes: 1 + Math.floor(next() * 8) };
    if (r < 0.9) return { records: 1 + Math.floor(next() * 5), valueBytes: 50 + Math.floor(next() * 800) };
    return { records: 1, valueBytes: 5_000 + Math.floor(next() * 5_000) };
  });
}

describe.each<Store>(['memory', 'sqlite'])('fetch pages against an oracle (%s store)', (store) => {
  it('compacted entries (full directories) mixed with produce entries: every offset, budgets at every boundary', async () => {
    // Prepare: compacted runs of many small batches, big entries left alone, uncompacted tail
    const w = await build(store, [
      { batches: mixed(1, 60), compactTarget: 16 * 1024 },
      { batches: mixed(2, 40), compactTarget: 4 * 1024 },
      { batches: mixed(3, 30) },
    ]);
    expect(w.compactedRuns).toBeGreaterThan(0);
    const entries = await w.index();
    expect(entries.some((e) => e.directory !== undefined)).toBe(true);
    expect(entries.some((e) => e.directory === undefined)).toBe(true);
    const total = w.stored.reduce((s, b) => s + b.byteLength, 0);
    // Act / Assess
    await expectOracle(w, allOffsets(w), [100, 2_500, 31_000, 70_000, total, total + 1], store === 'memory');
  });

  it('one huge entry then hundreds of tiny ones, and tiny ones then a huge one (the limit estimate undershoots)', async () => {
    // Prepare
    const tiny = (n: number) => Array.from({ length: n }, () => ({ records: 1, valueBytes: 1 }));
    const w = await build(store, [
      {
        batches: [
          { records: 1, valueBytes: 60_000 },
          ...tiny(200),
          { records: 1, valueBytes: 60_000 },
          ...tiny(150),
        ],
      },
    ]);
    const total = w.stored.reduce((s, b) => s + b.byteLength, 0);
    const hw = w.stored.at(-1)?.nextOffset ?? 0;
    expect(hw).toBe(352);
    const offsets = [0, 1, 2, 3, 50, 199, 200, 201, 202, 203, 300, 350, 351];
    // Act / Assess
    await expectOracle(w, offsets, [61_000, 64_000, 70_000, 120_000, 130_000, total - 1, total]);
  });

  it('compacted entries the page starts at, inside, and right after, with tiny batches after a big compacted entry', async () => {
    // Prepare: tiny batches compacted into entries, then left as produce entries
    const tiny = (n: number, bytes: number) =>
      Array.from({ length: n }, () => ({ records: 2, valueBytes: bytes }));
    const w = await build(store, [
      { batches: [...tiny(90, 3), ...tiny(90, 400)], compactTarget: 64 * 1024 },
      { batches: [...tiny(70, 1), { records: 3, valueBytes: 9_000 }, ...tiny(70, 2)] },
    ]);
    const entries = await w.index();
    const starts = entries.map((e) => e.baseOffset);
    const ends = entries.map((e) => e.baseOffset + e.recordCount);
    const offsets = new Set<number>();
    for (const s of [...starts, ...ends]) for (const d of [-1, 0, 1, 3]) offsets.add(s + d);
    const hw = w.stored.at(-1)?.nextOffset ?? 0;
    // Act / Assess
    await expectOracle(
      w,
      [...offsets].filter((o) => o >= 0 && o < hw),
      [200, 4_000, 40_000, 100_000, 1 << 20],
    );
  });

  it('after deleteRecords moved the log start inside an entry, and retention dropped the entries below it', async () => {
    // Prepare
    const w = await build(store, [
      { batches: mixed(4, 50), compactTarget: 8 * 1024 },
      { batches: mixed(5, 30) },
    ]);
    const entries = await w.index();
    const compacted = entries.find((e) => e.directory !== undefined && e.recordCount > 4 && e.baseOffset > 0);
    expect(compacted).toBeDefined();
    const cut = (compacted?.baseOffset ?? 0) + 3;
    await w.log.deleteRecords({ topic: 't', partitions: [{ partition: 0, offset: cut }] });
    // Act / Assess: before the janitor drops the entries below the cut
    expect((await w.log.offsets('t', 0)).logStartOffset).toBe(cut);
    await expectOracle(w, allOffsets(w, cut).slice(0, 60), [100, 9_000, 100_000], store === 'memory');
    // Act / Assess: after the janitor ran (retention of deleted records, and maybe compaction again)
    w.clock.advance(10_000);
    await createJanitor(w, { owner: 'janitor-2', compactAfterMs: 5_000, graceMs: 1_000 }).runOnce();
    expect((await w.index())[0]?.baseOffset).toBeGreaterThan(0);
    const start = (await w.log.offsets('t', 0)).logStartOffset;
    expect(start).toBe(cut);
    await expectOracle(w, allOffsets(w, start), [1_000, 40_000]);
    // A second cut exactly at an entry's start
    const next = (await w.index()).find((e) => e.baseOffset > start + 5);
    if (next !== undefined) {
      await w.log.deleteRecords({ topic: 't', partitions: [{ partition: 0, offset: next.baseOffset }] });
      await expectOracle(w, allOffsets(w, next.baseOffset).slice(0, 20), [1, 5_000]);
    }
  });
});

describe('fetch through sparse directories (entries of more than 256 batches)', () => {
  it('serves whole contiguous batches from the one holding the offset, within maxBytes, never past the high watermark', async () => {
    // Prepare: 1,200 tiny batches compacted into one entry, then more tiny ones
    const w = await build('memory', [
      {
        batches: Array.from({ length: 1200 }, (_, i) => ({ records: 1 + (i % 3), valueBytes: 1 + (i % 50) })),
        compactTarget: 8 << 20,
      },
      { batches: Array.from({ length: 300 }, () => ({ records: 1, valueBytes: 1 })), compactTarget: 8 << 20 },
      { batches: Array.from({ length: 20 }, () => ({ records: 1, valueBytes: 5 })) },
    ]);
    const hw = w.stored.at(-1)?.nextOffset ?? 0;
    const failures: unknown[] = [];
    for (let offset = 0; offset < hw; offset += 3) {
      for (const maxBytes of [1, 150, 1_000, 10_000, 1 << 20]) {
        const page = await w.log.fetchBatches({ topic: 't', partition: 0, offset, maxBytes });
        const batches = [...splitBatches(page.batches)].map((b) => readBatchHeader(b));
        const ok =
          batches.length > 0 &&
          (batches[0]?.baseOffset ?? Infinity) <= offset &&
          (batches[0]?.baseOffset ?? 0) + (batches[0]?.lastOffsetDelta ?? 0) >= offset &&
          (batches.length === 1 || page.batches.byteLength <= maxBytes) &&
          batches.every(
            (b, i) =>
              i === 0 ||
              b.baseOffset === (batches[i - 1]?.baseOffset ?? 0) + (batches[i - 1]?.lastOffsetDelta ?? 0) + 1,
          ) &&
          page.nextOffset <= hw &&
          page.nextOffset === (batches.at(-1)?.baseOffset ?? 0) + (batches.at(-1)?.lastOffsetDelta ?? 0) + 1;
        if (!ok)
          failures.push({ offset, maxBytes, bases: batches.map((b) => b.baseOffset), next: page.nextOffset });
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
    // A consumer reading on with 10 KB pages sees every offset once
    let offset = 0;
    let pages = 0;
    while (offset < hw) {
      const page = await w.log.fetch({ topic: 't', partition: 0, offset, maxBytes: 10_000 });
      expect(page.records[0]?.offset).toBe(offset);
      expect(page.records.at(-1)?.offset).toBe(page.nextOffset - 1);
      offset = page.nextOffset;
      pages++;
    }
    expect(pages).toBeGreaterThan(1);
  });
});
