import { describe, expect, it } from 'vitest';
import { decodeRecordBatch, splitBatches } from '../../client/wire/record-batch.ts';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import { RECENT_KEYS } from '../../lambdas/core/partition-state.ts';
import { partitionForKey } from '../../lambdas/core/partitioner.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import type { TransactOp } from '../../lambdas/ports/meta-store.ts';
import { failure } from '../support/failure.ts';
import { asText, logFixture, record } from '../support/log-fixture.ts';

const utf8 = new TextEncoder();

/** A memory store whose transactions can be made to fail before or after they apply. */
class FlakyMetaStore extends MemoryMetaStore {
  failNext: ((ops: readonly TransactOp[]) => 'before' | 'after' | undefined) | undefined;
  override async transact(ops: readonly TransactOp[]): Promise<void> {
    const when = this.failNext?.(ops);
    const fault = new StreamError('UNAVAILABLE', 'injected timeout');
    if (when === 'before') throw fault;
    await super.transact(ops);
    if (when === 'after') throw fault;
  }
}

const partitionOf = (ops: readonly TransactOp[]) => {
  const op = ops[0];
  return op?.type === 'put' ? Number(op.item.pk.split('#')[2]) : -1;
};

describe('produce and fetch', () => {
  it('writes one object and one two-item commit per partition, and reads every record back', async () => {
    // Prepare
    const { topics, log, objects, meta } = logFixture();
    await topics.createTopic('orders', 3);
    meta.reset();
    const records = [
      record('v0', { partition: 0, headers: { trace: 'abc' } }),
      record('v1', { partition: 2 }),
      record('v2', { partition: 0, timestamp: 1234 }),
      record(null, { partition: 1, key: 'tombstone' }),
    ];
    // Act
    const { offsets } = await log.produce({ topic: 'orders', records });
    // Assess
    expect(offsets).toEqual([
      { partition: 0, offset: 0 },
      { partition: 2, offset: 0 },
      { partition: 0, offset: 1 },
      { partition: 1, offset: 0 },
    ]);
    expect(objects.counts.puts).toBe(1);
    expect(meta.counts.transactSizes).toEqual([2, 2, 2]);
    const p0 = await log.fetch({ topic: 'orders', partition: 0, offset: 0 });
    expect(p0.records.map((r) => [r.offset, asText(r.value)])).toEqual([
      [0, 'v0'],
      [1, 'v2'],
    ]);
    expect(p0.records[0]?.headers.map((h) => [h.key, asText(h.value)])).toEqual([['trace', 'abc']]);
    expect(p0.records[1]?.timestamp).toBe(1234);
    expect(p0).toMatchObject({ nextOffset: 2, highWatermark: 2, logStartOffset: 0 });
    const p1 = await log.fetch({ topic: 'orders', partition: 1, offset: 0 });
    expect(p1.records[0]).toMatchObject({ offset: 0, value: null });
    expect(asText(p1.records[0]?.key ?? null)).toBe('tombstone');
    const details = await topics.describeTopic('orders');
    expect(details.partitionStates.map((p) => [p.highWatermark, p.batches])).toEqual([
      [2, 1],
      [1, 1],
      [1, 1],
    ]);
    expect(details.partitionStates[0]?.bytes).toBeGreaterThan(61);
  });

  it("places keyed records where Kafka's default partitioner does", async () => {
    const { topics, log } = logFixture();
    await topics.createTopic('keyed', 6);
    const keys = ['21', 'foobar', 'a-little-bit-long-string', 'user-42', 'é', ''];
    const { offsets } = await log.produce({
      topic: 'keyed',
      records: keys.map((key) => record('x', { key })),
    });
    expect(offsets.map((o) => o.partition)).toEqual(keys.map((key) => partitionForKey(utf8.encode(key), 6)));
  });

  it('sends the unkeyed records of a request to one partition, rotating across requests', async () => {
    const { topics, log } = logFixture();
    await topics.createTopic('unkeyed', 4);
    const seen = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const { offsets } = await log.produce({
        topic: 'unkeyed',
        records: [record('a'), record('b'), record('c')],
      });
      expect(new Set(offsets.map((o) => o.partition)).size).toBe(1);
      seen.add(offsets[0]!.partition);
    }
    expect(seen.size).toBe(4);
  });

  it('answers a retry with the same Idempotency-Key with the first offsets and writes nothing', async () => {
    // Prepare
    const { topics, log, objects, meta } = logFixture();
    await topics.createTopic('orders', 3);
    const request = {
      topic: 'orders',
      idempotencyKey: 'req-1',
      records: [record('a'), record('b', { key: 'k' }), record('c', { partition: 2 })],
    };
    const first = await log.produce(request);
    objects.reset();
    meta.reset();
    // Act
    const again = await log.produce(request);
    // Assess
    expect(again).toEqual(first);
    expect(objects.counts.puts).toBe(0);
    expect(meta.counts.transacts).toBe(0);
    const end = (await topics.describeTopic('orders')).partitionStates[2]!.highWatermark;
    const other = await log.produce({ ...request, records: [request.records[2]!], idempotencyKey: 'req-2' });
    expect(other.offsets).toEqual([{ partition: 2, offset: end }]);
  });

  it('refuses an Idempotency-Key reused for a different request', async () => {
    const { topics, log } = logFixture();
    await topics.createTopic('orders', 1);
    await log.produce({ topic: 'orders', idempotencyKey: 'k', records: [record('a')] });
    const error = await failure(
      log.produce({ topic: 'orders', idempotencyKey: 'k', records: [record('a'), record('b')] }),
    );
    expect(error.code).toBe('INVALID_REQUEST');
  });

  it('remembers the last RECENT_KEYS requests of a partition', async () => {
    const { topics, log, objects } = logFixture();
    await topics.createTopic('orders', 1);
    for (let i = 0; i <= RECENT_KEYS; i++)
      await log.produce({ topic: 'orders', idempotencyKey: `k${i}`, records: [record(`${i}`)] });
    objects.reset();
    await log.produce({ topic: 'orders', idempotencyKey: `k${RECENT_KEYS}`, records: [record('again')] });
    await log.produce({ topic: 'orders', idempotencyKey: 'k1', records: [record('again')] });
    expect(objects.counts.puts).toBe(0);
  });

  it('resolves a commit that timed out after applying: acknowledged once, no duplicate', async () => {
    // Prepare: the first commit transaction applies, then its caller sees a timeout
    const flaky = new FlakyMetaStore();
    const { topics, log } = logFixture({ meta: flaky });
    await topics.createTopic('orders', 1);
    let armed = true;
    flaky.failNext = () => {
      if (!armed) return undefined;
      armed = false;
      return 'after';
    };
    // Act
    const { offsets } = await log.produce({ topic: 'orders', records: [record('a'), record('b')] });
    // Assess
    expect(offsets.map((o) => o.offset)).toEqual([0, 1]);
    const fetched = await log.fetch({ topic: 'orders', partition: 0, offset: 0 });
    expect(fetched.records.map((r) => asText(r.value))).toEqual(['a', 'b']);
    expect(fetched.highWatermark).toBe(2);
  });

  it('reports partitions that failed with the offsets of those that committed; a retry completes only the rest', async () => {
    // Prepare: partition 1's commit fails before applying, once
    const flaky = new FlakyMetaStore();
    const { topics, log, objects, meta } = logFixture({ meta: flaky });
    await topics.createTopic('orders', 2);
    flaky.failNext = (ops) => (partitionOf(ops) === 1 ? 'before' : undefined);
    const request = {
      topic: 'orders',
      idempotencyKey: 'r',
      records: [record('a', { partition: 0 }), record('b', { partition: 1 })],
    };
    // Act
    const error = await failure(log.produce(request));
    flaky.failNext = undefined;
    meta.reset();
    const retried = await log.produce(request);
    // Assess
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retriable: true });
    expect(error.details).toEqual({ offsets: [{ partition: 0, offset: 0 }, null] });
    expect(retried.offsets).toEqual([
      { partition: 0, offset: 0 },
      { partition: 1, offset: 0 },
    ]);
    expect(meta.counts.transactSizes).toEqual([2]);
    expect(objects.counts.puts).toBe(2);
    expect((await log.fetch({ topic: 'orders', partition: 0, offset: 0 })).records).toHaveLength(1);
  });

  it('gives 8 concurrent producers on one partition contiguous offsets, each record at its acked offset', async () => {
    // Prepare
    const { topics, log } = logFixture();
    await topics.createTopic('hot', 1);
    // Act
    const acks = await Promise.all(
      Array.from({ length: 8 }, (_, producer) =>
        (async () => {
          const mine: [number, string][] = [];
          for (let r = 0; r < 10; r++) {
            const values = [`p${producer}-r${r}-a`, `p${producer}-r${r}-b`];
            const { offsets } = await log.produce({ topic: 'hot', records: values.map((v) => record(v)) });
            for (const [i, o] of offsets.entries()) mine.push([o.offset, values[i]!]);
          }
          return mine;
        })(),
      ),
    );
    // Assess
    const acked = new Map(acks.flat());
    expect([...acked.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 160 }, (_, i) => i));
    const read = new Map<number, string>();
    for (let offset = 0; offset < 160; ) {
      const page = await log.fetch({ topic: 'hot', partition: 0, offset, maxBytes: 500 });
      for (const r of page.records) read.set(r.offset, asText(r.value)!);
      offset = page.nextOffset;
    }
    expect(read).toEqual(acked);
  });

  it('never makes producers of disjoint partitions conflict', async () => {
    const { topics, log, meta } = logFixture();
    await topics.createTopic('wide', 8);
    await Promise.all(
      Array.from({ length: 8 }, (_, p) =>
        Promise.all(
          Array.from({ length: 5 }, (_, i) =>
            log.produce({ topic: 'wide', records: [record(`${i}`, { partition: p })] }).then(() => undefined),
          ),
        ),
      ),
    );
    // Producers of one partition still contend with each other; across partitions they never do.
    const conflictsWithin = meta.counts.conflicts;
    // Every refused transaction is a failed one; the rest are the topic's creation and 40 commits.
    expect(meta.counts.failedTransacts).toBeGreaterThanOrEqual(conflictsWithin);
    expect(meta.counts.transacts - meta.counts.failedTransacts).toBe(41);
    meta.reset();
    await Promise.all(
      Array.from({ length: 8 }, (_, p) =>
        log.produce({ topic: 'wide', records: [record('x', { partition: p })] }),
      ),
    );
    expect(meta.counts.conflicts).toBe(0);
    expect(meta.counts.failedTransacts).toBe(0);
    expect(meta.counts.transactSizes).toEqual(Array(8).fill(2));
    expect(conflictsWithin).toBeGreaterThanOrEqual(0);
  });

  it('validates the whole request before writing anything', async () => {
    const { topics, log, objects, meta } = logFixture();
    await topics.createTopic('orders', 2, { 'max.message.bytes': 100 });
    meta.reset();
    const cases: [Promise<unknown>, string][] = [
      [log.produce({ topic: 'orders', records: [] }), 'INVALID_REQUEST'],
      [
        log.produce({ topic: 'orders', records: [record('ok'), record('x'.repeat(101))] }),
        'RECORD_TOO_LARGE',
      ],
      [
        log.produce({ topic: 'orders', records: [record('ok'), record('x', { partition: 2 })] }),
        'PARTITION_NOT_FOUND',
      ],
      [log.produce({ topic: 'orders', records: [record('x', { timestamp: -1 })] }), 'INVALID_REQUEST'],
      [
        log.produce({ topic: 'orders', idempotencyKey: 'k'.repeat(129), records: [record('x')] }),
        'INVALID_REQUEST',
      ],
      [log.produce({ topic: 'nope', records: [record('x')] }), 'TOPIC_NOT_FOUND'],
    ];
    for (const [promise, expected] of cases) expect((await failure(promise)).code).toBe(expected);
    expect(objects.counts.puts).toBe(0);
    expect(meta.counts.transacts).toBe(0);
  });
});

