/**
 * Deleting records (Kafka's DeleteRecords): the log start moves forward, readers see it at once, and
 * the janitor removes what is wholly below it the way retention does.
 */
import { describe, expect, it } from 'vitest';
import { readIndexEntry } from '../../lambdas/core/batch-index.ts';
import { createGroupService } from '../../lambdas/core/groups.ts';
import { createJanitor } from '../../lambdas/core/janitor.ts';
import { DATA_PREFIX, FIRST_BATCH_SK, LAST_BATCH_SK, partitionPk } from '../../lambdas/core/layout.ts';
import { COMMIT_WINDOW_MS } from '../../lambdas/core/produce.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import { failure } from '../support/failure.ts';
import { asText, logFixture, record } from '../support/log-fixture.ts';
import { TappedMetaStore, TappedObjectStore } from '../support/tapped-stores.ts';

/** Topic `t` without retention, and four requests of two records each to partition 0: offsets 0-7. */
async function world(partitions = 1) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const meta = new TappedMetaStore(clock);
  const tappedObjects = new TappedObjectStore();
  const fixture = logFixture({ clock, meta, objects: tappedObjects });
  await fixture.topics.createTopic('t', partitions, { 'retention.ms': -1, 'retention.bytes': -1 });
  for (let i = 0; i < 4; i++) {
    await fixture.log.produce({
      topic: 't',
      records: [
        record(`v${2 * i}`, { partition: 0, timestamp: 1000 * i }),
        record(`v${2 * i + 1}`, { partition: 0, timestamp: 1000 * i }),
      ],
    });
    clock.advance(1);
  }
  // Compaction would move the data into new objects; these tests watch the objects produce wrote.
  const janitor = createJanitor(fixture, {
    owner: 'janitor-1',
    compactAfterMs: Number.MAX_SAFE_INTEGER,
    graceMs: 1_000,
  });
  return { ...fixture, clock, janitor, tappedMeta: meta, tappedObjects };
}

type World = Awaited<ReturnType<typeof world>>;

async function indexEntries({ meta, topics }: World) {
  const t = await topics.requireTopic('t');
  const { items } = await meta.query(partitionPk(t.topicId, 0), { from: FIRST_BATCH_SK, to: LAST_BATCH_SK });
  return items.map(readIndexEntry);
}

async function indexBaseOffsets(world: World): Promise<number[]> {
  return (await indexEntries(world)).map((entry) => entry.baseOffset);
}

