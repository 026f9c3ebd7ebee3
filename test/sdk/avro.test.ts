/**
 * Avro end to end through the SDK against a real local server: a producer with `avroSerde` registers
 * its schema and writes Confluent-framed records; a consumer group with `avroSerde` decodes them —
 * with each writer's schema, or resolved into a newer reader schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  avroSerde,
  decodeFrame,
  SchemaRegistryClient,
  Streambed,
  StreambedError,
} from '../../client/index.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { waitFor } from '../support/wait-for.ts';

let server: LocalServer;
let client: Streambed;
let registry: SchemaRegistryClient;
beforeAll(async () => {
  server = await startLocalServer({ port: 0, memory: true });
  client = new Streambed({ url: server.url });
  registry = new SchemaRegistryClient({ url: server.url });
});
afterAll(async () => server.close());

const orderV1 = {
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'total', type: 'double' },
    { name: 'items', type: { type: 'array', items: 'string' } },
  ],
};
const orderV2 = {
  ...orderV1,
  fields: [...orderV1.fields, { name: 'coupon', type: ['null', 'string'], default: null }],
};

interface Order {
  id: number;
  total: number;
  items: string[];
  coupon?: string | null;
}

/** Consumes `count` values of `topic` with `valueSerde` in a fresh group, then leaves. */
async function consumeAll<V>(topic: string, count: number, valueSerde: ReturnType<typeof avroSerde<V>>) {
  const consumer = client.consumer<V>({ groupId: `readers-${topic}-${Math.random()}`, valueSerde });
  const values: V[] = [];
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      values.push(message.value as V);
    },
  });
  const deadline = Date.now() + 20_000;
  while (values.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await consumer.disconnect();
  return { values };
}

describe('Avro with the SDK', () => {
  it('produces Avro records with avroSerde and consumes them decoded', async () => {
    // Prepare
    await client.admin().createTopic({ topic: 'orders', numPartitions: 3 });
    const producer = client.producer<Order>({
      valueSerde: avroSerde<Order>({ registry, subject: 'orders-value', schema: orderV1 }),
    });
    const orders: Order[] = Array.from({ length: 30 }, (_, i) => ({
      id: i,
      total: i * 1.5,
      items: [`sku-${i}`, `sku-${i + 1}`],
    }));
    // Act
    await producer.send({
      topic: 'orders',
      messages: orders.map((value) => ({ key: `customer-${value.id % 4}`, value })),
    });
    await producer.disconnect();
    const { values } = await consumeAll('orders', orders.length, avroSerde<Order>({ registry }));
    // Assess
    expect(values.map((v) => ({ ...v })).sort((a, b) => a.id - b.id)).toEqual(orders);
    expect((await registry.version('orders-value')).version).toBe(1);
  });

  it('writes Confluent framing: magic byte 0, the big-endian schema id, then Avro binary', async () => {
    // Prepare
    const serde = avroSerde<Order>({ registry, subject: 'framing-value', schema: orderV1 });
    // Act
    const bytes = (await serde.serialize({ id: 1, total: 2, items: [] })) as Uint8Array;
    // Assess
    const { id, payload } = decodeFrame(bytes);
    expect(bytes[0]).toBe(0);
    expect(id).toBe((await registry.version('framing-value')).id);
    expect([...payload]).toEqual([2, ...new Uint8Array(new Float64Array([2]).buffer), 0]);
  });

  it('decodes records of two schema versions into the newer reader schema', async () => {
    // Prepare
    await client.admin().createTopic({ topic: 'evolving', numPartitions: 1 });
    const v1 = client.producer<Order>({
      valueSerde: avroSerde<Order>({ registry, subject: 'evolving-value', schema: orderV1 }),
    });
    const v2 = client.producer<Order>({
      valueSerde: avroSerde<Order>({ registry, subject: 'evolving-value', schema: orderV2 }),
    });
    await v1.send({ topic: 'evolving', messages: [{ value: { id: 1, total: 10, items: ['a'] } }] });
    await v2.send({
      topic: 'evolving',
      messages: [{ value: { id: 2, total: 20, items: [], coupon: 'SPRING' } }],
    });
    // Act
    const { values } = await consumeAll('evolving', 2, avroSerde<Order>({ registry, readerSchema: orderV2 }));
    // Assess
    expect(values.map((v) => ({ ...v }))).toEqual([
      { id: 1, total: 10, items: ['a'], coupon: null },
      { id: 2, total: 20, items: [], coupon: 'SPRING' },
    ]);
    expect(await registry.testCompatibility('evolving-value', orderV1)).toBe(true);
  });

  it('fails a send whose value does not match the schema, or whose schema is not registered', async () => {
    // Prepare
    const strict = client.producer<unknown>({
      valueSerde: avroSerde({ registry, subject: 'orders-value', schema: orderV1 }),
      retry: { retries: 0 },
    });
    const lookupOnly = client.producer<unknown>({
      valueSerde: avroSerde({ registry, subject: 'orders-value', schema: orderV2, autoRegister: false }),
      retry: { retries: 0 },
    });
    // Act
    const mismatch = await strict
      .send({ topic: 'orders', messages: [{ value: { id: 'not a number' } }] })
      .catch((e: unknown) => e);
    const unregistered = await lookupOnly
      .send({ topic: 'orders', messages: [{ value: { id: 1, total: 1, items: [] } }] })
      .catch((e: unknown) => e);
    // Assess
    expect(mismatch).toBeInstanceOf(StreambedError);
    expect((mismatch as StreambedError).message).toMatch(/does not match Avro schema/);
    expect(unregistered).toMatchObject({ code: 'SCHEMA_NOT_FOUND', details: { errorCode: 40403 } });
  });

  it('refuses to decode bytes that are not Confluent-framed', async () => {
    const serde = avroSerde({ registry });
    await expect(serde.deserialize(new TextEncoder().encode('{"plain":"json"}'))).rejects.toMatchObject({
      code: 'CORRUPT_DATA',
    });
    expect(await serde.deserialize(null)).toBeNull();
  });
});

