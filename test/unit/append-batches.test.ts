import { Buffer } from 'node:buffer';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../client/wire/crc32c.ts';
import { canDecompress, encodeRecordBatch, type LogRecord } from '../../client/wire/record-batch.ts';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { SqliteMetaStore } from '../../lambdas/adapters/sqlite-meta-store.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import { createJanitor } from '../../lambdas/core/janitor.ts';
import { DATA_PREFIX } from '../../lambdas/core/layout.ts';
import type { AppendPartition, AppendPartitionResult } from '../../lambdas/core/log-types.ts';
import { RECENT_KEYS } from '../../lambdas/core/partition-state.ts';
import { ManualClock, systemClock } from '../../lambdas/ports/clock.ts';
import type { ItemKey, TransactOp } from '../../lambdas/ports/meta-store.ts';
import { compressedBatch } from '../support/compressed-batch.ts';
import { failure } from '../support/failure.ts';
import { asText, logFixture } from '../support/log-fixture.ts';

// KafkaJS's own record batch encoder and gzip codec: the bytes a KafkaJS producer sends.
const require = createRequire(import.meta.url);
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (options: Record<string, unknown>) => Promise<{ buffer: Buffer }>;
};
const KafkaRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (
  options: Record<string, unknown>,
) => unknown;
const Long = require('kafkajs/src/utils/long') as { fromValue(value: number): unknown };
const { Types: Compression } = require('kafkajs/src/protocol/message/compression') as {
  Types: { None: number; GZIP: number };
};

interface Message {
  key?: string;
  value: string;
  timestamp?: number;
  headers?: Record<string, string>;
}

interface BatchOptions {
  gzip?: boolean;
  producerId?: number;
  producerEpoch?: number;
  firstSequence?: number;
  transactional?: boolean;
}

/** A record batch exactly as KafkaJS 2.2 encodes one in a Produce request (produce/v3/request.js). */
async function kafkajsBatch(messages: Message[], options: BatchOptions = {}): Promise<Uint8Array> {
  const now = Date.now();
  const timestamps = messages.map((m) => m.timestamp ?? now);
  const firstTimestamp = Math.min(...timestamps);
  const records = messages.map((m, i) =>
    KafkaRecord({
      key: m.key === undefined ? null : Buffer.from(m.key),
      value: Buffer.from(m.value),
      headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.from(v)])),
      offsetDelta: i,
      timestampDelta: (timestamps[i] as number) - firstTimestamp,
    }),
  );
  const batch = await RecordBatch({
    compression: options.gzip ? Compression.GZIP : Compression.None,
    records,
    firstTimestamp,
    maxTimestamp: Math.max(...timestamps),
    producerId: Long.fromValue(options.producerId ?? -1),
    producerEpoch: options.producerEpoch ?? 0,
    firstSequence: options.firstSequence ?? 0,
    transactional: options.transactional ?? false,
    lastOffsetDelta: records.length - 1,
  });
  return new Uint8Array(batch.buffer);
}

const utf8 = new TextEncoder();

/** A batch from this repository's encoder (timestamps default to now). */
function batchOf(
  values: string[],
  options: { timestamp?: number; producerId?: number; producerEpoch?: number; baseSequence?: number } = {},
) {
  const records: LogRecord[] = values.map((value) => ({
    key: null,
    value: utf8.encode(value),
    headers: [],
    timestamp: options.timestamp ?? Date.now(),
  }));
  return encodeRecordBatch(records, {
    producerId: options.producerId ?? -1,
    producerEpoch: options.producerEpoch ?? -1,
    baseSequence: options.baseSequence ?? -1,
  });
}

/** A copy of `batch` changed by `mutate`, its CRC recomputed so only the change is wrong. */
function resealed(batch: Uint8Array, mutate: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
  const copy = batch.slice();
  const view = new DataView(copy.buffer);
  mutate(view, copy);
  view.setUint32(17, crc32c(copy.subarray(21)));
  return copy;
}

/** A copy of `batch` with its last byte flipped (the CRC no longer matches). */
function badCrc(batch: Uint8Array): Uint8Array {
  const copy = batch.slice();
  copy[copy.length - 1] = (copy[copy.length - 1] as number) ^ 0xff;
  return copy;
}

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

