/**
 * The consumer's error policy against a real local server: a message whose handler (or value
 * deserializer) keeps failing is logged, retried with backoff a bounded number of times, and then
 * either dead-lettered (and consumption moves on) or the consumer crashes — committing only up to the
 * failed message, leaving the group, and telling the user — and may rejoin if `restartOnFailure` says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  avroSerde,
  type Consumer,
  type ConsumerCrashEvent,
  type ConsumerLogger,
  SchemaRegistryClient,
  Streambed,
} from '../../client/index.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { waitFor } from '../support/wait-for.ts';

let server: LocalServer;
let client: Streambed;
beforeAll(async () => {
  server = await startLocalServer({ port: 0, memory: true });
  client = new Streambed({ url: server.url });
});
afterAll(async () => server.close());

/** A logger that keeps what it is told. */
function capturingLogger() {
  const lines: { level: 'error' | 'warn'; message: string; fields: Record<string, unknown> }[] = [];
  const logger: ConsumerLogger = {
    error: (message, fields) => void lines.push({ level: 'error', message, fields }),
    warn: (message, fields) => void lines.push({ level: 'warn', message, fields }),
  };
  return { lines, logger };
}

/** The crash events a consumer emits, as they come. */
function crashesOf(consumer: Pick<Consumer, 'on' | 'events'>) {
  const crashes: ConsumerCrashEvent[] = [];
  consumer.on(consumer.events.CRASH, (event) => void crashes.push(event));
  return crashes;
}

/** Small backoff so the tests run quickly; how long each wait is, is never asserted. */
const retry = { retries: 2, initialRetryTimeMs: 1, maxRetryTimeMs: 5 };

async function topicWith(topic: string, values: string[]) {
  await client.admin().createTopic({ topic, numPartitions: 1 });
  const producer = client.producer({ lingerMs: 0 });
  await producer.send({ topic, messages: values.map((value, i) => ({ key: `k${i}`, value })) });
  await producer.disconnect();
}

