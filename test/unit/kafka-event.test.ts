import { kafkaConsumer, SchemaType } from '@aws-lambda-powertools/kafka';
import type { ConsumerRecord, MSKEvent } from '@aws-lambda-powertools/kafka/types';
import { KafkaSelfManagedEventSchema } from '@aws-lambda-powertools/parser/schemas';
import avro from 'avsc';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { FetchedRecord } from '../../lambdas/core/log-types.ts';
import {
  idempotencyKeyOf,
  type KafkaEvent,
  parseBatchResponse,
  toKafkaEvent,
} from '../../lambdas/subscriptions/kafka-event.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);

function fetched(offset: number, fields: Partial<FetchedRecord> = {}): FetchedRecord {
  return { offset, timestamp: 1_545_084_650_987, key: null, value: null, headers: [], ...fields };
}

/** Confluent's wire format: magic byte 0, the schema id as a 4-byte big-endian integer, the payload. */
function confluentFramed(schemaId: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  new DataView(out.buffer).setInt32(1, schemaId);
  out.set(payload, 5);
  return out;
}

function onlyPartition(event: KafkaEvent) {
  const records = Object.values(event.records);
  expect(records).toHaveLength(1);
  return records[0] ?? [];
}

describe('toKafkaEvent', () => {
  it('builds the self-managed Kafka event field for field, in AWS order', () => {
    // Prepare: the record of AWS's own example event
    const record = fetched(15, {
      key: utf8('recordKey'),
      value: utf8('{"key":"value"}'),
      headers: [{ key: 'headerKey', value: utf8('headerValue') }],
    });
    const expected =
      '{"eventSource":"SelfManagedKafka","bootstrapServers":"b-1.example:9092,b-2.example:9092",' +
      '"records":{"mytopic-0":[{"topic":"mytopic","partition":0,"offset":15,"timestamp":1545084650987,' +
      '"timestampType":"CREATE_TIME","key":"cmVjb3JkS2V5","value":"eyJrZXkiOiJ2YWx1ZSJ9",' +
      '"headers":[{"headerKey":[104,101,97,100,101,114,86,97,108,117,101]}]}]}}';

    // Act
    const event = toKafkaEvent({
      topic: 'mytopic',
      partition: 0,
      records: [record],
      bootstrapServers: 'b-1.example:9092,b-2.example:9092',
    });

    // Assess
    expect(JSON.stringify(event)).toBe(expected);
    expect(event).toStrictEqual(JSON.parse(expected));
  });

  it('keeps every record of the partition, in offset order, under <topic>-<partition>', () => {
    // Prepare
    const records = [fetched(7, { value: utf8('a') }), fetched(8, { value: utf8('b') })];

    // Act
    const event = toKafkaEvent({ topic: 'orders.v1', partition: 3, records, bootstrapServers: '' });

    // Assess
    expect(Object.keys(event.records)).toEqual(['orders.v1-3']);
    expect(event.records['orders.v1-3']?.map((r) => [r.topic, r.partition, r.offset])).toEqual([
      ['orders.v1', 3, 7],
      ['orders.v1', 3, 8],
    ]);
    expect(event.bootstrapServers).toBe('');
  });

  it('writes key and value as padded standard base64', () => {
    // Prepare: 1, 2 and 3 bytes need 2, 1 and 0 padding characters; 0xfb 0xff uses + and /
    const values = ['a', 'ab', 'abc'].map(utf8).concat([Uint8Array.of(0xfb, 0xff)]);

    // Act
    const event = toKafkaEvent({
      topic: 't',
      partition: 0,
      records: values.map((value, i) => fetched(i, { key: value, value })),
      bootstrapServers: '',
    });

    // Assess
    const records = onlyPartition(event);
    expect(records.map((r) => r.value)).toEqual(['YQ==', 'YWI=', 'YWJj', '+/8=']);
    expect(records.map((r) => r.key)).toEqual(['YQ==', 'YWI=', 'YWJj', '+/8=']);
  });

  it('leaves a null key and a null value out of the record, and keeps an empty value as ""', () => {
    // Prepare
    const records = [
      fetched(0, { key: null, value: utf8('v') }),
      fetched(1, { key: utf8('k'), value: null }),
    ];
    records.push(fetched(2, { value: new Uint8Array(0) }));

    // Act
    const [noKey, tombstone, empty] = onlyPartition(
      toKafkaEvent({ topic: 't', partition: 0, records, bootstrapServers: '' }),
    );

    // Assess
    expect(noKey && 'key' in noKey).toBe(false);
    expect(noKey?.value).toBe('dg==');
    expect(tombstone && 'value' in tombstone).toBe(false);
    expect(tombstone?.key).toBe('aw==');
    expect(empty?.value).toBe('');
    expect(JSON.stringify(noKey)).not.toContain('null');
  });

  it('keeps repeated header names in record order, one single-key object each', () => {
    // Prepare
    const headers = [
      { key: 'trace', value: utf8('a') },
      { key: 'span', value: Uint8Array.of(0, 255) },
      { key: 'trace', value: utf8('b') },
      { key: 'empty', value: null },
    ];

    // Act
    const [record] = onlyPartition(
      toKafkaEvent({ topic: 't', partition: 0, records: [fetched(0, { headers })], bootstrapServers: '' }),
    );

    // Assess: a null header value, which the Lambda shape cannot express, is an empty one
    expect(record?.headers).toEqual([{ trace: [97] }, { span: [0, 255] }, { trace: [98] }, { empty: [] }]);
  });

  it('round-trips bytes that are not UTF-8', () => {
    // Prepare
    const bytes = Uint8Array.of(0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0xed, 0xa0, 0x80);

    // Act
    const [record] = onlyPartition(
      toKafkaEvent({
        topic: 't',
        partition: 0,
        records: [fetched(0, { key: bytes, value: bytes, headers: [{ key: 'h', value: bytes }] })],
        bootstrapServers: '',
      }),
    );

    // Assess
    expect(new Uint8Array(Buffer.from(record?.value ?? '', 'base64'))).toEqual(bytes);
    expect(new Uint8Array(Buffer.from(record?.key ?? '', 'base64'))).toEqual(bytes);
    expect(Uint8Array.from(record?.headers[0]?.h ?? [])).toEqual(bytes);
  });

  it('marks a Confluent-framed value with a registry id as AVRO and delivers it unframed', () => {
    // Prepare
    const avroBytes = Uint8Array.of(2, 0x61, 0x62);
    const registryIds = new Set([7]);
    const schemaIdOf = (id: number) => (registryIds.has(id) ? String(id) : undefined);
    const records = [
      fetched(0, { value: confluentFramed(7, avroBytes) }),
      fetched(1, { key: confluentFramed(7, avroBytes), value: confluentFramed(9, avroBytes) }),
      fetched(2, { value: Uint8Array.of(0, 0, 0, 7) }),
    ];

    // Act
    const [framed, unknownId, tooShort] = onlyPartition(
      toKafkaEvent({ topic: 't', partition: 0, records, bootstrapServers: '', schemaIdOf }),
    );

    // Assess
    expect(framed?.valueSchemaMetadata).toEqual({ dataFormat: 'AVRO', schemaId: '7' });
    expect(framed?.value).toBe(Buffer.from(avroBytes).toString('base64'));
    expect(framed && 'keySchemaMetadata' in framed).toBe(false);
    expect(unknownId?.keySchemaMetadata).toEqual({ dataFormat: 'AVRO', schemaId: '7' });
    expect(unknownId?.key).toBe(Buffer.from(avroBytes).toString('base64'));
    expect(unknownId && 'valueSchemaMetadata' in unknownId).toBe(false);
    expect(unknownId?.value).toBe(Buffer.from(confluentFramed(9, avroBytes)).toString('base64'));
    expect(tooShort && 'valueSchemaMetadata' in tooShort).toBe(false);
  });

  it('delivers framed bytes untouched and unmarked when no schemaIdOf is given', () => {
    // Prepare
    const value = confluentFramed(7, Uint8Array.of(2, 0x61));

    // Act
    const [record] = onlyPartition(
      toKafkaEvent({ topic: 't', partition: 0, records: [fetched(0, { value })], bootstrapServers: '' }),
    );

    // Assess
    expect(record?.value).toBe(Buffer.from(value).toString('base64'));
    expect(record && 'valueSchemaMetadata' in record).toBe(false);
  });

  it('refuses an empty batch, naming the topic and partition', () => {
    // Act / Assess
    expect(() => toKafkaEvent({ topic: 'orders', partition: 2, records: [], bootstrapServers: '' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/orders.*2/) }),
    );
  });
});