function okOf(result: AppendPartitionResult | undefined) {
  if (result === undefined || result.error !== undefined) {
    throw new Error(`expected a committed partition, got ${result?.error?.message ?? 'nothing'}`);
  }
  return result;
}

function errorOf(result: AppendPartitionResult | undefined): StreamError {
  if (result?.error === undefined) throw new Error('expected a refused partition');
  expect(result.error).toBeInstanceOf(StreamError);
  return result.error;
}

const reasonOf = (result: AppendPartitionResult | undefined) => errorOf(result).details?.reason;

async function highWatermarks(topics: ReturnType<typeof logFixture>['topics'], name: string) {
  return (await topics.describeTopic(name)).partitionStates.map((p) => p.highWatermark);
}

describe('appendBatches: every batch is checked, and a refused one changes nothing', () => {
  const cases: [string, () => Promise<Uint8Array> | Uint8Array, string, string][] = [
    ['a bad CRC', () => resealedCrc(), 'INVALID_REQUEST', 'CORRUPT_MESSAGE'],
    [
      'a bad CRC on a zstd batch (checked before anything is decoded)',
      () => badCrc(resealed(batchOf(['a']), (view) => view.setInt16(21, 4))),
      'INVALID_REQUEST',
      'CORRUPT_MESSAGE',
    ],
    [
      'magic 1',
      () => resealed(batchOf(['a']), (view) => view.setInt8(16, 1)),
      'INVALID_REQUEST',
      'UNSUPPORTED_FOR_MESSAGE_FORMAT',
    ],
    ['a truncated batch', () => batchOf(['abc']).subarray(0, 70), 'INVALID_REQUEST', 'CORRUPT_MESSAGE'],
    ['a truncated header', () => batchOf(['abc']).subarray(0, 40), 'INVALID_REQUEST', 'CORRUPT_MESSAGE'],
    [
      'a length field shorter than the header',
      () => resealed(batchOf(['a']), (view) => view.setInt32(8, 20)),
      'INVALID_REQUEST',
      'CORRUPT_MESSAGE',
    ],
    [
      'a record count the offsets contradict',
      () => resealed(batchOf(['a', 'b']), (view) => view.setInt32(57, 3)),
      'INVALID_REQUEST',
      'INVALID_RECORD',
    ],
    [
      'no records',
      () =>
        resealed(batchOf(['a']), (view) => {
          view.setInt32(57, 0);
          view.setInt32(23, -1);
        }),
      'INVALID_REQUEST',
      'INVALID_RECORD',
    ],
    [
      'a record that does not parse',
      () =>
        resealed(batchOf(['abc']), (_, bytes) => {
          bytes[61] = 0x7e;
        }),
      'INVALID_REQUEST',
      'CORRUPT_MESSAGE',
    ],
    [
      'a control batch',
      () => resealed(batchOf(['a']), (view) => view.setInt16(21, 0x20)),
      'INVALID_REQUEST',
      'TRANSACTIONS_UNSUPPORTED',
    ],
    [
      'a transactional batch (KafkaJS)',
      () => kafkajsBatch([{ value: 'a' }], { transactional: true, producerId: 1 }),
      'INVALID_REQUEST',
      'TRANSACTIONS_UNSUPPORTED',
    ],
    ...[5, 6, 7].map((codec): [string, () => Uint8Array, string, string] => [
      `compression codec ${codec}, which Kafka does not have`,
      () => resealed(batchOf(['a']), (view) => view.setInt16(21, codec)),
      'INVALID_REQUEST',
      'CORRUPT_MESSAGE',
    ]),
    [
      'LogAppendTime set by the producer',
      () => resealed(batchOf(['a']), (view) => view.setInt16(21, 0x08)),
      'INVALID_REQUEST',
      'INVALID_RECORD',
    ],
    [
      'a timestamp older than message.timestamp.before.max.ms',
      () => batchOf(['a'], { timestamp: Date.now() - 120_000 }),
      'INVALID_REQUEST',
      'INVALID_TIMESTAMP',
    ],
    [
      'a record older than message.timestamp.before.max.ms behind a recent first timestamp',
      () =>
        encodeRecordBatch([
          { key: null, value: null, headers: [], timestamp: Date.now() },
          { key: null, value: null, headers: [], timestamp: Date.now() - 120_000 },
        ]),
      'INVALID_REQUEST',
      'INVALID_TIMESTAMP',
    ],
    [
      'a timestamp further ahead than message.timestamp.after.max.ms',
      () => batchOf(['a'], { timestamp: Date.now() + 120_000 }),
      'INVALID_REQUEST',
      'INVALID_TIMESTAMP',
    ],
    ['a batch bigger than max.message.bytes', () => batchOf(['x'.repeat(300)]), 'RECORD_TOO_LARGE', ''],
    ['no bytes at all', () => new Uint8Array(0), 'INVALID_REQUEST', 'INVALID_RECORD'],
  ];
  function resealedCrc(): Uint8Array {
    return badCrc(batchOf(['abc']));
  }

  it.each(cases)('refuses %s', async (_name, make, code, reason) => {
    // Prepare
    const { topics, log, objects, meta } = logFixture();
    await topics.createTopic('t', 1, {
      'max.message.bytes': 256,
      'message.timestamp.before.max.ms': 60_000,
      'message.timestamp.after.max.ms': 60_000,
    });
    const bytes = await make();
    objects.reset();
    meta.reset();
    // Act
    const { partitions } = await log.appendBatches({
      partitions: [{ topic: 't', partition: 0, batches: bytes }],
    });
    // Assess
    const error = errorOf(partitions[0]);
    expect(error.code).toBe(code);
    if (reason !== '') expect(error.details?.reason).toBe(reason);
    expect(error.message).toContain('t/0');
    expect(objects.counts.puts).toBe(0);
    expect(meta.counts.transacts).toBe(0);
    expect(await highWatermarks(topics, 't')).toEqual([0]);
  });

  it('refuses a request whose second batch for a partition is bad, keeping none of its batches', async () => {
    const { topics, log, objects } = logFixture();
    await topics.createTopic('t', 1);
    const bad = resealed(batchOf(['b']), (view) => view.setInt16(21, 0x20));
    const { partitions } = await log.appendBatches({
      partitions: [{ topic: 't', partition: 0, batches: concat(batchOf(['a']), bad) }],
    });
    expect(reasonOf(partitions[0])).toBe('TRANSACTIONS_UNSUPPORTED');
    expect(errorOf(partitions[0]).message).toContain('batch 1');
    expect(objects.counts.puts).toBe(0);
  });
});

