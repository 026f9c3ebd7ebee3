#!/usr/bin/env -S node --import tsx
/** The `streambed` command line of a Streambed checkout: the SDK's commands and the server's. */
import { runCli } from '../../client/cli/main.ts';
import { SERVER_COMMANDS } from './server-commands.ts';

process.exitCode = await runCli(
  process.argv.slice(2),
  process.stdout,
  process.stderr,
  process.stdin,
  process.env,
  SERVER_COMMANDS,
);
