import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readBatchHeader, splitBatches } from '../../client/wire/record-batch.ts';
import { itemSize } from '../../lambdas/adapters/meta-rules.ts';
import { MAX_DIRECTORY_POINTS } from '../../lambdas/core/batch-index.ts';
import { createJanitor } from '../../lambdas/core/janitor.ts';
import {
  COMPACTED_PREFIX,
  DATA_PREFIX,
  FIRST_BATCH_SK,
  LAST_BATCH_SK,
  partitionPk,
} from '../../lambdas/core/layout.ts';
import type { FetchedRecord } from '../../lambdas/core/log-types.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import { attributesOf, type Item } from '../../lambdas/ports/meta-store.ts';
import { failure } from '../support/failure.ts';
import { asText, logFixture, record } from '../support/log-fixture.ts';
import { TappedMetaStore } from '../support/tapped-stores.ts';

async function world(config: Record<string, unknown> = {}, partitions = 1) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const fixture = logFixture({ clock });
  await fixture.topics.createTopic('t', partitions, config);
  const janitor = createJanitor(fixture, { owner: 'janitor-1', compactAfterMs: 5_000, graceMs: 1_000 });
  return { ...fixture, clock, janitor };
}

async function readAll(log: ReturnType<typeof logFixture>['log'], partition = 0): Promise<FetchedRecord[]> {
  const out: FetchedRecord[] = [];
  const { logStartOffset, highWatermark } = await log.offsets('t', partition);
  for (let offset = logStartOffset; offset < highWatermark; ) {
    const page = await log.fetch({ topic: 't', partition, offset });
    out.push(...page.records);
    offset = page.nextOffset;
  }
  return out;
}

type World = Awaited<ReturnType<typeof world>>;

async function indexItems({ meta, topics }: World): Promise<Item[]> {
  const t = await topics.requireTopic('t');
  return (await meta.query(partitionPk(t.topicId, 0), { from: FIRST_BATCH_SK, to: LAST_BATCH_SK })).items;
}

/**
 * Reads partition 0 from its start with `maxBytes`, in both forms, checking every page: whole batches
 * from the batch holding the offset, within max_bytes unless the page is one batch; the JSON page a
 * prefix of the binary one from the offset; each page going on where the last one ended. Returns the
 * values in offset order and the most bytes one fetch read from the object store.
 */
async function consume({ log, objects }: World, maxBytes: number) {
  const { logStartOffset, highWatermark } = await log.offsets('t', 0);
  const values: (string | null)[] = [];
  let mostRead = 0;
  for (let offset = logStartOffset; offset < highWatermark; ) {
    objects.reset();
    const raw = await log.fetchBatches({ topic: 't', partition: 0, offset, maxBytes });
    mostRead = Math.max(mostRead, objects.counts.getBytes);
    const batches = [...splitBatches(raw.batches)].map((bytes) => ({ bytes, ...readBatchHeader(bytes) }));
    expect(batches.length).toBeGreaterThan(0);
    if (batches.length > 1) expect(raw.batches.byteLength).toBeLessThanOrEqual(maxBytes);
    const first = batches[0]!;
    expect(first.baseOffset).toBeLessThanOrEqual(offset);
    expect(first.baseOffset + first.lastOffsetDelta).toBeGreaterThanOrEqual(offset);
    let next = first.baseOffset;
    for (const batch of batches) {
      expect(batch.baseOffset).toBe(next);
      next = batch.baseOffset + batch.lastOffsetDelta + 1;
    }
    expect(raw.nextOffset).toBe(next);
    const page = await log.fetch({ topic: 't', partition: 0, offset, maxBytes });
    expect(page.records.length).toBeGreaterThan(0);
    expect(page.records.map((r) => r.offset)).toEqual(
      Array.from({ length: page.records.length }, (_, i) => offset + i),
    );
    expect(page.nextOffset).toBe(offset + page.records.length);
    expect(page.nextOffset).toBeLessThanOrEqual(raw.nextOffset);
    values.push(...page.records.map((r) => asText(r.value)));
    offset = page.nextOffset;
  }
  expect(values).toHaveLength(highWatermark - logStartOffset);
  return { values, mostRead };
}