describe('appendBatches: one object per request, partitions committed independently', () => {
  it('writes one object for partitions of several topics and serves the bytes as received', async () => {
    // Prepare
    const { topics, log, objects, meta } = logFixture();
    await topics.createTopic('orders', 2);
    await topics.createTopic('audit', 1);
    const sent = [
      await kafkajsBatch([{ key: 'k1', value: 'o0', headers: { trace: 'abc' } }, { value: 'o1' }]),
      await kafkajsBatch([{ value: 'o2' }]),
      await kafkajsBatch([{ key: 'who', value: 'a0' }]),
    ];
    await log.appendBatches({ partitions: [{ topic: 'orders', partition: 1, batches: batchOf(['first']) }] });
    objects.reset();
    meta.reset();
    // Act
    const { partitions } = await log.appendBatches({
      partitions: [
        { topic: 'orders', partition: 0, batches: sent[0] as Uint8Array },
        { topic: 'orders', partition: 1, batches: sent[1] as Uint8Array },
        { topic: 'audit', partition: 0, batches: sent[2] as Uint8Array },
      ],
    });
    // Assess
    expect(partitions).toEqual([
      { topic: 'orders', partition: 0, baseOffset: 0, logStartOffset: 0 },
      { topic: 'orders', partition: 1, baseOffset: 1, logStartOffset: 0 },
      { topic: 'audit', partition: 0, baseOffset: 0, logStartOffset: 0 },
    ]);
    expect(objects.counts.puts).toBe(1);
    expect(meta.counts.transactSizes).toEqual([2, 2, 2]);
    // Binary fetch: the client's bytes, but for the base offset (bytes 0-7, outside the CRC).
    const served = await log.fetchBatches({ topic: 'orders', partition: 1, offset: 1 });
    const expected = (sent[1] as Uint8Array).slice();
    new DataView(expected.buffer).setBigInt64(0, 1n);
    expect(Buffer.from(served.batches).equals(Buffer.from(expected))).toBe(true);
    // JSON fetch decodes the records.
    const p0 = await log.fetch({ topic: 'orders', partition: 0, offset: 0 });
    expect(p0.records.map((r) => [r.offset, asText(r.key), asText(r.value)])).toEqual([
      [0, 'k1', 'o0'],
      [1, null, 'o1'],
    ]);
    expect(p0.records[0]?.headers.map((h) => [h.key, asText(h.value)])).toEqual([['trace', 'abc']]);
    const audit = await log.fetch({ topic: 'audit', partition: 0, offset: 0 });
    expect(audit.records.map((r) => asText(r.value))).toEqual(['a0']);
  });

  it('answers per partition, in request order: a bad partition stops no other and changes nothing', async () => {
    // Prepare
    const { topics, log, objects } = logFixture();
    await topics.createTopic('a', 2);
    await topics.createTopic('b', 1);
    const request: AppendPartition[] = [
      { topic: 'a', partition: 0, batches: batchOf(['a0', 'a1']) },
      { topic: 'a', partition: 1, batches: badCrc(batchOf(['x'])) },
      { topic: 'missing', partition: 0, batches: batchOf(['m']) },
      { topic: 'a', partition: 7, batches: batchOf(['p']) },
      { topic: 'b', partition: 0, batches: batchOf(['b0']) },
    ];
    // Act
    const { partitions } = await log.appendBatches({ partitions: request });
    // Assess
    expect(okOf(partitions[0]).baseOffset).toBe(0);
    expect(reasonOf(partitions[1])).toBe('CORRUPT_MESSAGE');
    expect(errorOf(partitions[2]).code).toBe('TOPIC_NOT_FOUND');
    expect(errorOf(partitions[3]).code).toBe('PARTITION_NOT_FOUND');
    expect(okOf(partitions[4]).baseOffset).toBe(0);
    expect(partitions.map((p) => [p.topic, p.partition])).toEqual(request.map((p) => [p.topic, p.partition]));
    expect(objects.counts.puts).toBe(1);
    expect(await highWatermarks(topics, 'a')).toEqual([2, 0]);
    expect(await highWatermarks(topics, 'b')).toEqual([1]);
  });

  it('refuses a partition named twice in one request, and commits neither', async () => {
    const { topics, log } = logFixture();
    await topics.createTopic('a', 1);
    const { partitions } = await log.appendBatches({
      partitions: [
        { topic: 'a', partition: 0, batches: batchOf(['x']) },
        { topic: 'a', partition: 0, batches: batchOf(['y']) },
      ],
    });
    expect(partitions.map(reasonOf)).toEqual(['INVALID_RECORD', 'INVALID_RECORD']);
    expect(await highWatermarks(topics, 'a')).toEqual([0]);
  });

  it('keeps several batches for one partition as one commit, each readable from its own offset', async () => {
    // Prepare
    const { topics, log, meta } = logFixture();
    await topics.createTopic('t', 1);
    const first = batchOf(['a', 'b']);
    const second = await kafkajsBatch([{ value: 'c' }, { value: 'd' }, { value: 'e' }], { gzip: true });
    meta.reset();
    // Act
    const { partitions } = await log.appendBatches({
      partitions: [{ topic: 't', partition: 0, batches: concat(first, second) }],
    });
    // Assess
    expect(okOf(partitions[0]).baseOffset).toBe(0);
    expect(meta.counts.transactSizes).toEqual([2]);
    const fromSecond = await log.fetchBatches({ topic: 't', partition: 0, offset: 3 });
    expect(fromSecond.batches.byteLength).toBe(second.byteLength);
    expect(fromSecond.nextOffset).toBe(5);
    const all = await log.fetch({ topic: 't', partition: 0, offset: 1 });
    expect(all.records.map((r) => [r.offset, asText(r.value)])).toEqual([
      [1, 'b'],
      [2, 'c'],
      [3, 'd'],
      [4, 'e'],
    ]);
  });

  it('reports a failed object write for every partition of the request, committing none', async () => {
    const { topics, log, objects } = logFixture();
    await topics.createTopic('t', 2);
    const put = objects.put.bind(objects);
    objects.put = async () => {
      throw new StreamError('UNAVAILABLE', 'injected');
    };
    const { partitions } = await log.appendBatches({
      partitions: [
        { topic: 't', partition: 0, batches: batchOf(['a']) },
        { topic: 't', partition: 1, batches: batchOf(['b']) },
      ],
    });
    objects.put = put;
    expect(partitions.map((p) => errorOf(p).retriable)).toEqual([true, true]);
    expect(await highWatermarks(topics, 't')).toEqual([0, 0]);
  });
});

