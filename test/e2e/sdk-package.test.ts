/**
 * The SDK as a user gets it: `npm run build:sdk`, `npm pack ./client`, the tarball installed into an
 * empty project, then a plain `.mjs` script there (no TypeScript, no tsx) that imports
 * `@streambed/client`, creates a topic, produces and consumes as a group against a local server,
 * and the installed `streambed` bin. The tarball carries compiled JavaScript with its declarations,
 * no server code, and every package its code imports is a dependency at the version the root lock
 * pins. Installing reads the npm cache first (`--prefer-offline`), which `npm ci` has filled.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
/** The environment of the npm commands: none of the checkout's own (`npm test` sets its prefix). */
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) => !/^(npm_config_local_prefix|npm_package_|npm_lifecycle_|INIT_CWD$)/i.test(name),
  ),
);
env.npm_config_update_notifier = 'false';

interface PackedFile {
  path: string;
}

let work: string;
let tarball: string;
let app: string;
let packed: string[];
let server: LocalServer;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'streambed-sdk-'));
  await run('npm', ['run', 'build:sdk'], { cwd: root, env });
  const { stdout } = await run('npm', ['pack', './client', '--pack-destination', work, '--json'], {
    cwd: root,
    env,
  });
  const [pack] = JSON.parse(stdout) as { filename: string; files: PackedFile[] }[];
  if (pack === undefined) throw new Error(`npm pack reported nothing: ${stdout}`);
  packed = pack.files.map((file) => file.path);
  tarball = join(work, pack.filename);
  app = await installInto('app');
  server = await startLocalServer({ memory: true, port: 0 });
}, 180_000);

afterAll(async () => {
  await server?.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** A new project `name` in the work folder with the packed SDK installed; its folder. */
async function installInto(name: string, npmOptions: readonly string[] = []): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir);
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...npmOptions, tarball], {
    cwd: dir,
    env,
  });
  return dir;
}

/** Every `.js` file of the installed package, relative to its folder. */
async function installedScripts(packageDir: string): Promise<string[]> {
  const entries = await readdir(join(packageDir, 'dist'), { recursive: true });
  return entries.filter((name) => name.endsWith('.js')).map((name) => join('dist', name));
}

