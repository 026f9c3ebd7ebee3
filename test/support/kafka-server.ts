/** A local server in this process with its Kafka listener on a free port, for tests with Kafka clients. */
import { connect, type Socket } from 'node:net';
import { readResponse, writeRequest } from '../../lambdas/kafka/protocol/frames.ts';
import type { Api, Input, ResponseOf } from '../../lambdas/kafka/protocol/schema.ts';
import {
  type LocalServer,
  type LocalServerOptions,
  startLocalServer,
} from '../../lambdas/runtime/local-server.ts';

export interface KafkaTestServer {
  server: LocalServer;
  /** The HTTP API's base URL. */
  url: string;
  /** `host:port` of the Kafka listener, as clients take it in their broker list. */
  broker: string;
  close(): Promise<void>;
}

export async function startKafkaTestServer(options: LocalServerOptions = {}): Promise<KafkaTestServer> {
  const server = await startLocalServer({
    memory: true,
    port: 0,
    logLevel: 'silent',
    kafka: { port: 0 },
    ...options,
  });
  const kafka = server.listeners.find((listener) => listener.name === 'kafka');
  if (kafka === undefined) throw new Error('the server has no Kafka listener');
  return { server, url: server.url, broker: kafka.url.replace('kafka://', ''), close: () => server.close() };
}

/** Sends raw frames on one connection and collects the response frames, or sees it closed first. */
export async function exchange(
  broker: string,
  frames: Buffer[],
  expected: number,
): Promise<{ responses: Buffer[]; closed: boolean }> {
  const [host, port] = broker.split(':');
  const socket: Socket = connect(Number(port), host);
  const responses: Buffer[] = [];
  let buffered = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const size = buffered.readInt32BE(0);
        responses.push(buffered.subarray(4, 4 + size));
        buffered = buffered.subarray(4 + size);
      }
      if (responses.length === expected) {
        socket.end();
        resolve({ responses, closed: false });
      }
    });
    socket.on('close', () => resolve({ responses, closed: true }));
    socket.on('error', reject);
    for (const frame of frames) socket.write(frame);
  });
}

/** One request of `api` at `version` on a fresh connection, answered with the decoded response body. */
export async function request<A extends Api>(
  broker: string,
  api: A,
  version: number,
  body: Input<A['request']>,
): Promise<ResponseOf<A>> {
  const frame = writeRequest(api, version, { correlationId: 1, clientId: 'raw' }, body);
  const { responses } = await exchange(broker, [frame], 1);
  const response = responses[0];
  if (response === undefined) throw new Error(`${api.name} v${version}: the connection closed unanswered`);
  return readResponse(api, version, response).body as ResponseOf<A>;
}