describe('appendBatches: the janitor over batches from Kafka clients', () => {
  it('compacts them byte for byte, and collects the object two topics shared once both have moved out', async () => {
    // Prepare: one request over two topics, several batches (one gzip) for one partition
    const clock = new ManualClock(Date.now());
    const { topics, log, objects, meta } = logFixture({ clock });
    await topics.createTopic('a', 1, { 'retention.ms': -1 });
    await topics.createTopic('b', 1, { 'retention.ms': -1 });
    const janitor = createJanitor(
      { meta, objects, clock, topics },
      { owner: 'janitor-1', compactAfterMs: 5_000, graceMs: 1_000 },
    );
    const gzip = await kafkajsBatch([{ value: 'g0' }, { value: 'g1' }], { gzip: true });
    await log.appendBatches({
      partitions: [
        { topic: 'a', partition: 0, batches: concat(batchOf(['a0']), gzip) },
        { topic: 'b', partition: 0, batches: batchOf(['b0']) },
      ],
    });
    const served = async (topic: string) =>
      Buffer.from((await log.fetchBatches({ topic, partition: 0, offset: 0, maxBytes: 1 << 20 })).batches);
    const before = [await served('a'), await served('b')];
    const [shared] = (await objects.list(DATA_PREFIX)).objects;
    // Act
    clock.advance(10_000);
    await janitor.runOnce();
    clock.advance(3 * 60_000);
    await janitor.runOnce();
    // Assess: both partitions moved to objects of their own, the shared one is gone, the bytes unchanged
    expect(shared).toBeDefined();
    expect((await objects.list(DATA_PREFIX)).objects).toEqual([]);
    expect([await served('a'), await served('b')]).toEqual(before);
    const json = await log.fetch({ topic: 'a', partition: 0, offset: 0 });
    expect(json.records.map((r) => asText(r.value))).toEqual(['a0', 'g0', 'g1']);
  });
});

