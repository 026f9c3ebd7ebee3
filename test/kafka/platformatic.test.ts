/**
 * A second JavaScript Kafka client, @platformatic/kafka, which speaks only the flexible versions of
 * the protocol (Produce 9, Fetch 12, Metadata 12, JoinGroup 9, …): where KafkaJS exercises the classic
 * encodings, this one exercises the compact ones and tagged fields.
 *
 * It declares Node ≥ 22.22; on Node 20 the one thing it lacks is Promise.withResolvers (Node 22),
 * supplied here before it loads. Nothing else is patched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JsonCall, jsonCaller } from '../support/json-call.ts';
import { type KafkaTestServer, startKafkaTestServer } from '../support/kafka-server.ts';

if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.assign(Promise, {
    withResolvers<T>() {
      let resolve!: (value: T) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      return { promise, resolve, reject };
    },
  });
}
const { Admin, Consumer, Producer, stringDeserializers, stringSerializers } = await import(
  '@platformatic/kafka'
);

let server: KafkaTestServer;
let call: JsonCall;

beforeAll(async () => {
  server = await startKafkaTestServer();
  call = jsonCaller(() => server.url);
});
afterAll(() => server.close());

describe('@platformatic/kafka (flexible versions only)', () => {
  it('creates a topic, produces idempotently with keys and headers, and consumes in a group', async () => {
    // Prepare
    const admin = new Admin({ clientId: 'flex', bootstrapBrokers: [server.broker] });
    await admin.createTopics({ topics: ['flexible'], partitions: 3, replicas: 1 });
    expect(await admin.listTopics()).toContain('flexible');
    await admin.close();
    const producer = new Producer({
      clientId: 'flex',
      bootstrapBrokers: [server.broker],
      serializers: stringSerializers,
      idempotent: true,
    });
    // Act
    const sent = await producer.send({
      messages: Array.from({ length: 9 }, (_, i) => ({
        topic: 'flexible',
        key: `key-${i}`,
        value: `value-${i}`,
        headers: { origin: 'platformatic' },
      })),
    });
    await producer.close();
    const consumer = new Consumer({
      groupId: 'flex-readers',
      clientId: 'flex',
      bootstrapBrokers: [server.broker],
      deserializers: stringDeserializers,
    });
    const stream = await consumer.consume({ topics: ['flexible'], mode: 'earliest' });
    const read: { key: string; value: string; origin: string | undefined }[] = [];
    for await (const message of stream) {
      read.push({ key: message.key, value: message.value, origin: message.headers.get('origin') });
      await message.commit();
      if (read.length === 9) break;
    }
    await stream.close();
    await consumer.close();
    // Assess
    expect(sent.offsets?.length).toBeGreaterThan(0);
    expect(read.map((r) => r.value).sort()).toEqual(Array.from({ length: 9 }, (_, i) => `value-${i}`));
    expect(read.every((r) => r.origin === 'platformatic' && r.key === r.value.replace('value', 'key'))).toBe(
      true,
    );
    // The same records over HTTP, and the group's commits as its offsets there.
    const { body } = await call('GET', '/v1/groups/flex-readers');
    expect(
      body.partitions.reduce(
        (sum: number, p: { committedOffset: number | null }) => sum + (p.committedOffset ?? 0),
        0,
      ),
    ).toBe(9);
  }, 60_000);
});
