/**
 * Garbage collection and janitor passes under real conditions: topics appearing mid-pass, uploads and
 * commits around the commit window, hot partitions, outages, passes cut short by their deadline.
 * Each test puts another actor's work exactly between two janitor steps through a tapped store.
 */
import { describe, expect, it } from 'vitest';
import { StreamError } from '../../lambdas/core/errors.ts';
import { createJanitor } from '../../lambdas/core/janitor.ts';
import { COMPACTED_PREFIX, DATA_PREFIX, JANITOR_PROGRESS_KEY } from '../../lambdas/core/layout.ts';
import { OBJECT_HEADER_BYTES } from '../../lambdas/core/object-format.ts';
import { COMMIT_ATTEMPT_MS, COMMIT_WINDOW_MS } from '../../lambdas/core/produce.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import type { QueryOptions, QueryResult } from '../../lambdas/ports/meta-store.ts';
import { failure } from '../support/failure.ts';
import { asText, logFixture, record } from '../support/log-fixture.ts';
import { TappedMetaStore, TappedObjectStore } from '../support/tapped-stores.ts';

/** A query whose answer is read at its start but returned only after `afterQuery` (a slow query). */
class SlowQueryMetaStore extends TappedMetaStore {
  afterQuery: ((pk: string) => Promise<void>) | undefined;
  override async query(pk: string, options: QueryOptions = {}): Promise<QueryResult> {
    const result = await super.query(pk, options);
    await this.afterQuery?.(pk);
    return result;
  }
}

function tappedWorld() {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const meta = new TappedMetaStore(clock);
  const objects = new TappedObjectStore();
  const fixture = logFixture({ clock, meta, objects });
  const janitor = createJanitor(fixture, { owner: 'janitor-1', compactAfterMs: 5_000, graceMs: 1_000 });
  return { ...fixture, clock, janitor, tappedMeta: meta, tappedObjects: objects };
}

/** A producer that commits a record `new{n}` to t/0 right before each of the janitor's index reads. */
function commitBeforeEveryIndexRead(tappedMeta: TappedMetaStore, log: ReturnType<typeof logFixture>['log']) {
  const producer = { commits: 0 };
  tappedMeta.tap = async (call) => {
    if (call.op !== 'query' || call.options.consistent !== true || !call.pk.startsWith('part#')) return;
    const saved = tappedMeta.tap;
    tappedMeta.tap = undefined;
    await log.produce({ topic: 't', records: [record(`new${producer.commits++}`)] });
    tappedMeta.tap = saved;
  };
  return producer;
}

const isLeaseRead = (call: { op: string; key?: { sk: string } }) =>
  call.op === 'get' && call.key?.sk === 'lease';

