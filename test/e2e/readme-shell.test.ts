/**
 * The README's shell blocks, run as written against a local server: every ```sh block either runs
 * here (in README order, on one in-memory server, from a scratch folder inside the checkout so
 * `npx streambed` finds the package's bin) or is preceded by a `<!-- not run here: why -->` comment.
 * `localhost:8080` in a block is pointed at the test's server, and `localhost:9092` at its Kafka
 * listener; `STREAMBED_URL` does the same for the CLI. A `# → output` comment is checked against what the block printed.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startCliServer, stopCliServer } from '../support/cli-server.ts';
import { freshNpxEnv, type NpxEnv } from '../support/npx-env.ts';
import { runProcess } from '../support/run-process.ts';

const root = resolve(import.meta.dirname, '../..');
const SKIP = /^<!-- not run here: (.+) -->$/;

interface ShellBlock {
  /** The README line of the opening fence. */
  line: number;
  text: string;
  /** Why the block is not run here, from the comment right above it. */
  skip?: string;
}

/** The ```sh blocks of a markdown text, each with the skip reason the line above its fence gives. */
function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split('\n');
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```sh') continue;
    const end = lines.indexOf('```', i + 1);
    if (end === -1) throw new Error(`README line ${i + 1}: a shell block without its closing fence`);
    let above = i - 1;
    while (above >= 0 && lines[above]?.trim() === '') above--;
    const skip = SKIP.exec(lines[above]?.trim() ?? '')?.[1];
    blocks.push({ line: i + 1, text: lines.slice(i + 1, end).join('\n'), skip });
    i = end;
  }
  return blocks;
}

/** The schema and records the Avro block reads: the schema of the README's TypeScript example. */
const FIXTURES: Record<string, string> = {
  'order.avsc': JSON.stringify({
    type: 'record',
    name: 'Order',
    namespace: 'shop',
    fields: [
      { name: 'id', type: 'long' },
      { name: 'total', type: 'double' },
    ],
  }),
  'orders.jsonl': `${Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: i + 1, total: 10 + i / 2 })).join('\n')}\n`,
};

function bash(script: string, cwd: string, env: NodeJS.ProcessEnv) {
  return runProcess('bash', ['-euo', 'pipefail', '-c', script], { cwd, env: { ...process.env, ...env } });
}

const blocks = shellBlocks(await readFile(resolve(root, 'README.md'), 'utf8'));
let server: ServerProcess;
let scratch: string;
let npx: NpxEnv;

beforeAll(async () => {
  server = await startCliServer(['--memory', '--port', '0']);
  npx = await freshNpxEnv();
  scratch = await mkdtemp(join(root, 'test', '.readme-run-'));
  for (const [name, text] of Object.entries(FIXTURES)) await writeFile(join(scratch, name), text);
});
afterAll(async () => {
  await stopCliServer(server);
  await rm(scratch, { recursive: true, force: true });
  await npx.dispose();
});

describe('the README shell blocks', () => {
  it('finds the blocks, and says why for each one it does not run', () => {
    expect(blocks.length).toBeGreaterThan(5);
    expect(blocks.filter((block) => block.skip === undefined).length).toBeGreaterThanOrEqual(4);
  });

  for (const block of blocks.filter((b) => b.skip === undefined)) {
    it(`runs the block at README line ${block.line} as written`, async () => {
      const host = new URL(server.url).host;
      const kafka = /kafka:\/\/(\S+)/.exec(server.output())?.[1];
      if (kafka === undefined) throw new Error(`the server named no Kafka listener: ${server.output()}`);
      const script = block.text.replaceAll('localhost:8080', host).replaceAll('localhost:9092', kafka);
      const result = await bash(script, scratch, {
        STREAMBED_URL: server.url,
        ...npx.env,
      });
      expect(result.stderr.split('\n').filter((line) => /^streambed: /.test(line))).toEqual([]);
      expect(result.code, `${block.text}\n--- stderr:\n${result.stderr}`).toBe(0);
      for (const [, expected] of block.text.matchAll(/# → (.+)$/gm)) {
        expect(result.stdout).toContain(expected);
      }
    }, 120_000);
  }

  it('`npx streambed consume … > file` writes exactly the records, nothing else', async () => {
    const values = Array.from({ length: 1000 }, (_, i) => `value ${i}`);
    await writeFile(join(scratch, 'in.txt'), `${values.join('\n')}\n`);
    const result = await bash(
      [
        'npx streambed topics create exact --partitions 2',
        'npx streambed produce exact < in.txt',
        'npx streambed consume exact --from-beginning --max-messages 1000 > out.txt',
      ].join('\n'),
      scratch,
      { STREAMBED_URL: server.url, ...npx.env },
    );
    expect(result.code, result.stderr).toBe(0);
    const written = await readFile(join(scratch, 'out.txt'), 'utf8');
    expect(written.endsWith('\n')).toBe(true);
    expect(written.slice(0, -1).split('\n').sort()).toEqual([...values].sort());
  }, 120_000);
});
