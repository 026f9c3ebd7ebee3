/**
 * CRC-32C in an esbuild bundle like the Lambdas' (lib/streambed.ts: ESM, minified, `require` made by
 * a banner). npm installs `@node-rs/crc32`'s binary for the building machine only, so no arm64 binary
 * can go into a Lambda bundle without Docker: the bundle must load the native module at run time, if
 * at all, and use JavaScript where it is not found instead of failing.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
let work: string;

/** Bundles a script printing the implementation and the check value into `dir`; its output. */
async function bundleAndRun(dir: string): Promise<{ implementation: string; check: number }> {
  const entry = join(dir, 'entry.ts');
  await writeFile(
    entry,
    [
      `import { crc32c, crc32cImplementation } from ${JSON.stringify(join(root, 'client/wire/crc32c.ts'))};`,
      "const check = crc32c(new TextEncoder().encode('123456789'));",
      'console.log(JSON.stringify({ implementation: crc32cImplementation(), check }));',
    ].join('\n'),
  );
  // The settings of the Lambdas' NodejsFunction bundling that bear on loading modules.
  await build({
    entryPoints: [entry],
    outfile: join(dir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    mainFields: ['module', 'main'],
    minify: true,
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'silent',
  });
  const { stdout } = await run(process.execPath, [join(dir, 'index.mjs')], { cwd: dir });
  return JSON.parse(stdout);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'streambed-crc32c-bundle-'));
});

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('CRC-32C in a Lambda-style bundle', () => {
  it('uses JavaScript where no node_modules holds @node-rs/crc32, as in a Lambda', async () => {
    // Prepare: a folder with nothing beside the bundle (the temporary folder has no node_modules above it)
    const dir = await mkdtemp(join(work, 'bare-'));

    // Act
    const outcome = await bundleAndRun(dir);

    // Assess
    expect(outcome).toEqual({ implementation: 'js', check: 0xe3069283 });
  });

  it('uses the native module where one is installed beside the bundle', async () => {
    // Prepare
    const dir = await mkdtemp(join(work, 'installed-'));
    await symlink(join(root, 'node_modules'), join(dir, 'node_modules'));

    // Act
    const outcome = await bundleAndRun(dir);

    // Assess
    expect(outcome).toEqual({ implementation: 'native', check: 0xe3069283 });
  });
});