describe('janitor: garbage collection decides from what it reads after its horizon', () => {
  it('keeps the data of a topic created and written while a long janitor pass was running', async () => {
    // Prepare: one topic the pass lists at its start
    const { log, topics, clock, janitor, tappedMeta } = tappedWorld();
    await topics.createTopic('early', 1, { 'retention.ms': -1 });
    // While the pass works `early`, a new topic appears and is written, and the pass runs long
    let once = true;
    tappedMeta.tap = async (call) => {
      if (!once || !isLeaseRead(call)) return;
      once = false;
      await topics.createTopic('late', 1, { 'retention.ms': -1 });
      await log.produce({ topic: 'late', records: [record('a'), record('b')] });
      clock.advance(3 * 60_000);
    };
    // Act
    const report = await janitor.runOnce();
    tappedMeta.tap = undefined;
    // Assess: the acknowledged records of `late` are still there
    expect(once).toBe(false);
    expect(report.deletedObjects).toBe(0);
    const page = await log.fetch({ topic: 'late', partition: 0, offset: 0 });
    expect(page.records.map((r) => asText(r.value))).toEqual(['a', 'b']);
  });

  it('refuses a produce whose upload outlasted the commit window, so GC never takes an acknowledged object', async () => {
    // Prepare: an upload that takes 70 s, and a janitor pass that runs as soon as the object is stored
    const { log, topics, clock, janitor, tappedObjects } = tappedWorld();
    await topics.createTopic('t', 1, { 'retention.ms': -1 });
    tappedObjects.tap = async (call) => {
      if (call.op !== 'put' || !call.stored || !call.key.startsWith(DATA_PREFIX)) return;
      tappedObjects.tap = undefined;
      clock.advance(70_000);
      await janitor.runOnce();
    };
    // Act
    const error = await failure(log.produce({ topic: 't', records: [record('late')] }));
    // Assess: a retriable refusal, nothing committed, so no index entry points at a deleted object
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retriable: true });
    expect(await log.offsets('t', 0)).toEqual({ logStartOffset: 0, highWatermark: 0 });
    // A retry (a new upload) goes through
    const { offsets } = await log.produce({ topic: 't', records: [record('late')] });
    expect(offsets).toEqual([{ partition: 0, offset: 0 }]);
  });

  it('never starts a commit later than the commit window minus one attempt after the time in the object key', async () => {
    // Prepare: an upload that takes just past the last moment an attempt may start
    const { log, topics, clock, tappedObjects } = tappedWorld();
    await topics.createTopic('t', 1);
    tappedObjects.tap = async (call) => {
      if (call.op === 'put' && call.stored) clock.advance(COMMIT_WINDOW_MS - COMMIT_ATTEMPT_MS + 1);
    };
    // Act + Assess
    expect(await failure(log.produce({ topic: 't', records: [record('x')] }))).toMatchObject({
      code: 'UNAVAILABLE',
    });
    tappedObjects.tap = async (call) => {
      if (call.op === 'put' && call.stored) clock.advance(COMMIT_WINDOW_MS - COMMIT_ATTEMPT_MS - 1);
    };
    expect((await log.produce({ topic: 't', records: [record('x')] })).offsets).toEqual([
      { partition: 0, offset: 0 },
    ]);
  });
});

