/**
 * The README's "Schema registry and Avro" snippet runs as written against a local server: its
 * TypeScript block is taken from the README, pointed at the server and at this checkout's SDK, and
 * imported; what it prints is the record it produced, decoded.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Consumer } from '../../client/index.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { waitFor } from '../support/wait-for.ts';

const root = resolve(import.meta.dirname, '../..');
let server: LocalServer;
let dir: string;
beforeAll(async () => {
  server = await startLocalServer({ port: 0, memory: true });
  dir = await mkdtemp(join(tmpdir(), 'streambed-readme-avro-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/** The first ```ts block under the README heading `heading`. */
async function readmeBlock(heading: string): Promise<string> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(`\n## ${heading}\n`));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error(`README has no ts block under "## ${heading}"`);
  return block;
}

describe('README, Schema registry and Avro', () => {
  it('produces with avroSerde and the registry client, and consumes the record decoded', async () => {
    // Prepare: the snippet as written, but for the server's URL and the SDK's path
    const block = await readmeBlock('Schema registry and Avro');
    expect(block).toContain("'http://127.0.0.1:8080'");
    expect(block).toContain("'./client/index.ts'");
    const file = join(dir, 'snippet.ts');
    await writeFile(
      file,
      `${block
        .replace("'http://127.0.0.1:8080'", JSON.stringify(server.url))
        .replace(
          "'./client/index.ts'",
          JSON.stringify(join(root, 'client/index.ts')),
        )}\nexport { consumer };\n`,
    );
    const printed: unknown[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((value: unknown) => void printed.push(value));
    // Act
    const { consumer } = (await import(pathToFileURL(file).href)) as { consumer: Consumer<unknown> };
    try {
      await waitFor(() => printed.length === 1, 20_000, 'the consumed record');
    } finally {
      await consumer.disconnect();
      log.mockRestore();
    }
    // Assess
    expect({ ...(printed[0] as object) }).toEqual({ id: 1, total: 42.5 });
  });
});
