/**
 * docs/deploy.md's resource, function, permission and alarm tables are generated from the template
 * (lib/deploy-docs.ts, `npm run docs:deploy`); this fails when the document no longer says what the
 * template creates. Column padding is ignored (the formatter may align tables its own way).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CfnTemplate,
  DEPLOY_DOC,
  GENERATED_SECTIONS,
  generatedSection,
  renderDeployTables,
  synthesizeDefaultTemplate,
  withGeneratedSections,
} from '../../lib/deploy-docs.ts';

/** A table line with its cells trimmed and separator dashes shortened: padding-independent. */
const normalize = (text: string) =>
  text
    .split('\n')
    .map((line) =>
      line.startsWith('|')
        ? line
            .split('|')
            .map((cell) => cell.trim().replace(/^-+$/, '-'))
            .join('|')
        : line.trim(),
    )
    .join('\n');

let template: CfnTemplate;

beforeAll(() => {
  template = synthesizeDefaultTemplate();
}, 120_000);

describe('docs/deploy.md generated tables', () => {
  it('match the synthesized template (run `npm run docs:deploy` after changing the stack)', () => {
    const doc = readFileSync(DEPLOY_DOC, 'utf8');
    const tables = renderDeployTables(template);
    for (const name of GENERATED_SECTIONS) {
      expect(normalize(generatedSection(doc, name)), name).toBe(normalize(tables[name]));
    }
  });

  it('say what the template grants and alarms on, so a change to the stack changes them', () => {
    const tables = renderDeployTables(template);
    expect(tables.permissions).toMatch(/\| FetchFunction +\| Allow +\| `s3:ListBucket` +\| `Bucket` +\|/);
    expect(tables.permissions).toContain('`Bucket/compacted/*`');
    expect(tables.functions).toMatch(
      /\| JanitorFunction +\| nodejs24\.x, arm64, 512 MB +\| 50 s +\| 1 +\| `rate\(1 minute\)` +\|/,
    );
    expect(tables.functions).toContain('`GET /v1/health`');
    expect(tables.alarms).toContain('JanitorNotSucceedingAlarm');
    expect(tables.resources).toMatch(/\| `AWS::Lambda::Function` +\| 9 +\|/);
    // Functions invoked by the table stream or by other functions say so.
    expect(tables.functions).toMatch(/\| DispatchFunction +\|.*\| `Table` stream \(filtered\) +\|/);
    expect(tables.functions).toMatch(
      /\| DeliverFunction +\|.*\| `JanitorFunction`, `DispatchFunction`, `DeliverFunction` +\|/,
    );
    // Tampering with one table is noticed.
    const doc = withGeneratedSections(readFileSync(DEPLOY_DOC, 'utf8'), {
      ...tables,
      alarms: '| alarm |\n| - |',
    });
    expect(normalize(generatedSection(doc, 'alarms'))).not.toBe(normalize(tables.alarms));
  });
});