describe('janitor: a pass is not all-or-nothing', () => {
  it('a hot partition whose retention keeps conflicting does not stop GC or the other partitions', async () => {
    // Prepare: two partitions past retention, an orphan upload, and a producer that commits to
    // partition 0 right before every janitor write to it
    const { log, topics, clock, janitor, tappedMeta, objects } = tappedWorld();
    await topics.createTopic('t', 2, { 'retention.ms': 60_000 });
    for (const partition of [0, 1])
      await log.produce({ topic: 't', records: [record('old', { partition })] });
    const orphan = `${DATA_PREFIX}00/01ARZ3NDEKTSV4RRFFQ69G5FAV.sbo`;
    await objects.put(orphan, new Uint8Array([1]));
    clock.advance(5 * 60_000);
    const hot = (await topics.requireTopic('t')).topicId;
    tappedMeta.tap = async (call) => {
      if (call.op !== 'transact') return;
      const first = call.ops[0];
      if (
        first?.type === 'put' &&
        first.item.pk === `part#${hot}#0` &&
        first.item.sk === 'meta' &&
        first.item.logStartOffset !== undefined &&
        call.ops.length > 1
      ) {
        const saved = tappedMeta.tap;
        tappedMeta.tap = undefined;
        await log.produce({ topic: 't', records: [record('hot', { partition: 0 })] });
        tappedMeta.tap = saved;
      }
    };
    // Act
    const report = await janitor.runOnce();
    tappedMeta.tap = undefined;
    // Assess: partition 0 failed and was reported; partition 1 was retained; the orphan was collected
    expect(report.failures).toBe(1);
    expect(report.errors[0]).toMatchObject({ where: 't/0', code: 'CONFLICT', retriable: true });
    expect((await log.offsets('t', 1)).logStartOffset).toBe(1);
    expect((await objects.list(DATA_PREFIX)).objects.map((o) => o.key)).not.toContain(orphan);
  });

  it('retention lands while producers commit to the partition between every janitor read', async () => {
    // Prepare: old batches, then a producer that commits before each of the janitor's index reads
    const { log, topics, clock, janitor, tappedMeta } = tappedWorld();
    await topics.createTopic('t', 1, { 'retention.ms': 60_000 });
    for (let i = 0; i < 3; i++) await log.produce({ topic: 't', records: [record(`old${i}`)] });
    clock.advance(5 * 60_000);
    const producer = commitBeforeEveryIndexRead(tappedMeta, log);
    // Act
    const report = await janitor.runOnce();
    tappedMeta.tap = undefined;
    // Assess: the old batches are gone, every new one is kept
    expect(report.errors).toEqual([]);
    expect(report.retainedBatches).toBe(3);
    const { logStartOffset, highWatermark } = await log.offsets('t', 0);
    expect(logStartOffset).toBe(3);
    expect(highWatermark).toBe(3 + producer.commits);
    const page = await log.fetch({ topic: 't', partition: 0, offset: 3 });
    expect(page.records.map((r) => asText(r.value))).toEqual(
      Array.from({ length: producer.commits }, (_, i) => `new${i}`),
    );
  });

  it('compaction lands while producers commit to the partition between every janitor read', async () => {
    // Prepare: small old batches, then a producer that commits before each of the janitor's reads
    const { log, topics, clock, janitor, tappedMeta } = tappedWorld();
    await topics.createTopic('t', 1, { 'retention.ms': -1 });
    for (let i = 0; i < 6; i++) await log.produce({ topic: 't', records: [record(`old${i}`)] });
    clock.advance(10_000);
    const producer = commitBeforeEveryIndexRead(tappedMeta, log);
    // Act
    const report = await janitor.runOnce();
    tappedMeta.tap = undefined;
    // Assess: the old batches became one entry, and everything is readable in order
    expect(report.errors).toEqual([]);
    expect(report.compactedBatches).toBeGreaterThanOrEqual(6);
    const page = await log.fetch({ topic: 't', partition: 0, offset: 0, maxBytes: 1 << 20 });
    expect(page.records.map((r) => asText(r.value))).toEqual([
      ...Array.from({ length: 6 }, (_, i) => `old${i}`),
      ...Array.from({ length: producer.commits }, (_, i) => `new${i}`),
    ]);
  });

  it('a stored batch that fails its checks is reported as CORRUPT_DATA and the pass goes on', async () => {
    // Prepare: small batches due for compaction, the first one's magic byte broken in its object
    const { log, topics, clock, janitor, objects } = tappedWorld();
    await topics.createTopic('t', 1, { 'retention.ms': -1 });
    for (let i = 0; i < 6; i++) await log.produce({ topic: 't', records: [record(`old${i}`)] });
    clock.advance(10_000);
    const [first] = (await objects.list(DATA_PREFIX)).objects.map((o) => o.key).sort();
    const bytes = await objects.get(first as string);
    bytes[OBJECT_HEADER_BYTES + 16] = 7;
    await objects.put(first as string, bytes);
    // Act
    const report = await janitor.runOnce();
    // Assess: the codec's error is reported with its code, not as an unknown one
    expect(report.failures).toBe(1);
    expect(report.errors[0]).toMatchObject({ where: 't/0', code: 'CORRUPT_DATA', retriable: false });
    expect(report.errors[0]?.message).toMatch(/record batch: unsupported magic 7/);
  });

  it('a storage outage on one partition is reported and the pass goes on', async () => {
    // Prepare: a topic of 3 partitions past retention; reading partition 1's lease fails
    const { log, topics, clock, janitor, tappedMeta } = tappedWorld();
    await topics.createTopic('t', 3, { 'retention.ms': 60_000 });
    for (const partition of [0, 1, 2])
      await log.produce({ topic: 't', records: [record('x', { partition })] });
    clock.advance(5 * 60_000);
    const id = (await topics.requireTopic('t')).topicId;
    tappedMeta.tap = async (call) => {
      if (call.op === 'get' && call.key.pk === `part#${id}#1` && call.key.sk === 'lease')
        throw new StreamError('UNAVAILABLE', 'injected outage');
    };
    // Act
    const report = await janitor.runOnce();
    tappedMeta.tap = undefined;
    // Assess
    expect(report).toMatchObject({ failures: 1, incomplete: true, retainedBatches: 2 });
    expect((await log.offsets('t', 0)).logStartOffset).toBe(1);
    expect((await log.offsets('t', 1)).logStartOffset).toBe(0);
    expect((await log.offsets('t', 2)).logStartOffset).toBe(1);
  });

  it('a pass cut short by its deadline still collects garbage, and the next pass carries on where it stopped', async () => {
    // Prepare: 6 partitions past retention, an orphan; every partition's work takes 10 s
    const { log, topics, clock, janitor, tappedMeta, objects, meta } = tappedWorld();
    await topics.createTopic('t', 6, { 'retention.ms': 60_000 });
    for (let partition = 0; partition < 6; partition++)
      await log.produce({ topic: 't', records: [record('x', { partition })] });
    const orphan = `${DATA_PREFIX}00/01ARZ3NDEKTSV4RRFFQ69G5FAV.sbo`;
    await objects.put(orphan, new Uint8Array([1]));
    clock.advance(5 * 60_000);
    tappedMeta.tap = async (call) => {
      if (isLeaseRead(call)) clock.advance(2_500);
    };
    const retained = async () => {
      let n = 0;
      for (let p = 0; p < 6; p++) n += (await log.offsets('t', p)).logStartOffset;
      return n;
    };
    // Act: passes of 30 s each: partition work gets two thirds of it
    const first = await janitor.runOnce(clock.now() + 30_000);
    // Assess: cut short, but the orphan is gone and the place is saved
    expect(first.incomplete).toBe(true);
    expect(first.partitions).toBeLessThan(6);
    expect((await objects.list(DATA_PREFIX)).objects.map((o) => o.key)).not.toContain(orphan);
    expect((await meta.get(JANITOR_PROGRESS_KEY))?.partitionCursor).toBeDefined();
    const afterFirst = await retained();
    expect(afterFirst).toBe(first.partitions);
    // The next passes carry on from there until every partition has been worked
    let passes = 1;
    while ((await retained()) < 6 && passes < 6) {
      await janitor.runOnce(clock.now() + 30_000);
      passes++;
    }
    expect(await retained()).toBe(6);
    expect(passes).toBe(Math.ceil(6 / first.partitions));
  });
});

