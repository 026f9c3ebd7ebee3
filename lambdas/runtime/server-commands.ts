/**
 * The CLI commands that run server code, which the SDK's `streambed` leaves to a Streambed checkout:
 * `start` (the local server), `kafka-gateway` (the Kafka listener alone), `handler serve` (a Lambda
 * handler at a local URL), `console` (the web console against a deployed stack) and `bench`. The
 * checkout's entry (cli.ts) hands them to the SDK's runCli.
 */
import { parseArgs } from 'node:util';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { ServerCommands } from '../../client/cli/main.ts';
import { regionOfAwsHost } from '../../client/sigv4.ts';
import { baseUrl } from '../../client/transport.ts';
import { isLoopbackUrl } from '../subscriptions/url-target.ts';
import type { AwsBackendOptions } from './aws-backend.ts';
import { tuneServerHeap } from './heap-tuning.ts';
import type { KafkaGatewayOptions } from './kafka-gateway.ts';
import { DEFAULT_LOG_LEVEL, isLogLevel, LOG_LEVELS, type LogLevel } from './local-log.ts';
import type { LocalServerOptions } from './local-server.ts';

/** Kafka's own port: clients configured for a local broker find the listener without a change. */
export const DEFAULT_KAFKA_PORT = 9092;

function integer(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw))
    throw new Error(`--${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/**
 * The options of `streambed start`, from its flags and the environment. `--no-fsync` turns off the
 * embedded backend's fsyncs (durability `none`): faster, but a power loss may lose acknowledged
 * writes (docs/reliability.md, "Power loss"). It is refused where nothing is fsynced anyway.
 */
export function parseStartArgs(argv: string[], env: NodeJS.ProcessEnv): LocalServerOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      memory: { type: 'boolean' },
      'no-fsync': { type: 'boolean' },
      backend: { type: 'string' },
      token: { type: 'string' },
      'janitor-interval-ms': { type: 'string' },
      'log-level': { type: 'string' },
      'kafka-port': { type: 'string' },
      'no-kafka': { type: 'boolean' },
      'kafka-advertised-host': { type: 'string' },
    },
    strict: true,
  });
  if (
    values['no-kafka'] &&
    (values['kafka-port'] !== undefined || values['kafka-advertised-host'] !== undefined)
  )
    throw new Error(
      '--no-kafka turns the Kafka listener off; --kafka-port and --kafka-advertised-host configure it: give one or the other',
    );
  const kafkaPort = kafkaPortOf(values['kafka-port']);
  const logLevel = logLevelOf(values['log-level'], env);
  const backend = values.backend ?? 'embedded';
  if (backend !== 'embedded' && backend !== 'aws')
    throw new Error(`--backend must be embedded or aws, got ${backend}`);
  const noFsync = values['no-fsync'] ?? false;
  if (noFsync && (backend === 'aws' || values.memory))
    throw new Error('--no-fsync applies to the embedded backend on disk, not to --memory or --backend aws');
  return {
    host: values.host ?? '127.0.0.1',
    port: integer('port', values.port, 8080),
    backend,
    dataDir: values['data-dir'] ?? '.streambed',
    memory: values.memory ?? false,
    durability: noFsync ? 'none' : 'fsync',
    token: values.token ?? env.STREAMBED_TOKEN,
    janitorIntervalMs: integer('janitor-interval-ms', values['janitor-interval-ms'], 5_000),
    logLevel,
    kafka: values['no-kafka']
      ? undefined
      : { port: kafkaPort, advertisedHost: values['kafka-advertised-host'] },
    aws: awsOptionsFromEnv(env),
  };
}

/** `--backend aws`: the table, bucket and endpoint from the environment. */
function awsOptionsFromEnv(env: NodeJS.ProcessEnv): AwsBackendOptions {
  const endpoint = env.AWS_ENDPOINT_URL || undefined;
  // An emulator (LocalStack, or per-service AWS_ENDPOINT_URL_DYNAMODB / _S3, which the SDK reads
  // itself): path-style S3 addressing, and the table and bucket are created when missing.
  const emulated = [endpoint, env.AWS_ENDPOINT_URL_DYNAMODB, env.AWS_ENDPOINT_URL_S3].some(Boolean);
  return {
    table: env.STREAMBED_TABLE ?? 'streambed',
    bucket: env.STREAMBED_BUCKET ?? 'streambed-local',
    region: env.AWS_REGION ?? (emulated ? 'us-east-1' : undefined),
    endpoint,
    emulated,
  };
}

function logLevelOf(flag: string | undefined, env: NodeJS.ProcessEnv): LogLevel {
  const logLevel = flag ?? (env.STREAMBED_LOG_LEVEL || DEFAULT_LOG_LEVEL);
  if (!isLogLevel(logLevel))
    throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  return logLevel;
}

function portOf(name: string, flag: string | undefined, fallback: number): number {
  const port = integer(name, flag, fallback);
  if (port > 65535) throw new Error(`--${name} must be at most 65535, got ${port}`);
  return port;
}

function kafkaPortOf(flag: string | undefined): number {
  return portOf('kafka-port', flag, DEFAULT_KAFKA_PORT);
}

/**
 * The options of `streambed kafka-gateway`: the Kafka listener alone over `--backend aws` (the same
 * environment as `start --backend aws`) or `embedded` (`--data-dir`, `--memory`).
 */
export function parseKafkaGatewayArgs(argv: string[], env: NodeJS.ProcessEnv): KafkaGatewayOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: 'string' },
      host: { type: 'string' },
      'kafka-port': { type: 'string' },
      'kafka-advertised-host': { type: 'string' },
      'kafka-internal-host': { type: 'string' },
      token: { type: 'string' },
      'data-dir': { type: 'string' },
      memory: { type: 'boolean' },
      'log-level': { type: 'string' },
    },
    strict: true,
  });
  const backend = values.backend;
  if (backend !== 'embedded' && backend !== 'aws')
    throw new Error(
      `--backend must be aws or embedded, got ${backend === undefined ? 'nothing' : JSON.stringify(backend)}`,
    );
  if (backend === 'aws' && (values['data-dir'] !== undefined || values.memory))
    throw new Error('--data-dir and --memory apply to --backend embedded, not to --backend aws');
  const internalHost = values['kafka-internal-host'] ?? env.STREAMBED_KAFKA_INTERNAL_HOST;
  if (internalHost !== undefined && !/^[A-Za-z0-9.:-]+$/.test(internalHost))
    throw new Error(
      `--kafka-internal-host (or STREAMBED_KAFKA_INTERNAL_HOST) must be a host name or IP address, got ${JSON.stringify(internalHost)}`,
    );
  return {
    backend,
    host: values.host ?? '127.0.0.1',
    port: kafkaPortOf(values['kafka-port']),
    advertisedHost: values['kafka-advertised-host'],
    internalHost,
    token: values.token ?? env.STREAMBED_TOKEN,
    dataDir: values['data-dir'] ?? '.streambed',
    memory: values.memory ?? false,
    logLevel: logLevelOf(values['log-level'], env),
    aws: awsOptionsFromEnv(env),
  };
}

async function kafkaGateway(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const options = parseKafkaGatewayArgs(argv, process.env);
  tuneServerHeap();
  const { startKafkaGateway } = await import('./kafka-gateway.ts');
  const gateway = await startKafkaGateway(options);
  const where =
    options.backend === 'aws'
      ? `DynamoDB table ${options.aws?.table} + S3 bucket ${options.aws?.bucket}${options.aws?.endpoint ? ` at ${options.aws.endpoint}` : ''}`
      : options.memory
        ? 'memory'
        : options.dataDir;
  const signalled = untilStopped();
  out.write(`streambed kafka-gateway listening on ${gateway.url} (${where})\n`);
  const stopped = await Promise.race([signalled.then(() => true), gateway.lost.then(() => false)]);
  out.write(
    stopped
      ? 'streambed kafka-gateway: shutting down\n'
      : "streambed kafka-gateway: another gateway took this one's node id while it stalled; exiting so it is started afresh\n",
  );
  await gateway.close();
  return stopped ? 0 : 1;
}

async function start(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const options = parseStartArgs(argv, process.env);
  const heapFlag = tuneServerHeap();
  const { startLocalServer } = await import('./local-server.ts');
  const server = await startLocalServer(options);
  const where =
    options.backend === 'aws'
      ? `DynamoDB + S3${options.aws?.endpoint ? ` at ${options.aws.endpoint}` : ''}`
      : options.memory
        ? 'memory'
        : options.durability === 'none'
          ? `${options.dataDir}, no fsync: a power loss may lose acknowledged records`
          : options.dataDir;
  const level = options.logLevel ?? DEFAULT_LOG_LEVEL;
  const perRequest = level === 'debug' || level === 'info';
  // Listening for SIGTERM before saying so: whoever stops it as soon as it reads the block gets a
  // clean shutdown, not the signal's default exit.
  const stopped = untilStopped();
  // One write: a reader of the output (a pipe, a script waiting for the listeners) gets the whole
  // start-up block at once, never the first line without the listeners under it.
  out.write(
    [
      `streambed listening on ${server.url} (${where})`,
      ...server.listeners.map((listener) => `  ${listener.name.padEnd(8)} ${listener.url}`),
      `  log      ${level} on stderr${perRequest ? ', a line per request' : ' (--log-level info: a line per request)'}`,
      ...(level === 'debug' ? [`  heap     ${heapFlag ?? "node's own --heap-growing-percent"}`] : []),
      '',
    ].join('\n'),
  );
  return runUntilStopped(out, 'streambed', server, stopped);
}

/** Serves until SIGTERM or SIGINT, then says so and closes; exit code 0. */
async function runUntilStopped(
  out: NodeJS.WritableStream,
  name: string,
  server: { close(): Promise<void> },
  stopped: Promise<void>,
): Promise<number> {
  await stopped;
  out.write(`${name}: shutting down\n`);
  await server.close();
  return 0;
}

/** Resolves on the first SIGTERM or SIGINT after the call (the handlers are in place when it returns). */
function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

export interface HandlerServeArgs {
  modulePath: string;
  exportName: string;
  host: string;
  port: number;
  timeoutMs: number;
}

/** `handler serve <module>[#<export>] [--port N] [--host H] [--timeout-ms N]`. */
export function parseHandlerServeArgs(argv: string[]): HandlerServeArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, host: { type: 'string' }, 'timeout-ms': { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const [subcommand, spec, ...extra] = positionals;
  if (subcommand !== 'serve') {
    throw new Error(`handler: unknown subcommand ${JSON.stringify(subcommand ?? '')} (expected serve)`);
  }
  if (spec === undefined || spec === '' || extra.length > 0) {
    throw new Error('handler serve takes one <module>[#<export>], e.g. src/handler.ts#handler');
  }
  const hash = spec.lastIndexOf('#');
  const modulePath = hash === -1 ? spec : spec.slice(0, hash);
  const exportName = hash === -1 ? 'handler' : spec.slice(hash + 1);
  if (modulePath === '' || exportName === '') {
    throw new Error(`handler serve: ${JSON.stringify(spec)} must be <module>[#<export>]`);
  }
  const timeoutMs = integer('timeout-ms', values['timeout-ms'], 3_000);
  if (timeoutMs === 0) throw new Error('--timeout-ms must be at least 1');
  return {
    modulePath,
    exportName,
    host: values.host ?? '127.0.0.1',
    port: integer('port', values.port, 9000),
    timeoutMs,
  };
}

async function handler(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const options = parseHandlerServeArgs(argv);
  const { startHandlerHost } = await import('../subscriptions/handler-host.ts');
  const host = await startHandlerHost(options);
  // An error the handler leaves uncaught fails its invocation, not this process.
  const uncaught = (error: unknown) => host.reportUncaught(error);
  process.on('uncaughtException', uncaught);
  process.on('unhandledRejection', uncaught);
  const stopped = untilStopped();
  out.write(
    `handler ${host.functionName} listening on ${host.url}\n` +
      `give a subscription this target: {"target":{"url":"${host.url}"}}\n`,
  );
  await stopped;
  await host.close();
  process.off('uncaughtException', uncaught);
  process.off('unhandledRejection', uncaught);
  return 0;
}

/** `streambed console`'s port: next to the local server's 8080, so both can run at once. */
export const DEFAULT_CONSOLE_PORT = 8081;

export interface ConsoleArgs {
  /** The deployed API's base URL, its stage path kept. */
  apiUrl: string;
  region: string;
  host: string;
  port: number;
  /** Listening off loopback: whoever reaches it calls the API as the user. */
  exposed: boolean;
}

/** Whether a listen address is this machine only (localhost, 127.0.0.0/8, ::1). */
function isLoopbackHost(host: string): boolean {
  try {
    return isLoopbackUrl(new URL(`http://${host.includes(':') ? `[${host}]` : host}`));
  } catch {
    throw new Error(`--host must be a host name or IP address, got ${JSON.stringify(host)}`);
  }
}

/**
 * `console --url <ApiUrl> [--region R] [--port N] [--host H]`. The Region signs the calls: --region,
 * else the one an execute-api host name names, else AWS_REGION. The API is reached over https, or
 * over http on this machine only (an offline stack): signed calls are not sent in the clear.
 */
export function parseConsoleArgs(argv: string[], env: NodeJS.ProcessEnv): ConsoleArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      region: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
    },
    strict: true,
  });
  if (values.url === undefined || values.url === '')
    throw new Error("console needs --url <ApiUrl>: the deployed stack's ApiUrl output");
  const url = baseUrl(values.url, '--url');
  if (url.search !== '' || url.hash !== '')
    throw new Error(`--url must be the API's base URL, without a query or fragment, got ${values.url}`);
  if (url.protocol === 'http:' && !isLoopbackUrl(url))
    throw new Error(
      `--url ${url.origin} is plain http: use the API's https URL (http only reaches an API on this machine)`,
    );
  const region = values.region ?? regionOfAwsHost(url.hostname) ?? (env.AWS_REGION || undefined);
  if (region === undefined)
    throw new Error(
      `cannot tell the Region of ${url.origin} (not an execute-api host name): give --region or set AWS_REGION`,
    );
  if (!/^[a-z]{2}(-[a-z0-9]+)+-\d+$/.test(region))
    throw new Error(`--region must be an AWS Region such as eu-west-1, got ${JSON.stringify(region)}`);
  const host = values.host ?? '127.0.0.1';
  return {
    apiUrl: url.href,
    region,
    host,
    port: portOf('port', values.port, DEFAULT_CONSOLE_PORT),
    exposed: !isLoopbackHost(host),
  };
}