describe('janitor: retention', () => {
  it('drops batches older than retention.ms, the newest included, and production goes on at the high watermark', async () => {
    // Prepare: three batches, one minute apart, kept for 90 s
    const { log, clock, janitor, topics } = await world({ 'retention.ms': 90_000 });
    for (const value of ['a', 'b', 'c']) {
      await log.produce({ topic: 't', records: [record(value, { timestamp: clock.now() })] });
      clock.advance(60_000);
    }
    // Act: at +180 s, 'a' (0 s) and 'b' (60 s) are past 90 s; 'c' (120 s) is not
    await janitor.runOnce();
    // Assess
    expect((await readAll(log)).map((r) => asText(r.value))).toEqual(['c']);
    const error = await failure(log.fetch({ topic: 't', partition: 0, offset: 0 }));
    expect(error).toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
      details: { logStartOffset: 2, highWatermark: 3 },
    });
    clock.advance(60_000);
    await janitor.runOnce();
    expect(await log.offsets('t', 0)).toEqual({ logStartOffset: 3, highWatermark: 3 });
    const { offsets } = await log.produce({ topic: 't', records: [record('d')] });
    expect(offsets).toEqual([{ partition: 0, offset: 3 }]);
    const state = (await topics.describeTopic('t')).partitionStates[0];
    expect(state).toMatchObject({ logStartOffset: 3, highWatermark: 4, batches: 1 });
  });

  it('drops the oldest batches while the partition holds more than retention.bytes, never the newest', async () => {
    const { log, janitor, topics } = await world({ 'retention.bytes': 250, 'retention.ms': -1 });
    for (let i = 0; i < 6; i++) await log.produce({ topic: 't', records: [record('x'.repeat(40))] });
    const before = (await topics.describeTopic('t')).partitionStates[0]!;
    await janitor.runOnce();
    const after = (await topics.describeTopic('t')).partitionStates[0]!;
    expect(before.bytes).toBeGreaterThan(250);
    expect(after.bytes).toBeLessThanOrEqual(250);
    expect(after.logStartOffset).toBeGreaterThan(0);
    expect(after.highWatermark).toBe(6);
    expect((await readAll(log)).map((r) => r.offset)).toEqual(
      Array.from({ length: 6 - after.logStartOffset }, (_, i) => after.logStartOffset + i),
    );
  });
});

describe('janitor: compaction', () => {
  it('compacts 200+ small requests into a few batches per partition with byte-identical records', async () => {
    // Prepare
    const { log, clock, janitor, topics, objects } = await world({ 'retention.ms': -1 }, 2);
    for (let i = 0; i < 220; i++) {
      await log.produce({
        topic: 't',
        records: [record(`v${i}`, { partition: i % 2, key: `k${i}`, headers: { n: `${i}` } })],
      });
    }
    const before = [await readAll(log, 0), await readAll(log, 1)];
    clock.advance(10_000);
    // Act: compact while fetches run concurrently
    const fetching = Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const page = await log.fetch({ topic: 't', partition: i % 2, offset: i * 3 });
        expect(page.records[0]?.offset).toBe(i * 3);
        expect(page.records.map((r) => asText(r.value))).toEqual(
          before[i % 2]!.slice(i * 3, i * 3 + page.records.length).map((r) => asText(r.value)),
        );
      }),
    );
    const report = await janitor.runOnce();
    await fetching;
    // Assess
    expect(report.compactedBatches).toBeGreaterThanOrEqual(220);
    const details = await topics.describeTopic('t');
    for (const state of details.partitionStates) expect(state.batches).toBeLessThanOrEqual(10);
    expect([await readAll(log, 0), await readAll(log, 1)]).toEqual(before);
    // After the windows pass, the produce objects go: nothing points at them any more.
    clock.advance(3 * 60_000);
    await janitor.runOnce();
    expect((await objects.list(DATA_PREFIX)).objects).toEqual([]);
    expect([await readAll(log, 0), await readAll(log, 1)]).toEqual(before);
  });

  it('leaves fresh batches alone until they are old enough', async () => {
    const { log, janitor, topics } = await world({}, 1);
    for (let i = 0; i < 5; i++) await log.produce({ topic: 't', records: [record(`${i}`)] });
    await janitor.runOnce();
    expect((await topics.describeTopic('t')).partitionStates[0]?.batches).toBe(5);
  });
});