describe('deleting records moves the log start', () => {
  it('moves logStartOffset to the offset: fetch below it is out of range, fetch from it starts there', async () => {
    // Prepare
    const { log } = await world();
    // Act: 5 is inside the third request's batch (offsets 4-5)
    const result = await log.deleteRecords({ topic: 't', partitions: [{ partition: 0, offset: 5 }] });
    // Assess
    expect(result).toEqual({ topic: 't', partitions: [{ partition: 0, logStartOffset: 5 }] });
    expect(await log.offsets('t', 0)).toEqual({ logStartOffset: 5, highWatermark: 8 });
    const below = await failure(log.fetch({ topic: 't', partition: 0, offset: 4 }));
    expect(below).toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
      message: 'offset 4 is outside t/0: valid offsets are 5 to 8',
      details: { logStartOffset: 5, highWatermark: 8 },
    });
    const page = await log.fetch({ topic: 't', partition: 0, offset: 5 });
    expect(page.records.map((r) => asText(r.value))).toEqual(['v5', 'v6', 'v7']);
    expect(page.logStartOffset).toBe(5);
  });

  it('offset -1 means the high watermark: every record so far is deleted and producing goes on there', async () => {
    const { log } = await world();
    const result = await log.deleteRecords({ topic: 't', partitions: [{ partition: 0, offset: -1 }] });
    expect(result.partitions).toEqual([{ partition: 0, logStartOffset: 8 }]);
    expect(await log.offsets('t', 0)).toEqual({ logStartOffset: 8, highWatermark: 8 });
    expect((await log.fetch({ topic: 't', partition: 0, offset: 8 })).records).toEqual([]);
    const { offsets } = await log.produce({ topic: 't', records: [record('after')] });
    expect(offsets).toEqual([{ partition: 0, offset: 8 }]);
    expect(
      (await log.fetch({ topic: 't', partition: 0, offset: 8 })).records.map((r) => asText(r.value)),
    ).toEqual(['after']);
  });

  it('an offset at or below the current start changes nothing and writes nothing', async () => {
    // Prepare
    const { log, meta } = await world(2);
    await log.deleteRecords({ topic: 't', partitions: [{ partition: 0, offset: 4 }] });
    meta.reset();
    // Act: below and at the start of partition 0; 0 of partition 1, never written
    const result = await log.deleteRecords({
      topic: 't',
      partitions: [
        { partition: 0, offset: 2 },
        { partition: 1, offset: 0 },
      ],
    });
    const again = await log.deleteRecords({ topic: 't', partitions: [{ partition: 0, offset: 4 }] });
    // Assess
    expect(result.partitions).toEqual([
      { partition: 0, logStartOffset: 4 },
      { partition: 1, logStartOffset: 0 },
    ]);
    expect(again.partitions).toEqual([{ partition: 0, logStartOffset: 4 }]);
    expect(meta.counts.transacts).toBe(0);
    expect(await log.offsets('t', 0)).toEqual({ logStartOffset: 4, highWatermark: 8 });
  });

  it('refuses an offset above the high watermark, naming it and the range, and changes no partition', async () => {
    // Prepare: partition 1 has two records
    const { log, meta } = await world(2);
    await log.produce({
      topic: 't',
      records: [record('a', { partition: 1 }), record('b', { partition: 1 })],
    });
    meta.reset();
    // Act: a valid offset for partition 0 and one past the end of partition 1
    const error = await failure(
      log.deleteRecords({
        topic: 't',
        partitions: [
          { partition: 0, offset: 3 },
          { partition: 1, offset: 3 },
        ],
      }),
    );
    // Assess
    expect(error).toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
      message:
        'offset 3 is outside t/1: records can be deleted up to the high watermark, valid offsets are 0 to 2',
      details: { logStartOffset: 0, highWatermark: 2 },
    });
    expect(meta.counts.transacts).toBe(0);
    expect(await log.offsets('t', 0)).toEqual({ logStartOffset: 0, highWatermark: 8 });
    expect(await log.offsets('t', 1)).toEqual({ logStartOffset: 0, highWatermark: 2 });
  });

  it('refuses a bad request whole: unknown topic, unknown partition, repeated partition, bad offset, none', async () => {
    const { log, meta } = await world(2);
    meta.reset();
    type Request = Parameters<typeof log.deleteRecords>[0];
    const cases: [Request, string, string][] = [
      [
        { topic: 'nope', partitions: [{ partition: 0, offset: 1 }] },
        'TOPIC_NOT_FOUND',
        'topic nope does not exist',
      ],
      [
        {
          topic: 't',
          partitions: [
            { partition: 0, offset: 1 },
            { partition: 2, offset: 1 },
          ],
        },
        'PARTITION_NOT_FOUND',
        'topic t has no partition 2 (it has 2)',
      ],
      [
        {
          topic: 't',
          partitions: [
            { partition: 0, offset: 1 },
            { partition: 0, offset: 2 },
          ],
        },
        'INVALID_REQUEST',
        'partition 0 of t is given more than once',
      ],
      [
        {
          topic: 't',
          partitions: [
            { partition: 0, offset: 1 },
            { partition: 1, offset: -2 },
          ],
        },
        'INVALID_REQUEST',
        'offset for t/1 must be a non-negative integer or -1 (the high watermark), got -2',
      ],
      [
        { topic: 't', partitions: [{ partition: 0, offset: 1.5 }] },
        'INVALID_REQUEST',
        'offset for t/0 must be a non-negative integer or -1 (the high watermark), got 1.5',
      ],
      [{ topic: 't', partitions: [] }, 'INVALID_REQUEST', 'partitions: give at least one partition'],
    ];
    for (const [request, code, message] of cases) {
      expect(await failure(log.deleteRecords(request))).toMatchObject({ code, message });
    }
    expect(meta.counts.transacts).toBe(0);
    expect(await log.offsets('t', 0)).toEqual({ logStartOffset: 0, highWatermark: 8 });
  });

  it('a commit landing between its read and its write is kept: the move is retried on the new item', async () => {
    // Prepare: a producer commits to t/0 right after the move reads the partition item
    const { log, tappedMeta } = await world();
    let produced = false;
    tappedMeta.tap = async (call) => {
      if (call.op !== 'transact' || produced) return;
      produced = true;
      tappedMeta.tap = undefined;
      await log.produce({ topic: 't', records: [record('racing')] });
    };
    // Act: -1, so the move's target is the high watermark its first read saw (8)
    const result = await log.deleteRecords({ topic: 't', partitions: [{ partition: 0, offset: -1 }] });
    // Assess: retried on the new item, the commit survives and -1 is the high watermark found then
    expect(produced).toBe(true);
    expect(result.partitions).toEqual([{ partition: 0, logStartOffset: 9 }]);
    expect(await log.offsets('t', 0)).toEqual({ logStartOffset: 9, highWatermark: 9 });
    const { offsets } = await log.produce({ topic: 't', records: [record('next')] });
    expect(offsets).toEqual([{ partition: 0, offset: 9 }]);
  });

  it('a long poll that wakes to records deleted while it waited answers out of range, never serves them', async () => {
    // Prepare: while a fetch waits at the high watermark (8), two records come and are deleted
    const { log, tappedMeta } = await world();
    let partitionReads = 0;
    tappedMeta.tap = async (call) => {
      if (call.op !== 'get' || call.key.sk !== 'meta' || !call.key.pk.startsWith('part#')) return;
      // The first read is the fetch's own; the second is its wait's re-read
      if (++partitionReads !== 2) return;
      tappedMeta.tap = undefined;
      await log.produce({ topic: 't', records: [record('x8'), record('x9')] });
      await log.deleteRecords({ topic: 't', partitions: [{ partition: 0, offset: -1 }] });
    };
    // Act
    const outcome = await log.fetch({ topic: 't', partition: 0, offset: 8, maxWaitMs: 1_000 }).then(
      (page) => page.records.map((r) => r.offset),
      (error: unknown) => error,
    );
    // Assess
    expect(partitionReads).toBe(2);
    expect(outcome).toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
      details: { logStartOffset: 10, highWatermark: 10 },
    });
  });

  it('a fetch that finds its objects gone reads again, and answers out of range if records were deleted since', async () => {
    // Prepare: while a fetch from 2 reads its objects, the janitor compacts 0-7 into one entry,
    // records are deleted up to 6, and the produce objects go (as GC removes them later)
    const world_ = await world();
    const { log, clock, tappedObjects } = world_;
    const compactor = createJanitor(world_, { owner: 'janitor-2', compactAfterMs: 0, graceMs: 1_000 });
    let raced = false;
    tappedObjects.tap = async (call) => {
      if (call.op !== 'get' || raced) return;
      raced = true;
      tappedObjects.tap = undefined;
      clock.advance(1_000);
      expect((await compactor.runOnce()).compactedRuns).toBe(1);
      await log.deleteRecords({ topic: 't', partitions: [{ partition: 0, offset: 6 }] });
      const produced = await tappedObjects.list(DATA_PREFIX);
      await tappedObjects.delete(produced.objects.map((o) => o.key));
    };
    // Act
    const outcome = await log.fetch({ topic: 't', partition: 0, offset: 2 }).then(
      (page) => page.records.map((r) => r.offset),
      (error: unknown) => error,
    );
    // Assess
    expect(raced).toBe(true);
    expect(outcome).toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
      details: { logStartOffset: 6, highWatermark: 8 },
    });
  });

  it('offsets for a timestamp start at the log start', async () => {
    // Records 0-1 have timestamp 0, 2-3 1000, 4-5 2000, 6-7 3000
    const { log, objects } = await world();
    await log.deleteRecords({ topic: 't', partitions: [{ partition: 0, offset: 5 }] });
    objects.reset();
    expect(await log.offsets('t', 0, 0)).toEqual({
      logStartOffset: 5,
      highWatermark: 8,
      offset: 5,
      timestamp: 2000,
    });
    // The entries wholly below the start (0-1, 2-3) are not even read: only the one holding 5 is
    expect(objects.counts.gets).toBe(1);
    expect((await log.offsets('t', 0, 1500)).offset).toBe(5);
    expect((await log.offsets('t', 0, 3000)).offset).toBe(6);
  });

  it('a group reset to earliest lands on the new start, and below it is out of range', async () => {
    const { log, topics, clock, meta } = await world();
    const groups = createGroupService({ meta, clock, topics, log });
    await log.deleteRecords({ topic: 't', partitions: [{ partition: 0, offset: 6 }] });
    const reset = await groups.resetOffsets('g', 't', { to: 'earliest' });
    expect(reset).toEqual([{ topic: 't', partition: 0, committedOffset: 6 }]);
    const below = await failure(groups.resetOffsets('g', 't', { to: 'offset', offset: 5 }));
    expect(below).toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
      details: { logStartOffset: 6, highWatermark: 8 },
    });
  });
});