/** A memory store whose next transaction applies and then reports a timeout, and whose next reads fail. */
class AmbiguousMetaStore extends MemoryMetaStore {
  failNext: ((ops: readonly TransactOp[]) => boolean) | undefined;
  failedReads = 0;
  override async transact(ops: readonly TransactOp[]): Promise<void> {
    await super.transact(ops);
    if (this.failNext?.(ops)) {
      this.failNext = undefined;
      throw new StreamError('UNAVAILABLE', 'injected timeout after applying');
    }
  }
  override async get(key: ItemKey, options?: { consistent?: boolean }) {
    if (this.failedReads > 0) {
      this.failedReads--;
      throw new StreamError('UNAVAILABLE', 'injected read failure');
    }
    return super.get(key, options);
  }
}

describe('appendBatches: idempotent producers', () => {
  const producer = { producerId: 7, producerEpoch: 0 };

  it('acknowledges a retried batch with its original base offset and writes nothing', async () => {
    // Prepare
    const { topics, log, objects, meta } = logFixture();
    await topics.createTopic('t', 1);
    const b0 = await kafkajsBatch([{ value: 'a' }, { value: 'b' }], { ...producer, firstSequence: 0 });
    const b1 = await kafkajsBatch([{ value: 'c' }], { ...producer, firstSequence: 2 });
    await log.appendBatches({ partitions: [{ topic: 't', partition: 0, batches: b0 }] });
    await log.appendBatches({ partitions: [{ topic: 't', partition: 0, batches: b1 }] });
    objects.reset();
    meta.reset();
    // Act: both batches again, as a producer with several requests in flight retries them
    const again0 = await log.appendBatches({ partitions: [{ topic: 't', partition: 0, batches: b0 }] });
    const again1 = await log.appendBatches({ partitions: [{ topic: 't', partition: 0, batches: b1 }] });
    // Assess
    expect(okOf(again0.partitions[0]).baseOffset).toBe(0);
    expect(okOf(again1.partitions[0]).baseOffset).toBe(2);
    expect(objects.counts.puts).toBe(0);
    expect(meta.counts.transacts).toBe(0);
    expect(await highWatermarks(topics, 't')).toEqual([3]);
  });

  it('acknowledges the retry of a commit whose outcome was unknown with its original offset, once', async () => {
    // Prepare: the commit applies, then both its answer and the re-read that would resolve it fail
    const store = new AmbiguousMetaStore(systemClock);
    const { topics, log } = logFixture({ meta: store });
    await topics.createTopic('t', 1);
    const batch = await kafkajsBatch([{ value: 'a' }, { value: 'b' }], { ...producer, firstSequence: 0 });
    store.failNext = () => true;
    store.failedReads = 1;
    // Act
    const first = await log.appendBatches({ partitions: [{ topic: 't', partition: 0, batches: batch }] });
    const retry = await log.appendBatches({ partitions: [{ topic: 't', partition: 0, batches: batch }] });
    // Assess
    expect(errorOf(first.partitions[0])).toMatchObject({ code: 'UNAVAILABLE', retriable: true });
    expect(okOf(retry.partitions[0]).baseOffset).toBe(0);
    expect(await highWatermarks(topics, 't')).toEqual([2]);
    const fetched = await log.fetch({ topic: 't', partition: 0, offset: 0 });
    expect(fetched.records.map((r) => asText(r.value))).toEqual(['a', 'b']);
  });

  it('resolves a commit that timed out after applying within the call', async () => {
    const store = new AmbiguousMetaStore(systemClock);
    const { topics, log } = logFixture({ meta: store });
    await topics.createTopic('t', 1);
    await log.appendBatches({ partitions: [{ topic: 't', partition: 0, batches: batchOf(['x']) }] });
    store.failNext = () => true;
    const batch = await kafkajsBatch([{ value: 'a' }], { ...producer, firstSequence: 0 });
    const { partitions } = await log.appendBatches({
      partitions: [{ topic: 't', partition: 0, batches: batch }],
    });
    expect(okOf(partitions[0]).baseOffset).toBe(1);
    expect(await highWatermarks(topics, 't')).toEqual([2]);
  });

  it('refuses a sequence gap as OUT_OF_ORDER_SEQUENCE, changing nothing', async () => {
    const { topics, log } = logFixture();
    await topics.createTopic('t', 1);
    await log.appendBatches({
      partitions: [{ topic: 't', partition: 0, batches: await kafkajsBatch([{ value: 'a' }], producer) }],
    });
    const gap = await kafkajsBatch([{ value: 'c' }], { ...producer, firstSequence: 2 });
    const { partitions } = await log.appendBatches({
      partitions: [{ topic: 't', partition: 0, batches: gap }],
    });
    const error = errorOf(partitions[0]);
    expect(error).toMatchObject({ code: 'INVALID_REQUEST', retriable: false });
    expect(error.details).toMatchObject({ reason: 'OUT_OF_ORDER_SEQUENCE', producerId: 7, baseSequence: 2 });
    expect(error.message).toContain('next expected is 1');
    expect(await highWatermarks(topics, 't')).toEqual([1]);
  });

  it('refuses an epoch older than the newest seen, and accepts a newer epoch from sequence 0', async () => {
    const { topics, log } = logFixture();
    await topics.createTopic('t', 1);
    const send = async (epoch: number, sequence: number) =>
      (
        await log.appendBatches({
          partitions: [
            {
              topic: 't',
              partition: 0,
              batches: await kafkajsBatch([{ value: `${epoch}/${sequence}` }], {
                producerId: 7,
                producerEpoch: epoch,
                firstSequence: sequence,
              }),
            },
          ],
        })
      ).partitions[0];
    okOf(await send(1, 0));
    expect(reasonOf(await send(0, 1))).toBe('INVALID_PRODUCER_EPOCH');
    expect(reasonOf(await send(2, 5))).toBe('OUT_OF_ORDER_SEQUENCE');
    expect(okOf(await send(2, 0)).baseOffset).toBe(1);
    expect(reasonOf(await send(1, 1))).toBe('INVALID_PRODUCER_EPOCH');
    expect(await highWatermarks(topics, 't')).toEqual([2]);
  });

  it('keeps producers apart, and accepts a producer that has left the window whatever its sequence', async () => {
    const { topics, log } = logFixture();
    await topics.createTopic('t', 1);
    const append = async (batch: Uint8Array) =>
      (await log.appendBatches({ partitions: [{ topic: 't', partition: 0, batches: batch }] })).partitions[0];
    okOf(await append(await kafkajsBatch([{ value: 'a' }], { producerId: 1 })));
    okOf(await append(await kafkajsBatch([{ value: 'b' }], { producerId: 2 })));
    okOf(await append(await kafkajsBatch([{ value: 'c' }], { producerId: 2, firstSequence: 1 })));
    for (let i = 0; i < RECENT_KEYS; i++) okOf(await append(batchOf([`filler ${i}`])));
    expect(
      okOf(await append(await kafkajsBatch([{ value: 'd' }], { producerId: 1, firstSequence: 9 })))
        .baseOffset,
    ).toBe(3 + RECENT_KEYS);
  });

  it('takes several batches of one producer for a partition as one run, in sequence', async () => {
    const { topics, log } = logFixture();
    await topics.createTopic('t', 1);
    const run = concat(
      await kafkajsBatch([{ value: 'a' }, { value: 'b' }], { ...producer, firstSequence: 0 }),
      await kafkajsBatch([{ value: 'c' }], { ...producer, firstSequence: 2 }),
    );
    const first = await log.appendBatches({ partitions: [{ topic: 't', partition: 0, batches: run }] });
    const again = await log.appendBatches({ partitions: [{ topic: 't', partition: 0, batches: run }] });
    const next = await log.appendBatches({
      partitions: [
        {
          topic: 't',
          partition: 0,
          batches: await kafkajsBatch([{ value: 'd' }], { ...producer, firstSequence: 3 }),
        },
      ],
    });
    const gapInside = concat(
      await kafkajsBatch([{ value: 'e' }], { ...producer, firstSequence: 4 }),
      await kafkajsBatch([{ value: 'f' }], { ...producer, firstSequence: 6 }),
    );
    const refused = await log.appendBatches({
      partitions: [{ topic: 't', partition: 0, batches: gapInside }],
    });
    expect(okOf(first.partitions[0]).baseOffset).toBe(0);
    expect(okOf(again.partitions[0]).baseOffset).toBe(0);
    expect(okOf(next.partitions[0]).baseOffset).toBe(3);
    expect(reasonOf(refused.partitions[0])).toBe('OUT_OF_ORDER_SEQUENCE');
    expect(await highWatermarks(topics, 't')).toEqual([4]);
  });
});

