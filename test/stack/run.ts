/**
 * `npm run stack:local [-- --api http|rest] [--port N]`: synthesizes the stack and serves it offline
 * (test/stack/offline-stack.ts) on DynamoDB Local and the S3 emulator, until Ctrl-C. Prints the API
 * URL and the credentials that may call it, ready for the CLI and the SDK.
 */
import { parseArgs } from 'node:util';
import { startDynamoDbLocal } from '../support/dynamodb-local.ts';
import { startS3Emulator } from '../support/s3-emulator.ts';
import { type ApiFlavor, assemblyDirectory, startOfflineStack, synthesizeStack } from './offline-stack.ts';

const { values } = parseArgs({
  options: {
    api: { type: 'string', default: 'http' },
    port: { type: 'string', default: '4000' },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(`usage: npm run stack:local -- [--api http|rest] [--port N] [--quiet]

Synthesizes the CDK app and serves every function's bundle from cdk.out behind an API Gateway
emulation (SigV4 + IAM), on DynamoDB Local and an S3 emulator, with the janitor on its schedule.
Function logs go to stdout unless --quiet. See docs/deploy.md, "The stack offline".`);
  process.exit(0);
}
if (values.api !== 'http' && values.api !== 'rest') {
  console.error(`--api must be http or rest, got ${values.api}`);
  process.exit(2);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`--port must be a port number, got ${values.port}`);
  process.exit(2);
}

const [dynamo, s3, assembly] = await Promise.all([
  startDynamoDbLocal(),
  startS3Emulator(),
  assemblyDirectory(),
]);
console.log(`synthesizing the stack (${values.api} API)…`);
const synthesized = synthesizeStack(assembly.dir, values.api as ApiFlavor);
const stack = await startOfflineStack({
  synthesized,
  dynamoEndpoint: dynamo.endpoint,
  s3Endpoint: s3.endpoint,
  port,
  onLog: values.quiet
    ? () => {}
    : (name, line) => console.log(`${name.replace(/^[^-]+-Streambed/, '')} ${line}`),
});
console.log(`
Streambed stack offline: ${stack.url}  (${values.api} API, region ${stack.region})
  export STREAMBED_URL=${stack.url}
  export AWS_ACCESS_KEY_ID=${stack.credentials.accessKeyId}
  export AWS_SECRET_ACCESS_KEY=${stack.credentials.secretAccessKey}
  npx streambed topics list --aws-region ${stack.region}
Ctrl-C stops it (the data is in memory and goes with it).`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await stack.close();
  await Promise.all([dynamo.stop(), s3.stop(), assembly.remove()]);
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
