/**
 * The resource, function, permission and alarm tables of docs/deploy.md, generated from the
 * synthesized template of the app (`npm run docs:deploy`), so the document says what a deploy
 * creates rather than what someone remembered. Each table sits between two marker comments,
 * `<!-- generated:NAME:start -->` and `<!-- generated:NAME:end -->`; everything else in the document is
 * prose and stays as written. The infra test test/infra/deploy-docs.test.ts fails when a table no
 * longer matches the template.
 *
 * Names in the tables are the template's logical ids without the construct prefix and hash
 * (`StreambedAdminFunction1141DAB0` → `AdminFunction`), so they can be found in the console.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStreambedApp } from './app.ts';

// biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template is untyped JSON.
type Json = any;

export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Json }>;
}

export const GENERATED_SECTIONS = ['resources', 'functions', 'permissions', 'alarms'] as const;
export type GeneratedSection = (typeof GENERATED_SECTIONS)[number];

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const DEPLOY_DOC = join(REPO_ROOT, 'docs', 'deploy.md');

/** `StreambedAdminFunction1141DAB0` → `AdminFunction`. */
export function shortId(logicalId: string): string {
  return logicalId.replace(/^Streambed(?=[A-Z])/, '').replace(/[0-9A-F]{8}$/, '');
}

/** A reference, ARN or joined string of the template as text, with logical ids shortened. */
function nameOf(value: Json): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (value?.Ref !== undefined) return String(value.Ref).startsWith('AWS::') ? value.Ref : shortId(value.Ref);
  const getAtt = value?.['Fn::GetAtt'];
  if (Array.isArray(getAtt))
    return getAtt[1] === 'Arn' ? shortId(getAtt[0]) : `${shortId(getAtt[0])}.${getAtt[1]}`;
  const join = value?.['Fn::Join'];
  if (Array.isArray(join)) return (join[1] as Json[]).map(nameOf).join(join[0]);
  return JSON.stringify(value);
}

const code = (text: string) => `\`${text}\``;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((cell, i) =>
    Math.max(cell.length, 3, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function resourcesOfType(template: CfnTemplate, type: string): [string, Json][] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([id, resource]) => [id, resource.Properties ?? {}]);
}

/** What invokes each function: its API routes (either flavor) and its schedules. */
function triggers(template: CfnTemplate): Map<string, string[]> {
  const byFunction = new Map<string, string[]>();
  const add = (fnRef: Json, trigger: string) => {
    const fn = nameOf(fnRef);
    byFunction.set(fn, [...(byFunction.get(fn) ?? []), trigger]);
  };
  const integrations = new Map(resourcesOfType(template, 'AWS::ApiGatewayV2::Integration'));
  for (const [, route] of resourcesOfType(template, 'AWS::ApiGatewayV2::Route')) {
    const integrationId = JSON.stringify(route.Target).match(/"Ref":"([^"]+)"/)?.[1] ?? '';
    add(integrations.get(integrationId)?.IntegrationUri, code(route.RouteKey));
  }
  const restResources = new Map(resourcesOfType(template, 'AWS::ApiGateway::Resource'));
  const restPath = (ref: Json): string =>
    ref?.Ref === undefined
      ? ''
      : `${restPath(restResources.get(ref.Ref)?.ParentId)}/${restResources.get(ref.Ref)?.PathPart}`;
  for (const [, method] of resourcesOfType(template, 'AWS::ApiGateway::Method')) {
    const fnId = JSON.stringify(method.Integration?.Uri).match(/"Fn::GetAtt":\["([^"]+)","Arn"\]/)?.[1];
    if (fnId !== undefined)
      add({ Ref: fnId }, code(`${method.HttpMethod} ${restPath(method.ResourceId) || '/'}`));
  }
  for (const [, rule] of resourcesOfType(template, 'AWS::Events::Rule')) {
    for (const target of rule.Targets ?? []) add(target.Arn, code(rule.ScheduleExpression));
  }
  for (const [, mapping] of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) {
    const filtered = mapping.FilterCriteria === undefined ? '' : ' (filtered)';
    add(
      mapping.FunctionName,
      `${code(nameOf(mapping.EventSourceArn).replace(/\.StreamArn$/, ''))} stream${filtered}`,
    );
  }
  // Functions that invoke others (the deliverer's wake-ups): named by the invoke grants they hold.
  const functionOfRole = new Map(
    resourcesOfType(template, 'AWS::Lambda::Function').map(([id, fn]) => [fn.Role?.['Fn::GetAtt']?.[0], id]),
  );
  for (const [, policy] of resourcesOfType(template, 'AWS::IAM::Policy')) {
    const callers = (policy.Roles as Json[]).map((role) => functionOfRole.get(role.Ref));
    for (const statement of policy.PolicyDocument.Statement as Json[]) {
      if (!([] as string[]).concat(statement.Action).includes('lambda:InvokeFunction')) continue;
      for (const resource of ([] as Json[]).concat(statement.Resource)) {
        for (const caller of callers) {
          if (caller !== undefined) add({ Ref: nameOf(resource) }, code(shortId(caller)));
        }
      }
    }
  }
  return byFunction;
}

