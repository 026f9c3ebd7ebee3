/**
 * `npm run chaos:mutations -- [--seed N] [--operations N] [--only NAME]`
 *
 * Proves the chaos run can find the defects it was widened for: each patch in test/chaos/mutations/
 * puts one confirmed defect back. For each, a copy of the code gets the patch and a chaos run of the
 * default length; the run must report at least one violation. The unpatched code runs first and must
 * report none. Prints a Markdown table (the one in docs/reliability.md) and exits non-zero when a
 * mutant survives or the unpatched code fails.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const patches = join(root, 'test/chaos/mutations');
const { values } = parseArgs({
  options: { seed: { type: 'string' }, operations: { type: 'string' }, only: { type: 'string' } },
});
const seed = values.seed ?? '20261206';
const operations = values.operations ?? '20000';

/** A copy of what the chaos run needs, with `patch` applied (none: the code as it is). */
function copyWith(patch: string | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), 'streambed-mutant-'));
  for (const part of ['package.json', 'tsconfig.json', 'lambdas', 'test/chaos', 'test/support'])
    cpSync(join(root, part), join(dir, part), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  if (patch !== undefined) {
    const applied = spawnSync('git', ['apply', join(patches, patch)], { cwd: dir, encoding: 'utf8' });
    if (applied.status !== 0) throw new Error(`${patch} does not apply: ${applied.stderr}`);
  }
  return dir;
}

function chaos(dir: string): { summary: string; violations: number; first: string; seconds: number } {
  const started = Date.now();
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'test/chaos/run.ts', '--seed', seed, '--operations', operations],
    { cwd: dir, encoding: 'utf8', env: { ...process.env, CHAOS_SHOW: '1' }, maxBuffer: 64 << 20 },
  );
  const summary = run.stdout.trim().split('\n').at(-1) ?? '';
  const violations = Number(/invariant violations (\d+)/.exec(summary)?.[1] ?? Number.NaN);
  const first =
    run.stderr
      .split('\n')
      .find((line) => line.startsWith('  '))
      ?.trim() ?? run.stderr.trim();
  return { summary, violations, first, seconds: (Date.now() - started) / 1000 };
}

const names = readdirSync(patches)
  .filter((name) => name.endsWith('.patch'))
  .filter((name) => values.only === undefined || name.includes(values.only))
  .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
let failed = false;
const rows: string[] = [];
for (const patch of [undefined, ...names]) {
  const dir = copyWith(patch);
  try {
    const result = chaos(dir);
    const caught = patch === undefined ? result.violations === 0 : result.violations > 0;
    failed ||= !caught;
    const name = patch?.replace(/\.patch$/, '') ?? '(none: the code as it is)';
    const first = result.first.replaceAll('|', '\\|').slice(0, 160);
    rows.push(`| ${name} | ${seed} | ${result.summary} | ${patch === undefined && caught ? '' : first} |`);
    process.stderr.write(
      `${caught ? 'ok  ' : 'FAIL'} ${name}: ${result.summary} (${result.seconds.toFixed(0)} s)\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
process.stdout.write(
  `| defect put back | seed | chaos run | first violation |\n| --- | --- | --- | --- |\n${rows.join('\n')}\n`,
);
if (failed) process.exitCode = 1;