describe('parseBatchResponse', () => {
  const offsets = [10, 11, 12];

  it.each([
    ['no response', undefined],
    ['null', null],
    ['a non-object body', 'OK'],
    ['an array body', []],
    ['an object without batchItemFailures', { status: 'done' }],
    ['a null batchItemFailures', { batchItemFailures: null }],
    ['an empty batchItemFailures', { batchItemFailures: [] }],
  ])('treats %s as complete success', (_name, body) => {
    // Act / Assess
    expect(parseBatchResponse(body, offsets)).toEqual({ kind: 'success' });
  });

  it('takes the lowest failed offset as the checkpoint', () => {
    // Prepare
    const body = {
      batchItemFailures: [{ itemIdentifier: '12' }, { itemIdentifier: '10' }, { itemIdentifier: '11' }],
    };

    // Act / Assess
    expect(parseBatchResponse(body, offsets)).toEqual({ kind: 'partial', failedOffset: 10 });
  });

  it('accepts an offset given as a JSON integer', () => {
    // Act / Assess
    expect(parseBatchResponse({ batchItemFailures: [{ itemIdentifier: 11 }] }, offsets)).toEqual({
      kind: 'partial',
      failedOffset: 11,
    });
  });

  it.each([
    ['an empty string itemIdentifier', [{ itemIdentifier: '' }]],
    ['a null itemIdentifier', [{ itemIdentifier: null }]],
    ['an itemIdentifier with a bad key name', [{ itemIdentifer: '11' }]],
    ['an offset the batch did not carry', [{ itemIdentifier: '11' }, { itemIdentifier: '99' }]],
    ['an offset below the batch', [{ itemIdentifier: '9' }]],
    ['a non-integer identifier', [{ itemIdentifier: '11.0' }]],
    ['a non-decimal identifier', [{ itemIdentifier: '0x0b' }]],
    ['a failure that is not an object', ['11']],
  ])('treats %s as a complete failure', (_name, batchItemFailures) => {
    // Act
    const outcome = parseBatchResponse({ batchItemFailures }, offsets);

    // Assess
    expect(outcome.kind).toBe('invalid');
  });

  it('treats a batchItemFailures that is not a list as a complete failure, saying why', () => {
    // Act / Assess
    expect(parseBatchResponse({ batchItemFailures: { itemIdentifier: '11' } }, offsets)).toEqual({
      kind: 'invalid',
      reason: 'batchItemFailures must be a list',
    });
  });
});

