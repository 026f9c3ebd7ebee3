/**
 * Redis Streams as a peer: redis-server started here with the append-only file on and fsynced every
 * second (`appendfsync everysec`, its recommended setting) and no RDB snapshots, in a temporary
 * directory. Each writer has a connection and a stream key of its own and sends XADD in pipelines of
 * one batch (one field, the value); each reader pages through its key with XRANGE ... COUNT batch,
 * from the start to the last entry written, with ioredis's Buffer replies.
 */
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { measureInOwnProcess } from './own-process.ts';
import { findServer, type PeerOptions, startPeerServer } from './server-process.ts';
import { type PeerClient, type PeerOutcome, type PeerWorkload, peerValues } from './workload.ts';

const IOREDIS_VERSION = (createRequire(import.meta.url)('ioredis/package.json') as { version: string })
  .version;

export const REDIS_CONFIG = 'appendonly yes, appendfsync everysec, save ""';

export async function measureRedis(workload: PeerWorkload, options: PeerOptions = {}): Promise<PeerOutcome> {
  const found = findServer('redis-server', /v=([\d.]+)/, options);
  if ('skipped' in found) return found;
  const { binary, version } = found;
  const server = await startPeerServer({
    binary,
    args: (port, dir) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--daemonize',
      'no',
    ],
    ready: /Ready to accept connections/,
  });
  try {
    return await measureInOwnProcess({
      spec: { system: 'redis', port: server.port },
      workload,
      about: { client: `ioredis ${IOREDIS_VERSION}, redis-server ${version}`, config: REDIS_CONFIG },
      server: { serverPid: server.pid },
    });
  } finally {
    await server.stop();
  }
}

/** One connection per lane to the redis-server on `port`, and the workload through them. */
export async function redisClient(port: number, workload: PeerWorkload): Promise<PeerClient> {
  // ioredis reports why a connection failed as an 'error' event, and rejects connect() with a bare
  // "Connection is closed": the event's error is the one worth throwing. No reconnecting either.
  let failure: Error | undefined;
  const connections = Array.from({ length: workload.lanes }, () => {
    const connection = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    connection.on('error', (error: Error) => {
      failure ??= error;
    });
    return connection;
  });
  const close = async () => {
    for (const each of connections) each.disconnect();
  };
  try {
    await Promise.all(connections.map((connection) => connection.connect()));
  } catch (error) {
    await close();
    throw failure ?? error;
  }
  const values = peerValues(workload);
  const key = (run: number, lane: number) => `bench-${run}-${lane}`;
  const connection = (lane: number) => connections[lane] as Redis;
  return {
    close,
    target: {
      prepare: async () => {},
      async write(run, lane) {
        const pipeline = connection(lane).pipeline();
        for (const value of values) pipeline.xadd(key(run, lane), '*', 'v', value);
        const replies = (await pipeline.exec()) ?? [];
        const failed = replies.find(([error]) => error !== null);
        if (failed !== undefined) throw failed[0] as Error;
      },
      async read(run, lane, records) {
        let got = 0;
        let bytes = 0;
        let start = '-';
        while (got < records) {
          const page = await connection(lane).xrangeBuffer(
            key(run, lane),
            start,
            '+',
            'COUNT',
            workload.recordsPerBatch,
          );
          if (page.length === 0) break;
          for (const [, fields] of page) {
            got++;
            bytes += (fields[1] as Buffer).byteLength;
          }
          start = `(${(page[page.length - 1] as [Buffer, Buffer[]])[0].toString()}`;
        }
        return { records: got, bytes };
      },
    },
  };
}