describe('the janitor removes what deleted records left, the way retention does', () => {
  it('deletes the index entries wholly below the start, keeps the one holding it, then their objects', async () => {
    // Prepare: four produce objects, one batch each (offsets 0-1, 2-3, 4-5, 6-7); no retention configured
    const world_ = await world();
    const { log, janitor, topics, objects, clock } = world_;
    const before = (await topics.describeTopic('t')).partitionStates[0]!;
    // The objects in offset order
    const objectsBefore = (await indexEntries(world_)).map((entry) => entry.objectKey);
    expect((await objects.list(DATA_PREFIX)).objects.map((o) => o.key).sort()).toEqual(
      [...objectsBefore].sort(),
    );
    await log.deleteRecords({ topic: 't', partitions: [{ partition: 0, offset: 5 }] });
    // Act
    const report = await janitor.runOnce();
    // Assess: the entries of 0-1 and 2-3 are gone, 4-5 (holding the start) and 6-7 stay
    expect(report.retainedBatches).toBe(2);
    expect(await indexBaseOffsets(world_)).toEqual([4, 6]);
    const after = (await topics.describeTopic('t')).partitionStates[0]!;
    expect(after).toMatchObject({ logStartOffset: 5, highWatermark: 8, batches: 2 });
    expect(after.bytes).toBe(before.bytes / 2);
    // Their objects go once the commit window and grace have passed, the others stay
    clock.advance(COMMIT_WINDOW_MS + 2_000);
    await janitor.runOnce();
    const objectsAfter = (await objects.list(DATA_PREFIX)).objects.map((o) => o.key);
    expect(objectsAfter.sort()).toEqual(objectsBefore.slice(2).sort());
    const page = await log.fetch({ topic: 't', partition: 0, offset: 5 });
    expect(page.records.map((r) => asText(r.value))).toEqual(['v5', 'v6', 'v7']);
    expect(await log.offsets('t', 0)).toEqual({ logStartOffset: 5, highWatermark: 8 });
  });

  it('never compacts entries wholly below the start with live ones, even when the start moves mid-pass', async () => {
    // Prepare: compaction on; records are deleted up to 5 right after this pass's retention step
    const world_ = await world();
    const { log, clock, tappedMeta } = world_;
    const janitor = createJanitor(world_, { owner: 'janitor-2', compactAfterMs: 5_000, graceMs: 1_000 });
    clock.advance(10_000);
    let partitionReads = 0;
    tappedMeta.tap = async (call) => {
      if (call.op !== 'get' || call.key.sk !== 'meta' || !call.key.pk.startsWith('part#')) return;
      partitionReads++;
      // The first read is retention's; the second is the compaction swap's, after it chose its run
      if (partitionReads === 2)
        await log.deleteRecords({ topic: 't', partitions: [{ partition: 0, offset: 5 }] });
    };
    // Act
    await janitor.runOnce();
    tappedMeta.tap = undefined;
    await janitor.runOnce();
    // Assess: the swap was void; the next pass dropped the entries below 5, then compacted the rest
    expect(partitionReads).toBeGreaterThanOrEqual(2);
    expect(await indexBaseOffsets(world_)).toEqual([4]);
    expect(
      (await log.fetch({ topic: 't', partition: 0, offset: 5 })).records.map((r) => asText(r.value)),
    ).toEqual(['v5', 'v6', 'v7']);
  });

  it('after offset -1, every entry goes and producing goes on at the high watermark', async () => {
    const world_ = await world();
    const { log, janitor, topics } = world_;
    await log.deleteRecords({ topic: 't', partitions: [{ partition: 0, offset: -1 }] });
    await janitor.runOnce();
    expect(await indexBaseOffsets(world_)).toEqual([]);
    expect((await topics.describeTopic('t')).partitionStates[0]).toMatchObject({
      logStartOffset: 8,
      highWatermark: 8,
      batches: 0,
      bytes: 0,
    });
    await log.produce({ topic: 't', records: [record('after')] });
    expect(
      (await log.fetch({ topic: 't', partition: 0, offset: 8 })).records.map((r) => asText(r.value)),
    ).toEqual(['after']);
  });
});