describe('appendBatches: compressed batches', () => {
  it("reads a KafkaJS gzip batch back over the JSON fetch, and serves the client's bytes over the binary one", async () => {
    // Prepare
    const { topics, log } = logFixture();
    await topics.createTopic('t', 1);
    const sent = await kafkajsBatch(
      [
        { key: 'k', value: 'hello', headers: { h: 'v' } },
        { value: 'world', timestamp: Date.now() - 5 },
      ],
      { gzip: true },
    );
    expect(sent[22]! & 0x07).toBe(1);
    // Act
    await log.appendBatches({ partitions: [{ topic: 't', partition: 0, batches: sent }] });
    const json = await log.fetch({ topic: 't', partition: 0, offset: 0 });
    const binary = await log.fetchBatches({ topic: 't', partition: 0, offset: 0 });
    // Assess
    expect(json.records.map((r) => [r.offset, asText(r.key), asText(r.value)])).toEqual([
      [0, 'k', 'hello'],
      [1, null, 'world'],
    ]);
    expect(json.records[0]?.headers.map((h) => [h.key, asText(h.value)])).toEqual([['h', 'v']]);
    expect(Buffer.from(binary.batches).equals(Buffer.from(sent))).toBe(true);
  });

  it.runIf(canDecompress(4))('reads a zstd batch back over the JSON fetch where Node has zstd', async () => {
    const zstdCompressSync = (zlib as unknown as { zstdCompressSync: (bytes: Uint8Array) => Buffer })
      .zstdCompressSync;
    const batch = compressedBatch(
      ['z0', 'z1'].map((value) => ({
        key: null,
        value: utf8.encode(value),
        timestamp: Date.now(),
        headers: [],
      })),
      4,
      zstdCompressSync,
    );
    const { topics, log } = logFixture();
    await topics.createTopic('t', 1);
    okOf(
      (await log.appendBatches({ partitions: [{ topic: 't', partition: 0, batches: batch }] })).partitions[0],
    );
    const page = await log.fetch({ topic: 't', partition: 0, offset: 0 });
    expect(page.records.map((r) => asText(r.value))).toEqual(['z0', 'z1']);
  });

  /** A batch marked with `codec` whose records section only that codec could read. */
  const opaque = (codec: number) => resealed(batchOf(['opaque']), (view) => view.setInt16(21, codec));

  it.runIf(!canDecompress(4))(
    'stores a zstd batch as received where Node has no zstd; the JSON fetch names the codec and the binary fetch',
    async () => {
      // Prepare
      const [codec, name] = [4, 'zstd'];
      const { topics, log } = logFixture();
      await topics.createTopic('t', 1);
      const sent = opaque(codec);
      await log.appendBatches({
        partitions: [{ topic: 't', partition: 0, batches: concat(batchOf(['plain']), sent) }],
      });
      // Act
      const page = await log.fetch({ topic: 't', partition: 0, offset: 0 });
      const error = await failure(log.fetch({ topic: 't', partition: 0, offset: 1 }));
      const binary = await log.fetchBatches({ topic: 't', partition: 0, offset: 1 });
      // Assess: the page ends before the batch it cannot decode; that batch alone is a clear error
      expect(page.records.map((r) => asText(r.value))).toEqual(['plain']);
      expect(page.nextOffset).toBe(1);
      expect(error).toMatchObject({ code: 'INVALID_REQUEST', retriable: false });
      expect(error.details).toMatchObject({ reason: 'UNSUPPORTED_COMPRESSION', codec: name, offset: 1 });
      expect(error.message).toContain(`t/0 at offset 1`);
      expect(error.message).toContain(name);
      expect(error.message).toContain('binary fetch');
      expect(binary.batches.subarray(8)).toEqual(sent.subarray(8));
    },
  );

  it.runIf(!canDecompress(4))(
    'finds the offset for a timestamp in a batch it cannot decode at the start of that batch',
    async () => {
      const { topics, log } = logFixture();
      await topics.createTopic('t', 1);
      await log.appendBatches({
        partitions: [{ topic: 't', partition: 0, batches: batchOf(['a'], { timestamp: Date.now() - 1000 }) }],
      });
      await log.appendBatches({ partitions: [{ topic: 't', partition: 0, batches: opaque(4) }] });
      const { offset } = await log.offsets('t', 0, Date.now() - 500);
      expect(offset).toBe(1);
    },
  );
});

describe('initProducerId', () => {
  it('hands out distinct ids at epoch 0 from two services over one memory store', async () => {
    const shared = new MemoryMetaStore(systemClock);
    const one = logFixture({ meta: shared }).log;
    const two = logFixture({ meta: shared }).log;
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).initProducerId()));
    expect(new Set(ids.map((id) => id.producerId)).size).toBe(20);
    expect(
      ids.every((id) => id.producerEpoch === 0 && Number.isSafeInteger(id.producerId) && id.producerId >= 0),
    ).toBe(true);
  });

  it('hands out distinct ids from two SQLite stores over one file (two servers)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'streambed-pid-')), 'meta.db');
    const stores = [new SqliteMetaStore({ path }), new SqliteMetaStore({ path })];
    try {
      const logs = stores.map((meta) => logFixture({ meta }).log);
      const ids = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (logs[i % 2] as (typeof logs)[number]).initProducerId()),
      );
      expect(new Set(ids.map((id) => id.producerId)).size).toBe(10);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});
