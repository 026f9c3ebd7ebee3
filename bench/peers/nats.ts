/**
 * NATS JetStream as a peer: nats-server started here with JetStream on (`-js`) and its file store in a
 * temporary directory (`-sd`), no monitoring port. Each writer has a connection and a file-storage
 * stream of its own and publishes a batch's messages at once, then waits for all their acks (the
 * server's PubAck: stored in the stream); each reader pulls its stream back from the start through a
 * pull consumer (no acks; one per read pass), fetching a batch's worth of messages at a time.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  StorageType,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { measureInOwnProcess } from './own-process.ts';
import { findServer, type PeerOptions, startPeerServer } from './server-process.ts';
import { type PeerClient, type PeerOutcome, type PeerWorkload, peerValues } from './workload.ts';

/** The package exports no package.json: read it beside its entry point (lib/mod.js). */
const CLIENT_VERSION = (
  JSON.parse(
    readFileSync(
      join(dirname(createRequire(import.meta.url).resolve('@nats-io/jetstream')), '..', 'package.json'),
      'utf8',
    ),
  ) as { version: string }
).version;

export const NATS_CONFIG = 'JetStream file store (-js -sd), one stream per writer, replicas 1';

/** How long one pull waits for its batch before the read fails rather than hangs. */
const FETCH_EXPIRES_MS = 10_000;

export async function measureNats(workload: PeerWorkload, options: PeerOptions = {}): Promise<PeerOutcome> {
  const found = findServer('nats-server', /v([\d.]+)/, options);
  if ('skipped' in found) return found;
  const { binary, version } = found;
  const server = await startPeerServer({
    binary,
    args: (port, dir) => ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)],
    ready: /Server is ready/,
  });
  try {
    return await measureInOwnProcess({
      spec: { system: 'nats', port: server.port },
      workload,
      about: { client: `@nats-io/jetstream ${CLIENT_VERSION}, nats-server ${version}`, config: NATS_CONFIG },
      server: { serverPid: server.pid },
    });
  } finally {
    await server.stop();
  }
}

/** The pull consumer a reader reads `pass` through: one per pass, each delivering from the start. */
const readerName = (pass: number) => `reader-${pass}`;

/** One connection per lane to the nats-server on `port`, and the workload through them. */
export async function natsClient(port: number, workload: PeerWorkload): Promise<PeerClient> {
  const connections: NatsConnection[] = [];
  const close = async () => {
    await Promise.all(connections.map((nc) => nc.close().catch(() => {})));
  };
  try {
    for (let lane = 0; lane < workload.lanes; lane++)
      connections.push(await connect({ servers: `127.0.0.1:${port}` }));
  } catch (error) {
    await close();
    throw error;
  }
  const clients: JetStreamClient[] = connections.map((nc) => jetstream(nc));
  const manager: JetStreamManager = await jetstreamManager(connections[0] as NatsConnection);
  const values = peerValues(workload);
  const stream = (run: number, lane: number) => `bench_${run}_${lane}`;
  const subject = (run: number, lane: number) => `bench.${run}.${lane}`;
  return {
    close,
    target: {
      async prepare(run) {
        for (let lane = 0; lane < workload.lanes; lane++) {
          await manager.streams.add({
            name: stream(run, lane),
            subjects: [subject(run, lane)],
            storage: StorageType.File,
            num_replicas: 1,
          });
          for (let pass = 0; pass < workload.readPasses; pass++)
            await manager.consumers.add(stream(run, lane), {
              durable_name: readerName(pass),
              ack_policy: AckPolicy.None,
              deliver_policy: DeliverPolicy.All,
            });
        }
      },
      async write(run, lane) {
        const client = clients[lane] as JetStreamClient;
        await Promise.all(values.map((value) => client.publish(subject(run, lane), value)));
      },
      async read(run, lane, records, pass) {
        const consumer = await (clients[lane] as JetStreamClient).consumers.get(
          stream(run, lane),
          readerName(pass),
        );
        let got = 0;
        let bytes = 0;
        while (got < records) {
          const before = got;
          const messages = await consumer.fetch({
            max_messages: Math.min(workload.recordsPerBatch, records - got),
            expires: FETCH_EXPIRES_MS,
          });
          for await (const message of messages) {
            got++;
            bytes += message.data.byteLength;
          }
          if (got === before) break;
        }
        return { records: got, bytes };
      },
    },
  };
}
