/**
 * Produce as record batches (client/wire/binary.ts, "PRODUCE AS BATCHES") over a real local server:
 * what the SDK producer sends when it knows each record's partition, and what the server refuses.
 */
import { randomUUID } from 'node:crypto';
import * as lz4js from 'lz4js';
import SnappyJS from 'snappyjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { StreambedError } from '../../client/errors.ts';
import { Producer } from '../../client/producer.ts';
import { Transport } from '../../client/transport.ts';
import {
  BATCHES_CONTENT_TYPE,
  encodeProduceBatches,
  PRODUCE_CONTENT_TYPE,
  type ProduceBatchPart,
} from '../../client/wire/binary.ts';
import { crc32c } from '../../client/wire/crc32c.ts';
import { MAX_RECORDS_PER_REQUEST } from '../../client/wire/limits.ts';
import { canDecompress, encodeRecordBatch, type LogRecord } from '../../client/wire/record-batch.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { compressedBatch } from '../support/compressed-batch.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const record = (value: string, timestamp = Date.now()): LogRecord => ({
  key: null,
  value: utf8(value),
  timestamp,
  headers: [],
});

interface Answer {
  status: number;
  body: {
    offsets?: { partition: number; offset: number }[];
    records?: { offset: number; value: string; timestamp: number }[];
    highWatermark?: number;
    error?: { code: string; message: string; reason?: string; offsets?: unknown[] };
  };
}

let server: LocalServer;

beforeAll(async () => {
  server = await startLocalServer({ port: 0, memory: true });
});
afterAll(async () => server.close());

async function call(
  method: string,
  path: string,
  init: { body?: Uint8Array | string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, { method, body: init.body, headers: init.headers });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : JSON.parse(text) };
}

async function newTopic(partitions: number): Promise<string> {
  const name = `b-${randomUUID().slice(0, 8)}`;
  const created = await call('POST', '/v1/topics', {
    body: JSON.stringify({ name, partitions }),
    headers: { 'content-type': 'application/json' },
  });
  expect(created.status).toBe(201);
  return name;
}

const produceBatches = (topic: string, body: Uint8Array, headers: Record<string, string> = {}) =>
  call('POST', `/v1/topics/${topic}/records`, {
    body,
    headers: { 'content-type': BATCHES_CONTENT_TYPE, ...headers },
  });

const read = async (topic: string, partition: number) =>
  (await call('GET', `/v1/topics/${topic}/partitions/${partition}/records?offset=0`)).body;

