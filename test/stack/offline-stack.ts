/**
 * The synthesized stack, run offline: `cdk synth` of the real app, then every function's bundle from
 * cdk.out served behind an API Gateway front (./api-front.ts), on DynamoDB Local and the S3 emulator
 * reached through an IAM-enforcing proxy (./service-proxy.ts), with the janitor invoked on its
 * schedule, the table's stream feeding its event source mappings (./stream-mapping.ts), the Lambda
 * Invoke API for the functions' own invokes (./lambda-api.ts), and custom resources created through
 * their handlers as CloudFormation would. What it takes from the template — and only from there — is listed in ./template.ts; what
 * it does not emulate is said in each module and in docs/deploy.md.
 *
 * Used by the stack end-to-end tests, `npm run stack:local`, and the bench's `--stack local`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lambdas/adapters/s3-object-store.ts';
import { isTextBody } from '../../lambdas/http/lambda-payload.ts';
import { createStreambedApp } from '../../lib/app.ts';
import type { StreambedStack } from '../../lib/streambed-stack.ts';
import { type ApiCaller, type RunningApiFront, startApiFront } from './api-front.ts';
import { type ExternalFunction, type RunningLambdaApi, startLambdaApi } from './lambda-api.ts';
import { type Invocation, LambdaHost } from './lambda-host.ts';
import { type Denial, type RunningServiceProxy, startServiceProxy } from './service-proxy.ts';
import { type RunningStreamMapping, startStreamMapping } from './stream-mapping.ts';
import {
  type Environment,
  type FunctionSpec,
  type Json,
  OFFLINE_ENVIRONMENT,
  type PolicyStatement,
  readStack,
  type StackModel,
  scheduleIntervalMs,
  type Template,
} from './template.ts';

const REPO = join(import.meta.dirname, '..', '..');

export type ApiFlavor = 'http' | 'rest';

export interface SynthesizedStack {
  template: Template;
  assemblyDir: string;
  stackName: string;
}

/**
 * `cdk synth` of the app in lib/app.ts, with cdk.json's context and the chosen API flavor; `declare`
 * may add to the stack first (a test's subscriptions).
 */
export function synthesizeStack(
  outdir: string,
  flavor: ApiFlavor,
  extraContext: Record<string, string> = {},
  declare: (stack: StreambedStack) => void = () => {},
): SynthesizedStack {
  process.env.CDK_DISABLE_CLI_TELEMETRY = 'true';
  const context = JSON.parse(readFileSync(join(REPO, 'cdk.json'), 'utf8')).context as Record<string, unknown>;
  const { app, stack } = createStreambedApp({
    outdir,
    context: { ...context, 'streambed:api': flavor, ...extraContext },
  });
  declare(stack);
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as Template;
  return { template, assemblyDir: assembly.directory, stackName: stack.stackName };
}

/**
 * The caller policy docs/deploy.md tells users to attach (its first JSON block that grants
 * `execute-api:Invoke`), for the API whose execute-api ARN prefix is `apiArn`
 * (`arn:aws:execute-api:REGION:ACCOUNT:API_ID`) and the given stage: the offline caller holds exactly
 * what the documentation promises works.
 */
export function documentedCallerPolicy(apiArn: string, stage: string): PolicyStatement[] {
  const doc = readFileSync(join(REPO, 'docs', 'deploy.md'), 'utf8');
  const block = [...doc.matchAll(/```json\n([\s\S]*?)```/g)]
    .map((match) => match[1] as string)
    .find((text) => text.includes('execute-api:Invoke'));
  if (block === undefined) throw new Error('docs/deploy.md has no JSON policy granting execute-api:Invoke');
  const statement = JSON.parse(block) as {
    Effect: 'Allow';
    Action: string | string[];
    Resource: string | string[];
  };
  const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
  return [
    {
      Effect: statement.Effect,
      Action: list(statement.Action),
      Resource: list(statement.Resource).map((resource) =>
        resource
          .replace('arn:aws:execute-api:REGION:ACCOUNT:API_ID', apiArn)
          .replace('/$default/', `/${stage}/`),
      ),
    },
  ];
}