/** A small deterministic generator (a linear congruential one): the same seed, the same run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('deleting records among producers, readers and the janitor', () => {
  it.each([1, 2, 3, 4, 5, 6])(
    'seed %i: every acknowledged record from the log start on stays readable; none below it is served or found for a timestamp',
    async (seed) => {
      // Prepare: three partitions, multi-partition produce requests (shared objects), a janitor that
      // compacts at once and collects without grace; the store's tap interleaves the actors and jumps the clock
      const random = seeded(seed);
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      const meta = new TappedMetaStore(clock);
      const { log, topics, objects } = logFixture({ clock, meta });
      const partitions = 3;
      await topics.createTopic('t', partitions, { 'retention.ms': -1, 'retention.bytes': -1 });
      const janitor = createJanitor(
        { meta, objects, clock, topics },
        { owner: 'j', compactAfterMs: 0, graceMs: 0, compactTargetBytes: 400 },
      );
      meta.tap = async () => {
        if (random() < 0.3) await new Promise((resolve) => setImmediate(resolve));
        if (random() < 0.05) clock.advance(Math.floor(random() * 30_000));
      };
      const acknowledged = new Map<string, string>();
      // Where deleting records put each partition's start: with retention off, nothing else moves it
      const deletedUpTo = Array.from({ length: partitions }, () => 0);
      const problems: string[] = [];
      let written = 0;
      const producer = async () => {
        for (let i = 0; i < 20; i++) {
          const records = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
            record(`v${written++}`, { partition: Math.floor(random() * partitions) }),
          );
          const result = await log.produce({ topic: 't', records }).catch(() => undefined);
          result?.offsets.forEach(({ partition, offset }, i) => {
            acknowledged.set(`${partition}/${offset}`, asText(records[i]?.value ?? null) as string);
          });
        }
      };
      const deleter = async () => {
        for (let i = 0; i < 12; i++) {
          const partition = Math.floor(random() * partitions);
          const { logStartOffset, highWatermark } = await log.offsets('t', partition);
          const offset =
            random() < 0.2
              ? -1
              : logStartOffset + Math.floor(random() * (highWatermark - logStartOffset + 1));
          const moved = await log
            .deleteRecords({ topic: 't', partitions: [{ partition, offset }] })
            .catch(() => undefined);
          for (const p of moved?.partitions ?? [])
            deletedUpTo[p.partition] = Math.max(deletedUpTo[p.partition] as number, p.logStartOffset);
          await clock.sleep(100);
        }
      };
      const janitorPasses = async () => {
        for (let i = 0; i < 12; i++) {
          await janitor.runOnce();
          await clock.sleep(5_000);
        }
      };
      let writing = true;
      const reader = async () => {
        while (writing) {
          const partition = Math.floor(random() * partitions);
          const { logStartOffset, highWatermark } = await log.offsets('t', partition);
          const offset = logStartOffset + Math.floor(random() * (highWatermark - logStartOffset + 1));
          const maxWaitMs = random() < 0.3 ? 500 : 0;
          try {
            const page = await log.fetch({ topic: 't', partition, offset, maxWaitMs });
            for (const r of page.records) {
              if (r.offset < page.logStartOffset)
                problems.push(`${partition}/${r.offset} served below the start`);
            }
            const found = await log.offsets('t', partition, random() < 0.5 ? 0 : clock.now());
            if ((found.offset as number) < found.logStartOffset)
              problems.push(`${partition}: offset ${found.offset} for a timestamp is below the start`);
          } catch (error) {
            const code = (error as { code?: string }).code;
            if (code !== 'OFFSET_OUT_OF_RANGE' && code !== 'UNAVAILABLE') problems.push(String(error));
          }
        }
      };
      // Act
      const reading = reader();
      await Promise.all([producer(), producer(), deleter(), janitorPasses()]);
      writing = false;
      await reading;
      meta.tap = undefined;
      clock.advance(200_000);
      await janitor.runOnce();
      // Assess: read every partition from its start to its high watermark
      expect(problems).toEqual([]);
      for (let partition = 0; partition < partitions; partition++) {
        const { logStartOffset, highWatermark } = await log.offsets('t', partition);
        expect(logStartOffset).toBe(deletedUpTo[partition]);
        expect(logStartOffset).toBeLessThanOrEqual(highWatermark);
        const read = new Map<number, string | null>();
        for (let offset = logStartOffset; offset < highWatermark; ) {
          const page = await log.fetch({ topic: 't', partition, offset });
          for (const r of page.records) read.set(r.offset, asText(r.value));
          expect(page.nextOffset).toBeGreaterThan(offset);
          offset = page.nextOffset;
        }
        for (let offset = logStartOffset; offset < highWatermark; offset++) {
          const value = acknowledged.get(`${partition}/${offset}`);
          if (value !== undefined) expect(read.get(offset), `${partition}/${offset}`).toBe(value);
        }
      }
    },
  );
});