/**
 * The default AWS credential chain (environment, shared config and SSO, container or instance role),
 * resolved once at start-up so missing credentials fail here, not on the console's first call.
 */
async function loadCredentials(): Promise<AwsCredentialIdentityProvider> {
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  const provider = defaultProvider();
  try {
    await provider();
  } catch (error) {
    throw new Error(
      `no AWS credentials to sign the console's calls with (${error instanceof Error ? error.message : String(error)}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (after aws sso login for an SSO profile)`,
    );
  }
  return provider;
}

async function consoleCommand(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const options = parseConsoleArgs(argv, process.env);
  const credentials = await loadCredentials();
  const { startConsoleProxy } = await import('./console-proxy.ts');
  const proxy = await startConsoleProxy({ ...options, credentials });
  const stopped = untilStopped();
  out.write(
    [
      `streambed console listening on ${proxy.consoleUrl}`,
      `  api      ${options.apiUrl} (calls signed for execute-api in ${options.region})`,
      ...(options.exposed
        ? [
            `  warning  listening on ${options.host}, not loopback: whoever reaches it calls the API with your AWS credentials`,
          ]
        : []),
      '',
    ].join('\n'),
  );
  return runUntilStopped(out, 'streambed console', proxy, stopped);
}

/** The benchmark lives in bench/ (a checkout only); it runs as its own process. */
async function bench(argv: string[]): Promise<number> {
  const { spawn } = await import('node:child_process');
  const script = new URL('../../bench/run.ts', import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', script.pathname, ...argv], { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}

/** `start`, `kafka-gateway`, `handler serve`, `console` and `bench`, for runCli. */
export const SERVER_COMMANDS: ServerCommands = {
  start,
  'kafka-gateway': kafkaGateway,
  handler,
  console: consoleCommand,
  bench,
};
