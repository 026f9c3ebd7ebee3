/**
 * Produce rules that keep the log's promises over time: bounded record timestamps (so time retention
 * always makes progress), and retries that land where their first attempt did, even after the topic
 * grew partitions.
 */
import { describe, expect, it } from 'vitest';
import { MAX_BATCH_BYTES, MAX_MESSAGE_BYTES } from '../../client/wire/limits.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import { createJanitor } from '../../lambdas/core/janitor.ts';
import { partitionForKey } from '../../lambdas/core/partitioner.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import { failure } from '../support/failure.ts';
import { asText, logFixture, record } from '../support/log-fixture.ts';

const HOUR = 60 * 60 * 1000;
const utf8 = new TextEncoder();

function world() {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  return { ...logFixture({ clock }), clock };
}

describe('produce: record timestamps are bounded like Kafka 4', () => {
  it('refuses a record stamped more than message.timestamp.after.max.ms ahead, writing nothing', async () => {
    // Prepare
    const { log, topics, clock } = world();
    await topics.createTopic('t', 1);
    // Act
    const error = await failure(
      log.produce({
        topic: 't',
        records: [record('ok'), record('future', { timestamp: clock.now() + HOUR + 1 })],
      }),
    );
    // Assess
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toMatch(/record 1: .*message\.timestamp\.after\.max\.ms/);
    expect(await log.offsets('t', 0)).toEqual({ logStartOffset: 0, highWatermark: 0 });
    const within = await log.produce({
      topic: 't',
      records: [record('soon', { timestamp: clock.now() + HOUR })],
    });
    expect(within.offsets).toEqual([{ partition: 0, offset: 0 }]);
  });

  it('refuses a record older than message.timestamp.before.max.ms when the topic sets it', async () => {
    const { log, topics, clock } = world();
    await topics.createTopic('t', 1, { 'message.timestamp.before.max.ms': '60000' });
    const error = await failure(
      log.produce({ topic: 't', records: [record('stale', { timestamp: clock.now() - 60_001 })] }),
    );
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toMatch(/message\.timestamp\.before\.max\.ms/);
    expect(await log.offsets('t', 0)).toEqual({ logStartOffset: 0, highWatermark: 0 });
  });

  it("takes Kafka's defaults and its Long.MAX_VALUE spelling of no bound", async () => {
    const { topics } = world();
    const created = await topics.createTopic('t', 1, {
      'message.timestamp.after.max.ms': '9223372036854775807',
    });
    expect(created.config['message.timestamp.after.max.ms']).toBe(Number.MAX_SAFE_INTEGER);
    expect(created.config['message.timestamp.before.max.ms']).toBe(Number.MAX_SAFE_INTEGER);
    expect((await topics.createTopic('u', 1)).config['message.timestamp.after.max.ms']).toBe(HOUR);
    await expect(topics.createTopic('v', 1, { 'message.timestamp.after.max.ms': -5 })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
  });

  it('one far-future timestamp accepted before the topic bounded timestamps does not hold retention back forever', async () => {
    // Prepare: a topic that once allowed any timestamp takes one from the year 2100, then normal ones,
    // and a compaction merges them into one entry
    const { log, topics, clock, meta, objects } = world();
    await topics.createTopic('t', 1, {
      'retention.ms': HOUR,
      'message.timestamp.after.max.ms': '9223372036854775807',
    });
    await log.produce({ topic: 't', records: [record('far', { timestamp: Date.UTC(2100, 0, 1) })] });
    for (let i = 0; i < 3; i++) await log.produce({ topic: 't', records: [record(`n${i}`)] });
    const janitor = createJanitor(
      { meta, objects, clock, topics },
      { owner: 'j', compactAfterMs: 0, graceMs: 0 },
    );
    clock.advance(1_000);
    await janitor.runOnce();
    expect((await topics.describeTopic('t')).partitionStates[0]?.batches).toBe(1);
    await topics.alterTopic('t', { config: { 'message.timestamp.after.max.ms': HOUR } });
    // Act: well past retention plus the timestamp bound
    clock.advance(3 * HOUR);
    await janitor.runOnce();
    // Assess
    expect(await log.offsets('t', 0)).toEqual({ logStartOffset: 4, highWatermark: 4 });
  });
});

describe('produce: a retry lands where its first attempt did', () => {
  /** Keys that hash to different partitions among 2 and among 4 partitions. */
  const movingKeys = Array.from({ length: 40 }, (_, i) => `key-${i}`)
    .filter((key) => partitionForKey(utf8.encode(key), 4) !== partitionForKey(utf8.encode(key), 2))
    .slice(0, 3);

  it('a retry with the same Idempotency-Key after the topic grew partitions writes nothing again', async () => {
    // Prepare: a first attempt whose answer was lost, then the topic grows from 2 to 4 partitions
    const { log, topics } = world();
    expect(movingKeys).toHaveLength(3);
    await topics.createTopic('t', 2);
    const records = [...movingKeys.map((key) => record(`v-${key}`, { key })), record('unkeyed')];
    const first = await log.produce({ topic: 't', records, idempotencyKey: 'request-1' });
    await topics.alterTopic('t', { partitions: 4 });
    // Act
    const retry = await log.produce({ topic: 't', records, idempotencyKey: 'request-1' });
    // Assess: the same offsets, and the log holds each record once
    expect(retry.offsets).toEqual(first.offsets);
    const states = (await topics.describeTopic('t')).partitionStates;
    expect(states.reduce((sum, s) => sum + s.highWatermark, 0)).toBe(records.length);
    // A new request after the growth is partitioned by the new count
    const fresh = await log.produce({
      topic: 't',
      records: [record('x', { key: movingKeys[0] })],
      idempotencyKey: 'request-2',
    });
    expect(fresh.offsets[0]?.partition).toBe(partitionForKey(utf8.encode(movingKeys[0] as string), 4));
  });

  it('a retry spanning ten growths of the topic still lands where its first attempt did', async () => {
    // Prepare: found by the chaos run (seed 105): a client retrying while other clients grow the topic
    const { log, topics } = world();
    await topics.createTopic('t', 2);
    const records = movingKeys.map((key) => record(`v-${key}`, { key }));
    const first = await log.produce({ topic: 't', records, idempotencyKey: 'slow-client' });
    for (let partitions = 3; partitions <= 12; partitions++) await topics.alterTopic('t', { partitions });
    // Act
    const retry = await log.produce({ topic: 't', records, idempotencyKey: 'slow-client' });
    // Assess
    expect(retry.offsets).toEqual(first.offsets);
    const states = (await topics.describeTopic('t')).partitionStates;
    expect(states.reduce((sum, s) => sum + s.highWatermark, 0)).toBe(records.length);
  });

  it('a retry after the growth completes a first attempt that committed only some partitions, where it started', async () => {
    // Prepare: the first attempt commits partition 0 of its two and fails on the other
    const { log, topics, meta } = world();
    await topics.createTopic('t', 2);
    const key0 = Array.from({ length: 40 }, (_, i) => `k${i}`).find(
      (key) => partitionForKey(utf8.encode(key), 2) === 0,
    ) as string;
    // 'b' hashes to partition 1 of 2 but to partition 3 of 4
    const key1 = movingKeys.find((key) => partitionForKey(utf8.encode(key), 2) === 1) as string;
    expect(partitionForKey(utf8.encode(key1), 4)).toBe(3);
    const records = [record('a', { key: key0 }), record('b', { key: key1 })];
    const id = (await topics.requireTopic('t')).topicId;
    const transact = meta.transact.bind(meta);
    meta.transact = async (ops) => {
      const op = ops[0];
      if (op?.type === 'put' && op.item.pk === `part#${id}#1` && op.item.sk === 'meta')
        throw new StreamError('UNAVAILABLE', 'injected outage');
      return transact(ops);
    };
    expect((await failure(log.produce({ topic: 't', records, idempotencyKey: 'r' }))).code).toBe(
      'UNAVAILABLE',
    );
    meta.transact = transact;
    await topics.alterTopic('t', { partitions: 4 });
    // Act
    const retry = await log.produce({ topic: 't', records, idempotencyKey: 'r' });
    // Assess: 'a' once, at its first offset; 'b' on its original partition
    expect(retry.offsets).toEqual([
      { partition: 0, offset: 0 },
      { partition: 1, offset: 0 },
    ]);
    const page = await log.fetch({ topic: 't', partition: 0, offset: 0 });
    expect(page.records.map((r) => asText(r.value))).toEqual(['a']);
  });
});

describe('produce: a record batch fits one fetch response', () => {
  it('refuses records for one partition that would encode to a batch over MAX_BATCH_BYTES, writing nothing', async () => {
    // Prepare: two records each within max.message.bytes, together over the batch limit
    const { log, topics, objects } = world();
    await topics.createTopic('t', 2, { 'max.message.bytes': MAX_MESSAGE_BYTES });
    const half = new Uint8Array(Math.ceil(MAX_BATCH_BYTES / 2)).fill(7);
    const putsBefore = objects.counts.puts;
    // Act
    const error = await failure(
      log.produce({
        topic: 't',
        records: [
          { key: null, value: half, headers: [], partition: 0 },
          { key: null, value: half, headers: [], partition: 0 },
        ],
      }),
    );
    // Assess
    expect(error.code).toBe('RECORD_TOO_LARGE');
    expect(error.message).toContain(`partition 0`);
    expect(error.message).toContain(String(MAX_BATCH_BYTES));
    expect(objects.counts.puts).toBe(putsBefore);
    expect(await log.offsets('t', 0)).toEqual({ logStartOffset: 0, highWatermark: 0 });
    // The same records over two partitions make two batches, each within the limit
    const spread = await log.produce({
      topic: 't',
      records: [
        { key: null, value: half, headers: [], partition: 0 },
        { key: null, value: half, headers: [], partition: 1 },
      ],
    });
    expect(spread.offsets).toEqual([
      { partition: 0, offset: 0 },
      { partition: 1, offset: 0 },
    ]);
  });
});
