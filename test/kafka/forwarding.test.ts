/**
 * Group requests forwarded to the coordinator's listener: several listeners behind one advertised
 * address (a load balancer) serve a consumer group whichever of them a client reaches.
 */
import { createServer, type Socket } from 'node:net';
import { type Consumer, Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import { coordinatorKey } from '../../lambdas/core/layout.ts';
import { createListenerRegistry } from '../../lambdas/core/listeners.ts';
import { CoordinatorLeases } from '../../lambdas/kafka/coordinator-lease.ts';
import { KafkaError } from '../../lambdas/kafka/errors.ts';
import { forwardedClientId } from '../../lambdas/kafka/forwarding.ts';
import {
  type RequestHeader,
  readRequestHeader,
  readResponse,
  writeRequest,
  writeResponse,
} from '../../lambdas/kafka/protocol/frames.ts';
import {
  FindCoordinator,
  Heartbeat,
  JoinGroup,
  SaslAuthenticate,
  SaslHandshake,
} from '../../lambdas/kafka/protocol/messages.ts';
import { exchange, type KafkaTestServer, startKafkaTestServer } from '../support/kafka-server.ts';
import { waitFor } from '../support/wait-for.ts';

const TOKEN = 'forwarding-test-token';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A port free now, for a listener whose own address the test must know. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/**
 * Two listeners over one memory store, both advertising the first one's address, so every client
 * request reaches the first; `second` is where the second one really listens.
 */
async function twoBehindOneAddress(): Promise<{
  first: KafkaTestServer;
  second: string;
  meta: MemoryMetaStore;
}> {
  const clock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
  const storage = {
    meta: new MemoryMetaStore(clock),
    objects: new MemoryObjectStore(),
    close: async () => {},
  };
  const first = await startKafkaTestServer({ storage, token: TOKEN });
  cleanups.push(() => first.close());
  const [host, port] = first.broker.split(':') as [string, string];
  const secondPort = await freePort();
  const second = await startKafkaTestServer({
    storage,
    token: TOKEN,
    kafka: { port: secondPort, advertisedHost: host, advertisedPort: Number(port) },
  });
  cleanups.push(() => second.close());
  expect(second.broker).toBe(first.broker);
  return { first, second: `127.0.0.1:${secondPort}`, meta: storage.meta };
}

const header = (correlationId: number) => ({ correlationId, clientId: 'forwarding-test' });
const authenticate = [
  writeRequest(SaslHandshake, 1, header(1), { mechanism: 'PLAIN' }),
  writeRequest(SaslAuthenticate, 1, header(2), { authBytes: Buffer.from(`\0someone\0${TOKEN}`) }),
];

/** Has the listener at `broker` take the group's coordinator lease, through FindCoordinator to it. */
async function takeLease(broker: string, group: string): Promise<number> {
  const find = writeRequest(FindCoordinator, 1, header(3), { key: group, keyType: 0 });
  const { responses } = await exchange(broker, [...authenticate, find], 3);
  const body = readResponse(FindCoordinator, 1, responses[2] as Buffer).body;
  expect(body.errorCode).toBe(KafkaError.NONE);
  return body.nodeId as number;
}

interface Member {
  consumer: Consumer;
  received: string[];
  assigned: () => number[];
}

async function member(kafka: Kafka, groupId: string, topic: string): Promise<Member> {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 6000,
    heartbeatInterval: 300,
    rebalanceTimeout: 10000,
    // KafkaJS heartbeats between fetches: short long polls let members rejoin a rebalance at once.
    maxWaitTimeInMs: 100,
  });
  cleanups.push(() => consumer.disconnect());
  let assigned: number[] = [];
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    assigned = (event.payload.memberAssignment[topic] ?? []) as number[];
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const received: string[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      received.push(`${message.value}`);
    },
  });
  return { consumer, received, assigned: () => assigned };
}

