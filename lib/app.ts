/**
 * CDK app entry (cdk.json runs `npx tsx lib/app.ts`). Builds the Streambed stack from context and
 * checks it with cdk-nag's AWS Solutions rules: synth fails on any finding that is neither fixed nor
 * acknowledged with a reason (the acknowledgements sit next to the resources, in the construct).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CONTEXT, StreambedStack, streambedPropsFromContext } from './streambed-stack.ts';

export function createStreambedApp(props?: AppProps): { app: App; stack: StreambedStack } {
  const app = new App(props);
  const stackName = (app.node.tryGetContext(CONTEXT.stackName) as string | undefined) ?? 'Streambed';
  const stack = new StreambedStack(app, stackName, {
    description: 'Streambed: a Kafka-style log on S3 and DynamoDB behind API Gateway',
    streambed: streambedPropsFromContext(app.node),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

// Run by the CDK CLI (or `npx tsx lib/app.ts`): the CLI sets CDK_OUTDIR and the app synthesizes itself
// on exit. Imported by a test, it only exports the factory.
const entry = process.argv[1];
if (entry !== undefined && resolve(entry) === fileURLToPath(import.meta.url)) {
  createStreambedApp();
}