describe('janitor: the partition lease', () => {
  it('is renewed between compaction steps, so a second janitor never starts on a partition a slow one still works', async () => {
    // Prepare: twelve small batches that compact as several runs, each run's upload taking 40 s of a
    // 60 s lease
    const { log, topics, clock, tappedObjects, meta, objects } = tappedWorld();
    await topics.createTopic('t', 1, { 'retention.ms': -1 });
    for (let i = 0; i < 12; i++) await log.produce({ topic: 't', records: [record(`v${i}`)] });
    const entryBytes = (await topics.describeTopic('t')).partitionStates[0]!.bytes / 12;
    const options = {
      compactAfterMs: 0,
      graceMs: 1_000,
      leaseMs: 60_000,
      compactTargetBytes: Math.floor(entryBytes * 3) + 1,
    };
    const slow = createJanitor({ meta, objects, clock, topics }, { ...options, owner: 'slow' });
    const other = createJanitor({ meta, objects, clock, topics }, { ...options, owner: 'other' });
    clock.advance(1_000);
    const others: Awaited<ReturnType<typeof other.runOnce>>[] = [];
    let uploads = 0;
    tappedObjects.tap = async (call) => {
      if (call.op !== 'put' || !call.stored || !call.key.startsWith('compacted/')) return;
      uploads++;
      clock.advance(40_000);
      if (uploads === 2 || uploads === 3) {
        const saved = tappedObjects.tap;
        tappedObjects.tap = undefined;
        others.push(await other.runOnce());
        tappedObjects.tap = saved;
      }
    };
    // Act
    const report = await slow.runOnce();
    tappedObjects.tap = undefined;
    // Assess: the other janitor was kept off while the slow one worked, and the slow one finished
    expect(report.compactedRuns).toBeGreaterThanOrEqual(3);
    expect(others.map((r) => [r.skipped, r.compactedRuns])).toEqual([
      [1, 0],
      [1, 0],
    ]);
    expect(
      (await log.fetch({ topic: 't', partition: 0, offset: 0, maxBytes: 1 << 20 })).records,
    ).toHaveLength(12);
  });
});

