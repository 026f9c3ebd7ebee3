/**
 * `npx cdk synth` from the repository root, as a user or CI runs it: cdk.json's app command (tsx),
 * local esbuild bundling and the cdk-nag checks, all offline. Telemetry and notices are off so the CLI
 * makes no network call.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ProcessResult, runProcess } from '../support/run-process.ts';

const REPO = join(import.meta.dirname, '..', '..');
const outdir = mkdtempSync(join(tmpdir(), 'streambed-cdk-synth-'));

function cdk(args: string[]): Promise<ProcessResult> {
  // vitest's NODE_ENV=test would switch the app to in-memory validation reporting; a user's shell has none.
  const { NODE_ENV: _testMode, ...env } = process.env;
  return runProcess('npx', ['cdk', ...args], {
    cwd: REPO,
    env: { ...env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
  });
}

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('npx cdk synth', () => {
  it('synthesizes the Streambed stack offline with cdk-nag passing', async () => {
    // Act
    const run = await cdk(['synth', '--no-notices', '--quiet', '--output', outdir]);
    // Assess: a failing nag check or bundling error makes the CLI exit non-zero, with the report.
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const templatePath = join(outdir, 'Streambed.template.json');
    expect(existsSync(templatePath)).toBe(true);
    const template = JSON.parse(readFileSync(templatePath, 'utf8'));
    expect(Object.keys(template.Outputs).sort()).toEqual([
      'ApiId',
      'ApiUrl',
      'BucketName',
      'ExecuteApiArnPrefix',
      'TableName',
    ]);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports.flatMap((r: { violations: unknown[] }) => r.violations)).toEqual([]);
  }, 300_000);
});
