import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const patches = readdirSync(join(root, 'test/chaos/mutations')).filter((name) => name.endsWith('.patch'));

describe('chaos mutations (npm run chaos:mutations)', () => {
  it('holds one patch for each of the eleven defects it proves the chaos run finds', () => {
    expect(patches.map((name) => Number.parseInt(name, 10)).sort((a, b) => a - b)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
    ]);
  });

  it.each(patches)('%s still applies to the code as it is', (patch) => {
    const check = spawnSync('git', ['apply', '--check', join('test/chaos/mutations', patch)], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});