/** The module specifiers a compiled file imports (static and dynamic). */
function specifiersOf(source: string): string[] {
  const found = source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)(['"])([^'"\s]+)\1/gm);
  return [...found].map((match) => match[2] as string);
}

const packageName = (specifier: string): string =>
  specifier.startsWith('@')
    ? specifier.split('/').slice(0, 2).join('/')
    : (specifier.split('/')[0] as string);

describe('the SDK package', () => {
  it('packs compiled JavaScript with declarations and a bin, and nothing of the server', async () => {
    // Assess
    expect(packed).toContain('package.json');
    expect(packed).toContain('dist/index.js');
    expect(packed).toContain('dist/index.d.ts');
    expect(packed).toContain('dist/cli/bin.js');
    expect(packed.filter((path) => path !== 'package.json' && !path.startsWith('dist/'))).toEqual([]);
    expect(packed.filter((path) => /lambdas|\.ts$/.test(path) && !path.endsWith('.d.ts'))).toEqual([]);
    for (const path of packed.filter((p) => p.endsWith('.js'))) {
      expect(packed).toContain(path.replace(/\.js$/, '.d.ts'));
    }
  });

  it('imports only its own files, node built-ins and its dependencies, at the versions of the lock', async () => {
    // Prepare
    const packageDir = join(app, 'node_modules/@streambed/client');
    const manifest = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8'));
    const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8'));
    const imported = new Set<string>();
    const escapes: string[] = [];
    // Act
    for (const file of await installedScripts(packageDir)) {
      for (const specifier of specifiersOf(await readFile(join(packageDir, file), 'utf8'))) {
        if (specifier.startsWith('.')) {
          const target = relative(packageDir, resolve(packageDir, dirname(file), specifier));
          if (target.startsWith('..') || !target.endsWith('.js')) escapes.push(`${file} → ${specifier}`);
        } else if (!specifier.startsWith('node:')) {
          imported.add(packageName(specifier));
        }
      }
    }
    // Assess
    expect(escapes).toEqual([]);
    const dependencies = manifest.dependencies as Record<string, string>;
    // @smithy/types is imported by the declarations only (the SigV4 credential types).
    expect([...imported, '@smithy/types'].sort()).toEqual(Object.keys(dependencies).sort());
    // Optional ones are loaded by name at run time (createRequire), not imported.
    const optional = manifest.optionalDependencies as Record<string, string>;
    expect(Object.keys(optional)).toEqual(['@node-rs/crc32']);
    for (const [name, version] of Object.entries({ ...dependencies, ...optional })) {
      expect(`${name}@${version}`).toBe(`${name}@${lock.packages[`node_modules/${name}`].version}`);
    }
  });

  it('lets a plain .mjs script create a topic, produce and consume as a group', async () => {
    // Prepare
    const script = `
import { Streambed, stringSerde } from '@streambed/client';

const streambed = new Streambed({ url: process.env.STREAMBED_URL });
await streambed.admin().createTopic({ topic: 'packaged', numPartitions: 2 });
const producer = streambed.producer();
const sent = await producer.send({
  topic: 'packaged',
  messages: [{ key: 'a', value: 'one' }, { key: 'b', value: 'two' }, { key: 'c', value: 'three' }],
});
await producer.disconnect();
const consumer = streambed.consumer({ groupId: 'packaged-readers', valueSerde: stringSerde });
await consumer.subscribe({ topics: ['packaged'], fromBeginning: true });
const values = [];
await new Promise((resolve, reject) => {
  consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
  consumer
    .run({
      eachMessage: async ({ message }) => {
        values.push(message.value);
        if (values.length === sent.length) resolve();
      },
    })
    .catch(reject);
});
await consumer.disconnect();
console.log(JSON.stringify({ sent: sent.length, values: values.sort() }));
`;
    await writeFile(join(app, 'main.mjs'), script);
    // Act
    const { stdout } = await run(process.execPath, ['main.mjs'], {
      cwd: app,
      env: { ...env, STREAMBED_URL: server.url },
    });
    // Assess
    expect(JSON.parse(stdout)).toEqual({ sent: 3, values: ['one', 'three', 'two'] });
  });

  it('loads in a CommonJS script, by require (node >= 20.19, its engines) and by import()', async () => {
    // Prepare
    const script = join(app, 'load.cjs');
    await writeFile(
      script,
      [
        "const required = require('@streambed/client');",
        "import('@streambed/client').then((imported) => {",
        '  console.log(typeof required.Streambed, required.Streambed === imported.Streambed);',
        '});',
      ].join('\n'),
    );

    // Act
    const { stdout } = await run(process.execPath, [script], { cwd: app, env });

    // Assess
    expect(stdout.trim()).toBe('function true');
  });

  it('installs a streambed bin that answers topics list', async () => {
    // Prepare
    const bin = join(app, 'node_modules/.bin/streambed');
    await run(bin, ['topics', 'create', 'listed', '--url', server.url], { cwd: app, env });
    // Act
    const { stdout } = await run(bin, ['topics', 'list', '--url', server.url], { cwd: app, env });
    // Assess
    expect(stdout.split('\n')).toContain('listed');
  });

  it("answers start with where the local server ships, exit code 1, from the package's bin", async () => {
    // Act
    const failure = await run(join(app, 'node_modules/.bin/streambed'), ['start'], { cwd: app, env }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    // Assess
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/the local server ships with the Streambed repository.*`npm start`/);
  });

  it('checks CRCs with its optional @node-rs/crc32, and in JavaScript where that is not installed', async () => {
    // Prepare: a second project installed without optional dependencies, as on a platform with no
    // prebuilt binary; a script that round-trips a value long enough for the native path
    const bare = await installInto('bare', ['--omit=optional']);
    const script = `
import { Streambed, stringSerde } from '@streambed/client';

const { crc32cImplementation } = await import(
  new URL('./node_modules/@streambed/client/dist/wire/crc32c.js', import.meta.url)
);
const topic = process.env.TOPIC;
const value = 'crc'.repeat(20_000);
const streambed = new Streambed({ url: process.env.STREAMBED_URL });
await streambed.admin().createTopic({ topic, numPartitions: 1 });
const producer = streambed.producer();
await producer.send({ topic, messages: [{ key: 'k', value }] });
await producer.disconnect();
const consumer = streambed.consumer({ groupId: topic, valueSerde: stringSerde });
await consumer.subscribe({ topics: [topic], fromBeginning: true });
const received = await new Promise((resolve, reject) => {
  consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
  consumer.run({ eachMessage: async ({ message }) => resolve(message.value) }).catch(reject);
});
await consumer.disconnect();
console.log(JSON.stringify({ implementation: crc32cImplementation(), same: received === value }));
`;
    const outcomes: Record<string, unknown> = {};

    // Act
    for (const [name, dir] of [
      ['with', app],
      ['without', bare],
    ] as const) {
      await writeFile(join(dir, 'crc.mjs'), script);
      const { stdout } = await run(process.execPath, ['crc.mjs'], {
        cwd: dir,
        env: { ...env, STREAMBED_URL: server.url, TOPIC: `crc-${name}` },
      });
      outcomes[name] = JSON.parse(stdout);
    }

    // Assess
    await expect(readdir(join(bare, 'node_modules/@node-rs'))).rejects.toThrow(/ENOENT/);
    expect(outcomes).toEqual({
      with: { implementation: 'native', same: true },
      without: { implementation: 'js', same: true },
    });
  }, 120_000);
});
