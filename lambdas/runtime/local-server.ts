/**
 * The local server: the same router the Lambdas use, on node:http, over the embedded backend (SQLite +
 * files, or memory) or over DynamoDB + S3 (`backend: 'aws'`, e.g. LocalStack).
 */
import { groupRoutes } from '../http/groups-routes.ts';
import { bearerTokenAuth, startHttpServer } from '../http/node-server.ts';
import { createRouter } from '../http/router.ts';
import { systemClock } from '../ports/clock.ts';
import {
  type AwsBackendOptions,
  type Backend,
  createAwsBackend,
  createEmbeddedBackend,
  createServices,
} from './backends.ts';

export interface LocalServerOptions {
  host?: string;
  port?: number;
  /** `embedded` (default): SQLite + files in dataDir, or memory; `aws`: DynamoDB + S3. */
  backend?: 'embedded' | 'aws';
  dataDir?: string;
  memory?: boolean;
  /** Require `Authorization: Bearer <token>` on every route but health. */
  token?: string;
  aws?: AwsBackendOptions;
  /** Storage built by the caller (tests wrap adapters, or point them at separate emulators). */
  storage?: Backend;
}

export interface LocalServer {
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host) && (options.token === undefined || options.token === '')) {
    throw new Error(
      `refusing to listen on ${host} without a token: anyone who reaches it could read and write every topic; set --token or STREAMBED_TOKEN`,
    );
  }
  let backend: Backend;
  if (options.storage !== undefined) {
    backend = options.storage;
  } else if (options.backend === 'aws') {
    if (options.aws === undefined) throw new Error('the aws backend needs a table and a bucket');
    backend = await createAwsBackend(options.aws);
  } else {
    backend = createEmbeddedBackend({ dataDir: options.dataDir, memory: options.memory });
  }
  const services = createServices(backend, systemClock);
  const handler = createRouter({
    topics: services.topics,
    log: services.log,
    auth: options.token ? bearerTokenAuth(options.token) : undefined,
    routeTables: [groupRoutes(services.groups)],
  });
  const server = await startHttpServer({ handler, host, port: options.port ?? 8080 });
  return {
    url: server.url,
    close: async () => {
      await server.close();
      await backend.close();
    },
  };
}