function functionsTable(template: CfnTemplate): string {
  const invokedBy = triggers(template);
  const rows = resourcesOfType(template, 'AWS::Lambda::Function').map(([id, fn]) => [
    shortId(id),
    `${fn.Runtime}, ${fn.Architectures?.join(', ') ?? 'x86_64'}, ${fn.MemorySize} MB`,
    `${fn.Timeout} s`,
    fn.ReservedConcurrentExecutions === undefined ? 'unreserved' : String(fn.ReservedConcurrentExecutions),
    (invokedBy.get(shortId(id)) ?? []).join(', '),
  ]);
  return table(['function', 'runtime', 'timeout', 'concurrency', 'invoked by'], rows);
}

function resourcesTable(template: CfnTemplate): string {
  const counts = new Map<string, number>();
  for (const resource of Object.values(template.Resources)) {
    counts.set(resource.Type, (counts.get(resource.Type) ?? 0) + 1);
  }
  const rows = [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, count]) => [code(type), String(count)]);
  return table(['resource type', 'count'], rows);
}

function permissionsTable(template: CfnTemplate): string {
  const functionOfRole = new Map(
    resourcesOfType(template, 'AWS::Lambda::Function').map(([id, fn]) => [
      fn.Role?.['Fn::GetAtt']?.[0],
      shortId(id),
    ]),
  );
  const rows: string[][] = [];
  for (const [, policy] of resourcesOfType(template, 'AWS::IAM::Policy')) {
    const owners = (policy.Roles as Json[]).map((role) => functionOfRole.get(role.Ref) ?? nameOf(role));
    for (const statement of policy.PolicyDocument.Statement as Json[]) {
      const actions = ([] as string[]).concat(statement.Action).sort();
      const resources = ([] as Json[]).concat(statement.Resource).map((r) => code(nameOf(r)));
      const condition =
        statement.Condition === undefined ? '' : ` if ${code(JSON.stringify(statement.Condition))}`;
      rows.push([
        owners.join(', '),
        statement.Effect,
        actions.map(code).join(', '),
        `${resources.join(', ')}${condition}`,
      ]);
    }
  }
  return table(['function', 'effect', 'actions', 'on'], rows);
}

const OPERATORS: Record<string, string> = {
  GreaterThanOrEqualToThreshold: '≥',
  GreaterThanThreshold: '>',
  LessThanThreshold: '<',
  LessThanOrEqualToThreshold: '≤',
};

function metricText(metric: Json): string {
  const dimensions = (metric.Dimensions ?? []) as Json[];
  const of = dimensions.length === 0 ? '' : ` of ${dimensions.map((d) => nameOf(d.Value)).join(', ')}`;
  return `${metric.Namespace} ${metric.MetricName}${of}`;
}

/**
 * The inputs of a metric-math alarm, one entry per metric, with the dimension values that vary
 * between inputs (the table alarms sum one metric over several operations) joined by `/`.
 */
