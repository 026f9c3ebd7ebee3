#!/usr/bin/env -S node --import tsx
/** The `streambed` command line. */
import { runCli } from './main.ts';

process.exitCode = await runCli(process.argv.slice(2));