describe('the SDK producer', () => {
  /** A transport over the real server that notes the content type of every request it sends. */
  function observedTransport() {
    const contentTypes: string[] = [];
    const transport = new Transport({
      url: server.url,
      fetch: async (url, init) => {
        const type = new Headers(init?.headers).get('content-type');
        if (type !== null) contentTypes.push(type);
        return fetch(url, init);
      },
    });
    return { transport, contentTypes };
  }

  it('sends record batches when it knows every partition, and answers offsets in send order', async () => {
    // Prepare
    const topic = await newTopic(2);
    const { transport, contentTypes } = observedTransport();
    const producer = new Producer<string>(transport, { lingerMs: 0 });
    const before = Date.now();

    // Act: partitions interleaved, so the body's order (by partition) differs from the send's
    const sent = await producer.send({
      topic,
      messages: ['a', 'b', 'c', 'd'].map((value, i) => ({ value, partition: (i + 1) % 2 })),
    });

    // Assess
    expect(contentTypes).toEqual([BATCHES_CONTENT_TYPE]);
    expect(sent.map(({ partition, offset }) => [partition, offset])).toEqual([
      [1, 0],
      [0, 0],
      [1, 1],
      [0, 1],
    ]);
    const one = await read(topic, 1);
    expect(one.records?.map((r) => r.value)).toEqual(['a', 'c']);
    const timestamps = one.records?.map((r) => r.timestamp) ?? [];
    expect(timestamps.every((t) => t >= before && t <= Date.now())).toBe(true);
    expect((await read(topic, 0)).records?.map((r) => r.value)).toEqual(['b', 'd']);
  });

  it('keeps an explicit timestamp, and sends the compact form when the server is to pick partitions', async () => {
    // Prepare
    const topic = await newTopic(3);
    const { transport, contentTypes } = observedTransport();
    const producer = new Producer<string>(transport, { lingerMs: 0 });

    // Act
    await producer.send({ topic, messages: [{ value: 'pinned', partition: 2, timestamp: 1_234 }] });
    const [keyed] = await producer.send({ topic, messages: [{ key: 'k', value: 'keyed' }] });

    // Assess
    expect(contentTypes).toEqual([BATCHES_CONTENT_TYPE, PRODUCE_CONTENT_TYPE]);
    expect((await read(topic, 2)).records?.[0]).toMatchObject({ value: 'pinned', timestamp: 1_234 });
    expect((await read(topic, keyed?.partition ?? -1)).records?.map((r) => r.value)).toContain('keyed');
  });

  it.each([1.5, -1, 2 ** 32])(
    'refuses partition %s, writing nothing, rather than send it as another',
    async (partition) => {
      // Prepare
      const topic = await newTopic(2);
      const producer = new Producer<string>(new Transport({ url: server.url }), { lingerMs: 0 });

      // Act
      const error = await producer
        .send({ topic, messages: [{ value: 'v', partition }] })
        .catch((e: unknown) => e);

      // Assess
      expect(error).toMatchObject({ code: 'INVALID_REQUEST' });
      expect((error as Error).message).toContain(`partition ${partition}`);
      expect((await read(topic, 0)).highWatermark).toBe(0);
      expect((await read(topic, 1)).highWatermark).toBe(0);
    },
  );

  it('gives a partial failure the committed offsets in send order, not the body order', async () => {
    // Prepare: partition 7 does not exist; the body groups partition 0's records ahead of it
    const topic = await newTopic(1);
    const producer = new Producer<string>(new Transport({ url: server.url }), { lingerMs: 0 });

    // Act
    const error = await producer
      .send({
        topic,
        messages: [
          { value: 'a', partition: 0 },
          { value: 'x', partition: 7 },
          { value: 'b', partition: 0 },
        ],
      })
      .catch((e: unknown) => e);

    // Assess: one entry per message sent, where that message is (null: not written)
    expect(error).toBeInstanceOf(StreambedError);
    expect((error as StreambedError).details.offsets).toEqual([
      { partition: 0, offset: 0 },
      null,
      { partition: 0, offset: 1 },
    ]);
    expect((await read(topic, 0)).records?.map((r) => r.value)).toEqual(['a', 'b']);
  });
});

describe('the SDK producer on a clock the server refuses', () => {
  it('is refused as a Kafka producer is, naming the topic bound, and writes nothing', async () => {
    // Prepare: the producer's clock reads two hours ahead (after.max.ms is one hour by default) until
    // its request leaves (the server runs in this process, on the right clock)
    const topic = await newTopic(1);
    const clock = vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 2 * 3_600_000);
    const transport = new Transport({
      url: server.url,
      fetch: async (url, init) => {
        clock.mockRestore();
        return fetch(url, init);
      },
    });
    const producer = new Producer<string>(transport, { lingerMs: 0 });

    // Act
    const error = await producer
      .send({ topic, messages: [{ value: 'a', partition: 0 }] })
      .catch((e: unknown) => e)
      .finally(() => clock.mockRestore());

    // Assess
    expect(error).toMatchObject({ code: 'INVALID_REQUEST', details: { reason: 'INVALID_TIMESTAMP' } });
    expect((error as Error).message).toContain('message.timestamp.after.max.ms');
    expect((await read(topic, 0)).highWatermark).toBe(0);
  });
});