export interface OfflineStackOptions {
  synthesized: SynthesizedStack;
  dynamoEndpoint: string;
  s3Endpoint: string;
  /** Changes the template before it is served: a test's way to show what a broken construct does. */
  mutate?: (template: Template) => void;
  /**
   * The identity policy of the offline caller; default: documentedCallerPolicy. Receives the API's
   * execute-api ARN prefix and stage.
   */
  callerPolicy?: (apiArn: string, stage: string) => PolicyStatement[];
  /** Invoke scheduled functions on their rate (true, the default) or only through invokeScheduled. */
  schedules?: boolean;
  /** Port of the API front; default a free one. */
  port?: number;
  /** Sees every log line of every function (they are also kept in `logs`). */
  onLog?: (functionName: string, line: string) => void;
  /**
   * Functions outside the stack, by name, served by the offline Lambda API in the stack's account and
   * Region (a subscription's target function).
   */
  externalFunctions?: Record<string, ExternalFunction>;
}

export interface OfflineStack {
  /** The API's base URL (REST: with the stage), like the stack's ApiUrl output. */
  url: string;
  region: string;
  /** Credentials of the offline caller, allowed by `callerPolicy`. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  model: StackModel;
  /** The last log lines of the functions (most recent last). */
  logs: string[];
  /** The lines logged since `mark` (a value of `logMark()`), as far as `logs` still holds them. */
  logsSince(mark: number): string[];
  /** How many lines were ever logged: a mark for logsSince. */
  logMark(): number;
  /** Calls the service proxy or the Lambda API refused. */
  denials: Denial[];
  /** Payload sizes each function saw (request events and responses, as JSON text). */
  payloadStats: LambdaHost['stats'];
  /**
   * What a function's AWS SDK clients are given: its credentials and the service proxy's endpoints,
   * to make calls as that function would (`concern` is matched against the function names).
   */
  awsConfigOf(concern: string): {
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    dynamoEndpoint: string;
    s3Endpoint: string;
    bucket: string;
  };
  /** Invokes the function behind the first schedule whose function name contains `name`. */
  invokeScheduled(name: string): Promise<Invocation>;
  close(): Promise<void>;
}

const MAX_LOG_LINES = 2_000;

function tableInput(name: string, properties: Record<string, unknown>): CreateTableCommandInput {
  const stream = properties.StreamSpecification as { StreamViewType?: string } | undefined;
  return {
    ...(stream?.StreamViewType === undefined
      ? {}
      : {
          StreamSpecification: {
            StreamEnabled: true,
            StreamViewType: stream.StreamViewType as 'NEW_AND_OLD_IMAGES',
          },
        }),
    TableName: name,
    KeySchema: properties.KeySchema as CreateTableCommandInput['KeySchema'],
    AttributeDefinitions: properties.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    BillingMode: (properties.BillingMode as CreateTableCommandInput['BillingMode']) ?? 'PAY_PER_REQUEST',
    ...(properties.GlobalSecondaryIndexes === undefined
      ? {}
      : {
          GlobalSecondaryIndexes:
            properties.GlobalSecondaryIndexes as CreateTableCommandInput['GlobalSecondaryIndexes'],
        }),
  };
}

