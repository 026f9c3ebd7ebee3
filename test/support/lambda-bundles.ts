/**
 * The Lambda bundles exactly as `cdk deploy` builds them. There is one build step and it is the
 * Streambed construct's own: NodejsFunction with the bundling settings of lib/streambed.ts (local
 * esbuild, ESM, minified, source maps), run by a CDK synth. The infra test checks the bundles of the
 * full app's synth; the Lambda memory bench synthesizes just the functions it runs and executes them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { STREAMBED_CONCERNS, Streambed } from '../../lib/streambed.ts';

const REPO = join(import.meta.dirname, '..', '..');

type Json = Record<string, unknown>;

/** The bundle (`index.mjs`, its source map beside it) of one `AWS::Lambda::Function` of a template. */
export function bundleFileOf(assemblyDir: string, functionResource: Json): string {
  const code = (functionResource.Properties as Json | undefined)?.Code as { S3Key?: unknown } | undefined;
  if (typeof code?.S3Key !== 'string') throw new Error('function resource has no asset S3Key');
  return join(assemblyDir, `asset.${code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs');
}

/** One function of the synthesized stack, ready to run outside Lambda. */
export interface LambdaBundle {
  /** The bundle, `index.mjs`. */
  file: string;
  /** The literal environment variables of the function (those that refer to resources are left out). */
  environment: Record<string, string>;
  memorySizeMb: number;
}

/**
 * Builds the bundles of the named concerns (`produce`, `fetch`, …) into `outdir`, a fresh CDK
 * assembly directory, with cdk.json's context (feature flags) as `cdk synth` uses it. Returns each
 * function by concern name, with what its template says about running it.
 */
export function buildLambdaBundles(outdir: string, names: readonly string[]): Record<string, LambdaBundle> {
  const concerns = names.map((name) => {
    const concern = STREAMBED_CONCERNS.find((each) => each.name === name);
    if (concern === undefined) throw new Error(`no Streambed concern named ${name}`);
    return concern;
  });
  const context = JSON.parse(readFileSync(join(REPO, 'cdk.json'), 'utf8')).context as Json;
  const app = new App({ outdir, context });
  const stack = new Stack(app, 'StreambedLambdaBundles');
  const streambed = new Streambed(stack, 'Streambed', { concerns });
  const assembly = app.synth();
  const resources = assembly.getStackByName(stack.stackName).template.Resources as Record<string, Json>;
  const bundles: Record<string, LambdaBundle> = {};
  for (const name of names) {
    const fn = streambed.functions[name];
    if (fn === undefined) throw new Error(`the synthesized stack has no ${name} function`);
    const resource = resources[stack.getLogicalId(fn.node.defaultChild as CfnElement)];
    if (resource === undefined) throw new Error(`the template has no resource for the ${name} function`);
    const properties = resource.Properties as Json;
    const variables = (properties.Environment as { Variables?: Json } | undefined)?.Variables ?? {};
    bundles[name] = {
      file: bundleFileOf(assembly.directory, resource),
      environment: Object.fromEntries(
        Object.entries(variables).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
      ),
      memorySizeMb: Number(properties.MemorySize),
    };
  }
  return bundles;
}
