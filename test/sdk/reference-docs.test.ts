/**
 * The SDK reference in docs/sdk is generated (`npm run docs:sdk`, TypeDoc on client/index.ts) and
 * committed. It is regenerated here into a temporary folder: a committed page that differs, is
 * missing or is left over means the reference is stale, and every name client/index.ts exports has
 * its page. TypeDoc's warnings (a public type it cannot link, a broken link) fail the run as well.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as sdk from '../../client/index.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const committed = join(root, 'docs/sdk');

let fresh: string;

beforeAll(async () => {
  fresh = await mkdtemp(join(tmpdir(), 'streambed-sdk-docs-'));
  await run(
    process.execPath,
    [
      join(root, 'node_modules/typedoc/bin/typedoc'),
      '--options',
      'client/typedoc.json',
      '--out',
      fresh,
      '--treatWarningsAsErrors',
    ],
    { cwd: root },
  );
}, 120_000);

afterAll(async () => {
  if (fresh !== undefined) await rm(fresh, { recursive: true, force: true });
});

async function pages(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

describe('the SDK reference (docs/sdk)', () => {
  it('is what `npm run docs:sdk` generates from the code today', async () => {
    // Prepare
    const expected = await pages(fresh);
    // Act
    const actual = await pages(committed);
    // Assess: the same pages, each with the same text
    expect(actual, 'run `npm run docs:sdk` and commit docs/sdk').toEqual(expected);
    for (const page of expected) {
      const text = await readFile(join(committed, page), 'utf8');
      expect(text, `docs/sdk/${page} is stale: run \`npm run docs:sdk\``).toBe(
        await readFile(join(fresh, page), 'utf8'),
      );
    }
  });

  it('has a page for every value client/index.ts exports', async () => {
    // Prepare
    const names = Object.keys(sdk);
    // Act
    const documented = new Set((await pages(committed)).map((page) => page.replace(/^.*\/|\.md$/g, '')));
    // Assess
    expect(names.filter((name) => !documented.has(name))).toEqual([]);
  });
});