describe('janitor: owned-object GC decides from what it reads after its horizon', () => {
  it('keeps a compacted object whose swap lands while a second janitor reads the index for GC', async () => {
    // Prepare: three small old batches; janitors `a` and `b` share the usual configuration
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const meta = new SlowQueryMetaStore(clock);
    const objects = new TappedObjectStore();
    const { log, topics } = logFixture({ clock, meta, objects });
    await topics.createTopic('t', 1, { 'retention.ms': -1 });
    for (let i = 0; i < 3; i++) await log.produce({ topic: 't', records: [record(`v${i}`)] });
    clock.advance(10_000);
    const options = { compactAfterMs: 5_000, graceMs: 1_000, leaseMs: 60_000 };
    const a = createJanitor({ meta, objects, clock, topics }, { ...options, owner: 'a' });
    const b = createJanitor({ meta, objects, clock, topics }, { ...options, owner: 'b' });
    // `a` reads the run slowly (its lease lapses meanwhile) and waits there
    let resumeA: () => void = () => {};
    const aWaits = new Promise<void>((resolve) => {
      resumeA = resolve;
    });
    let aPaused: () => void = () => {};
    const aIsPaused = new Promise<void>((resolve) => {
      aPaused = resolve;
    });
    let phase: 'a-get' | 'b' | 'done' = 'a-get';
    let queriesAfterBUpload = -1;
    objects.tap = async (call) => {
      if (phase === 'a-get' && call.op === 'get' && call.key.startsWith(DATA_PREFIX)) {
        phase = 'b';
        clock.advance(61_000);
        aPaused();
        await aWaits;
      } else if (phase === 'b' && call.op === 'put' && call.stored && call.key.startsWith(COMPACTED_PREFIX)) {
        // `b` compacts the same run, but its upload is slow: its swap runs out of time
        clock.advance(41_000);
        queriesAfterBUpload = 0;
      }
    };
    let aRun: ReturnType<typeof a.runOnce> | undefined;
    meta.afterQuery = async (pk) => {
      if (phase !== 'b' || queriesAfterBUpload < 0 || !pk.startsWith('part#')) return;
      queriesAfterBUpload++;
      // The first is b's own swap attempt; the second is b's index read for owned-object GC, which
      // has read the index when `a`'s swap lands, and returns a minute later
      if (queriesAfterBUpload !== 2) return;
      phase = 'done';
      resumeA();
      await aRun;
      clock.advance(62_000);
    };
    // Act
    aRun = a.runOnce();
    await aIsPaused;
    const bReport = await b.runOnce();
    const aReport = await aRun;
    objects.tap = undefined;
    meta.afterQuery = undefined;
    // Assess: `a`'s swap landed, and the object its entry points at is still there
    expect(phase).toBe('done');
    expect(aReport.compactedRuns).toBe(1);
    expect(bReport.compactedRuns).toBe(0);
    const page = await log.fetch({ topic: 't', partition: 0, offset: 0, maxBytes: 1 << 20 });
    expect(page.records.map((r) => asText(r.value))).toEqual(['v0', 'v1', 'v2']);
  });
});
