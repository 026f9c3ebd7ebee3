/**
 * Per-partition order, as Kafka promises it: what one producer sends to a partition is stored in the
 * order it was sent, even when a request is slow, fails and is retried, or a send spans requests. A
 * proxy in front of a local in-memory server holds back the first produce request (held-proxy.ts), so
 * a producer that sends a topic's requests side by side would let a later one commit first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AsyncSerde, Streambed, stringSerde } from '../../client/index.ts';
import { MAX_RECORDS_PER_REQUEST } from '../../client/wire/limits.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { runCli } from '../support/cli-server.ts';
import { type HeldProxy, startHeldProxy } from '../support/held-proxy.ts';

let server: LocalServer;
let proxy: HeldProxy | undefined;
beforeAll(async () => {
  server = await startLocalServer({ port: 0, memory: true });
});
afterAll(async () => {
  await proxy?.close();
  await server.close();
});

let topics = 0;
/** A new one-partition topic, and a client that reaches the server through a new held proxy. */
async function prepare(options: { failFirst?: boolean } = {}) {
  const topic = `order-${topics++}`;
  await new Streambed({ url: server.url }).admin().createTopic({ topic, numPartitions: 1 });
  await proxy?.close();
  proxy = await startHeldProxy(server.url, options);
  return { topic, proxy, client: new Streambed({ url: proxy.url }) };
}

/** The values of partition 0 of `topic`, read straight from the server, `count` of them. */
async function readBack(topic: string, count: number): Promise<string[]> {
  const values: string[] = [];
  while (values.length < count) {
    const response = await fetch(
      `${server.url}/v1/topics/${topic}/partitions/0/records?offset=${values.length}&max_bytes=3145728`,
    );
    const { records } = (await response.json()) as { records: { value: string }[] };
    if (records.length === 0) break;
    values.push(...records.map((record) => record.value));
  }
  return values;
}

const numbered = (count: number, prefix = 'm') => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

describe('Producer order within a partition', () => {
  it('stores one send larger than a request in send order, one request in flight at a time', async () => {
    // Prepare
    const { topic, proxy, client } = await prepare();
    const values = numbered(3 * MAX_RECORDS_PER_REQUEST);
    const producer = client.producer<string>();

    // Act
    const sent = await producer.send({ topic, messages: values.map((value) => ({ value, partition: 0 })) });
    await producer.disconnect();

    // Assess
    expect(sent.map((m) => m.offset)).toEqual(values.map((_, i) => i));
    expect(await readBack(topic, values.length)).toEqual(values);
    expect(proxy.produceRequests()).toBe(3);
    expect(proxy.mostInFlight()).toBe(1);
  }, 60_000);

  it('gives concurrent sends increasing offsets in call order, batching those that wait', async () => {
    // Prepare
    const { topic, proxy, client } = await prepare();
    const values = numbered(50);
    const producer = client.producer<string>({ lingerMs: 0 });

    // Act: every send is made before any is answered
    const sent = await Promise.all(
      values.map((value) => producer.send({ topic, messages: [{ value, partition: 0 }] })),
    );

    // Assess: the first went alone; the others waited for it and share the next request
    expect(sent.map(([m]) => m?.offset)).toEqual(values.map((_, i) => i));
    expect(await readBack(topic, values.length)).toEqual(values);
    expect(proxy.produceRequests()).toBe(2);
  }, 30_000);

  it('keeps call order when an earlier send is still being serialized', async () => {
    // Prepare: the first value's serializer finishes only once a produce request has been answered
    // (or after a second, when none is sent before it), straight from the server, without the proxy
    const { topic } = await prepare();
    let answered: () => void = () => {};
    const firstAnswer = new Promise<void>((resolve) => {
      answered = resolve;
    });
    const fetch: typeof globalThis.fetch = async (url, init) => {
      const response = await globalThis.fetch(url, init);
      if (init?.method === 'POST') answered();
      return response;
    };
    const client = new Streambed({ url: server.url, fetch });
    const valueSerde: AsyncSerde<string> = {
      serialize: async (value) => {
        if (value === 'm0')
          await Promise.race([firstAnswer, new Promise((resolve) => setTimeout(resolve, 1000))]);
        return stringSerde.serialize(value);
      },
      deserialize: stringSerde.deserialize,
    };
    const producer = client.producer<string>({ lingerMs: 0, valueSerde });

    // Act
    const sent = await Promise.all(
      ['m0', 'm1'].map((value) => producer.send({ topic, messages: [{ value, partition: 0 }] })),
    );

    // Assess
    expect(sent.map(([m]) => m?.offset)).toEqual([0, 1]);
    expect(await readBack(topic, 2)).toEqual(['m0', 'm1']);
  }, 30_000);

  it('does not let a later request commit before a failed one is retried', async () => {
    // Prepare: the first produce request is answered 503 (retriable) once
    const { topic, proxy, client } = await prepare({ failFirst: true });
    const producer = client.producer<string>({ lingerMs: 0, retry: { initialRetryTimeMs: 10 } });

    // Act
    const sent = await Promise.all(
      ['first', 'second'].map((value) => producer.send({ topic, messages: [{ value, partition: 0 }] })),
    );

    // Assess: the failed attempt, its retry, then the second send
    expect(sent.map(([m]) => m?.offset)).toEqual([0, 1]);
    expect(await readBack(topic, 2)).toEqual(['first', 'second']);
    expect(proxy.produceRequests()).toBe(3);
  }, 30_000);

  it('fails only the sends of a request that ran out of retries; later ones still go', async () => {
    // Prepare: the first produce request is answered 503, and the producer does not retry
    const { topic, client } = await prepare({ failFirst: true });
    const producer = client.producer<string>({ lingerMs: 0, retry: { retries: 0 } });

    // Act
    const [first, second] = await Promise.allSettled(
      ['first', 'second'].map((value) => producer.send({ topic, messages: [{ value, partition: 0 }] })),
    );
    await producer.flush();

    // Assess
    expect(first).toMatchObject({ status: 'rejected', reason: { status: 503, retriable: true } });
    expect(second).toMatchObject({ status: 'fulfilled', value: [{ partition: 0, offset: 0 }] });
    expect(await readBack(topic, 1)).toEqual(['second']);
  }, 30_000);

  it('stores the lines of the CLI produce in line order', async () => {
    // Prepare: more lines than one request holds
    const { topic, proxy } = await prepare();
    const lines = numbered(2 * MAX_RECORDS_PER_REQUEST + 500, 'line-');

    // Act
    const produced = await runCli(proxy.url, ['produce', topic], `${lines.join('\n')}\n`);

    // Assess
    expect(produced.stderr).toMatch(/produced 20500 records/);
    expect(produced.code).toBe(0);
    expect(await readBack(topic, lines.length)).toEqual(lines);
    expect(proxy.mostInFlight()).toBe(1);
  }, 60_000);
});
