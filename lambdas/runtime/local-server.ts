/**
 * The local server: the same router the Lambdas use, on node:http, over the embedded backend (SQLite +
 * files, or memory) or over DynamoDB + S3 (`backend: 'aws'`, e.g. LocalStack).
 */
import { randomUUID } from 'node:crypto';
import { crc32cImplementation } from '../../client/wire/crc32c.ts';
import type { Durability } from '../adapters/durability.ts';
import { apiRouteTables } from '../http/api-routes.ts';
import { errorResponse } from '../http/errors.ts';
import { type AnsweredRequest, bearerTokenAuth, startHttpServer } from '../http/node-server.ts';
import { createRouter, unauthorized } from '../http/router.ts';
import type { HttpHandler, HttpResponse } from '../http/types.ts';
import type { KafkaListener } from '../kafka/listener.ts';
import { systemClock } from '../ports/clock.ts';
import type { MetaStore } from '../ports/meta-store.ts';
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
import { CONSOLE_PATH, createConsoleAssets, isConsolePath } from './console-assets.ts';
import { startRegisteredKafkaListener } from './kafka-listeners.ts';
import { createLocalLogger, errorFields, type LocalLogger, type LogLevel } from './local-log.ts';
import { createLocalMetrics, type LocalMetrics, UNMATCHED_ROUTE } from './local-metrics.ts';

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
  /** Require `Authorization: Bearer <token>` on every route but health (`/metrics` included). */
  token?: string;
  aws?: AwsBackendOptions;
  /** Storage built by the caller (tests wrap adapters, or point them at separate emulators). */
  storage?: Backend;
  /** Run the janitor (retention, compaction, GC) this often; 0 or unset: never. */
  janitorIntervalMs?: number;
  /** Where janitor failures are reported; default a `warn` line of the log. */
  onJanitorError?: (error: unknown) => void;
  /** `info` adds a line per request; default `warn` (local-log.ts). Ignored when `logger` is given. */
  logLevel?: LogLevel;
  /** Where log lines go; default JSON lines on stderr at `logLevel`. */
  logger?: LocalLogger;
  /**
   * The Kafka protocol listener (DESIGN §13) on this port (0: a free one), clients told to reach it at
   * `advertisedHost` (default `host`). Where a token is set, clients authenticate with SASL/PLAIN and
   * the token as password. Unset: no listener (the CLI's `start` opens 9092 unless `--no-kafka`).
   * Every listener over the same storage (servers, gateways) lists the others as brokers.
   * `bookkeeping`: where the listener keeps its own items (its broker registration, renewed in the
   * background, and group coordinator leases); default the server's metadata store. The same table
   * underneath, so that other listeners see them: the bench passes its storage without counters, so
   * that what it counts is the requests' work alone.
   */
  kafka?: {
    port: number;
    advertisedHost?: string;
    advertisedPort?: number;
    internalHost?: string;
    bookkeeping?: MetaStore;
  };
  /** Run subscriptions' deliverers in this process (default true). */
  subscriptions?: boolean;
  /** Backoff of failing deliveries (default 1 s doubling to 60 s); tests shorten it. */
  subscriptionBackoff?: { initialMs: number; maxMs: number };
  /** Failed and dead-lettered deliveries; default one `warn` line of the log each. */
  onSubscriptionEvent?: (event: DeliveryEvent) => void;
  /** The built web console served under `/console`; default console/dist (console-assets.ts). */
  consoleDir?: string;
}

export interface LocalServer {
  url: string;
  /** What this server answers where, for its startup lines: the API, the metrics. */
  listeners: { name: string; url: string }[];
  close(): Promise<void>;
}

export const METRICS_PATH = '/metrics';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Off loopback, anyone who reaches a listener could read and write every topic: a token is required. */
export function refuseOpenWithoutToken(host: string, token: string | undefined): void {
  if (!LOOPBACK.has(host) && (token === undefined || token === '')) {
    throw new Error(
      `refusing to listen on ${host} without a token: anyone who reaches it could read and write every topic; set --token or STREAMBED_TOKEN`,
    );
  }
}

/** The storage the options name: the caller's, DynamoDB + S3, or the embedded backend. */
export async function openBackend(
  options: Pick<LocalServerOptions, 'storage' | 'backend' | 'aws' | 'dataDir' | 'memory' | 'durability'>,
): Promise<Backend> {
  if (options.storage !== undefined) return options.storage;
  if (options.backend === 'aws') {
    if (options.aws === undefined) throw new Error('the aws backend needs a table and a bucket');
    return createAwsBackend(options.aws);
  }
  return createEmbeddedBackend({
    dataDir: options.dataDir,
    memory: options.memory,
    durability: options.durability,
  });
}

