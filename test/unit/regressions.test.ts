/**
 * Regression tests for bugs found by the chaos run (test/chaos), each named after the seed that found
 * it. Each reproduces the interleaving deterministically.
 */
import { describe, expect, it } from 'vitest';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { createJanitor } from '../../lambdas/core/janitor.ts';
import { newPartitionObjectKey, partitionPk, topicObjectPrefix } from '../../lambdas/core/layout.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import type { QueryOptions, QueryResult } from '../../lambdas/ports/meta-store.ts';
import { logFixture, record } from '../support/log-fixture.ts';

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
