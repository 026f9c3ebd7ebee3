/**
 * The local server: the same router the Lambdas use, on node:http, over the embedded backend (SQLite +
 * files, or memory) or over DynamoDB + S3 (`backend: 'aws'`, e.g. LocalStack).
 */
import { randomUUID } from 'node:crypto';
import type { Durability } from '../adapters/durability.ts';
import { apiRouteTables } from '../http/api-routes.ts';
import { bearerTokenAuth, startHttpServer } from '../http/node-server.ts';
import { createRouter } from '../http/router.ts';
import { systemClock } from '../ports/clock.ts';
import type { DeliveryEvent } from '../subscriptions/deliverer.ts';
import { createLocalRunner, type LocalRunner } from '../subscriptions/local-runner.ts';
import { validateTargetUrl } from '../subscriptions/url-target.ts';
import {
  type AwsBackendOptions,
  type Backend,
  createAwsBackend,
  createEmbeddedBackend,
  createServices,
  noFunctions,
  type Services,
} from './backends.ts';

export interface LocalServerOptions {
  host?: string;
  port?: number;
  /** `embedded` (default): SQLite + files in dataDir, or memory; `aws`: DynamoDB + S3. */
  backend?: 'embedded' | 'aws';
  dataDir?: string;
  memory?: boolean;
  /**
   * The embedded backend on disk: `fsync` (default) keeps every acknowledged write across a power
   * loss; `none` trades that for speed (lambdas/adapters/durability.ts, docs/reliability.md).
   */
  durability?: Durability;
  /** Require `Authorization: Bearer <token>` on every route but health. */
  token?: string;
  aws?: AwsBackendOptions;
  /** Storage built by the caller (tests wrap adapters, or point them at separate emulators). */
  storage?: Backend;
  /** Run the janitor (retention, compaction, GC) this often; 0 or unset: never. */
  janitorIntervalMs?: number;
  /** Where janitor failures are reported; default stderr. */
  onJanitorError?: (error: unknown) => void;
  /** Run subscriptions' deliverers in this process (default true). */
  subscriptions?: boolean;
  /** Backoff of failing deliveries (default 1 s doubling to 60 s); tests shorten it. */
  subscriptionBackoff?: { initialMs: number; maxMs: number };
  /** Failed and dead-lettered deliveries; default one JSON line each on stderr. */
  onSubscriptionEvent?: (event: DeliveryEvent) => void;
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
    backend = createEmbeddedBackend({
      dataDir: options.dataDir,
      memory: options.memory,
      durability: options.durability,
    });
  }
  let runner: LocalRunner | undefined;
  const services = createServices(backend, systemClock, {
    subscriptionTargets: {
      validateUrl: (url) => void validateTargetUrl(url, { allowPrivate: true }),
      validateFunction: noFunctions,
    },
    onSubscriptionChange: (name) => runner?.wakeSubscription(name),
  });
  const handler = createRouter({
    topics: services.topics,
    log: services.log,
    auth: options.token ? bearerTokenAuth(options.token) : undefined,
    routeTables: apiRouteTables(services),
  });
  const server = await startHttpServer({
    handler,
    host,
    port: options.port ?? 8080,
    renderError: handler.renderErrorFor,
  });
  const janitor = scheduleJanitor(services, options);
  if (options.subscriptions !== false) {
    runner = createLocalRunner(
      { ...services, clock: systemClock },
      {
        // One process opens the embedded data: a restarted server takes its own leases straight back.
        owner:
          options.backend === 'aws' || options.storage !== undefined
            ? `local-${randomUUID()}`
            : 'local-server',
        backoff: options.subscriptionBackoff,
        onEvent: options.onSubscriptionEvent,
      },
    );
    await runner.start();
  }
  return {
    url: server.url,
    close: async () => {
      await runner?.close();
      await janitor.stop();
      await server.close();
      await backend.close();
    },
  };
}

/** Runs the janitor on a timer, one run at a time; a run in progress finishes before close. */
function scheduleJanitor(services: Services, options: LocalServerOptions): { stop(): Promise<void> } {
  const interval = options.janitorIntervalMs ?? 0;
  if (interval <= 0) return { stop: async () => {} };
  let running: Promise<unknown> | undefined;
  const report =
    options.onJanitorError ?? ((error: unknown) => process.stderr.write(`janitor: ${String(error)}\n`));
  const timer = setInterval(() => {
    if (running !== undefined) return;
    running = services.janitor
      .runOnce()
      .then((result) => {
        for (const failure of result.errors) report(new Error(`${failure.where}: ${failure.message}`));
      })
      .catch(report)
      .finally(() => {
        running = undefined;
      });
  }, interval);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