describe('idempotencyKeyOf', () => {
  const batch = {
    subscription: 'orders-to-billing',
    topicId: '01HZX3KQ8V0000000000000000',
    partition: 3,
    firstOffset: 1200,
    lastOffset: 1299,
  };

  it('gives the same key for the same batch, and another for any other batch', () => {
    // Act
    const key = idempotencyKeyOf(batch);

    // Assess
    expect(key).toBe('orders-to-billing/3/1200-1299/01HZX3KQ8V0000000000000000');
    expect(idempotencyKeyOf({ ...batch })).toBe(key);
    const others = [
      { firstOffset: 1201 },
      { lastOffset: 1250 },
      { lastOffset: 1400 },
      { partition: 4 },
      { topicId: '01HZX3KQ8V0000000000000001' },
      { subscription: 'orders-to-billing2' },
    ].map((change) => idempotencyKeyOf({ ...batch, ...change }));
    expect(new Set([key, ...others]).size).toBe(7);
  });

  it('cannot confuse names that contain the separator, and stays a header-safe string', () => {
    // Act
    const a = idempotencyKeyOf({ ...batch, subscription: 'a/1', partition: 2 });
    const b = idempotencyKeyOf({ ...batch, subscription: 'a', partition: 1 });

    // Assess
    expect(a).not.toBe(b);
    expect(idempotencyKeyOf({ ...batch, subscription: 'naïve sub' })).toMatch(/^[\x21-\x7e]+$/);
  });

  it.each([
    [{ subscription: '' }],
    [{ partition: -1 }],
    [{ firstOffset: 1.5 }],
    [{ lastOffset: 1199 }],
    [{ topicId: 'a/b' }],
  ])('refuses %j', (change) => {
    // Act / Assess
    expect(() => idempotencyKeyOf({ ...batch, ...change })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('compatibility with Powertools for AWS Lambda', () => {
  // Powertools types the Kafka event as MSK's ("aws:kafka", with an eventSourceArn and required schema
  // metadata), so the self-managed event is not assignable to it; the handler's test casts through
  // unknown, exactly as docs/subscriptions.md tells users to.
  const asMskEvent = (event: KafkaEvent) => event as unknown as MSKEvent;
  const context = {} as Context;

  function capture<K, V>() {
    const seen: ConsumerRecord<K, V>[] = [];
    const handler = async (event: { records: ConsumerRecord<K, V>[] }) => {
      // The record's fields are getters; copy them while the handler runs.
      for (const r of event.records) seen.push({ ...r, key: r.key, value: r.value, headers: r.headers });
    };
    return { seen, handler };
  }

  it('the single-step cast is a type error, which is why the cast goes through unknown', () => {
    // Prepare
    const event = toKafkaEvent({ topic: 't', partition: 0, records: [fetched(0)], bootstrapServers: '' });

    // Act
    // @ts-expect-error TS2352: no eventSourceArn, and 'SelfManagedKafka' is not 'aws:kafka'
    const direct = event as MSKEvent;

    // Assess
    expect(direct.records).toBe(event.records);
  });

  it('kafkaConsumer with JSON values sees the same keys, values and headers', async () => {
    // Prepare
    const event = toKafkaEvent({
      topic: 'orders',
      partition: 1,
      bootstrapServers: 'localhost:9092',
      records: [
        fetched(0, {
          key: utf8('user-1'),
          value: utf8(JSON.stringify({ id: 1, total: 9.5 })),
          headers: [
            { key: 'trace', value: utf8('abc') },
            { key: 'trace', value: utf8('déf') },
          ],
        }),
        fetched(1, { key: null, value: utf8('{"id":2}') }),
        fetched(2, { key: utf8('user-1'), value: null }),
      ],
    });
    const { seen, handler } = capture<string, unknown>();

    // Act
    await kafkaConsumer(handler, { value: { type: SchemaType.JSON } })(asMskEvent(event), context);

    // Assess
    expect(seen.map((r) => [r.topic, r.partition, r.offset, r.key, r.value])).toEqual([
      ['orders', 1, 0, 'user-1', { id: 1, total: 9.5 }],
      ['orders', 1, 1, undefined, { id: 2 }],
      ['orders', 1, 2, 'user-1', undefined],
    ]);
    expect(seen[0]?.headers).toEqual([{ trace: 'abc' }, { trace: 'déf' }]);
    expect(seen[0]?.timestampType).toBe('CREATE_TIME');
  });

  it('kafkaConsumer without a schema sees the raw UTF-8 text', async () => {
    // Prepare
    const event = toKafkaEvent({
      topic: 't',
      partition: 0,
      bootstrapServers: '',
      records: [fetched(5, { key: utf8('k'), value: utf8('plain text, ünïcode') })],
    });
    const { seen, handler } = capture<string, string>();

    // Act
    await kafkaConsumer(handler)(asMskEvent(event), context);

    // Assess
    expect(seen.map((r) => [r.key, r.value])).toEqual([['k', 'plain text, ünïcode']]);
  });

  it('kafkaConsumer with an Avro schema decodes a registry-framed value', async () => {
    // Prepare: the bytes a Confluent Avro serializer writes for schema id 42
    const schema = {
      type: 'record',
      name: 'Order',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'item', type: 'string' },
      ],
    };
    const payload = new Uint8Array(
      avro.Type.forSchema(schema as avro.Schema).toBuffer({ id: 7, item: 'book' }),
    );
    const event = toKafkaEvent({
      topic: 'orders',
      partition: 0,
      bootstrapServers: '',
      records: [fetched(3, { key: utf8('o-7'), value: confluentFramed(42, payload) })],
      schemaIdOf: (id) => (id === 42 ? '42' : undefined),
    });
    const { seen, handler } = capture<string, { id: number; item: string }>();

    // Act
    await kafkaConsumer(handler, { value: { type: SchemaType.AVRO, schema: JSON.stringify(schema) } })(
      asMskEvent(event),
      context,
    );

    // Assess
    expect(seen.map((r) => [r.key, r.value])).toEqual([['o-7', { id: 7, item: 'book' }]]);
    expect(seen[0]?.valueSchemaMetadata).toEqual({ dataFormat: 'AVRO', schemaId: '42' });
  });

  it("the parser's self-managed Kafka schema accepts the event and reads the same data", () => {
    // Prepare
    const event = toKafkaEvent({
      topic: 'orders',
      partition: 0,
      bootstrapServers: 'a:9092,b:9092',
      records: [
        fetched(0, {
          key: utf8('k1'),
          value: utf8('{"id":1}'),
          headers: [{ key: 'trace', value: utf8('abc') }],
        }),
        fetched(1, { key: null, value: utf8('v2') }),
      ],
    });

    // Act
    const parsed = KafkaSelfManagedEventSchema.parse(JSON.parse(JSON.stringify(event)));

    // Assess
    expect(parsed.eventSource).toBe('SelfManagedKafka');
    expect(parsed.bootstrapServers).toEqual(['a:9092', 'b:9092']);
    expect(parsed.records['orders-0']?.map((r) => [r.offset, r.key, r.value, r.headers])).toEqual([
      [0, 'k1', '{"id":1}', [{ trace: 'abc' }]],
      [1, undefined, 'v2', []],
    ]);
  });
});