describe('group requests forwarded to the coordinator', () => {
  it('a KafkaJS group forms, reads everything and commits through the listener that does not coordinate it', async () => {
    // Prepare: the second listener holds the group's lease; clients reach only the first
    const { first, second, meta } = await twoBehindOneAddress();
    expect(await takeLease(second, 'forwarded')).toBe(1);
    const coordinator = async () => {
      const lease = await meta.get(coordinatorKey('forwarded'), { consistent: true });
      return (lease?.leaseExpiresAt as number) > Date.now() ? lease?.nodeId : undefined;
    };
    const kafka = new Kafka({
      brokers: [first.broker],
      clientId: 'forwarding-test',
      logLevel: logLevel.NOTHING,
      sasl: { mechanism: 'plain', username: 'someone', password: TOKEN },
    });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 4 }] });
    // Act
    const a = await member(kafka, 'forwarded', 'orders');
    const b = await member(kafka, 'forwarded', 'orders');
    await waitFor(
      () =>
        a.assigned().length > 0 && b.assigned().length > 0 && a.assigned().length + b.assigned().length === 4,
      30_000,
      'both members assigned',
    );
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const values = Array.from({ length: 40 }, (_, i) => `order-${i}`);
    await producer.send({ topic: 'orders', messages: values.map((value) => ({ key: value, value })) });
    await waitFor(() => new Set([...a.received, ...b.received]).size === 40, 30_000, 'all 40 read');
    // Assess: the second listener coordinated throughout, and the commits are the group's
    expect(await coordinator()).toBe(1);
    await waitFor(
      async () => {
        const offsets = await admin.fetchOffsets({ groupId: 'forwarded', topics: ['orders'] });
        const total = offsets[0]?.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
        return total === 40;
      },
      30_000,
      'the commits of all 40',
    );
    const { groups } = await admin.describeGroups(['forwarded']);
    expect(groups[0]).toMatchObject({ groupId: 'forwarded', state: 'Stable' });
    expect(groups[0]?.members.map((m) => m.clientId)).toEqual(['forwarding-test', 'forwarding-test']);
  }, 120_000);

  it('answers FindCoordinator with itself when the coordinator advertises the same address', async () => {
    // Prepare
    const { first, second } = await twoBehindOneAddress();
    expect(await takeLease(second, 'same-address')).toBe(1);
    // Act: asked at the first listener
    const found = await takeLease(first.broker, 'same-address');
    // Assess
    expect(found).toBe(0);
  });

  it('answers NOT_COORDINATOR when the coordinator cannot be reached, and never forwards a forwarded request', async () => {
    // Prepare: a live listener, registered at an internal address where nothing listens, holds the lease
    const clock = {
      now: () => Date.now(),
      sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    };
    const meta = new MemoryMetaStore(clock);
    const warnings: string[] = [];
    const logger = {
      level: 'warn' as const,
      enabled: () => true,
      debug: () => {},
      info: () => {},
      warn: (message: string) => warnings.push(message),
      error: (message: string) => warnings.push(message),
    };
    const first = await startKafkaTestServer({
      storage: { meta, objects: new MemoryObjectStore(), close: async () => {} },
      token: TOKEN,
      logger,
    });
    cleanups.push(() => first.close());
    const [host, port] = first.broker.split(':') as [string, string];
    const registration = await createListenerRegistry({ meta, clock, owner: 'gone' }).join();
    await registration.advertise({
      host,
      port: Number(port),
      internalHost: '127.0.0.1',
      internalPort: await freePort(),
    });
    const leases = new CoordinatorLeases({
      meta,
      clock,
      self: { nodeId: registration.nodeId, host, port: Number(port) },
      leaseMs: 60_000,
    });
    expect((await leases.find('unreachable')).mine).toBe(true);
    const heartbeat = writeRequest(Heartbeat, 1, header(3), {
      groupId: 'unreachable',
      generationId: 1,
      memberId: 'someone',
    });
    const forwarded = writeRequest(
      Heartbeat,
      1,
      { correlationId: 4, clientId: forwardedClientId('10.0.0.9:5000', 'client') },
      { groupId: 'unreachable', generationId: 1, memberId: 'someone' },
    );
    // Act: a client's heartbeat, then one another listener forwarded
    const { responses, closed } = await exchange(first.broker, [...authenticate, heartbeat], 3);
    const failedForwards = warnings.filter((w) => w.includes('forwarding')).length;
    const again = await exchange(first.broker, [...authenticate, forwarded], 3);
    // Assess: answered, the connection kept, the failed forward logged; a forwarded one never forwarded
    expect(closed).toBe(false);
    expect(readResponse(Heartbeat, 1, responses[2] as Buffer).body.errorCode).toBe(
      KafkaError.NOT_COORDINATOR,
    );
    expect(failedForwards).toBe(1);
    expect(readResponse(Heartbeat, 1, again.responses[2] as Buffer).body.errorCode).toBe(
      KafkaError.NOT_COORDINATOR,
    );
    expect(warnings.filter((w) => w.includes('forwarding'))).toHaveLength(1);
  });
});

