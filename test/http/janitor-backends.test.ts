/**
 * The janitor on real storage: the embedded backend (SQLite + files) and the AWS adapters (DynamoDB
 * Local + s3rver). Compaction keeps records byte-identical, retention and deleted records move the log
 * start, GC removes the objects nothing points at any more, and each pass is on record.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { DATA_PREFIX } from '../../lambdas/core/layout.ts';
import type { FetchedRecord } from '../../lambdas/core/log-types.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import { type Backend, createEmbeddedBackend, createServices } from '../../lambdas/runtime/backends.ts';
import { dynamoOn, s3On } from '../support/aws-targets.ts';
import { record } from '../support/log-fixture.ts';

const backends: [string, (clock: ManualClock) => Promise<Backend>][] = [
  [
    'the embedded backend',
    async (clock) =>
      createEmbeddedBackend({ dataDir: mkdtempSync(join(tmpdir(), 'streambed-janitor-')), clock }),
  ],
  [
    'the AWS adapters on the emulators',
    async (clock) => ({
      meta: await dynamoOn(
        {
          endpoint: inject('dynamoEndpoint'),
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        },
        clock,
      ),
      objects: await s3On({
        endpoint: inject('s3Endpoint'),
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      }),
      close: async () => {},
    }),
  ],
];

describe.each(backends)('janitor on %s', (_name, open) => {
  it('compacts, retains and collects garbage without changing what readers see', async () => {
    // Prepare: 40 one-record requests over two partitions
    const clock = new ManualClock(Date.now());
    const backend = await open(clock);
    const { topics, log, janitor } = createServices(backend, clock, { janitor: { graceMs: 1_000 } });
    await topics.createTopic('j', 2, { 'retention.ms': -1 });
    for (let i = 0; i < 40; i++) {
      await log.produce({
        topic: 'j',
        records: [record(`v${i}`, { partition: i % 2, timestamp: clock.now() + i })],
      });
    }
    const readAll = async (partition: number) => {
      const out: FetchedRecord[] = [];
      const range = await log.offsets('j', partition);
      for (let offset = range.logStartOffset; offset < range.highWatermark; ) {
        const page = await log.fetch({ topic: 'j', partition, offset });
        out.push(...page.records);
        offset = page.nextOffset;
      }
      return out;
    };
    const before = [await readAll(0), await readAll(1)];
    // Act 1: compaction
    clock.advance(10_000);
    const compacted = await janitor.runOnce();
    // Assess 1
    expect(compacted.compactedBatches).toBe(40);
    // The pass is on record for GET /v1/janitor, as the store keeps it
    expect(await janitor.lastRun()).toMatchObject({
      finishedAt: clock.now(),
      partitions: 2,
      compactedBatches: 40,
      failures: 0,
      incomplete: false,
    });
    const described = await topics.describeTopic('j');
    expect(described.partitionStates.map((p) => p.batches)).toEqual([1, 1]);
    expect([await readAll(0), await readAll(1)]).toEqual(before);
    // Act 2: time retention of everything older than the records' timestamps + 100 ms
    await topics.alterTopic('j', { config: { 'retention.ms': 100_000 } });
    clock.advance(200_000);
    await janitor.runOnce();
    // Assess 2: every batch is gone, the log starts at the high watermark, the produce objects too
    expect(
      (await topics.describeTopic('j')).partitionStates.map((p) => [
        p.logStartOffset,
        p.highWatermark,
        p.batches,
      ]),
    ).toEqual([
      [20, 20, 0],
      [20, 20, 0],
    ]);
    clock.advance(200_000);
    await janitor.runOnce();
    expect((await backend.objects.list(DATA_PREFIX)).objects).toEqual([]);
    expect((await backend.objects.list('compacted/')).objects).toEqual([]);
    const { offsets } = await log.produce({ topic: 'j', records: [record('after', { partition: 1 })] });
    expect(offsets).toEqual([{ partition: 1, offset: 20 }]);
    await backend.close();
  }, 60_000);

  it('deleted records: the log starts at the offset at once, the janitor then drops what is wholly below', async () => {
    // Prepare: four two-record requests to one partition (offsets 0-7), no retention
    const clock = new ManualClock(Date.now());
    const backend = await open(clock);
    const { topics, log, janitor } = createServices(backend, clock, {
      janitor: { graceMs: 1_000, compactAfterMs: Number.MAX_SAFE_INTEGER },
    });
    await topics.createTopic('d', 1, { 'retention.ms': -1 });
    for (let i = 0; i < 4; i++) {
      await log.produce({ topic: 'd', records: [record(`v${2 * i}`), record(`v${2 * i + 1}`)] });
      clock.advance(1);
    }
    // Act
    const moved = await log.deleteRecords({ topic: 'd', partitions: [{ partition: 0, offset: 5 }] });
    // Assess: readers follow at once; the janitor removes the two requests wholly below 5, then their objects
    expect(moved.partitions).toEqual([{ partition: 0, logStartOffset: 5 }]);
    await expect(log.fetch({ topic: 'd', partition: 0, offset: 4 })).rejects.toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
    });
    expect((await janitor.runOnce()).retainedBatches).toBe(2);
    expect((await topics.describeTopic('d')).partitionStates[0]).toMatchObject({
      logStartOffset: 5,
      highWatermark: 8,
      batches: 2,
    });
    clock.advance(200_000);
    await janitor.runOnce();
    expect((await backend.objects.list(DATA_PREFIX)).objects).toHaveLength(2);
    const page = await log.fetch({ topic: 'd', partition: 0, offset: 5 });
    expect(page.records.map((r) => r.offset)).toEqual([5, 6, 7]);
    await backend.close();
  }, 60_000);
});
