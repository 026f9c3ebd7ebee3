/**
 * Several Kafka listeners over one backend (DESIGN §13): Metadata lists every live listener as a broker,
 * with distinct node ids and one controller all of them name; a listener that closes drops out.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { CountingMetaStore } from '../../lambdas/adapters/counting-stores.ts';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import { FindCoordinator } from '../../lambdas/kafka/protocol/messages.ts';
import { createEmbeddedBackend } from '../../lambdas/runtime/backends.ts';
import type { LocalServerOptions } from '../../lambdas/runtime/local-server.ts';
import { type KafkaTestServer, request, startKafkaTestServer } from '../support/kafka-server.ts';
import { waitFor } from '../support/wait-for.ts';

const run = promisify(execFile);
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface ClusterView {
  brokers: { nodeId: number; host: string; port: number }[];
  controller: number | null;
}

/** What KafkaJS's admin sees of the cluster through one broker. */
async function describeCluster(broker: string): Promise<ClusterView> {
  const admin = new Kafka({
    brokers: [broker],
    clientId: 'brokers-test',
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const { brokers, controller } = await admin.describeCluster();
    return { brokers: [...brokers].sort((a, b) => a.nodeId - b.nodeId), controller };
  } finally {
    await admin.disconnect();
  }
}

const address = (server: KafkaTestServer) => {
  const [host, port] = server.broker.split(':');
  return { host: host as string, port: Number(port) };
};

/** Two local servers over the storage `open` gives each; a test may close one itself (each closes once). */
async function twoServers(open: () => LocalServerOptions): Promise<[KafkaTestServer, KafkaTestServer]> {
  const servers: KafkaTestServer[] = [];
  for (let i = 0; i < 2; i++) {
    const server = await startKafkaTestServer(open());
    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= server.close();
      return closing;
    };
    cleanups.push(close);
    servers.push({ ...server, close });
  }
  return servers as [KafkaTestServer, KafkaTestServer];
}

/** Two local servers over one memory MetaStore and object store. */
function twoOverMemory(): Promise<[KafkaTestServer, KafkaTestServer]> {
  const clock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
  const storage = {
    meta: new MemoryMetaStore(clock),
    objects: new MemoryObjectStore(),
    close: async () => {},
  };
  return twoServers(() => ({ storage }));
}

/** Two local servers, each with its own connection to one SQLite data dir (as two processes would). */
function twoOverSqlite(): Promise<[KafkaTestServer, KafkaTestServer]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'streambed-brokers-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  return twoServers(() => ({
    memory: false,
    storage: createEmbeddedBackend({ dataDir, durability: 'none' }),
  }));
}