function describeInputs(stats: Json[]): string {
  const groups = new Map<string, string[][]>();
  for (const stat of stats) {
    const key = `${stat.Metric.Namespace} ${stat.Metric.MetricName}|${stat.Stat}`;
    const values = ((stat.Metric.Dimensions ?? []) as Json[]).map((d) => nameOf(d.Value));
    groups.set(key, [...(groups.get(key) ?? []), values]);
  }
  return [...groups]
    .map(([key, dimensionValues]) => {
      const [metric, stat] = key.split('|');
      const width = Math.max(0, ...dimensionValues.map((values) => values.length));
      const of = Array.from({ length: width }, (_, i) =>
        [...new Set(dimensionValues.map((v) => v[i]))].join('/'),
      );
      return `${metric}${of.length === 0 ? '' : ` of ${of.join(', ')}`} (${stat})`;
    })
    .join('; ');
}

function alarmsTable(template: CfnTemplate): string {
  const rows = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([id, alarm]) => {
    let metric: string;
    let period: number;
    if (alarm.MetricName !== undefined) {
      metric = `${metricText(alarm)} (${alarm.Statistic})`;
      period = alarm.Period;
    } else {
      const metrics = alarm.Metrics as Json[];
      const inputs = metrics.filter((m) => m.MetricStat !== undefined);
      const expression = metrics.find((m) => m.Expression !== undefined)?.Expression as string;
      metric = `${code(expression)}: ${describeInputs(inputs.map((m) => m.MetricStat))}`;
      period = inputs[0]?.MetricStat.Period;
    }
    const condition = `${OPERATORS[alarm.ComparisonOperator] ?? alarm.ComparisonOperator} ${alarm.Threshold} in ${alarm.EvaluationPeriods} × ${period / 60} min`;
    return [shortId(id), metric, condition, alarm.TreatMissingData ?? 'missing'];
  });
  return table(['alarm', 'metric', 'fires at', 'no data is'], rows);
}

/** Every generated table of docs/deploy.md, rendered from a synthesized template. */
export function renderDeployTables(template: CfnTemplate): Record<GeneratedSection, string> {
  return {
    resources: resourcesTable(template),
    functions: functionsTable(template),
    permissions: permissionsTable(template),
    alarms: alarmsTable(template),
  };
}

const START = (name: string) => `<!-- generated:${name}:start -->`;
const END = (name: string) => `<!-- generated:${name}:end -->`;

/** The text between a section's markers (trimmed); throws when the markers are missing. */
export function generatedSection(doc: string, name: GeneratedSection): string {
  const start = doc.indexOf(START(name));
  const end = doc.indexOf(END(name));
  if (start < 0 || end < start) throw new Error(`${START(name)} … ${END(name)} not found in the document`);
  return doc.slice(start + START(name).length, end).trim();
}

/** The document with each section's text between its markers replaced. */
export function withGeneratedSections(doc: string, tables: Record<GeneratedSection, string>): string {
  let result = doc;
  for (const name of GENERATED_SECTIONS) {
    generatedSection(result, name);
    const start = result.indexOf(START(name)) + START(name).length;
    result = `${result.slice(0, start)}\n\n${tables[name]}\n\n${result.slice(result.indexOf(END(name)))}`;
  }
  return result;
}

/**
 * The template `npx cdk synth` makes with cdk.json's context (the default `http` flavor), without
 * bundling the functions: no table depends on the bundles.
 */
export function synthesizeDefaultTemplate(): CfnTemplate {
  const context = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')).context as Record<
    string,
    unknown
  >;
  const outdir = mkdtempSync(join(tmpdir(), 'streambed-docs-'));
  try {
    const { app, stack } = createStreambedApp({
      outdir,
      context: { ...context, 'aws:cdk:bundling-stacks': [] },
    });
    return app.synth().getStackByName(stack.stackName).template as CfnTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

// `npm run docs:deploy`: rewrite the tables in place.
const entry = process.argv[1];
if (entry !== undefined && resolve(entry) === fileURLToPath(import.meta.url)) {
  const doc = readFileSync(DEPLOY_DOC, 'utf8');
  writeFileSync(DEPLOY_DOC, withGeneratedSections(doc, renderDeployTables(synthesizeDefaultTemplate())));
  console.log(`${DEPLOY_DOC}: ${GENERATED_SECTIONS.join(', ')} tables regenerated from the template`);
}
