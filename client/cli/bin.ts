#!/usr/bin/env node
/**
 * The `streambed` command line of the SDK package. A Streambed checkout runs lambdas/runtime/cli.ts
 * instead, which adds the commands that run server code (`start`, `handler serve`, `bench`).
 */
import { runCli } from './main.ts';

process.exitCode = await runCli(process.argv.slice(2));
