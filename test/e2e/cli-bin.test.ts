/**
 * The package's `bin` as a user runs it from a checkout: committed executable (git records the mode,
 * so every checkout gets it, not only one where npm happened to chmod the file), with a shebang that
 * runs the TypeScript through tsx, so `npx streambed` works without a build.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../client/cli/main.ts';
import { freshNpxEnv, type NpxEnv } from '../support/npx-env.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const BIN = 'lambdas/runtime/cli.ts';

describe('the streambed bin', () => {
  let npx: NpxEnv;
  beforeAll(async () => {
    npx = await freshNpxEnv();
  });
  afterAll(() => npx.dispose());

  it('is the package bin and is committed with the executable bit', async () => {
    // Prepare
    const manifest = JSON.parse(await readFile(resolve(root, 'package.json'), 'utf8'));
    // Act
    const { stdout } = await run('git', ['ls-files', '-s', BIN], { cwd: root });
    // Assess
    expect(manifest.bin).toEqual({ streambed: BIN });
    expect(stdout.startsWith('100755 ')).toBe(true);
  });

  it('starts with a shebang that runs it through tsx', async () => {
    const firstLine = (await readFile(resolve(root, BIN), 'utf8')).split('\n')[0];
    expect(firstLine).toBe('#!/usr/bin/env -S node --import tsx');
  });

  it('answers `npx streambed --help` in the checkout with the usage and exit code 0', async () => {
    // Act: a failing exit rejects with the exit code and stderr
    const { stdout } = await run('npx', ['--no-install', 'streambed', '--help'], {
      cwd: root,
      env: { ...process.env, ...npx.env },
    });
    // Assess
    expect(stdout).toMatch(/^usage: streambed /m);
  });

  it('runs when executed directly from a folder of the checkout', async () => {
    const { stdout } = await run(resolve(root, BIN), ['--help'], { cwd: resolve(root, 'docs') });
    expect(stdout).toMatch(/^usage: streambed /m);
  });
});

describe("the SDK's streambed, without the checkout's server commands", () => {
  it.each([
    [
      ['start', '--port', 'nope'],
      /^streambed: start: the local server ships with the Streambed repository.*`npm start`/,
    ],
    [
      ['kafka-gateway', '--backend', 'aws'],
      /^streambed: kafka-gateway: the Kafka gateway ships with the Streambed repository/,
    ],
    [['handler', 'serve'], /^streambed: handler: the handler host ships with the Streambed repository/],
    [
      ['console', '--url', 'https://example.invalid'],
      /^streambed: console: the web console ships with the Streambed repository/,
    ],
    [['bench', '--quick'], /^streambed: bench: the benchmark ships with the Streambed repository/],
  ])('answers %j with where it ships and exit code 1', async (args, message) => {
    // Prepare
    const out = new PassThrough();
    const err = new PassThrough();
    let stderr = '';
    err.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // Act
    const code = await runCli(args, out, err, Readable.from([]), {});
    // Assess
    expect(code).toBe(1);
    expect(stderr).toMatch(message);
    expect(out.read()).toBeNull();
  });
});