describe('consumer error policy', () => {
  it('logs, backs off, then crashes: the error is surfaced and the commit stops at the failed message', async () => {
    // Prepare: the handler fails on 'c' (offset 2) every time
    await topicWith('poison-crash', ['a', 'b', 'c', 'd']);
    const { lines, logger } = capturingLogger();
    const consumer = client.consumer({ groupId: 'crash-group', retry, logger });
    const crashes = crashesOf(consumer);
    const processed: string[] = [];
    let attempts = 0;
    await consumer.subscribe({ topic: 'poison-crash', fromBeginning: true });
    // Act
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = message.value!.toString();
        if (value === 'c') {
          attempts++;
          throw new Error('cannot bill c');
        }
        processed.push(value);
      },
    });
    await waitFor(() => crashes.length === 1, 10_000, 'the crash');
    // Assess
    expect(processed).toEqual(['a', 'b']);
    expect(attempts).toBe(retry.retries + 1);
    expect(crashes[0]!.payload.error).toBeInstanceOf(Error);
    expect((crashes[0]!.payload.error as Error).message).toBe('cannot bill c');
    expect(crashes[0]!.payload).toMatchObject({ groupId: 'crash-group', restart: false });
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(retry.retries);
    const failure = lines.find((l) => l.level === 'error');
    expect(failure?.fields).toMatchObject({
      group: 'crash-group',
      topic: 'poison-crash',
      partition: 0,
      offset: 2,
      attempts: 3,
      error: 'cannot bill c',
    });
    expect(JSON.stringify(lines)).not.toContain('"c"');
    const group = await client.admin().describeGroup('crash-group');
    expect(group.members).toHaveLength(0);
    expect(group.partitions[0]).toMatchObject({ committedOffset: 2, owner: null });
    expect(consumer.assignment()).toEqual([]);
    await consumer.disconnect();
  });

  it('dead-letters a record that keeps failing, with headers naming where it came from, and moves on', async () => {
    // Prepare
    await topicWith('poison-dlt', ['a', 'b', 'c', 'd']);
    await client.admin().createTopic({ topic: 'poison-dlt.dlt', numPartitions: 1 });
    const { lines, logger } = capturingLogger();
    const consumer = client.consumer({
      groupId: 'dlt-group',
      retry,
      logger,
      deadLetterTopic: 'poison-dlt.dlt',
      autoCommitIntervalMs: 0,
    });
    const crashes = crashesOf(consumer);
    const processed: string[] = [];
    await consumer.subscribe({ topic: 'poison-dlt', fromBeginning: true });
    // Act
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = message.value!.toString();
        if (value === 'b') throw new Error('cannot bill b');
        processed.push(value);
      },
    });
    await waitFor(() => processed.length === 3, 10_000, 'the records after the poison one');
    await consumer.disconnect();
    // Assess
    expect(processed).toEqual(['a', 'c', 'd']);
    expect(crashes).toEqual([]);
    const dead: { key: string; value: string; headers: Record<string, string> }[] = [];
    const reader = client.consumer({ groupId: 'dlt-reader' });
    await reader.subscribe({ topic: 'poison-dlt.dlt', fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers)) headers[name] = String(value);
        dead.push({ key: String(message.key), value: String(message.value), headers });
      },
    });
    await waitFor(() => dead.length === 1, 10_000, 'the dead letter');
    await reader.disconnect();
    expect(dead[0]).toEqual({
      key: 'k1',
      value: 'b',
      headers: {
        'streambed-dlt-topic': 'poison-dlt',
        'streambed-dlt-partition': '0',
        'streambed-dlt-offset': '1',
        'streambed-dlt-attempts': '3',
        'streambed-dlt-error': 'cannot bill b',
      },
    });
    expect(lines.find((l) => l.level === 'error')?.fields).toMatchObject({
      topic: 'poison-dlt',
      offset: 1,
      deadLetterTopic: 'poison-dlt.dlt',
    });
    const group = await client.admin().describeGroup('dlt-group');
    expect(group.partitions[0]).toMatchObject({ committedOffset: 4, lag: 0 });
  });

  it('with eachBatch, the failed message is the first one not resolved: the commit stops there', async () => {
    // Prepare: the batch handler resolves 'a' and then fails on 'b', every time
    await topicWith('poison-batch', ['a', 'b', 'c']);
    const { lines, logger } = capturingLogger();
    const consumer = client.consumer({ groupId: 'batch-crash-group', retry, logger });
    const crashes = crashesOf(consumer);
    const batches: string[][] = [];
    await consumer.subscribe({ topic: 'poison-batch', fromBeginning: true });
    // Act
    await consumer.run({
      eachBatch: async ({ batch, resolveOffset }) => {
        batches.push(batch.messages.map((m) => m.value!.toString()));
        for (const message of batch.messages) {
          if (message.value!.toString() === 'b') throw new Error('cannot bill b');
          resolveOffset(message.offset);
        }
      },
    });
    await waitFor(() => crashes.length === 1, 10_000, 'the crash');
    // Assess: 'a' is handed over once; the retries start at 'b'
    expect(batches).toEqual([
      ['a', 'b', 'c'],
      ['b', 'c'],
      ['b', 'c'],
    ]);
    expect(lines.find((l) => l.level === 'error')?.fields).toMatchObject({ offset: 1, attempts: 3 });
    const group = await client.admin().describeGroup('batch-crash-group');
    expect(group.partitions[0]).toMatchObject({ committedOffset: 1, owner: null });
    await consumer.disconnect();
  });

  it('treats a value that fails deserialization as a failure of that message', async () => {
    // Prepare: an Avro record, bytes that are not Avro, another Avro record
    const registry = new SchemaRegistryClient({ url: server.url });
    const schema = { type: 'record', name: 'Bill', fields: [{ name: 'n', type: 'long' }] };
    await client.admin().createTopic({ topic: 'bills', numPartitions: 1 });
    await client.admin().createTopic({ topic: 'bills.dlt', numPartitions: 1 });
    const avro = client.producer<{ n: number }>({
      lingerMs: 0,
      valueSerde: avroSerde({ registry, subject: 'bills-value', schema }),
    });
    const plain = client.producer({ lingerMs: 0 });
    await avro.send({ topic: 'bills', messages: [{ value: { n: 1 } }] });
    await plain.send({ topic: 'bills', messages: [{ value: 'not avro' }] });
    await avro.send({ topic: 'bills', messages: [{ value: { n: 3 } }] });
    const { lines, logger } = capturingLogger();
    const consumer = client.consumer<{ n: number }>({
      groupId: 'bills-group',
      retry,
      logger,
      valueSerde: avroSerde({ registry }),
      deadLetterTopic: 'bills.dlt',
    });
    const values: number[] = [];
    await consumer.subscribe({ topic: 'bills', fromBeginning: true });
    // Act
    await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!.n) });
    await waitFor(() => values.length === 2, 10_000, 'both Avro records');
    await consumer.disconnect();
    // Assess
    expect(values).toEqual([1, 3]);
    expect(lines.find((l) => l.level === 'error')?.fields).toMatchObject({ offset: 1, attempts: 3 });
    const described = await client.admin().describeTopic('bills.dlt');
    expect(described.partitions[0]!.highWatermark).toBe(1);
  });

  it('rejoins and retries from the committed offset when restartOnFailure says so', async () => {
    // Prepare: 'b' fails for its first three attempts (one round of retries), then succeeds
    await topicWith('poison-restart', ['a', 'b', 'c']);
    const { logger } = capturingLogger();
    const asked: unknown[] = [];
    const consumer = client.consumer({
      groupId: 'restart-group',
      retry,
      logger,
      restartOnFailure: async (error) => {
        asked.push(error);
        return true;
      },
    });
    const crashes = crashesOf(consumer);
    const seen: string[] = [];
    let failures = 0;
    await consumer.subscribe({ topic: 'poison-restart', fromBeginning: true });
    // Act
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = message.value!.toString();
        seen.push(value);
        if (value === 'b' && failures < retry.retries + 1) {
          failures++;
          throw new Error('not yet');
        }
      },
    });
    await waitFor(() => seen.at(-1) === 'c', 10_000, 'the record after the failing one');
    await consumer.disconnect();
    // Assess: a, b ×3 (crash, rejoin from offset 1), b, c
    expect(seen).toEqual(['a', 'b', 'b', 'b', 'b', 'c']);
    expect(asked).toHaveLength(1);
    expect(crashes).toHaveLength(1);
    expect(crashes[0]!.payload.restart).toBe(true);
    const group = await client.admin().describeGroup('restart-group');
    expect(group.partitions[0]).toMatchObject({ committedOffset: 3, lag: 0 });
  });
});
