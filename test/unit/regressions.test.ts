/**
 * Regression tests: bugs found by the chaos run (test/chaos), each named after the seed that found it,
 * and bugs found in review, each named after the scenario that showed it. Each reproduces the
 * interleaving deterministically.
 */
import { describe, expect, it } from 'vitest';
import { splitBatches } from '../../client/wire/record-batch.ts';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import { createJanitor } from '../../lambdas/core/janitor.ts';
import { newPartitionObjectKey, partitionPk, topicObjectPrefix } from '../../lambdas/core/layout.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import type { QueryOptions, QueryResult, TransactOp } from '../../lambdas/ports/meta-store.ts';
import type { RangeOptions } from '../../lambdas/ports/object-store.ts';
import { failure } from '../support/failure.ts';
import { asText, logFixture, record } from '../support/log-fixture.ts';

/** A memory store that runs `hook` once, just before the next forward index walk (a query with startAfter). */
class HookedMetaStore extends MemoryMetaStore {
  hook: (() => Promise<void>) | undefined;
  override async query(pk: string, options: QueryOptions = {}): Promise<QueryResult> {
    const hook = this.hook;
    if (hook !== undefined && options.startAfter !== undefined && pk.startsWith('part#')) {
      this.hook = undefined;
      await hook();
    }
    return super.query(pk, options);
  }
}

/**
 * A memory store that behaves like an eventually consistent replica for plain reads: index entries
 * written while `lagging` is set stay invisible to queries that do not ask for a consistent read.
 */
class LaggingMetaStore extends MemoryMetaStore {
  lagging = false;
  private readonly unreplicated = new Set<string>();
  override async transact(ops: readonly TransactOp[]): Promise<void> {
    await super.transact(ops);
    if (!this.lagging) return;
    for (const op of ops) {
      if (op.type === 'put' && op.item.sk.startsWith('b#'))
        this.unreplicated.add(`${op.item.pk} ${op.item.sk}`);
    }
  }
  override async query(pk: string, options: QueryOptions = {}): Promise<QueryResult> {
    const result = await super.query(pk, options);
    if (options.consistent) return result;
    return {
      ...result,
      items: result.items.filter((item) => !this.unreplicated.has(`${item.pk} ${item.sk}`)),
    };
  }
}

/** A memory store whose next `vanishing` object reads answer NOT_FOUND, as if GC had just run. */
class VanishingObjectStore extends MemoryObjectStore {
  vanishing = 0;
  override async get(key: string, range?: RangeOptions): Promise<Uint8Array> {
    if (this.vanishing > 0) {
      this.vanishing--;
      throw new StreamError('NOT_FOUND', `object ${key} does not exist`);
    }
    return super.get(key, range);
  }
}

describe('regressions found by the chaos run', () => {
  it('seed 2: a fetch racing a compaction swap stops at the seam instead of skipping offsets', async () => {
    // Prepare: ten one-record batches, which compaction will rewrite as two runs of five
    const clock = new ManualClock();
    const meta = new HookedMetaStore(clock);
    const fixture = logFixture({ clock, meta });
    await fixture.topics.createTopic('t', 1, { 'retention.ms': -1 });
    for (let i = 0; i < 10; i++) await fixture.log.produce({ topic: 't', records: [record(`v${i}`)] });
    const entryBytes = (await fixture.topics.describeTopic('t')).partitionStates[0]!.bytes / 10;
    const janitor = createJanitor(fixture, {
      owner: 'j',
      compactAfterMs: 0,
      compactTargetBytes: Math.floor(entryBytes * 5) + 1,
    });
    clock.advance(1_000);
    // Act: the fetch finds the entry holding offset 3, then the swap lands before it walks on
    meta.hook = async () => {
      await janitor.runOnce();
    };
    const page = await fixture.log.fetch({ topic: 't', partition: 0, offset: 3 });
    const next = await fixture.log.fetch({ topic: 't', partition: 0, offset: page.nextOffset });
    // Assess: whatever the page holds is contiguous from 3, and the next page continues exactly
    const offsets = [...page.records, ...next.records].map((r) => r.offset);
    expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, i) => 3 + i));
    expect(offsets.at(-1)).toBe(9);
    expect((await fixture.topics.describeTopic('t')).partitionStates[0]?.batches).toBe(2);
  });

  it('seed 3: a topic deleted while a janitor works on it leaves no items or objects behind', async () => {
    // Prepare: a deleted topic whose clean-up a straggling janitor races
    const clock = new ManualClock();
    const fixture = logFixture({ clock });
    const doomed = await fixture.topics.createTopic('doomed', 1);
    await fixture.log.produce({ topic: 'doomed', records: [record('x')] });
    await fixture.topics.deleteTopic('doomed');
    const janitor = createJanitor(fixture, { owner: 'j', graceMs: 1_000 });
    await janitor.runOnce();
    // Act: the straggler, which listed the topic before it was deleted, takes a lease and writes a
    // compacted object after the first clean-up
    await fixture.meta.transact([
      {
        type: 'put',
        item: {
          pk: partitionPk(doomed.topicId, 0),
          sk: 'lease',
          owner: 'late',
          epoch: 1,
          expiresAt: clock.now() + 60_000,
        },
        expect: 'absent',
      },
    ]);
    await fixture.objects.put(newPartitionObjectKey(doomed.topicId, 0, clock.now()), new Uint8Array([1]));
    await janitor.runOnce();
    clock.advance(10 * 60_000);
    await janitor.runOnce();
    // Assess
    expect((await fixture.meta.query(partitionPk(doomed.topicId, 0))).items).toEqual([]);
    expect((await fixture.objects.list(topicObjectPrefix(doomed.topicId))).objects).toEqual([]);
    expect((await fixture.meta.query('deleted-topics')).items).toEqual([]);
  });
});