export async function startOfflineStack(options: OfflineStackOptions): Promise<OfflineStack> {
  const template = structuredClone(options.synthesized.template);
  options.mutate?.(template);
  // A unique stack name per instance: its table and bucket names never collide on shared emulators.
  const environment: Environment = { ...OFFLINE_ENVIRONMENT, stackName: `sb${randomUUID().slice(0, 8)}` };
  const model = readStack(template, options.synthesized.assemblyDir, environment);
  const logs: string[] = [];
  let logged = 0;
  const denials: Denial[] = [];
  const onLog = (name: string, line: string) => {
    logs.push(`${name}: ${line}`);
    logged += 1;
    if (logs.length > MAX_LOG_LINES) logs.splice(0, logs.length - MAX_LOG_LINES);
    options.onLog?.(name, line);
  };

  // The resources CloudFormation would create, from their template properties.
  const dynamo = new DynamoDBClient({
    endpoint: options.dynamoEndpoint,
    region: environment.region,
    credentials: { accessKeyId: 'offline', secretAccessKey: 'offline' },
  });
  for (const table of model.tables) {
    await dynamo.send(new CreateTableCommand(tableInput(table.name, table.properties)));
    const ttl = table.properties.TimeToLiveSpecification as
      | { AttributeName?: string; Enabled?: boolean }
      | undefined;
    if (ttl?.Enabled === true && ttl.AttributeName !== undefined) {
      await dynamo.send(
        new UpdateTimeToLiveCommand({
          TableName: table.name,
          TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
        }),
      );
    }
  }
  const s3 = createS3Client({
    endpoint: options.s3Endpoint,
    region: environment.region,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    forcePathStyle: true,
  });
  for (const bucket of model.buckets) await s3.send(new CreateBucketCommand({ Bucket: bucket.name }));
  s3.destroy();

  // One access key per function, so the proxy knows whose role a call runs under.
  const keys = new Map<string, { accessKeyId: string; secretAccessKey: string }>();
  const proxyCallers = new Map<string, { statements: PolicyStatement[]; principal: string }>();
  for (const fn of model.functions) {
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    keys.set(fn.logicalId, { accessKeyId, secretAccessKey: randomBytes(20).toString('hex') });
    const roleName = fn.roleArn.split('/').pop() ?? fn.roleLogicalId;
    proxyCallers.set(accessKeyId, {
      statements: model.roleStatements.get(fn.roleLogicalId) ?? [],
      principal: `arn:aws:sts::${environment.accountId}:assumed-role/${roleName}/${fn.name}`,
    });
  }
  const proxy: RunningServiceProxy = await startServiceProxy({
    environment,
    dynamoEndpoint: options.dynamoEndpoint,
    s3Endpoint: options.s3Endpoint,
    callers: proxyCallers,
    onDenied: (denial) => {
      denials.push(denial);
      onLog(
        'service-proxy',
        `AccessDenied: ${denial.principal} may not ${denial.action} on ${denial.resource}`,
      );
    },
  });

  const lambdaApi: RunningLambdaApi = await startLambdaApi({
    region: environment.region,
    accountId: environment.accountId,
    functions: model.functions,
    external: options.externalFunctions ?? {},
    callers: proxyCallers,
    invoke: (fn, eventJson) => host.invoke(fn, eventJson),
    onLog: (line) => onLog('lambda-api', line),
    onDenied: (denial) => {
      denials.push(denial);
      onLog('lambda-api', `AccessDenied: ${denial.principal} may not ${denial.action} on ${denial.resource}`);
    },
  });
  const host = new LambdaHost({
    region: environment.region,
    environmentFor: (fn: FunctionSpec) => {
      const key = keys.get(fn.logicalId) as { accessKeyId: string; secretAccessKey: string };
      return {
        AWS_ACCESS_KEY_ID: key.accessKeyId,
        AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
        AWS_SESSION_TOKEN: 'offline-session',
        AWS_ENDPOINT_URL_DYNAMODB: proxy.dynamoEndpoint,
        AWS_ENDPOINT_URL_S3: proxy.s3Endpoint,
        AWS_ENDPOINT_URL_LAMBDA: lambdaApi.endpoint,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };
    },
    onLog,
  });

  // Custom resources, created in template order by their handlers as CloudFormation would (the CDK
  // Provider framework passes the event on to the user's handler, named in its environment).
  for (const resource of model.customResources) {
    const token = model.functions.find((fn) => fn.logicalId === resource.serviceTokenFunctionLogicalId);
    const userArn = token?.environment.USER_ON_EVENT_FUNCTION_ARN;
    const handler = userArn === undefined ? token : model.functions.find((fn) => fn.arn === userArn);
    if (handler === undefined)
      throw new Error(`custom resource ${resource.logicalId}: no handler in the stack`);
    const outcome = await host.invoke(
      handler,
      JSON.stringify({
        RequestType: 'Create',
        RequestId: randomUUID(),
        StackId: `arn:aws:cloudformation:${environment.region}:${environment.accountId}:stack/${environment.stackName}/offline`,
        LogicalResourceId: resource.logicalId,
        ResourceType: resource.type,
        ResponseURL: 'https://cloudformation.offline/response',
        ServiceToken: token?.arn,
        ResourceProperties: { ServiceToken: token?.arn, ...(cfnStrings(resource.properties) as object) },
      }),
    );
    if (outcome.kind !== 'result') {
      throw new Error(`custom resource ${resource.logicalId}: Create failed: ${JSON.stringify(outcome)}`);
    }
  }

  // Event source mappings of table streams.
  const mappings: RunningStreamMapping[] = [];
  for (const mapping of model.streamMappings) {
    const table = model.tables.find((each) => each.logicalId === mapping.tableLogicalId);
    const fn = model.functions.find((each) => each.logicalId === mapping.functionLogicalId);
    if (table === undefined || fn === undefined)
      throw new Error(`mapping ${mapping.logicalId}: not in the stack`);
    const described = await dynamo.send(new DescribeTableCommand({ TableName: table.name }));
    const streamArn = described.Table?.LatestStreamArn;
    if (streamArn === undefined)
      throw new Error(`mapping ${mapping.logicalId}: table ${table.name} has no stream`);
    mappings.push(
      await startStreamMapping({
        mapping,
        fn,
        roleStatements: model.roleStatements.get(fn.roleLogicalId) ?? [],
        templateStreamArn: mapping.sourceArn,
        streamArn,
        dynamoEndpoint: options.dynamoEndpoint,
        region: environment.region,
        invoke: (target, eventJson) => host.invoke(target, eventJson),
        onLog: (line) => onLog(fn.name, line),
      }),
    );
  }

  const caller: ApiCaller = {
    accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(20).toString('hex'),
    arn: `arn:aws:iam::${environment.accountId}:user/streambed-offline`,
    statements: [],
  };
  const apiArn = `arn:aws:execute-api:${environment.region}:${environment.accountId}:${model.api.id}`;
  caller.statements = (options.callerPolicy ?? documentedCallerPolicy)(apiArn, model.api.stage);

  const functions = new Map(model.functions.map((fn) => [fn.logicalId, fn]));
  const front: RunningApiFront = await startApiFront({
    api: model.api,
    environment,
    functions,
    invokable: model.apiInvokable,
    host,
    callers: [caller],
    isTextContentType: isTextBody,
    ...(options.port === undefined ? {} : { port: options.port }),
  });

  const scheduledEvent = (ruleId: string) =>
    JSON.stringify({
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: environment.accountId,
      time: new Date().toISOString(),
      region: environment.region,
      resources: [`arn:aws:events:${environment.region}:${environment.accountId}:rule/${ruleId}`],
      detail: {},
    });
  const timers: NodeJS.Timeout[] = [];
  if (options.schedules !== false) {
    for (const schedule of model.schedules) {
      const fn = functions.get(schedule.functionLogicalId);
      if (fn === undefined) continue;
      const timer = setInterval(() => {
        // EventBridge invokes asynchronously: the outcome goes to the function's logs, nowhere else.
        void host.invoke(fn, scheduledEvent(schedule.ruleLogicalId)).then((outcome) => {
          if (outcome.kind !== 'result') onLog(fn.name, `scheduled invocation: ${JSON.stringify(outcome)}`);
        });
      }, scheduleIntervalMs(schedule.expression));
      timer.unref();
      timers.push(timer);
    }
  }

  return {
    url: front.url,
    region: environment.region,
    credentials: { accessKeyId: caller.accessKeyId, secretAccessKey: caller.secretAccessKey },
    model,
    logs,
    logsSince: (mark) => logs.slice(Math.max(0, logs.length - (logged - mark))),
    logMark: () => logged,
    denials,
    payloadStats: host.stats,
    awsConfigOf(concern) {
      const fn = model.functions.find((each) =>
        each.name.toLowerCase().includes(`${concern.toLowerCase()}function`),
      );
      const key = fn === undefined ? undefined : keys.get(fn.logicalId);
      if (fn === undefined || key === undefined) throw new Error(`no ${concern} function in the stack`);
      const bucket = model.buckets[0]?.name;
      if (bucket === undefined) throw new Error('the stack has no bucket');
      return {
        region: environment.region,
        credentials: key,
        dynamoEndpoint: proxy.dynamoEndpoint,
        s3Endpoint: proxy.s3Endpoint,
        bucket,
      };
    },
    async invokeScheduled(name) {
      const schedule = model.schedules.find((each) =>
        functions.get(each.functionLogicalId)?.name.includes(name),
      );
      const fn = schedule === undefined ? undefined : functions.get(schedule.functionLogicalId);
      if (schedule === undefined || fn === undefined)
        throw new Error(`no scheduled function named like ${name}`);
      return host.invoke(fn, scheduledEvent(schedule.ruleLogicalId));
    },
    async close() {
      for (const timer of timers) clearInterval(timer);
      for (const mapping of mappings) await mapping.close();
      await front.close();
      await lambdaApi.close();
      await host.close();
      await proxy.close();
      for (const table of model.tables) {
        await dynamo.send(new DeleteTableCommand({ TableName: table.name })).catch(() => {});
      }
      dynamo.destroy();
    },
  };
}

/** Properties as CloudFormation hands them to a custom resource: every scalar a string. */
function cfnStrings(value: Json): Json {
  if (Array.isArray(value)) return value.map(cfnStrings);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, cfnStrings(item)]));
  }
  return value === null ? value : String(value);
}

/** A fresh assembly directory; removed by the returned function. */
export async function assemblyDirectory(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'streambed-stack-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