describe('POST records with record batches', () => {
  it('answers a retry with the same Idempotency-Key from the first attempt, writing nothing again', async () => {
    // Prepare
    const topic = await newTopic(2);
    const body = encodeProduceBatches([
      { partition: 1, records: [record('x'), record('y')] },
      { partition: 0, records: [record('z')] },
    ]);
    const key = { 'idempotency-key': randomUUID() };

    // Act
    const first = await produceBatches(topic, body, key);
    const retry = await produceBatches(topic, body, key);

    // Assess
    expect(first.status).toBe(200);
    expect(first.body.offsets).toEqual([
      { partition: 1, offset: 0 },
      { partition: 1, offset: 1 },
      { partition: 0, offset: 0 },
    ]);
    expect(retry.body).toEqual(first.body);
    expect((await read(topic, 1)).highWatermark).toBe(2);
    expect((await read(topic, 0)).highWatermark).toBe(1);
  });

  it('completes a partial failure on a retry with the same key after the topic grew, writing nothing twice', async () => {
    // Prepare: partition 1 does not exist yet, so only partition 0 commits
    const topic = await newTopic(1);
    const body = encodeProduceBatches([
      { partition: 1, records: [record('b')] },
      { partition: 0, records: [record('a'), record('c')] },
    ]);
    const key = { 'idempotency-key': randomUUID() };
    const partial = await produceBatches(topic, body, key);
    const grown = await call('PATCH', `/v1/topics/${topic}`, {
      body: JSON.stringify({ partitions: 2 }),
      headers: { 'content-type': 'application/json' },
    });

    // Act
    const retry = await produceBatches(topic, body, key);

    // Assess
    expect(partial.body.error?.offsets).toEqual([
      null,
      { partition: 0, offset: 0 },
      { partition: 0, offset: 1 },
    ]);
    expect(grown.status).toBe(200);
    expect(retry.body.offsets).toEqual([
      { partition: 1, offset: 0 },
      { partition: 0, offset: 0 },
      { partition: 0, offset: 1 },
    ]);
    expect((await read(topic, 0)).records?.map((r) => r.value)).toEqual(['a', 'c']);
    expect((await read(topic, 1)).records?.map((r) => r.value)).toEqual(['b']);
  });

  it('answers a retry from its first attempt even when the topic would now refuse its records', async () => {
    // Prepare: the first attempt commits records ten seconds old; then the topic allows one second
    const topic = await newTopic(1);
    const body = encodeProduceBatches([{ partition: 0, records: [record('old', Date.now() - 10_000)] }]);
    const key = { 'idempotency-key': randomUUID() };
    const first = await produceBatches(topic, body, key);
    const altered = await call('PATCH', `/v1/topics/${topic}`, {
      body: JSON.stringify({ config: { 'message.timestamp.before.max.ms': 1_000 } }),
      headers: { 'content-type': 'application/json' },
    });

    // Act
    const retry = await produceBatches(topic, body, key);

    // Assess
    expect(first.body.offsets).toEqual([{ partition: 0, offset: 0 }]);
    expect(altered.status).toBe(200);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect((await read(topic, 0)).highWatermark).toBe(1);
  });

  it('refuses the same Idempotency-Key on different records', async () => {
    // Prepare
    const topic = await newTopic(1);
    const key = { 'idempotency-key': randomUUID() };
    await produceBatches(topic, encodeProduceBatches([{ partition: 0, records: [record('one')] }]), key);

    // Act
    const reused = await produceBatches(
      topic,
      encodeProduceBatches([{ partition: 0, records: [record('one'), record('two')] }]),
      key,
    );

    // Assess
    expect(reused.status).toBe(400);
    expect(reused.body.error?.message).toContain('was already used for a different request');
    expect((await read(topic, 0)).highWatermark).toBe(1);
  });

  // One byte of the last frame's value changed after its CRC was computed: alone, nothing is
  // written; after a frame that commits, that frame's offset comes back with the refusal's reason.
  for (const [what, parts, committed] of [
    ['refuses a batch whose CRC does not match, writing nothing', [[0, 'damaged']], []],
    [
      "keeps the refused frame's reason when the other partitions committed",
      [
        [0, 'intact'],
        [1, 'damaged'],
      ],
      [{ partition: 0, offset: 0 }],
    ],
  ] as const)
    it(what, async () => {
      // Prepare
      const topic = await newTopic(2);
      const body = encodeProduceBatches(
        parts.map(([partition, value]) => ({ partition, records: [record(value)] })),
      );
      body.set([(body.at(-3) as number) ^ 0xff], body.byteLength - 3);

      // Act
      const answer = await produceBatches(topic, body);

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({ code: 'INVALID_REQUEST', reason: 'CORRUPT_MESSAGE' });
      const damaged = parts.length - 1;
      if (committed.length > 0) {
        expect(answer.body.error?.offsets).toEqual([...committed, null]);
        // A refusal is not cured by a retry: the message says what was refused instead.
        expect(answer.body.error?.message).toMatch(
          new RegExp(`partitions ${damaged} did not commit \\(the others did\\); the first refusal: .*CRC`),
        );
      }
      for (const [partition] of parts)
        expect((await read(topic, partition)).highWatermark).toBe(partition === damaged ? 0 : 1);
    });

  it('commits the partitions that exist and names the one that does not, with the committed offsets', async () => {
    // Prepare
    const topic = await newTopic(2);
    const parts: ProduceBatchPart[] = [
      { partition: 0, records: [record('kept')] },
      { partition: 7, records: [record('lost'), record('lost too')] },
    ];

    // Act
    const partial = await produceBatches(topic, encodeProduceBatches(parts));
    const none = await produceBatches(topic, encodeProduceBatches(parts.slice(1)));

    // Assess
    expect(partial.status).toBe(404);
    expect(partial.body.error).toMatchObject({
      code: 'PARTITION_NOT_FOUND',
      offsets: [{ partition: 0, offset: 0 }, null, null],
    });
    expect(partial.body.error?.message).toContain('partitions 7 did not commit');
    expect(none.status).toBe(404);
    expect(none.body.error?.message).toContain('has no partition 7');
    expect((await read(topic, 0)).records?.map((r) => r.value)).toEqual(['kept']);
  });

  it('limits each record to max.message.bytes, as the compact form does, not each batch', async () => {
    // Prepare
    const topic = `b-${randomUUID().slice(0, 8)}`;
    await call('POST', '/v1/topics', {
      body: JSON.stringify({ name: topic, partitions: 1, config: { 'max.message.bytes': 1000 } }),
      headers: { 'content-type': 'application/json' },
    });
    const sized = (bytes: number) => record('x'.repeat(bytes));

    // Act
    const small = await produceBatches(
      topic,
      encodeProduceBatches([{ partition: 0, records: [sized(600), sized(600), sized(600)] }]),
    );
    const large = await produceBatches(
      topic,
      encodeProduceBatches([{ partition: 0, records: [sized(10), sized(1_200)] }]),
    );

    // Assess
    expect(small.status).toBe(200);
    expect(large.status).toBe(413);
    expect(large.body.error?.code).toBe('RECORD_TOO_LARGE');
    expect(large.body.error?.message).toContain('record 1 is 1200 bytes');
    expect((await read(topic, 0)).highWatermark).toBe(3);
  });

  it('bounds the newest record by after.max.ms when the batch header understates its maxTimestamp', async () => {
    // Prepare: the second record is two hours ahead (after.max.ms is one), the header says now
    const topic = await newTopic(1);
    const now = Date.now();
    const body = encodeProduceBatches([
      { partition: 0, records: [record('now', now), record('later', now + 2 * 3_600_000)] },
    ]);
    const view = new DataView(body.buffer, body.byteOffset + 4);
    view.setBigInt64(35, BigInt(now));
    view.setUint32(17, crc32c(body.subarray(4 + 21)));

    // Act
    const answer = await produceBatches(topic, body);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'INVALID_REQUEST', reason: 'INVALID_TIMESTAMP' });
    expect(answer.body.error?.message).toContain(`timestamp ${now + 2 * 3_600_000} is`);
    expect((await read(topic, 0)).highWatermark).toBe(0);
  });

  it.each([
    ['snappy', 2, (section: Uint8Array) => SnappyJS.compress(section)],
    ['lz4', 3, (section: Uint8Array) => lz4js.compress(section)],
  ] as const)(
    'accepts a %s batch, checks its records and serves them decoded',
    async (_, codec, compress) => {
      // Prepare: a frame of one compressed batch, and one whose records section is broken
      const topic = await newTopic(1);
      const frame = (batch: Uint8Array) => {
        const body = new Uint8Array(4 + batch.length);
        body.set(batch, 4);
        return body;
      };
      const values = ['one', 'two', 'three'];
      const good = compressedBatch(
        values.map((value) => record(value)),
        codec,
        compress,
      );
      const broken = compressedBatch([record('x')], codec, () => Uint8Array.from([0x82, 1, 2]));

      // Act
      const accepted = await produceBatches(topic, frame(good));
      const refused = await produceBatches(topic, frame(broken));

      // Assess
      expect(accepted.status).toBe(200);
      expect(accepted.body.offsets).toEqual([0, 1, 2].map((offset) => ({ partition: 0, offset })));
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'INVALID_REQUEST', reason: 'CORRUPT_MESSAGE' });
      const page = await read(topic, 0);
      expect(page.records?.map((r) => r.value)).toEqual(values);
      expect(page.highWatermark).toBe(3);
    },
  );

  // zstd only where this Node cannot read it (where it can, such a batch is checked and accepted)
  it.each(
    (
      [
        [4, 'zstd, where Node has no zstd to check its records with', 'UNSUPPORTED_COMPRESSION_TYPE'],
        [5, 'codec 5, which Kafka does not have', 'CORRUPT_MESSAGE'],
      ] as const
    ).filter(([codec]) => !canDecompress(codec)),
  )('refuses a batch of codec %i: %s', async (codec, _, reason) => {
    // Prepare: the attributes say `codec`, the CRC made to match
    const topic = await newTopic(1);
    const body = encodeProduceBatches([{ partition: 0, records: [record('v')] }]);
    const view = new DataView(body.buffer, body.byteOffset + 4);
    view.setInt16(21, codec);
    view.setUint32(17, crc32c(body.subarray(4 + 21)));

    // Act
    const answer = await produceBatches(topic, body);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'INVALID_REQUEST', reason });
    expect((await read(topic, 0)).highWatermark).toBe(0);
  });

  it.each<[string, () => Uint8Array, string]>([
    ['an empty body', () => new Uint8Array(0), 'holds no record batch'],
    [
      'a negative partition',
      () => {
        const body = encodeProduceBatches([{ partition: 0, records: [record('v')] }]);
        new DataView(body.buffer, body.byteOffset).setInt32(0, -1);
        return body;
      },
      'partition -1 is invalid',
    ],
    [
      'a batch cut short',
      () => encodeProduceBatches([{ partition: 0, records: [record('value')] }]).subarray(0, 70),
      'only',
    ],
    ['a partition and no batch', () => Uint8Array.of(0, 0, 0, 0), 'where a record batch takes at least 61'],
    [
      'a batch of an idempotent Kafka producer (a producer id), whose sequence would bypass the key',
      () => {
        const body = encodeProduceBatches([{ partition: 0, records: [record('v')] }]);
        const view = new DataView(body.buffer, body.byteOffset + 4);
        view.setBigInt64(43, 5n);
        view.setInt16(51, 0);
        view.setInt32(53, 0);
        view.setUint32(17, crc32c(body.subarray(4 + 21)));
        return body;
      },
      'producer id 5',
    ],

    [
      'more records than one request may hold',
      () => {
        const records = Array.from({ length: MAX_RECORDS_PER_REQUEST + 1 }, (_, i) => record(String(i), 1));
        const batch = encodeRecordBatch(records);
        return Uint8Array.from([0, 0, 0, 0, ...batch]);
      },
      `more than ${MAX_RECORDS_PER_REQUEST} records`,
    ],
  ])('refuses %s with a 400 naming it, writing nothing', async (_name, body, message) => {
    // Prepare
    const topic = await newTopic(1);

    // Act
    const answer = await produceBatches(topic, body());

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe('INVALID_REQUEST');
    expect(answer.body.error?.message).toContain(message);
    expect((await read(topic, 0)).highWatermark).toBe(0);
  });
});
