/** A local server in this process with its Kafka listener on a free port, for tests with Kafka clients. */
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
