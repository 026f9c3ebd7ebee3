/**
 * The CLI round trip of the README quick start, against `streambed start`: create a topic, produce
 * lines from stdin, consume them from the beginning, consume as a group, and describe it with zero lag.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type ServerProcess, startCliServer, stopCliServer } from '../support/cli-server.ts';

let server: ServerProcess;
beforeAll(async () => {
  server = await startCliServer(['--memory', '--port', '0']);
});
afterAll(async () => {
  await stopCliServer(server);
});

const cli = (args: string[], stdin = '') => runCli(server.url, args, stdin);

describe('streambed CLI', () => {
  it('creates, produces from stdin, consumes, consumes as a group and describes zero lag', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => `user-${i % 7}:event ${i}`);
    expect((await cli(['topics', 'create', 'clicks', '--partitions', '3'])).code).toBe(0);
    expect((await cli(['topics', 'list'])).stdout).toBe('clicks\n');

    const produced = await cli(['produce', 'clicks', '--key-separator', ':'], `${lines.join('\n')}\n`);
    expect(produced.code).toBe(0);
    expect(produced.stderr).toMatch(/produced 300 records/);

    const all = await cli(['consume', 'clicks', '--from-beginning', '--max-messages', '300']);
    expect(all.code).toBe(0);
    expect(all.stdout.trim().split('\n').sort()).toEqual(lines.map((l) => l.split(':')[1]).sort());

    const grouped = await cli([
      'consume',
      'clicks',
      '--group',
      'analytics',
      '--from-beginning',
      '--max-messages',
      '300',
    ]);
    expect(grouped.code).toBe(0);
    // Per key, the group sees the records in the order they were produced.
    const values = grouped.stdout.trim().split('\n');
    expect(values).toHaveLength(300);
    for (let k = 0; k < 7; k++) {
      const mine = values.map((v) => Number(v.split(' ')[1])).filter((n) => n % 7 === k);
      expect(mine).toEqual([...mine].sort((a, b) => a - b));
    }

    const described = await cli(['groups', 'describe', 'analytics']);
    expect(described.code).toBe(0);
    const rows = described.stdout.trim().split('\n').slice(2);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row.trim().split(/\s+/).at(-1)).toBe('0');
    expect((await cli(['groups', 'list'])).stdout).toBe('analytics\n');
  }, 60_000);

  it('fails with one clear line and a non-zero exit', async () => {
    const missing = await cli(['topics', 'describe', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('streambed: topic nope does not exist (TOPIC_NOT_FOUND)\n');
    const bad = await cli(['topics', 'create', 'x', '--partitions', 'many']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^streambed: --partitions must be a non-negative integer/);
    expect((await cli(['frobnicate'])).code).toBe(2);
  });
});
