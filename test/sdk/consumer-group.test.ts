/**
 * The SDK end to end against a real local server: two producers, three consumers in one group, six
 * partitions, 100,000 records. One consumer dies mid-way (its network is cut: no heartbeats, no
 * commits); its partitions move and processing completes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonSerde, Streambed, StreambedError, type TopicPartition } from '../../client/index.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { waitFor } from '../support/wait-for.ts';

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer({ port: 0, memory: true });
});
afterAll(async () => server.close());

describe('SDK producers and a consumer group', () => {
  it('consumes 100k records from 2 producers with 3 consumers over 6 partitions, surviving a dead consumer', async () => {
    // Prepare
    const client = new Streambed({ url: server.url });
    await client.admin().createTopic({ topic: 'orders', numPartitions: 6 });
    const keys = 60;
    const perProducer = 50_000;
    const producers = [client.producer({ lingerMs: 10 }), client.producer({ lingerMs: 10 })];
    // Each value says which key it belongs to and its sequence number within that key and producer.
    const produce = async (p: number) => {
      for (let i = 0; i < perProducer; i += 5_000) {
        const messages = Array.from({ length: 5_000 }, (_, j) => {
          const n = i + j;
          const k = n % keys;
          return { key: `key-${k}`, value: `${p}:${k}:${Math.floor(n / keys)}` };
        });
        await producers[p]!.send({ topic: 'orders', messages });
      }
    };
    const seen = new Map<string, number[]>(); // "producer:key" → sequence numbers in processing order
    const processed = new Set<string>();
    const onMessage = async ({ message }: { message: { value: Buffer | null } }) => {
      const value = message.value!.toString();
      const [p, k, seq] = value.split(':');
      const list = seen.get(`${p}:${k}`) ?? [];
      list.push(Number(seq));
      seen.set(`${p}:${k}`, list);
      processed.add(value);
    };
    let cut = false;
    const cuttable: typeof fetch = async (input, init) => {
      if (cut) throw new TypeError('network unreachable');
      return fetch(input, init);
    };
    const doomed = new Streambed({ url: server.url, fetch: cuttable });
    const options = {
      groupId: 'billing',
      sessionTimeoutMs: 2_000,
      heartbeatIntervalMs: 300,
      autoCommitIntervalMs: 500,
    };
    const consumers = [client.consumer(options), client.consumer(options), doomed.consumer(options)];
    for (const consumer of consumers) {
      await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
      await consumer.run({ eachMessage: onMessage });
    }

    // Act: produce while consuming; cut one consumer off part-way
    const producing = Promise.all([produce(0), produce(1)]);
    // Right after the joins the first consumer holds every partition until heartbeats balance the
    // group, and a fifth of the records can be processed before that: cut the third consumer only
    // once it holds partitions (read and cut in one step, so no heartbeat lands in between).
    let doomedPartitions: TopicPartition[] = [];
    await waitFor(
      () => {
        if (processed.size <= 20_000) return false;
        doomedPartitions = consumers[2]!.assignment();
        cut = doomedPartitions.length > 0;
        return cut;
      },
      60_000,
      'a fifth of the records, with the third consumer holding partitions',
    );
    await producing;
    await Promise.all(producers.map((p) => p.disconnect()));
    // Every record, and the dead consumer's partitions taken over: its session ended and the two
    // survivors own every partition. Only then may it wake up, so its commits meet a new epoch.
    await waitFor(
      async () => {
        if (processed.size !== 2 * perProducer) return false;
        const group = await client.admin().describeGroup('billing');
        const live = new Set(group.members.map((m) => m.memberId));
        return live.size === 2 && group.partitions.every((p) => p.owner !== null && live.has(p.owner));
      },
      90_000,
      "every record, and the dead consumer's partitions taken over",
    );
    // The dead consumer, woken up too late, is fenced: its commits are refused.
    cut = false;
    let fenced: unknown;
    await consumers[2]!
      .commitOffsets(doomedPartitions.map((tp) => ({ ...tp, offset: 0 })))
      .catch((error: unknown) => {
        fenced = error;
      });
    for (const consumer of consumers) await consumer.disconnect();

    // Assess: at least once, per-key order (first time each record is seen), commits at the end
    expect(processed.size).toBe(100_000);
    for (const [producerKey, sequence] of seen) {
      const firstSeen = sequence.filter((n, i) => sequence.indexOf(n) === i);
      expect(firstSeen, producerKey).toEqual([...firstSeen].sort((a, b) => a - b));
    }
    expect(doomedPartitions.length).toBeGreaterThan(0);
    expect(fenced).toBeInstanceOf(StreambedError);
    expect((fenced as StreambedError).code).toBe('LEASE_LOST');
    const group = await client.admin().describeGroup('billing');
    expect(group.partitions.map((p) => p.committedOffset)).toEqual(
      group.partitions.map((p) => p.highWatermark),
    );
    expect(group.partitions.every((p) => p.lag === 0)).toBe(true);
  }, 180_000);

  it('joins once when the answer to its join is lost: the retry reuses the member id', async () => {
    // Prepare: a network that loses the first join's response after the server applied the join
    const client = new Streambed({ url: server.url });
    await client.admin().createTopic({ topic: 'lossy', numPartitions: 4 });
    let lost = false;
    const lossy: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!lost && init?.method === 'POST' && String(input).endsWith('/members')) {
        lost = true;
        await response.arrayBuffer();
        throw new TypeError('socket hang up');
      }
      return response;
    };
    const consumer = new Streambed({ url: server.url, fetch: lossy }).consumer({ groupId: 'lossy-group' });
    await consumer.subscribe({ topic: 'lossy' });
    // Act: run resolves once the (retried) join's assignment is running
    await consumer.run({ eachMessage: async () => {} });
    const assigned = consumer.assignment();
    const group = await client.admin().describeGroup('lossy-group');
    await consumer.disconnect();
    // Assess: one member, not a ghost holding the partitions plus a member with none
    expect(lost).toBe(true);
    expect(group.members).toHaveLength(1);
    expect(assigned.map((tp) => tp.partition).sort()).toEqual([0, 1, 2, 3]);
  });

  it('seeks, pauses and resumes, and commits manually', async () => {
    const client = new Streambed({ url: server.url });
    await client.admin().createTopic({ topic: 'manual', numPartitions: 1 });
    const producer = client.producer();
    const offsets = await producer.send({
      topic: 'manual',
      messages: ['a', 'b', 'c', 'd'].map((value) => ({ value })),
    });
    expect(offsets.map((o) => o.offset)).toEqual([0, 1, 2, 3]);
    const values: string[] = [];
    const consumer = client.consumer({
      groupId: 'manual-group',
      autoCommit: false,
      heartbeatIntervalMs: 200,
    });
    await consumer.subscribe({ topic: 'manual', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) });
    await waitFor(() => values.length === 4, 10_000, 'four values');
    consumer.seek({ topic: 'manual', partition: 0, offset: 2 });
    await waitFor(() => values.length === 6, 10_000, 're-read after seek');
    consumer.pause([{ topic: 'manual' }]);
    await producer.send({ topic: 'manual', messages: [{ value: 'e' }] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const whilePaused = values.length;
    consumer.resume([{ topic: 'manual' }]);
    await waitFor(() => values.length === 7, 10_000, 'the value sent while paused');
    await consumer.commitOffsets([{ topic: 'manual', partition: 0, offset: 5 }]);
    await consumer.disconnect();
    expect(values).toEqual(['a', 'b', 'c', 'd', 'c', 'd', 'e']);
    expect(whilePaused).toBe(6);
    const group = await client.admin().describeGroup('manual-group');
    expect(group.partitions[0]).toMatchObject({ committedOffset: 5, lag: 0 });
  });

  it('hands over whole batches with eachBatch, resolving offsets as told, with JSON values', async () => {
    const client = new Streambed({ url: server.url });
    await client.admin().createTopic({ topic: 'batches', numPartitions: 1 });
    const producer = client.producer({ valueSerde: jsonSerde });
    await producer.send({ topic: 'batches', messages: [1, 2, 3, 4, 5].map((n) => ({ value: { n } })) });
    const seen: number[] = [];
    const consumer = client.consumer({ groupId: 'batcher', valueSerde: jsonSerde, heartbeatIntervalMs: 200 });
    await consumer.subscribe({ topic: 'batches', fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch, resolveOffset }) => {
        for (const message of batch.messages) {
          seen.push((message.value as { n: number }).n);
          // Stop after the third message of the first batch: the rest comes again in the next batch.
          if (seen.length === 3) return resolveOffset(message.offset);
        }
        resolveOffset(batch.messages.at(-1)!.offset);
      },
    });
    await waitFor(() => seen.length >= 5 && seen.at(-1) === 5, 10_000, 'all five values');
    await consumer.disconnect();
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    const group = await client.admin().describeGroup('batcher');
    expect(group.partitions[0]).toMatchObject({ committedOffset: 5, lag: 0 });
  });
});
