/**
 * `streambed <command>`: one clear line and a non-zero exit on any error.
 *
 * The commands that run server code (`start`, `kafka-gateway`, `handler serve`, `console`, `bench`) are not part of the SDK: the
 * Streambed checkout's entry (lambdas/runtime/cli.ts) hands them in; the packed SDK's `streambed`
 * answers them with where they ship.
 */
import { StreambedError } from '../errors.ts';
import {
  consumeCommand,
  groupsCommand,
  produceCommand,
  subscriptionsCommand,
  topicsCommand,
} from './commands.ts';
import { commandUsage, isCommand, USAGE } from './usage.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The options before a `--` that ends them. */
const optionsOf = (argv: string[]): string[] => {
  const end = argv.indexOf('--');
  return end === -1 ? argv : argv.slice(0, end);
};

/** A command that runs server code: its arguments after the command's name; resolves to the exit code. */
export type ServerCommand = (argv: string[], out: NodeJS.WritableStream) => Promise<number>;

/** The commands only a Streambed checkout runs. */
export interface ServerCommands {
  start?: ServerCommand;
  'kafka-gateway'?: ServerCommand;
  handler?: ServerCommand;
  console?: ServerCommand;
  bench?: ServerCommand;
}

/** What a command of the checkout answers where it is missing (the SDK installed from its package). */
function checkoutOnly(command: keyof ServerCommands): ServerCommand {
  const [what, run] = {
    start: ['the local server', 'npm start'],
    'kafka-gateway': ['the Kafka gateway', 'npx streambed kafka-gateway --backend aws'],
    handler: ['the handler host', 'npx streambed handler serve <module>'],
    console: ['the web console', 'npx streambed console --url <ApiUrl>'],
    bench: ['the benchmark', 'npm run bench'],
  }[command];
  return async () => {
    throw new Error(
      `${command}: ${what} ships with the Streambed repository, not with this package; run \`${run}\` in a checkout of it`,
    );
  };
}

/**
 * Runs one command: 0 on success; 1 on an error, one `streambed: …` line on stderr (an unknown option
 * followed by the usage of its command); 2 on an unknown command. `server` holds the commands that run
 * server code; one left out answers that it ships with the Streambed repository (exit 1).
 */
export async function runCli(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
  stdin: NodeJS.ReadableStream = process.stdin,
  env: NodeJS.ProcessEnv = process.env,
  server: ServerCommands = {},
): Promise<number> {
  const [command, ...rest] = argv;
  const io = () => ({ stdin, stdout: out, stderr: err, env });
  // `--help` anywhere among a command's options: that command's usage (its subcommand's, if named).
  // The benchmark, a program of its own, answers its --help itself.
  const wantsHelp = optionsOf(rest).some((a) => a === '--help' || a === '-h');
  if (command !== undefined && command !== 'bench' && isCommand(command) && wantsHelp) {
    const subcommand = rest.find((a) => !a.startsWith('-'));
    out.write(`${commandUsage(command, subcommand)}\n`);
    return 0;
  }
  try {
    switch (command) {
      case 'start':
        return await (server.start ?? checkoutOnly('start'))(rest, out);
      case 'kafka-gateway':
        return await (server['kafka-gateway'] ?? checkoutOnly('kafka-gateway'))(rest, out);
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
        return await (server.bench ?? checkoutOnly('bench'))(rest, out);
      case 'handler':
        return await (server.handler ?? checkoutOnly('handler'))(rest, out);
      case 'console':
        return await (server.console ?? checkoutOnly('console'))(rest, out);
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
    // node:util parseArgs: an unknown option, a missing value, a stray argument.
    const parseCode = (error as { code?: unknown }).code;
    if (typeof parseCode === 'string' && parseCode.startsWith('ERR_PARSE_ARGS_') && command !== undefined) {
      const subcommand = rest.find((a) => !a.startsWith('-'));
      err.write(`streambed: ${(error as Error).message}\n${commandUsage(command, subcommand)}\n`);
      return 1;
    }
    const code =
      error instanceof StreambedError && error.code !== 'INVALID_REQUEST' ? ` (${error.code})` : '';
    err.write(`streambed: ${error instanceof Error ? error.message : String(error)}${code}\n`);
    return 1;
  }
}