describe('fetch', () => {
  async function filled(batches: number, perBatch: number) {
    const fixture = logFixture();
    await fixture.topics.createTopic('t', 1);
    for (let b = 0; b < batches; b++) {
      const records = Array.from({ length: perBatch }, (_, i) =>
        record(`${b * perBatch + i}`, { timestamp: 1000 + b * 10 + i }),
      );
      await fixture.log.produce({ topic: 't', records });
    }
    return fixture;
  }

  it('starts exactly at the requested offset, even inside a batch', async () => {
    const { log } = await filled(3, 4);
    const page = await log.fetch({ topic: 't', partition: 0, offset: 6 });
    expect(page.records.map((r) => r.offset)).toEqual([6, 7, 8, 9, 10, 11]);
    expect(page.records.map((r) => asText(r.value))).toEqual(['6', '7', '8', '9', '10', '11']);
    expect(page.nextOffset).toBe(12);
  });

  it('returns the whole batch holding offset even when max_bytes is smaller than it, and walks on from there', async () => {
    const { log } = await filled(5, 3);
    const page = await log.fetch({ topic: 't', partition: 0, offset: 1, maxBytes: 1 });
    expect(page.records.map((r) => r.offset)).toEqual([1, 2]);
    expect(page.nextOffset).toBe(3);
    const raw = await log.fetchBatches({ topic: 't', partition: 0, offset: 0, maxBytes: 1 });
    expect(raw.nextOffset).toBe(3);
    const next = await log.fetch({ topic: 't', partition: 0, offset: page.nextOffset, maxBytes: 1 });
    expect(next.records.map((r) => r.offset)).toEqual([3, 4, 5]);
  });

  it('reads coalesced neighbours with one GET per object', async () => {
    const { log, objects } = await filled(4, 2);
    objects.reset();
    await log.fetch({ topic: 't', partition: 0, offset: 0 });
    expect(objects.counts.gets).toBe(4);
  });

  it('returns raw batches with base offsets patched and CRCs intact', async () => {
    const { log } = await filled(3, 2);
    const raw = await log.fetchBatches({ topic: 't', partition: 0, offset: 3 });
    const batches = [...splitBatches(raw.batches)].map((b) => decodeRecordBatch(b));
    expect(batches.map((b) => b.baseOffset)).toEqual([2, 4]);
    expect(batches.flatMap((b) => b.records.map((r) => r.offset))).toEqual([2, 3, 4, 5]);
    expect(raw).toMatchObject({ nextOffset: 6, highWatermark: 6, logStartOffset: 0 });
  });

  it('answers OFFSET_OUT_OF_RANGE with the valid range, and an empty page at the high watermark', async () => {
    const { log } = await filled(1, 2);
    const error = await failure(log.fetch({ topic: 't', partition: 0, offset: 3 }));
    expect(error.code).toBe('OFFSET_OUT_OF_RANGE');
    expect(error.details).toEqual({ logStartOffset: 0, highWatermark: 2 });
    expect((await failure(log.fetch({ topic: 't', partition: 1, offset: 0 }))).code).toBe(
      'PARTITION_NOT_FOUND',
    );
    expect((await failure(log.fetch({ topic: 't', partition: 0, offset: -1 }))).code).toBe('INVALID_REQUEST');
    const atEnd = await log.fetch({ topic: 't', partition: 0, offset: 2 });
    expect(atEnd).toEqual({ records: [], nextOffset: 2, highWatermark: 2, logStartOffset: 0 });
  });

  it('long-polls at the high watermark and returns as soon as data arrives', async () => {
    const { log } = await filled(1, 1);
    const started = Date.now();
    const waiting = log.fetch({ topic: 't', partition: 0, offset: 1, maxWaitMs: 10_000 });
    setTimeout(() => void log.produce({ topic: 't', records: [record('late')] }), 50);
    const page = await waiting;
    expect(page.records.map((r) => asText(r.value))).toEqual(['late']);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('ends a long poll empty when nothing arrives', async () => {
    const clock = new ManualClock();
    const fixture = logFixture({ clock });
    await fixture.topics.createTopic('t', 1);
    const page = await fixture.log.fetch({ topic: 't', partition: 0, offset: 0, maxWaitMs: 2_000 });
    expect(page.records).toEqual([]);
    expect(clock.now()).toBeGreaterThanOrEqual(1_700_000_000_000 + 2_000);
  });

  it('bounds a page of records by max_bytes of batch bytes only (the HTTP layer measures its response)', async () => {
    // Prepare: 30,000 one-byte records in three small batches, far more JSON than batch bytes
    const fixture = logFixture();
    await fixture.topics.createTopic('tiny', 1);
    for (let r = 0; r < 3; r++) {
      await fixture.log.produce({
        topic: 'tiny',
        records: Array.from({ length: 10_000 }, () => record('x')),
      });
    }
    // Act
    const page = await fixture.log.fetch({ topic: 'tiny', partition: 0, offset: 5 });
    // Assess: every record of the batches within max_bytes, from the offset asked for
    expect(page.records).toHaveLength(30_000 - 5);
    expect(page.records[0]?.offset).toBe(5);
    expect(page.nextOffset).toBe(30_000);
  });

  it('finds the offset for a timestamp: the earliest record at or after it', async () => {
    const { log } = await filled(3, 4); // timestamps 1000..1003, 1010..1013, 1020..1023
    const at = (timestamp?: number) => log.offsets('t', 0, timestamp);
    expect(await at()).toEqual({ logStartOffset: 0, highWatermark: 12 });
    expect((await at(0)).offset).toBe(0);
    expect((await at(1002)).offset).toBe(2);
    expect((await at(1005)).offset).toBe(4);
    expect((await at(1023)).offset).toBe(11);
    expect((await at(5000)).offset).toBe(12);
  });
});
