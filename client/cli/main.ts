/**
 * `streambed <command>`: one clear line and a non-zero exit on any error.
 */
import { parseArgs } from 'node:util';
import type { LocalServerOptions } from '../../lambdas/runtime/local-server.ts';
import { StreambedError } from '../errors.ts';
import {
  consumeCommand,
  groupsCommand,
  produceCommand,
  subscriptionsCommand,
  topicsCommand,
} from './commands.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `usage: streambed <command> [options]

commands:
  topics create <name> [--partitions N] [--config key=value ...]
  topics list | describe <name> | alter <name> [--partitions N] [--config key=value ...] | delete <name>
  produce <topic> [--key-separator SEP] [--partition N]     one record per stdin line
          [--value-schema-file FILE [--subject S]]   lines are JSON records of this Avro schema, registered
                                                     under S (default <topic>-value), sent as Confluent Avro
  consume <topic> [--group G] [--from-beginning] [--max-messages N]     one value per stdout line
          [--avro]                                   decode Confluent Avro values, print them as JSON
  groups list | describe <group>
  subscriptions create <name> --topic T (--target-url U | --target-function F)   deliver T's records
          [--batch-size N] [--batching-window-ms N] [--max-retry-attempts N --dead-letter-topic T]
          [--bisect] [--from earliest|latest|<epoch-ms>] [--disabled]
  subscriptions list | describe <name> | pause <name> | resume <name> | delete <name>
  bench [--quick] [--backend embedded|memory|aws] [--url URL]   throughput, latency, $/GiB (bench/results/)
  start     run a local Streambed server
            --port N (8080)  --host H (127.0.0.1)  --data-dir DIR (./.streambed)  --memory
            --no-fsync: do not fsync writes to DIR (faster; a power loss, not a crash, may lose
            the last seconds of acknowledged records, see docs/reliability.md)
            --backend embedded|aws  --token T (or STREAMBED_TOKEN)
            --janitor-interval-ms N (5000; 0 = off): retention, compaction, garbage collection
            with --backend aws: STREAMBED_TABLE (streambed), STREAMBED_BUCKET (streambed-local),
            AWS_REGION, AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_DYNAMODB + AWS_ENDPOINT_URL_S3
            (emulators such as LocalStack: the table and bucket are created if missing)
  handler serve <module>[#<export>]   host a Lambda handler (export default: handler) at a local URL,
            to give a subscription as its target while you develop the function
            --port N (9000)  --host H (127.0.0.1)  --timeout-ms N (3000, per invocation)

client options (every command but start and handler serve):
  --url URL         the API (STREAMBED_URL, default http://127.0.0.1:8080)
  --token T         bearer token of a local server (STREAMBED_TOKEN)
  --aws-region R    sign requests with SigV4 from the standard AWS credential chain (automatic for
                    execute-api URLs)`;

export async function runCli(argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  const [command, ...rest] = argv;
  const io = () => ({ stdin: process.stdin, stdout: out, stderr: err, env: process.env });
  try {
    switch (command) {
      case 'start':
        return await start(rest, out);
      case 'topics':
        return await topicsCommand(rest, io());
      case 'produce':
        return await produceCommand(rest, io());
      case 'consume':
        return await consumeCommand(rest, io());
      case 'groups':
        return await groupsCommand(rest, io());
      case 'subscriptions':
        return await subscriptionsCommand(rest, io());
      case 'bench':
        return await bench(rest);
      case 'handler':
        return await handler(rest, out);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out.write(`${USAGE}\n`);
        return command === undefined ? 1 : 0;
      default:
        err.write(`streambed: unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
        return 2;
    }
  } catch (error) {
    const code =
      error instanceof StreambedError && error.code !== 'INVALID_REQUEST' ? ` (${error.code})` : '';
    err.write(`streambed: ${error instanceof Error ? error.message : String(error)}${code}\n`);
    return 1;
  }
}

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
    },
    strict: true,
  });
  const backend = values.backend ?? 'embedded';
  if (backend !== 'embedded' && backend !== 'aws')
    throw new Error(`--backend must be embedded or aws, got ${backend}`);
  const noFsync = values['no-fsync'] ?? false;
  if (noFsync && (backend === 'aws' || values.memory))
    throw new Error('--no-fsync applies to the embedded backend on disk, not to --memory or --backend aws');
  const endpoint = env.AWS_ENDPOINT_URL || undefined;
  // An emulator (LocalStack, or per-service AWS_ENDPOINT_URL_DYNAMODB / _S3, which the SDK reads
  // itself): path-style S3 addressing, and the table and bucket are created when missing.
  const emulated = [endpoint, env.AWS_ENDPOINT_URL_DYNAMODB, env.AWS_ENDPOINT_URL_S3].some(Boolean);
  return {
    host: values.host ?? '127.0.0.1',
    port: integer('port', values.port, 8080),
    backend,
    dataDir: values['data-dir'] ?? '.streambed',
    memory: values.memory ?? false,
    durability: noFsync ? 'none' : 'fsync',
    token: values.token ?? env.STREAMBED_TOKEN,
    janitorIntervalMs: integer('janitor-interval-ms', values['janitor-interval-ms'], 5_000),
    aws: {
      table: env.STREAMBED_TABLE ?? 'streambed',
      bucket: env.STREAMBED_BUCKET ?? 'streambed-local',
      region: env.AWS_REGION ?? (emulated ? 'us-east-1' : undefined),
      endpoint,
      emulated,
    },
  };
}

async function start(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const options = parseStartArgs(argv, process.env);
  const { startLocalServer } = await import('../../lambdas/runtime/local-server.ts');
  const server = await startLocalServer(options);
  const where =
    options.backend === 'aws'
      ? `DynamoDB + S3${options.aws?.endpoint ? ` at ${options.aws.endpoint}` : ''}`
      : options.memory
        ? 'memory'
        : options.durability === 'none'
          ? `${options.dataDir}, no fsync: a power loss may lose acknowledged records`
          : options.dataDir;
  out.write(`streambed listening on ${server.url} (${where})\n`);
  await untilStopped();
  out.write('streambed: shutting down\n');
  await server.close();
  return 0;
}

/** Resolves on the first SIGTERM or SIGINT. */
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
  const { startHandlerHost } = await import('../../lambdas/subscriptions/handler-host.ts');
  const host = await startHandlerHost(options);
  // An error the handler leaves uncaught fails its invocation, not this process.
  const uncaught = (error: unknown) => host.reportUncaught(error);
  process.on('uncaughtException', uncaught);
  process.on('unhandledRejection', uncaught);
  out.write(
    `handler ${host.functionName} listening on ${host.url}\n` +
      `give a subscription this target: {"target":{"url":"${host.url}"}}\n`,
  );
  await untilStopped();
  await host.close();
  process.off('uncaughtException', uncaught);
  process.off('unhandledRejection', uncaught);
  return 0;
}

/** The benchmark lives in bench/ (a checkout only); it runs as its own process. */
async function bench(argv: string[]): Promise<number> {
  const { spawn } = await import('node:child_process');
  const script = new URL('../../bench/run.ts', import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', script.pathname, ...argv], { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}