describe('janitor: compaction and fetch sizes', () => {
  const sizes = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 3_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 20_000, max: 70_000 }) },
  );

  it('serves pages within max_bytes that cover every offset exactly once, before and after compaction', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(sizes, { minLength: 1, maxLength: 4 }), {
          minLength: 1,
          maxLength: 40,
          size: 'max',
        }),
        fc.constantFrom(4 * 1024, 64 * 1024, 8 * 1024 * 1024),
        fc.constantFrom(1, 700, 9_000, 100_000, 1024 * 1024),
        async (requests, compactTargetBytes, maxBytes) => {
          // Prepare: requests of one batch each, of 1 to 4 records
          const w = await world({ 'retention.ms': -1 });
          const janitor = createJanitor(w, { owner: 'j', compactAfterMs: 5_000, compactTargetBytes });
          const expected: string[] = [];
          for (const request of requests) {
            const values = request.map((size, i) => `${expected.length + i}:`.padEnd(size, 'v'));
            await w.log.produce({ topic: 't', records: values.map((value) => record(value)) });
            expected.push(...values);
          }
          // Act and Assess: before compaction, after one pass, and after a second pass that compacts
          // compacted entries again
          expect((await consume(w, maxBytes)).values).toEqual(expected);
          for (let pass = 0; pass < 2; pass++) {
            w.clock.advance(10_000);
            await janitor.runOnce();
            expect((await consume(w, maxBytes)).values).toEqual(expected);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps the batch directory of an entry of thousands of batches within one read unit, and reads only around the page', async () => {
    // Prepare: 3,000 tiny requests and a few of 40 KB, compacted into small entries and then again
    // into one: a directory cannot list every batch
    const w = await world({ 'retention.ms': -1 });
    const expected: string[] = [];
    for (let i = 0; i < 3_000; i++) {
      const value = `${i}:`.padEnd(i % 500 === 7 ? 40_000 : i % 40, 'v');
      await w.log.produce({ topic: 't', records: [record(value)] });
      expected.push(value);
    }
    const small = createJanitor(w, { owner: 'small', compactTargetBytes: 16 * 1024 });
    w.clock.advance(10_000);
    await small.runOnce();
    expect((await indexItems(w)).length).toBeGreaterThan(10);
    w.clock.advance(10_000);
    await w.janitor.runOnce();
    // Assess: one entry, its item under 4 KB
    const items = await indexItems(w);
    expect(items).toHaveLength(1);
    const directory = items[0]!.directory as Uint8Array;
    expect((directory.byteLength - 1) / 8).toBeLessThanOrEqual(MAX_DIRECTORY_POINTS);
    expect(itemSize(attributesOf(items[0]!))).toBeLessThan(4096);
    // Act and Assess: pages cover everything; a fetch reads at most max_bytes, or the one stretch
    // between directory points that holds its offset (one batch, or under two spacings)
    const spacing = Math.ceil((2 * (items[0]!.byteLength as number)) / (MAX_DIRECTORY_POINTS - 1));
    for (const maxBytes of [1, 5_000, 100_000, 1024 * 1024]) {
      const { values, mostRead } = await consume(w, maxBytes);
      expect(values).toEqual(expected);
      expect(mostRead).toBeLessThanOrEqual(Math.max(maxBytes, 2 * spacing, 40_100));
    }
    w.objects.reset();
    const middle = await w.log.fetch({ topic: 't', partition: 0, offset: 2_500, maxBytes: 10_000 });
    expect(middle.records[0]?.offset).toBe(2_500);
    expect(w.objects.counts.getBytes).toBeLessThanOrEqual(2 * spacing);
  });

  it('serves entries compacted before batch directories existed, whole but within max_bytes, then rewrites them with one', async () => {
    // Prepare: compacted entries, with their directories removed as the old code wrote them
    const w = await world({ 'retention.ms': -1 });
    const expected: string[] = [];
    for (let i = 0; i < 300; i++) {
      const value = `${i}:`.padEnd(3_000, 'v');
      await w.log.produce({ topic: 't', records: [record(value)] });
      expected.push(value);
    }
    w.clock.advance(10_000);
    await w.janitor.runOnce();
    const compacted = await indexItems(w);
    expect(compacted.every((item) => (item.objectKey as string).startsWith(COMPACTED_PREFIX))).toBe(true);
    await w.meta.transact(
      compacted.map((item) => {
        const { directory: _directory, ...old } = attributesOf(item);
        return { type: 'put' as const, item: old, expect: item.v };
      }),
    );
    // Act and Assess: fetch reads such an entry whole and serves only what fits
    const legacy = await consume(w, 64 * 1024);
    expect(legacy.values).toEqual(expected);
    expect(legacy.mostRead).toBeGreaterThan(64 * 1024);
    // Act: the next pass rewrites them, with a directory
    w.clock.advance(10_000);
    const report = await w.janitor.runOnce();
    // Assess
    expect(report.compactedRuns).toBeGreaterThan(0);
    const rewritten = await indexItems(w);
    expect(rewritten.every((item) => item.directory instanceof Uint8Array)).toBe(true);
    const after = await consume(w, 64 * 1024);
    expect(after.values).toEqual(expected);
    expect(after.mostRead).toBeLessThanOrEqual(64 * 1024);
    w.clock.advance(10_000);
    expect((await w.janitor.runOnce()).compactedRuns).toBe(0);
  });
});