describe('listeners over one backend', () => {
  it('each list both as brokers to KafkaJS, with distinct node ids and the same controller', async () => {
    // Prepare
    const [first, second] = await twoOverMemory();
    // Act
    const views = await Promise.all([describeCluster(first.broker), describeCluster(second.broker)]);
    // Assess
    for (const view of views) {
      expect(view.brokers).toEqual([
        { nodeId: 0, ...address(first) },
        { nodeId: 1, ...address(second) },
      ]);
      expect(view.controller).toBe(0);
    }
  });

  it('each list both to kcat -L over one SQLite data dir', async () => {
    // Prepare
    const servers = await twoOverSqlite();
    const [first, second] = servers;
    for (const server of servers) {
      // Act
      const { stdout } = await run('kcat', ['-b', server.broker, '-L', '-m', '10']);
      // Assess
      expect(stdout).toContain('2 brokers:');
      expect(stdout).toContain(`broker 0 at ${first.broker} (controller)`);
      expect(stdout).toContain(`broker 1 at ${second.broker}\n`);
    }
  });

  it('drops a listener that closed, and the one left names itself controller', async () => {
    // Prepare
    const [first, second] = await twoOverMemory();
    expect((await describeCluster(second.broker)).brokers).toHaveLength(2);
    // Act
    await first.close();
    // Assess
    await waitFor(
      async () => (await describeCluster(second.broker)).brokers.length === 1,
      10_000,
      'the closed listener to drop out of Metadata',
    );
    expect(await describeCluster(second.broker)).toEqual({
      brokers: [{ nodeId: 1, ...address(second) }],
      controller: 1,
    });
  });

  it('share a consumer group, listed once, and its coordinator moves when the gateway holding it stops', async () => {
    // Prepare: a topic, and a KafkaJS member bootstrapped through each gateway, over one SQLite backend
    const [first, second] = await twoOverSqlite();
    const created = await fetch(`${first.url}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'moving', partitions: 2 }),
    });
    expect(created.status).toBe(201);
    const clients = [first, second].map(
      (server) => new Kafka({ brokers: [server.broker], clientId: 'moving', logLevel: logLevel.NOTHING }),
    );
    const received = new Set<string>();
    const consumers = clients.map((client) =>
      client.consumer({
        groupId: 'movers',
        sessionTimeout: 6000,
        heartbeatInterval: 300,
        retry: { retries: 20 },
        // KafkaJS heartbeats between fetches: short long polls let members rejoin a rebalance at once.
        maxWaitTimeInMs: 100,
      }),
    );
    for (const consumer of consumers) {
      await consumer.connect();
      await consumer.subscribe({ topics: ['moving'], fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void received.add(`${message.value}`) });
      cleanups.push(() => consumer.disconnect().catch(() => {}));
    }
    const producer = (clients[1] as Kafka).producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect().catch(() => {}));
    await producer.send({
      topic: 'moving',
      messages: ['a', 'b', 'c', 'd'].map((value) => ({ key: value, value })),
    });
    await waitFor(() => received.size === 4, 30_000, 'the first records');
    const admin = (clients[1] as Kafka).admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    // Assess: one group for the cluster, whichever listener each member came through
    expect((await admin.listGroups()).groups.filter((g) => g.groupId === 'movers')).toHaveLength(1);
    // Act: stop the gateway the group's coordinator lease names, then produce more
    const found = await request(second.broker, FindCoordinator, 2, { key: 'movers', keyType: 0 });
    expect(found.errorCode).toBe(0);
    const holder = found.nodeId === 0 ? first : second;
    await holder.close();
    const survivor = holder === first ? second : first;
    const late = (survivor === second ? clients[1] : clients[0]) as Kafka;
    const lateProducer = late.producer();
    await lateProducer.connect();
    cleanups.push(() => lateProducer.disconnect().catch(() => {}));
    await lateProducer.send({
      topic: 'moving',
      messages: ['e', 'f', 'g', 'h'].map((value) => ({ key: value, value })),
    });
    // Assess: the members found the new coordinator and read on
    await waitFor(() => received.size === 8, 60_000, 'the records after the coordinator moved');
  }, 120_000);
});

describe("a listener's bookkeeping store", () => {
  /** A server whose requests go through a counted store over `meta`; its listener's items to `bookkeeping`. */
  async function countedServer(meta: MemoryMetaStore, bookkeeping?: MemoryMetaStore) {
    const counted = new CountingMetaStore(meta);
    const server = await startKafkaTestServer({
      storage: { meta: counted, objects: new MemoryObjectStore(), close: async () => {} },
      kafka: { port: 0, ...(bookkeeping === undefined ? {} : { bookkeeping }) },
    });
    cleanups.push(() => server.close());
    return { server, counted };
  }

  it('keeps the registration out of the counted store when given one, and the broker stays listed', async () => {
    const clock = {
      now: () => Date.now(),
      sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    };
    const inner = new MemoryMetaStore(clock);
    const { server, counted } = await countedServer(inner, inner);

    const cluster = await describeCluster(server.broker);

    expect(cluster.brokers).toEqual([{ nodeId: cluster.controller, ...address(server) }]);
    expect(counted.counts.transacts).toBe(0);
  });

  it('registers through the server store by default (what the bench would otherwise count)', async () => {
    const clock = {
      now: () => Date.now(),
      sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    };
    const { counted } = await countedServer(new MemoryMetaStore(clock));

    expect(counted.counts.transacts).toBeGreaterThan(0);
  });
});