const invoice = {
  type: 'record',
  name: 'Invoice',
  namespace: 'shop',
  fields: [
    { name: 'order', type: orderV2 },
    { name: 'notes', type: { type: 'map', values: 'string' } },
  ],
};

describe('Avro errors say where', () => {
  it('names the path of every wrong field of a value that does not match the schema', async () => {
    // Prepare
    const serde = avroSerde({ registry, subject: 'invoices-value', schema: invoice });
    const id = await registry.register('invoices-value', invoice);
    // Act
    const error = await Promise.resolve(
      serde.serialize({ order: { id: 1, items: ['a', 5], coupon: 7 }, notes: { due: 30 } }),
    ).catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ code: 'INVALID_REQUEST' });
    expect((error as Error).message).toBe(
      `value does not match Avro schema id ${id}: order.total: expected double, got undefined; ` +
        'order.items.1: expected string, got 5; order.coupon: expected null | string, got 7; ' +
        'notes.due: expected string, got 30',
    );
  });

  it('names the value itself when it is not a record at all', async () => {
    const serde = avroSerde({ registry, subject: 'invoices-value', schema: invoice });
    const error = await Promise.resolve(serde.serialize('an invoice')).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/: value: expected record shop\.Invoice, got "an invoice"$/);
  });

  it('names the schema id, topic, partition and offset of a value the consumer cannot decode', async () => {
    // Prepare: a valid record, then one framed with the schema id but cut short
    await client.admin().createTopic({ topic: 'cut-orders', numPartitions: 1 });
    const id = await registry.register('cut-orders-value', orderV1);
    const whole = (await avroSerde({ registry, subject: 'cut-orders-value', schema: orderV1 }).serialize({
      id: 1,
      total: 2,
      items: ['a'],
    })) as Uint8Array;
    const producer = client.producer({ lingerMs: 0 });
    await producer.send({
      topic: 'cut-orders',
      messages: [{ value: Buffer.from(whole) }, { value: Buffer.from(whole).subarray(0, 7) }],
    });
    await producer.disconnect();
    const consumer = client.consumer<Order>({
      groupId: 'cut-orders-readers',
      valueSerde: avroSerde<Order>({ registry }),
      retry: { retries: 0 },
      logger: { error: () => {}, warn: () => {} },
    });
    const errors: unknown[] = [];
    consumer.on(consumer.events.CRASH, (event) => void errors.push(event.payload.error));
    await consumer.subscribe({ topics: ['cut-orders'], fromBeginning: true });
    // Act
    await consumer.run({ eachMessage: async () => {} });
    await waitFor(() => errors.length === 1, 10_000, 'the crash');
    await consumer.disconnect();
    // Assess
    expect(errors[0]).toMatchObject({ code: 'CORRUPT_DATA' });
    expect((errors[0] as Error).message).toMatch(
      new RegExp(`^cut-orders/0 offset 1: cannot decode an Avro value of schema id ${id}: `),
    );
  });
});

describe('SchemaRegistryClient URL', () => {
  it.each([
    ['the API URL', ''],
    ['the API URL with a trailing slash', '/'],
    ['the registry URL', '/schema-registry'],
    ['the registry URL with a trailing slash', '/schema-registry/'],
  ])('reaches the registry from %s', async (_, suffix) => {
    // Prepare
    const named = new SchemaRegistryClient({ url: `${server.url}${suffix}` });
    const expected = await registry.register('url-forms-value', orderV1);
    // Act
    const id = await named.lookup('url-forms-value', orderV1);
    // Assess
    expect(id).toBe(expected);
    expect(JSON.parse(await named.getSchema(id))).toMatchObject({ name: 'Order' });
  });

  it.each([
    ['the registry answers', { registryUrl: '/schema-registry/schema-registry' }],
    ['the API answers', { url: '/v1/topics' }],
  ])('names the URL requested when the path is no registry route (%s the 404)', async (_, path) => {
    // Prepare: a base URL below which no registry is served
    const wrong = new SchemaRegistryClient(
      'registryUrl' in path
        ? { url: server.url, registryUrl: `${server.url}${path.registryUrl}` }
        : { url: `${server.url}${path.url}` },
    );
    const base = `${server.url}${'registryUrl' in path ? path.registryUrl : `${path.url}/schema-registry`}`;
    // Act
    const error = await wrong.getSchema(1).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(StreambedError);
    expect(error).toMatchObject({ code: 'INVALID_REQUEST', status: 404 });
    expect((error as Error).message).toContain(`no schema registry route for GET ${base}/schemas/ids/1`);
  });

  it('keeps the registry message of a subject that does not exist', async () => {
    const error = await registry.version('no-such-subject-value').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SUBJECT_NOT_FOUND', details: { errorCode: 40401 } });
    expect((error as Error).message).not.toContain('no schema registry route');
  });
});