describe('regressions found in review', () => {
  it('after compaction a fetch ignores max_bytes; on Lambda consumers stall forever (800 requests of 12 KB)', async () => {
    // Prepare: 800 one-batch requests of 12 KB, compacted by two janitor passes into entries of MiBs
    const clock = new ManualClock();
    const fixture = logFixture({ clock });
    await fixture.topics.createTopic('t', 1, { 'retention.ms': -1 });
    for (let i = 0; i < 800; i++) {
      await fixture.log.produce({ topic: 't', records: [record(`${i}:`.padEnd(12_000, 'x'))] });
    }
    const janitor = createJanitor(fixture, { owner: 'j' });
    for (let pass = 0; pass < 2; pass++) {
      clock.advance(10_000);
      await janitor.runOnce();
    }
    expect((await fixture.topics.describeTopic('t')).partitionStates[0]?.batches).toBeLessThanOrEqual(2);
    // Act: a consumer reads everything with max_bytes 1 MiB, in both forms
    const maxBytes = 1024 * 1024;
    const seen: number[] = [];
    for (let offset = 0; offset < 800; ) {
      fixture.objects.reset();
      const page = await fixture.log.fetchBatches({ topic: 't', partition: 0, offset, maxBytes });
      // Assess: whole batches within max_bytes, read without fetching the rest of the entry
      expect(page.batches.byteLength).toBeLessThanOrEqual(maxBytes);
      expect(fixture.objects.counts.getBytes).toBeLessThanOrEqual(maxBytes);
      const json = await fixture.log.fetch({ topic: 't', partition: 0, offset, maxBytes });
      const payload = json.records.reduce((sum, r) => sum + (r.value?.byteLength ?? 0), 0);
      expect(payload).toBeLessThanOrEqual(maxBytes);
      expect(json.records.map((r) => asText(r.value)?.split(':')[0])).toEqual(
        json.records.map((r) => `${r.offset}`),
      );
      const batches = [...splitBatches(page.batches)];
      expect(batches.length).toBeGreaterThan(0);
      seen.push(...json.records.map((r) => r.offset));
      offset = json.nextOffset;
    }
    expect(seen).toEqual(Array.from({ length: 800 }, (_, i) => i));
  });

  it('after compaction a fetch ignores max_bytes; on Lambda consumers stall forever (1 MiB requests)', async () => {
    // Prepare: ten requests of one record of 1,000,000 bytes, compacted by one pass
    const clock = new ManualClock();
    const fixture = logFixture({ clock });
    await fixture.topics.createTopic('t', 1, { 'retention.ms': -1 });
    for (let i = 0; i < 10; i++) {
      await fixture.log.produce({ topic: 't', records: [record(`${i}:`.padEnd(1_000_000, 'x'))] });
    }
    clock.advance(10_000);
    await createJanitor(fixture, { owner: 'j' }).runOnce();
    expect((await fixture.topics.describeTopic('t')).partitionStates[0]?.batches).toBeLessThan(10);
    // Act and Assess: every binary fetch is one batch of the default max_bytes (1 MiB), read alone
    for (let offset = 0; offset < 10; offset++) {
      fixture.objects.reset();
      const page = await fixture.log.fetchBatches({ topic: 't', partition: 0, offset });
      expect(page.batches.byteLength).toBeLessThanOrEqual(1024 * 1024);
      expect([...splitBatches(page.batches)]).toHaveLength(1);
      expect(page.nextOffset).toBe(offset + 1);
      expect(fixture.objects.counts.getBytes).toBe(page.batches.byteLength);
    }
  });

  it('a fetch whose object is gone twice (racing GC twice) answers the retriable UNAVAILABLE, not a 500', async () => {
    // Prepare
    const objects = new VanishingObjectStore();
    const fixture = logFixture({ objects });
    await fixture.topics.createTopic('t', 1);
    await fixture.log.produce({ topic: 't', records: [record('a'), record('b')] });
    // Act: the first read and the read after re-reading the index both find no object
    objects.vanishing = 2;
    const error = await failure(fixture.log.fetch({ topic: 't', partition: 0, offset: 0 }));
    objects.vanishing = 2;
    const raw = await failure(fixture.log.fetchBatches({ topic: 't', partition: 0, offset: 1 }));
    objects.vanishing = 1;
    const byTime = await failure(fixture.log.offsets('t', 0, 0));
    // Assess: the client is told to retry, and a retry succeeds
    for (const e of [error, raw, byTime]) expect(e).toMatchObject({ code: 'UNAVAILABLE', retriable: true });
    const page = await fixture.log.fetch({ topic: 't', partition: 0, offset: 0 });
    expect(page.records.map((r) => asText(r.value))).toEqual(['a', 'b']);
  });

  it('an eventually consistent index query misses the newest batch the high watermark already counts', async () => {
    // Prepare: the entry of 'b' is committed, but plain queries do not see it yet
    const meta = new LaggingMetaStore();
    const fixture = logFixture({ meta });
    await fixture.topics.createTopic('t', 1);
    await fixture.log.produce({ topic: 't', records: [record('a', { timestamp: 1_000 })] });
    meta.lagging = true;
    await fixture.log.produce({ topic: 't', records: [record('b', { timestamp: 2_000 })] });
    // Act
    const page = await fixture.log.fetch({ topic: 't', partition: 0, offset: 1 });
    const all = await fixture.log.fetch({ topic: 't', partition: 0, offset: 0 });
    const byTime = await fixture.log.offsets('t', 0, 1_500);
    // Assess
    expect(page.records.map((r) => asText(r.value))).toEqual(['b']);
    expect(all.records.map((r) => asText(r.value))).toEqual(['a', 'b']);
    expect(byTime.offset).toBe(1);
  });
});