describe('janitor: garbage collection and deleted topics', () => {
  it('removes orphans after the commit window and everything of a deleted topic, keeping live data', async () => {
    // Prepare: an orphan upload, a live topic, a deleted topic
    const { log, clock, janitor, topics, objects, meta } = await world({ 'retention.ms': -1 }, 1);
    await objects.put(`${DATA_PREFIX}00/01ARZ3NDEKTSV4RRFFQ69G5FAV.sbo`, new Uint8Array([1])); // created in 2016
    await topics.createTopic('gone', 2);
    await log.produce({
      topic: 'gone',
      records: [record('a', { partition: 0 }), record('b', { partition: 1 })],
    });
    const goneId = (await topics.requireTopic('gone')).topicId;
    await log.produce({ topic: 't', records: [record('keep')] });
    await topics.deleteTopic('gone');
    // Act
    clock.advance(10_000);
    await janitor.runOnce();
    clock.advance(3 * 60_000);
    const report = await janitor.runOnce();
    // Assess
    expect(report.deletedTopics).toBeGreaterThanOrEqual(0);
    expect((await meta.query(partitionPk(goneId, 0))).items).toEqual([]);
    expect((await meta.query(partitionPk(goneId, 1))).items).toEqual([]);
    expect((await meta.query('deleted-topics')).items).toEqual([]);
    const remaining = (await objects.list('')).objects.map((o) => o.key);
    expect(remaining).not.toContain(`${DATA_PREFIX}00/01ARZ3NDEKTSV4RRFFQ69G5FAV.sbo`);
    expect((await readAll(log)).map((r) => asText(r.value))).toEqual(['keep']);
    // Every index entry points at an object that exists, and every object is pointed at.
    const t = await topics.requireTopic('t');
    const index = await meta.query(partitionPk(t.topicId, 0), { from: FIRST_BATCH_SK, to: LAST_BATCH_SK });
    expect(new Set(index.items.map((i) => i.objectKey))).toEqual(new Set(remaining));
  });

  it('keeps a second janitor off a partition while the first holds its lease, and takes over after expiry', async () => {
    const { log, clock, meta, objects, topics } = await world({}, 1);
    for (let i = 0; i < 4; i++) await log.produce({ topic: 't', records: [record(`${i}`)] });
    clock.advance(10_000);
    const first = createJanitor({ meta, objects, clock, topics }, { owner: 'a', leaseMs: 30_000 });
    const second = createJanitor({ meta, objects, clock, topics }, { owner: 'b', leaseMs: 30_000 });
    // Simulate a crash of `a` mid-work: it holds the lease without finishing.
    const t = await topics.requireTopic('t');
    await meta.transact([
      {
        type: 'put',
        item: {
          pk: partitionPk(t.topicId, 0),
          sk: 'lease',
          owner: 'a',
          epoch: 1,
          expiresAt: clock.now() + 30_000,
        },
        expect: 'absent',
      },
    ]);
    expect((await second.runOnce()).skipped).toBe(1);
    clock.advance(31_000);
    const report = await second.runOnce();
    expect(report.skipped).toBe(0);
    expect(report.compactedBatches).toBe(4);
    expect((await first.runOnce()).skipped).toBe(0);
  });
});

describe('janitor: cost of a topic without retention', () => {
  it('reads the partition item and one index entry, not the whole index, when nothing is below the log start', async () => {
    // Prepare: 40 single-record batches under retention off, 10 of them deleted and cleaned up
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const meta = new TappedMetaStore(clock);
    const fixture = logFixture({ clock, meta });
    await fixture.topics.createTopic('t', 1, { 'retention.ms': -1, 'retention.bytes': -1 });
    for (let i = 0; i < 40; i++)
      await fixture.log.produce({ topic: 't', records: [record(`v${i}`, { partition: 0 })] });
    await fixture.log.deleteRecords({ topic: 't', partitions: [{ partition: 0, offset: 10 }] });
    const janitor = createJanitor(fixture, { owner: 'j', compactAfterMs: 60_000 });
    await janitor.runOnce();
    const indexReads = async () => {
      let pages = 0;
      meta.tap = async (call) => {
        if (call.op === 'query' && call.pk.startsWith('part#') && call.options.limit !== 1) pages++;
      };
      await janitor.runOnce();
      meta.tap = undefined;
      return pages;
    };
    // Act
    const pages = await indexReads();
    // Assess: compaction's and garbage collection's reads of the 30 entries left; retention only
    // probes the first entry (a whole read more before)
    expect(pages).toBe(2);
    expect(await readAll(fixture.log)).toHaveLength(30);
  });
});