/**
 * A listener over a fresh memory store whose group `group` is coordinated by a fake peer: a raw socket
 * server registered as the holder's internal address, where `serve` sees every request frame.
 */
async function coordinatedByFakePeer(
  group: string,
  serve: (socket: Socket, header: RequestHeader) => void,
): Promise<{ first: KafkaTestServer; peerSockets: Socket[] }> {
  const clock = {
    now: () => Date.now(),
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
  };
  const meta = new MemoryMetaStore(clock);
  const first = await startKafkaTestServer({
    storage: { meta, objects: new MemoryObjectStore(), close: async () => {} },
    token: TOKEN,
  });
  cleanups.push(() => first.close());
  const peerSockets: Socket[] = [];
  const peer = createServer((socket) => {
    peerSockets.push(socket);
    socket.on('data', (chunk: Buffer) => {
      for (let at = 0; at + 4 <= chunk.length; at += 4 + chunk.readInt32BE(at)) {
        serve(socket, readRequestHeader(chunk.subarray(at + 4, at + 4 + chunk.readInt32BE(at))).header);
      }
    });
  });
  await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of peerSockets) socket.destroy();
    await new Promise<void>((resolve) => peer.close(() => resolve()));
  });
  const address = peer.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  const [host, port] = first.broker.split(':') as [string, string];
  const registration = await createListenerRegistry({ meta, clock, owner: 'fake-peer' }).join();
  await registration.advertise({
    host,
    port: Number(port),
    internalHost: '127.0.0.1',
    internalPort: address.port,
  });
  const leases = new CoordinatorLeases({
    meta,
    clock,
    self: { nodeId: registration.nodeId, host, port: Number(port) },
    leaseMs: 60_000,
  });
  expect((await leases.find(group)).mine).toBe(true);
  return { first, peerSockets };
}

/** The fake peer's answers to the forwarder's SASL/PLAIN exchange. */
function answerSasl(socket: Socket, header: RequestHeader): boolean {
  if (header.apiKey === SaslHandshake.key) {
    socket.write(
      Buffer.concat(
        writeResponse(SaslHandshake, 1, header.correlationId, { errorCode: 0, mechanisms: ['PLAIN'] }),
      ),
    );
    return true;
  }
  if (header.apiKey === SaslAuthenticate.key) {
    const body = { errorCode: 0, errorMessage: null, authBytes: Buffer.alloc(0) };
    socket.write(Buffer.concat(writeResponse(SaslAuthenticate, 1, header.correlationId, body)));
    return true;
  }
  return false;
}

describe('group requests forwarded to a coordinator that fails', () => {
  it('answers a forwarded JoinGroup with an error when the coordinator dies while it waits', async () => {
    // Prepare: the coordinator authenticates the forwarder, then dies on the JoinGroup
    let joinsReached = 0;
    const { first } = await coordinatedByFakePeer('dying', (socket, header) => {
      if (answerSasl(socket, header)) return;
      joinsReached++;
      socket.destroy();
    });
    const join = writeRequest(JoinGroup, 5, header(3), {
      groupId: 'dying',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: 'someone',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from('subscription') }],
    });
    // Act
    const { responses, closed } = await exchange(first.broker, [...authenticate, join], 3);
    // Assess: the join reached the coordinator, and the client got an answer on a connection kept open
    expect(joinsReached).toBe(1);
    expect(closed).toBe(false);
    expect(readResponse(JoinGroup, 5, responses[2] as Buffer).body.errorCode).toBe(
      KafkaError.NOT_COORDINATOR,
    );
  });

  it('closes the forwarding connection when the client leaves while the coordinator has not answered its SASL handshake', async () => {
    // Prepare: a coordinator that accepts connections and never answers
    const { first, peerSockets } = await coordinatedByFakePeer('silent', () => {});
    const heartbeat = writeRequest(Heartbeat, 1, header(3), {
      groupId: 'silent',
      generationId: 1,
      memberId: 'someone',
    });
    // Act: the client authenticates, sends a heartbeat to forward, and leaves without its answer
    await exchange(first.broker, [...authenticate, heartbeat], 2);
    // Assess
    await waitFor(() => peerSockets.length === 1, 10_000, 'the forwarding connection opened');
    await waitFor(() => peerSockets[0]?.closed === true, 10_000, 'the forwarding connection closed');
  });
});