export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const host = options.host ?? '127.0.0.1';
  refuseOpenWithoutToken(host, options.token);
  const backend = await openBackend(options);
  const logger = options.logger ?? createLocalLogger(options.logLevel);
  // Native (@node-rs/crc32) unless it failed to load here; the Lambdas always use JavaScript.
  if (logger.enabled('debug')) logger.debug('crc32c', { implementation: crc32cImplementation() });
  let runner: LocalRunner | undefined;
  const services = createServices(backend, systemClock, {
    subscriptionTargets: {
      validateUrl: (url) => void validateTargetUrl(url, { allowPrivate: true }),
      validateFunction: noFunctions,
    },
    onSubscriptionChange: (name) => runner?.wakeSubscription(name),
  });
  const auth = options.token ? bearerTokenAuth(options.token) : undefined;
  const router = createRouter({
    topics: services.topics,
    log: services.log,
    auth,
    onInternalError: (error, request) =>
      logger.error('internal error', { method: request.method, path: request.path, ...errorFields(error) }),
    routeTables: apiRouteTables(services),
  });
  const metrics = createLocalMetrics(services);
  const consoleAssets = createConsoleAssets(options.consoleDir);
  // /metrics and /console are the server's, not the API's: Lambdas have no such routes. The console's
  // files carry no secrets and are served without the token; its API calls carry it.
  const handler: HttpHandler = async (request) => {
    if (isConsolePath(request.path)) return consoleAssets(request);
    if (request.path !== METRICS_PATH) return router(request);
    if (auth !== undefined && !(await auth(request))) return errorResponse(unauthorized());
    if (request.method !== 'GET') return router(request);
    return { status: 200, headers: { 'content-type': metrics.contentType }, body: await metrics.scrape() };
  };
  const server = await startHttpServer({
    handler,
    host,
    port: options.port ?? 8080,
    renderError: router.renderErrorFor,
    // Errors that escaped the handler (a failed scrape: the router itself never throws).
    onError: (error) => logger.error('unhandled error', errorFields(error)),
    onAnswered: (answered) => {
      const route =
        answered.path === METRICS_PATH && answered.method === 'GET'
          ? METRICS_PATH
          : isConsolePath(answered.path)
            ? CONSOLE_PATH
            : (router.routeOf(answered.method, answered.path) ?? UNMATCHED_ROUTE);
      metrics.observeRequest({ ...answered, route });
      logRequest(logger, answered, route);
    },
  });
  let kafka: KafkaListener | undefined;
  if (options.kafka !== undefined) {
    try {
      kafka = await startRegisteredKafkaListener({
        host,
        port: options.kafka.port,
        advertisedHost: options.kafka.advertisedHost,
        advertisedPort: options.kafka.advertisedPort,
        internalHost: options.kafka.internalHost,
        services,
        meta: options.kafka.bookkeeping ?? backend.meta,
        clock: systemClock,
        log: logger,
        token: options.token || undefined,
        busyPortHint: ', or start without the listener with --no-kafka',
      });
    } catch (error) {
      await server.close();
      await backend.close();
      throw error;
    }
  }
  const janitor = scheduleJanitor(services, options, logger, metrics);
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
        onEvent:
          options.onSubscriptionEvent ??
          ((event) => {
            if (event.type !== 'delivered') logger.warn(`subscription ${event.type}`, { ...event });
          }),
      },
    );
    await runner.start();
  }
  return {
    url: server.url,
    listeners: [
      { name: 'http', url: server.url },
      { name: 'metrics', url: `${server.url}${METRICS_PATH}` },
      { name: 'console', url: `${server.url}${CONSOLE_PATH}` },
      ...(kafka === undefined ? [] : [{ name: 'kafka', url: kafka.url }]),
    ],
    close: async () => {
      await kafka?.close();
      await runner?.close();
      await janitor.stop();
      await server.close();
      await backend.close();
    },
  };
}

/** The error code of an error response (Streambed's `error.code`, Confluent's `error_code`). */
function errorCodeOf(response: HttpResponse): string | number | undefined {
  if (typeof response.body !== 'string') return undefined;
  try {
    const body = JSON.parse(response.body) as { error?: { code?: string }; error_code?: number };
    return body.error?.code ?? body.error_code;
  } catch {
    return undefined;
  }
}

/** One line per request at `info`; a 5xx at `warn`, so the default level still shows server failures. */
function logRequest(logger: LocalLogger, answered: AnsweredRequest, route: string): void {
  const level = answered.status >= 500 ? 'warn' : 'info';
  if (!logger.enabled(level)) return;
  logger[level]('request', {
    method: answered.method,
    path: answered.path,
    route,
    status: answered.status,
    ms: Math.round(answered.durationMs * 10) / 10,
    bytesIn: answered.bytesIn,
    bytesOut: answered.bytesOut,
    ...(answered.status >= 400 ? { code: errorCodeOf(answered.response) } : {}),
  });
}

/** Runs the janitor on a timer, one run at a time; a run in progress finishes before close. */
function scheduleJanitor(
  services: Services,
  options: LocalServerOptions,
  logger: LocalLogger,
  metrics: LocalMetrics,
): { stop(): Promise<void> } {
  const interval = options.janitorIntervalMs ?? 0;
  if (interval <= 0) return { stop: async () => {} };
  let running: Promise<unknown> | undefined;
  const report =
    options.onJanitorError ?? ((error: unknown) => logger.warn('janitor failed', errorFields(error)));
  const timer = setInterval(() => {
    if (running !== undefined) return;
    running = services.janitor
      .runOnce()
      .then((result) => {
        metrics.observeJanitorRun(result);
        logger.debug('janitor run', { ...result });
        for (const failure of result.errors) report(new Error(`${failure.where}: ${failure.message}`));
      })
      .catch((error: unknown) => {
        metrics.observeJanitorRun({ deletedObjects: 0, failures: 1 });
        report(error);
      })
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
